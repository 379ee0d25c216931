#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""kunpackd's pool of pre-booted, single-use appliances (docs/pool.md), end to end.

One kunpackd with appliance_pool = 1 and pool_max_age = 15s; guests are added
once the pool is up, then scanned one after another, each by the pooled
appliance booted before the test touched its disk:

  A  an image file overwritten in place (another Ubuntu's bytes, as an upgrade
     leaves it) after the pool booted: the scan finds the new kernel;
  L  a loop device /dev/loopN as the guest's "volume", its backing file
     overwritten after the pool booted while this test holds /dev/loopN open
     with the old bytes in its page cache (they stay there: checked): the scan
     reads the new kernel all the same (O_DIRECT on block devices);
  F  four disks, the boot config on the third;
  V  root on LVM, its image bound to a loop device while it is scanned: the
     record is provisional, naming that loop device, and not fresh.

Every scan is served by the pool (the log, the counters); the pool refills
after each and replaces its idle appliance once it is 15 s old. Throughout,
every qemu's open files are watched: no appliance ever holds the disks of two
guests, an appliance that holds a guest's disk runs at nice 0, and the idle
pooled one at nice 19. Six appliance launches in all (one per guest, the
first pool, the replacement for age).
"""

import fcntl
import glob
import json
import os
import shutil
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemontest  # noqa: E402
import guesttest  # noqa: E402
from guesttest import check  # noqa: E402

LOOP_CTL_GET_FREE = 0x4C82
LOOP_SET_FD = 0x4C00
LOOP_CLR_FD = 0x4C01


class Watch(guesttest.Appliances):
    """Appliances, and the nice value of each qemu while it holds a guest's disk or none."""

    def __init__(self, images, only_under):
        super().__init__(images, only_under)
        self.nice_holding = {}   # pid -> nice values seen while it held a disk
        self.nice_idle = {}      # pid -> nice values seen while it held none

    def _sample(self):
        super()._sample()
        for pid in list(self.held):
            try:
                with open("/proc/%d/stat" % pid) as f:
                    nice = int(f.read().rsplit(")", 1)[1].split()[16])
                fds = os.listdir("/proc/%d/fd" % pid)
                held = any(os.readlink("/proc/%d/fd/%s" % (pid, fd)) in self.images for fd in fds)
            except (OSError, ValueError):
                continue
            (self.nice_holding if held else self.nice_idle).setdefault(pid, set()).add(nice)


def qemu_of(pid):
    """The appliance qemu a kunpack-scan run started, or None."""
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open("/proc/%s/cmdline" % p, "rb") as f:
                argv = f.read().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid and b"qemu" in os.path.basename(argv[0]) and b"-kernel" in argv:
            return int(p)
    return None


def nice_of(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[16])


def loop_attach(path):
    """Binds a free loop device to path, read-only (a file closed after writing is an inotify event to
    kunpackd, which rescans it); its name and descriptor, or (None, None)."""
    try:
        ctl = os.open("/dev/loop-control", os.O_RDWR | os.O_CLOEXEC)
        n = fcntl.ioctl(ctl, LOOP_CTL_GET_FREE)
        os.close(ctl)
        name = "/dev/loop%d" % n
        img = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        dev = os.open(name, os.O_RDONLY | os.O_CLOEXEC)
        fcntl.ioctl(dev, LOOP_SET_FD, img)
        os.close(img)
        return name, dev
    except OSError as e:
        print("no loop device here (%s)" % e)
        return None, None


def loop_detach(dev):
    try:
        fcntl.ioctl(dev, LOOP_CLR_FD, 0)
    except OSError:
        pass
    os.close(dev)


def overwrite(path, source):
    """source's bytes over path's, in place, through path (not any device on top of it)."""
    with open(source, "rb") as src, open(path, "r+b") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
        dst.flush()
        os.fsync(dst.fileno())


def record(d, disk):
    """The state record of disk (the config's own request)."""
    real = os.path.realpath(disk)
    for p in glob.glob(os.path.join(d.workdir, "state", "disks", "*.json")):
        with open(p) as f:
            j = json.load(f)
        if j["disk"] == real and j["request"] == "":
            return j
    return None


def selected(rec):
    return rec["plan"]["selected"] if rec and rec.get("plan") else {}


def pool(d):
    return d.ctl_json("status")["appliance_pool"]


def wait_ready(d, what):
    ok = d.wait_for(lambda: pool(d)["ready"] == 1, 300, "a ready pooled appliance " + what)
    check(ok, "a pooled appliance is ready %s" % what)
    return pool(d)["appliances"][0]["pid"] if ok else None


def scan(d, counter, name):
    """rescan --wait through the pool: the run that served it must have been the ready pooled one."""
    served = pool(d)["taken"]
    t0 = time.monotonic()
    r = d.ctl("--json", "rescan", "--wait", name)
    took = time.monotonic() - t0
    res = json.loads(r.stdout) if r.returncode == 0 else [{}]
    check(res[0].get("result") == "scanned" and res[0].get("error") is None,
          "%s scanned in %.1f s: %s %s" % (name, took, r.stdout.strip(), r.stderr.strip()))
    check(pool(d)["taken"] == served + 1, "%s was served by the pooled appliance" % name)
    return took


def scan_by_itself(d, name, disk, sha):
    """kunpackd saw the image written (inotify) and rescans it once the writes stop: through the pool."""
    served = pool(d)["taken"]
    ok = d.wait_for(lambda: selected(record(d, disk)).get("sha256") == sha and
                    d.guests()[name]["status"] == "fresh", 120, name + "'s rescan")
    check(ok, "%s was rescanned by itself after its image was written" % name)
    check(pool(d)["taken"] == served + 1, "%s was served by the pooled appliance" % name)


def xl_config(d, name, disks):
    text = 'name = "%s"\nmemory = 512\nbootloader = "/usr/libexec/kunpack/kunpack-boot"\ndisk = [ %s ]\n' % (
        name, ", ".join("'format=raw, vdev=xvd%s, access=rw, target=%s'" % (chr(ord("a") + i), p)
                        for i, p in enumerate(disks)))
    tmp = os.path.join(d.xen, "." + name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, os.path.join(d.xen, name + ".cfg"))


def main():
    if os.geteuid() != 0:
        print("needs root (loop devices): skipping")
        sys.exit(77)
    _, manifest = guesttest.build_images()
    base = os.environ["KP_BUILD_DIR"]
    work = guesttest.tempfile.mkdtemp(prefix="test-pool-", dir=os.path.join(base, "tests", "integration"))
    counter = guesttest.Counter(work)
    loops = []
    d = daemontest.Daemon(work, counter, 'appliance_pool = 1\npool_max_age = "15s"\n')
    # The appliances' temp directories (their QMP sockets, scratch drives, overlays) under a short path of
    # the test's own: that is how the watcher tells our appliances from any other on the host.
    tmp = guesttest.tempfile.mkdtemp(prefix="kp-pool-")
    d.extra_env = {"TMPDIR": tmp}
    try:
        run(d, counter, manifest, tmp, loops)
    finally:
        d.stop()
        for dev in loops:
            loop_detach(dev)
        if guesttest.failures:
            print(d.read_log()[-6000:], file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    guesttest.finish()


def run(d, counter, manifest, tmp, loops):
    lz4 = manifest["ubuntu-20.04-lz4"]
    newer = manifest["ubuntu-20.04-default-path"]   # same size, another kernel: an upgrade in place
    lvm = manifest["ubuntu-22.04-gpt-lvm"]
    four = manifest["four-disks"]
    new_sha = guesttest.file_sha(newer, newer["expect"]["kernel"])
    old_sha = guesttest.file_sha(lz4, lz4["expect"]["kernel"])
    check(new_sha and old_sha and new_sha != old_sha, "the two Ubuntu images have different kernels")

    images = d.images
    a_img = os.path.join(images, "a.img")
    l_img = os.path.join(images, "l-backing.img")
    v_img = os.path.join(images, "v.img")
    f_imgs = [os.path.join(images, "f%d.img" % i) for i in range(4)]
    for src, dst in [(lz4, a_img), (lz4, l_img), (lvm, v_img)] + [(four, f) for f in f_imgs]:
        shutil.copyfile(src["disks"][f_imgs.index(dst) if dst in f_imgs else 0]["path"], dst)
    l_dev, l_fd = loop_attach(l_img)
    if l_dev is None:
        check(False, "a loop device for guest L")
        return
    loops.append(l_fd)

    watched = [a_img, l_img, l_dev, v_img] + f_imgs
    with Watch(watched, only_under=tmp) as watch:
        counter.reset()
        d.start()
        pid = wait_ready(d, "after kunpackd starts")
        if not pid:
            return
        q = qemu_of(pid)
        check(q is not None and nice_of(q) == 19, "the idle pooled appliance's qemu runs at nice 19 (%s)"
              % (nice_of(q) if q else "no qemu"))
        for name, disks in [("A", [a_img]), ("L", [l_dev]), ("F", f_imgs), ("V", [v_img])]:
            xl_config(d, name, disks)
        d.wait_for(lambda: set(d.guests()) >= {"A", "L", "F", "V"}, 30, "the guests")

        # ---- A: an image file changed in place after the pool booted ----------------------------------
        overwrite(a_img, newer["disks"][0]["path"])
        scan_by_itself(d, "A", a_img, new_sha)
        rec = record(d, a_img)
        check(selected(rec).get("sha256") == new_sha and selected(rec).get("kernel") == newer["expect"]["kernel"],
              "A: the pooled scan read the bytes written after the pool booted (%s)" % selected(rec).get("kernel"))
        check(d.guests()["A"]["status"] == "fresh", "A is fresh: %s" % d.guests()["A"]["status"])

        # ---- L: a loop device written through its backing file, /dev/loopN held open -----------------
        wait_ready(d, "again (the pool refilled)")
        # The old bytes in /dev/loopN's page cache, as a long-lived reader of the device leaves them.
        dev_reader = os.open(l_dev, os.O_RDONLY | os.O_CLOEXEC)
        try:
            while os.read(dev_reader, 1 << 20):
                pass
            overwrite(l_img, newer["disks"][0]["path"])
            with open(newer["disks"][0]["path"], "rb") as f_new, open(lz4["disks"][0]["path"], "rb") as f_old:
                new_bytes, old_bytes = f_new.read(), f_old.read()
            off = next(i for i in range(0, len(new_bytes), 4096) if new_bytes[i:i + 4096] != old_bytes[i:i + 4096])
            cached = os.pread(dev_reader, 4096, off)
            check(cached == old_bytes[off:off + 4096],
                  "L: /dev/loopN's page cache still shows the old bytes at offset %d (the case is real)" % off)
            scan(d, counter, "L")
        finally:
            os.close(dev_reader)
        rec = record(d, l_dev)
        check(selected(rec).get("sha256") == new_sha,
              "L: the pooled scan read what was written through the backing file (%s)" % selected(rec).get("kernel"))

        # ---- F: a guest of four disks, its boot config on the third ---------------------------------
        wait_ready(d, "for F")
        scan(d, counter, "F")
        rec = record(d, f_imgs[0])
        want = four["expect"]
        check(selected(rec).get("kernel") == want["kernel"] and
              selected(rec).get("sha256") == guesttest.file_sha(four, want["kernel"], disk=want["disk"]),
              "F: four disks attached in order, the kernel found on the third (%s)" % selected(rec).get("kernel"))

        # ---- V: LVM, and a loop device bound to its image while it is scanned: provisional -----------
        wait_ready(d, "for V")
        v_dev, v_fd = loop_attach(v_img)
        if v_fd is not None:
            loops.append(v_fd)
        scan(d, counter, "V")
        rec = record(d, v_img)
        check(selected(rec).get("kernel") == lvm["expect"]["kernel"] and
              selected(rec).get("sha256") == guesttest.file_sha(lvm, lvm["expect"]["kernel"]),
              "V: root on LVM, scanned through the pool (%s)" % selected(rec).get("kernel"))
        if v_fd is not None:
            check(rec and (rec.get("provisional") or "").startswith("loop device %s" % v_dev),
                  "V: scanned while %s was bound to its image: provisional (%s)" % (v_dev, rec and rec.get("provisional")))
            g = d.guests()["V"]
            check(g["status"] == "stale" and (g.get("reason") or "").startswith("scanned while loop device"),
                  "V is not fresh: %s (%s)" % (g["status"], g.get("reason")))
            loop_detach(v_fd)
            loops.remove(v_fd)

        # ---- recycling: the idle one is replaced once 15 s old ----------------------------------------
        first = wait_ready(d, "after V")
        ok = d.wait_for(lambda: pool(d)["recycled"] >= 1 and pool(d)["ready"] == 1 and
                        pool(d)["appliances"][0]["pid"] != first, 120, "the replacement")
        check(ok, "an idle pooled appliance older than pool_max_age was replaced (%s)" % json.dumps(pool(d)))
        check("stopping pooled appliance (pid %d): it reached pool_max_age" % first in d.read_log(),
              "... with a log line")

    st = pool(d)
    check(st["taken"] == 4 and st["died"] == 0, "four scans served by the pool, none died: %s" % json.dumps(st))
    # One per guest, the one that was ready after the last, and one for each replaced for its age.
    check(counter.launches() == 5 + st["recycled"] and st["recycled"] >= 1,
          "%d appliance launches for 4 guests and %d replaced for age" % (counter.launches(), st["recycled"]))
    check(d.read_log().count("in a pooled appliance booted") == 4, "the log says so for each scan")

    guest_of = {os.path.realpath(p): g for g, ps in [("A", [a_img]), ("L", [l_img, l_dev]), ("V", [v_img]),
                                                      ("F", f_imgs)] for p in ps}
    per_qemu = {pid: {guest_of[p] for p in held} for pid, held in watch.held.items() if held}
    check(per_qemu and all(len(g) == 1 for g in per_qemu.values()),
          "no appliance ever held two guests' disks: %s" % {p: sorted(g) for p, g in per_qemu.items()})
    check(sorted(g for gs in per_qemu.values() for g in gs) == ["A", "F", "L", "V"],
          "each guest in an appliance of its own: %s" % sorted(g for gs in per_qemu.values() for g in gs))
    check(watch.nice_holding and all(v == {0} for v in watch.nice_holding.values()),
          "an appliance holding a guest's disk ran at nice 0: %s" % watch.nice_holding)
    check(any(19 in v for v in watch.nice_idle.values()), "and idle ones at 19: %s" % watch.nice_idle)
    check("cannot raise" not in d.read_log() and "cannot lower" not in d.read_log(),
          "no pooled appliance failed to change its priority")


if __name__ == "__main__":
    main()
