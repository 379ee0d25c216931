#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""kunpackd end to end: the real daemon on its own socket, config, cache
and state, driven by kunpackctl and busctl, scanning real images in real
libguestfs appliances (kunpack-scan).

Appliance launches are counted: one per guest (never one for two) for eight guests at
startup, one cold start, one scan stopped by SIGTERM. Everything else must
be served without an appliance, and the test asserts that it was.
"""

import glob
import importlib.util
import json
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

import daemontest
import guesttest
from guesttest import check

VMLINUX_NAME = "vmlinux"


def main():
    if os.geteuid() != 0:
        print("kunpackd serves root only: skipping")
        sys.exit(77)
    fixtures = guesttest.fixtures()
    outdir, manifest = guesttest.build_images()
    vmlinux_sha = daemontest.sha256(os.path.join(fixtures, VMLINUX_NAME))
    base = os.environ.get("KP_BUILD_DIR") or tempfile.gettempdir()
    work = tempfile.mkdtemp(prefix="test-daemon-", dir=os.path.join(base, "tests", "integration"))
    counter = guesttest.Counter(work)
    try:
        run(work, counter, manifest, vmlinux_sha)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    guesttest.finish()


def image(manifest, name):
    return manifest[name]["disks"][0]["path"]


def initrd_sha(manifest, name):
    e = manifest[name]
    return guesttest.file_sha(e, e["expect"]["initrds"][0])


def state_files(d):
    sd = os.path.join(d.workdir, "state", "disks")
    out = {}
    for n in sorted(os.listdir(sd)):
        if n.endswith(".json"):
            with open(os.path.join(sd, n), "rb") as f:
                out[n] = f.read()
    return out


def run(work, counter, manifest, vmlinux_sha):
    d = daemontest.Daemon(work, counter)

    # ---- an invalid config stops the daemon with file and line --------------------------------
    bad = os.path.join(work, "bad.conf")
    with open(bad, "w") as f:
        f.write('cache_dir = "%s/cache"\n# a comment\nscan_intervall = "1h"\n' % work)
    r = guesttest.run([d.kunpackd, "--config=" + bad, "--scan-program=" + d.scan], env=d.env(), timeout=30)
    check(r.returncode != 0 and (bad + ':3: unknown key "scan_intervall"') in r.stderr,
          "an invalid config stops kunpackd with FILE:LINE (%d: %s)" % (r.returncode, r.stderr.strip()))

    # ---- eight guests, scanned at startup, each in an appliance of its own ------------------------
    kinds = {}
    disks = []
    for i in range(1, 9):
        src = "ubuntu-20.04-lz4" if i <= 4 else "debian-12-xz" if i <= 7 else "fedora-38-bls"
        kinds["g%d" % i] = src
        disks.append(d.add_guest("g%d" % i, image(manifest, src)))
    counter.reset()
    started = time.time()
    # kunpackd.service's UMask=0077: the metrics textfile must still come out readable by node_exporter.
    umask = os.umask(0o077)
    with guesttest.Appliances(disks) as watch:
        d.start()
        os.umask(umask)
        check(d.notify.seen("READY=1") != [], "READY=1 on the notify socket")
        ok = d.wait_for(lambda: all(g["status"] == "fresh" for g in d.guests().values()) and len(d.guests()) == 8,
                        600, "the startup scan")
    check(not watch.shared() and len(watch.held) == 8 and all(len(h) == 1 for h in watch.held.values()),
          "each appliance held exactly one guest's disk (%s)" % {p: sorted(h) for p, h in watch.held.items()})
    check(ok, "the startup scan made all 8 guests fresh")
    check(counter.launches() == 8, "8 guests scanned in 8 appliance launches (%d)" % counter.launches())
    check(1 <= watch.max_concurrent <= 2, "at most scan_concurrency = 2 appliances at once (%d)"
          % watch.max_concurrent)
    check(any(re.match(r"STATUS=Scanning [12] guests?, one appliance each", s) for s in d.notify.seen("STATUS=")),
          "STATUS= said it was scanning guests, one appliance each: %s" % d.notify.seen("STATUS=")[:3])
    # The scan program's steps reach STATUS= (its progress pipe): the appliance's launch, then each disk.
    steps = [s for s in d.notify.seen("STATUS=Scanning") if re.search(r"\(g\d: (launch|inspecting|fetching)", s)]
    check(any("launch" in s for s in steps) and any("fetching" in s for s in steps),
          "STATUS= followed the scan's steps: %s" % (steps[:1] + steps[-1:]))

    guests = d.guests()
    for name, src in kinds.items():
        check(guests[name]["kernel"] == manifest[src]["expect"]["kernel"] and guests[name]["origin"] == "config",
              "list: %s boots %s" % (name, guests[name]["kernel"]))
    show = d.ctl_json("show", "g8")
    sel = show["state"]["plan"]["selected"]
    check(show["config_file"] == os.path.join(d.xen, "g8.cfg") and sel["kernel"] ==
          manifest["fedora-38-bls"]["expect"]["kernel"] and sel["cmdline"] == manifest["fedora-38-bls"]["expect"]["cmdline"],
          "show g8: config, kernel and command line of the Fedora BLS guest")
    human = d.ctl("show", "g1")
    check(human.returncode == 0 and "Kernel:   /boot/vmlinuz-5.4.0-42-generic (lz4" in human.stdout,
          "show g1 (human): the LZ4 kernel")
    st = d.ctl_json("status")
    check(st["guests"] == 8 and st["scans_done"] == 8 and st["scans_failed"] == 0 and st["xen"] is False,
          "status: 8 guests, 8 scans, no Xen here")
    check("lifecycle not followed" in d.read_log(), "the daemon says once that no Xen lifecycle is followed")
    fleet_view(d, manifest, kinds, started)
    doctor(d)

    r = d.ctl("show", "nosuch")
    check(r.returncode == 1 and 'no guest named "nosuch"' in r.stderr, "show of an unknown guest fails: " + r.stderr.strip())
    for verb in (["rescan", "--wait", "nosuch"], ["prepare", "nosuch", "--dry-run"]):
        r = d.ctl(*verb)
        check(r.returncode == 1 and r.stderr == 'kunpackctl: no guest named "nosuch"\n',
              "%s of an unknown guest: exit %d, %s" % (verb[0], r.returncode, r.stderr.strip()))
    r = d.ctl("rescan")
    check(r.returncode == 2 and "rescan takes guest names or --all" in r.stderr, "rescan without a guest: usage (2)")

    # ---- busctl sees the API ------------------------------------------------------------------
    addr = "--address=unix:path=" + d.socket
    r = guesttest.run(["busctl", addr, "introspect", "org.kunpack.Manager1", "/org/kunpack/Manager"])
    check(r.returncode == 0 and all(x in r.stdout for x in (".Prepare", ".Rescan", ".List", ".Show", ".GC", ".Verify",
                                                            ".Status", ".ScanProgress")),
          "busctl introspect lists the methods and signals")
    r = guesttest.run(["busctl", addr, "--json=short", "call", "org.kunpack.Manager1", "/org/kunpack/Manager",
                       "org.kunpack.Manager1", "List"])
    check(r.returncode == 0 and len(json.loads(r.stdout)["data"][0]) == 8, "busctl call List: 8 guests")

    # ---- prepare: hot, no appliance -----------------------------------------------------------
    counter.reset()
    out = os.path.join(work, "out", "g1")
    r = d.ctl("--json", "prepare", "g1", "--output-directory=" + out, "--args=console=hvc0")
    p = json.loads(r.stdout) if r.returncode == 0 else {}
    exp = manifest["ubuntu-20.04-lz4"]["expect"]
    check(p.get("hot") is True, "prepare g1 after the scan is hot")
    check(p.get("kernel", "").startswith(out + "/kernel.") and daemontest.sha256(p["kernel"]) == vmlinux_sha,
          "the published kernel is the reference ELF, inside the output directory")
    check(p.get("ramdisk") and daemontest.sha256(p["ramdisk"]) == initrd_sha(manifest, "ubuntu-20.04-lz4"),
          "the published ramdisk is the guest's initrd")
    check(p.get("args") == exp["cmdline"] + " console=hvc0", "args: the entry's command line, then libxl's --args")
    r = d.ctl("prepare", "g5", "--dry-run")
    check(r.returncode == 0 and r.stdout.startswith("hot: the next start boots /boot/vmlinuz-6.1.0-13-amd64"),
          "prepare --dry-run g5: hot: " + r.stdout.splitlines()[0] if r.stdout else r.stderr)

    # Eight starts at once, all from the cache.
    results = {}

    def start(name):
        o = os.path.join(work, "out", "c-" + name)
        results[name] = d.ctl("--json", "prepare", name, "--output-directory=" + o)

    threads = [threading.Thread(target=start, args=("g%d" % i,)) for i in range(1, 9)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - t0
    good = 0
    for name, res in results.items():
        j = json.loads(res.stdout) if res.returncode == 0 else {}
        src = kinds[name]
        if (j.get("hot") and daemontest.sha256(j["kernel"]) == vmlinux_sha and
                daemontest.sha256(j["ramdisk"]) == initrd_sha(manifest, src) and
                j.get("args") == manifest[src]["expect"]["cmdline"]):
            good += 1
    check(good == 8, "8 concurrent prepares: %d correct and hot, in %.2f s" % (good, took))
    check(counter.launches() == 0, "no appliance for hot starts (%d)" % counter.launches())

    # ---- cold after the image changed ---------------------------------------------------------
    disk2 = os.path.join(d.images, "g2.img")
    with open(disk2, "r+b") as f:           # rewrite one block as it is: new mtime, same content
        block = f.read(4096)
        f.seek(0)
        f.write(block)
    counter.reset()
    r = d.ctl("--json", "prepare", "g2", "--output-directory=" + os.path.join(work, "out", "g2"))
    p = json.loads(r.stdout) if r.returncode == 0 else {}
    check(p.get("hot") is False and daemontest.sha256(p.get("kernel", "/dev/null")) == vmlinux_sha,
          "prepare g2 after its image was written is cold, and right (%s)" % (r.stderr.strip() or "ok"))
    check(counter.launches() == 1, "the cold start took one appliance (%d)" % counter.launches())
    time.sleep(3)   # the inotify settle time: the watcher finds the disk fresh and scans nothing more
    check(counter.launches() == 1, "no extra scan after the cold start (%d)" % counter.launches())

    # ---- root only ----------------------------------------------------------------------------
    nobody = pwd.getpwnam("nobody")
    def as_nobody(*args):
        return subprocess.run([d.kunpackctl, "--socket=" + d.socket, *args], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=30,
                              preexec_fn=lambda: (os.setgroups([]), os.setgid(nobody.pw_gid), os.setuid(nobody.pw_uid)))
    r = as_nobody("status")
    check(r.returncode == 3 and r.stderr == "kunpackctl: cannot connect to kunpackd at %s: Permission denied (its "
          "socket is root's: run kunpackctl as root)\n" % d.socket,
          "nobody cannot even connect (socket 0600), and is told to be root: " + r.stderr.strip())
    # A socket opened up by mistake: the daemon itself still refuses (SO_PEERCRED).
    os.chmod(work, 0o755)
    os.chmod(os.path.dirname(d.socket), 0o755)
    os.chmod(d.socket, 0o666)
    r = as_nobody("list")
    r2 = as_nobody("prepare", "g1", "--dry-run")
    os.chmod(d.socket, 0o600)
    os.chmod(work, 0o700)
    check(r.returncode == 3 and "kunpackd serves root only (you are uid %d)" % nobody.pw_uid in r.stderr,
          "a non-root caller is refused by the daemon: " + r.stderr.strip())
    check(r2.returncode == 3 and r2.stderr == "kunpackctl: kunpackd serves root only (you are uid %d)\n" % nobody.pw_uid,
          "prepare by a non-root caller: refused, exit 3 (%d: %s)" % (r2.returncode, r2.stderr.strip()))
    check("refused List from uid %d" % nobody.pw_uid in d.read_log(), "and the refusal is logged")

    # ---- config directory changes are picked up -----------------------------------------------
    # A qcow2 guest: registered like a raw one, its plan keyed by the image and scanned as qcow2.
    # At a start libxl hands kunpack-boot /dev/xvdX (a local attach), which Prepare maps back to
    # the image through dom0's xenstore (lib/xl/attach.c: unit test-attach; a real Xen start in
    # tests/e2e, case qcow2-direct-kunpackd). Here the image is named as kunpackctl names it.
    qcow = os.path.join(d.images, "q1.qcow2")
    shutil.copyfile(manifest["debian-12-qcow2"]["disks"][0]["path"], qcow)
    # q1's scan starts within a second of its config: count from before it.
    st0 = d.ctl_json("status")
    scans, failed = st0["scans_done"], st0["scans_failed"]
    counter.reset()
    with open(os.path.join(d.xen, "q1.cfg"), "w") as f:
        f.write('name = "q1"\nbootloader = "kunpack-boot"\n'
                "disk = [ 'format=qcow2, vdev=xvda, access=rw, target=%s' ]\n" % qcow)
    d.add_guest("g9", os.path.join(d.images, "g1.img"), copy=False)
    os.unlink(os.path.join(d.xen, "g7.cfg"))
    ok = d.wait_for(lambda: "g9" in d.guests() and "g7" not in d.guests(), 10, "the registry reload")
    check(ok, "a new config (g9) is picked up and a removed one (g7) dropped")
    g9 = d.guests().get("g9", {})
    check(g9.get("status") == "fresh", "g9 shares g1's disk: fresh without a scan (%s)" % g9.get("status"))
    ok = d.wait_for(lambda: d.guests().get("q1", {}).get("status") == "fresh", 300, "q1's scan")
    q1, st = d.guests().get("q1", {}), d.ctl_json("status")
    qexp = manifest["debian-12-qcow2"]["expect"]
    check(ok and q1.get("disk") == qcow and q1.get("kernel") == qexp["kernel"] and q1.get("origin") == "config",
          "a qcow2 guest is listed with its image and scanned as qcow2: %s" % q1)
    check(st["scans_done"] == scans + 1 and st["scans_failed"] == failed and counter.launches() == 1,
          "one scan since, q1's, in one appliance (%d scans, %d failed, %d launches)"
          % (st["scans_done"] - scans, st["scans_failed"] - failed, counter.launches()))
    counter.reset()
    r = d.ctl("--json", "prepare", "q1", "--output-directory=" + os.path.join(work, "out", "q1"))
    p = json.loads(r.stdout) if r.returncode == 0 else {}
    check(p.get("hot") is True and daemontest.sha256(p.get("kernel", "/dev/null")) == vmlinux_sha and
          daemontest.sha256(p.get("ramdisk") or "/dev/null") == initrd_sha(manifest, "debian-12-qcow2") and
          p.get("args") == qexp["cmdline"] and counter.launches() == 0,
          "prepare q1 while its image is unchanged: hot, the reference kernel and the guest's initrd (%s)"
          % (r.stderr.strip() or "ok"))
    with open(qcow, "r+b") as f:            # rewrite the header as it is: new mtime, same content
        block = f.read(4096)
        f.seek(0)
        f.write(block)
    r = d.ctl("prepare", "q1", "--dry-run")
    check(r.returncode == 0 and "the image was modified since the scan" in r.stdout,
          "prepare --dry-run q1 after a write: cold, and says why: " + (r.stdout.strip() or r.stderr.strip()))
    counter.reset()
    r = d.ctl("--json", "prepare", "q1", "--output-directory=" + os.path.join(work, "out", "q1b"))
    p = json.loads(r.stdout) if r.returncode == 0 else {}
    check(p.get("hot") is False and daemontest.sha256(p.get("kernel", "/dev/null")) == vmlinux_sha and
          counter.launches() == 1,
          "prepare q1 after a write: cold, one appliance, the reference kernel (%s)" % (r.stderr.strip() or "ok"))
    os.unlink(os.path.join(d.xen, "q1.cfg"))
    d.wait_for(lambda: "q1" not in d.guests(), 10, "q1 to go")

    # ---- gc and verify ------------------------------------------------------------------------
    r = d.ctl("gc", "--dry-run")
    check(r.returncode == 0 and r.stdout.startswith("would remove 0 cache entries"), "gc --dry-run: " + r.stdout.strip())
    r = d.ctl("gc", "--dry-run", "--json")
    j = json.loads(r.stdout) if r.returncode == 0 else {}
    check(j.get("dry_run") is True and j.get("removed") == 0 and j.get("kept", 0) > 0,
          "gc --dry-run --json: " + r.stdout.strip())
    # g8 goes, its record too: its (zstd) kernel and initrd are referenced no more; make them old.
    os.unlink(os.path.join(d.xen, "g8.cfg"))
    d.wait_for(lambda: "g8" not in d.guests(), 10, "g8 to go")
    fed = manifest["fedora-38-bls"]
    kkey = guesttest.file_sha(fed, fed["expect"]["kernel"])
    for n in os.listdir(os.path.join(work, "state", "disks")):
        with open(os.path.join(work, "state", "disks", n)) as f:
            if json.load(f)["disk"].endswith("/g8.img"):
                os.unlink(os.path.join(work, "state", "disks", n))
    old = time.time() - 40 * 86400
    for sub in ("kernels", "initrds"):
        for n in os.listdir(os.path.join(work, "cache", sub)):
            if n.startswith(kkey) or n.startswith(initrd_sha(manifest, "fedora-38-bls")):
                os.utime(os.path.join(work, "cache", sub, n), (old, old))
    r = d.ctl("--json", "gc")
    j = json.loads(r.stdout) if r.returncode == 0 else {}
    check(j.get("removed") == 2, "gc removes the unreferenced old kernel and initrd: %s" % r.stdout.strip())
    check(not os.path.exists(os.path.join(work, "cache", "kernels", kkey + ".elf")), "the kernel entry is gone")

    r = d.ctl("verify")
    check(r.returncode == 0 and "damaged" in r.stdout and " 0 damaged" in r.stdout, "verify: " + r.stdout.strip())
    deb_key = guesttest.file_sha(manifest["debian-12-xz"], manifest["debian-12-xz"]["expect"]["kernel"])
    elf = os.path.join(work, "cache", "kernels", deb_key + ".elf")
    with open(elf, "r+b") as f:
        f.seek(4096)
        b = f.read(1)
        f.seek(4096)
        f.write(bytes([b[0] ^ 0xFF]))
    counter.reset()
    r = d.ctl("--json", "verify")
    j = json.loads(r.stdout) if r.stdout else {}
    check(r.returncode == 1 and j.get("damaged") == 1 and not os.path.exists(elf),
          "verify finds the flipped byte, removes the entry, exits 1")
    r = d.ctl("prepare", "g5", "--dry-run")
    check(r.returncode == 0 and r.stdout.startswith("cold: the next start waits for a scan") and "not in the cache" in r.stdout,
          "prepare --dry-run g5 is now cold: " + r.stdout.strip().splitlines()[0] if r.stdout else r.stderr)
    # g5 and g6 share that Debian kernel: the daemon scans them again at once, so that their next
    # start is hot again; g1-g4 and g9 lost nothing and are left alone.
    guests = d.guests()
    check(all(guests[n]["status"] == "queued" or guests[n]["status"].startswith("scanning") for n in ("g5", "g6")) and
          all(guests[n]["status"] == "fresh" for n in ("g1", "g2", "g3", "g4", "g9")) and
          "g5 is not fresh after the cache verify: scanning it again" in d.read_log() and
          "g1 is not fresh after the cache verify" not in d.read_log(),
          "after verify removed their kernel, g5 and g6 are being scanned again: %s"
          % {n: g["status"] for n, g in guests.items()})
    # rescan --wait joins the scan already queued or running: one appliance for both. With -v and
    # no terminal, the ScanProgress signals are printed on stderr, one line each.
    r = d.ctl("--json", "-v", "rescan", "--wait", "g5", "g6")
    progress = re.findall(r"^(g[56]): (launch|ready|scan|files|inspecting|fetching|done) \d+% \((\d+) left\)$",
                          r.stderr, re.M)
    check({p[1] for p in progress} >= {"fetching", "done"} and {p[0] for p in progress} == {"g5", "g6"},
          "rescan --wait -v showed each guest's steps: %s" % r.stderr.strip().splitlines()[-3:])
    j = json.loads(r.stdout) if r.returncode == 0 else []
    check(r.returncode == 0 and sorted((x["guest"], x["result"], x["error"]) for x in j) ==
          [("g5", "scanned", None), ("g6", "scanned", None)],
          "rescan --wait g5 g6 returns when both are scanned: %s %s" % (r.stdout.strip(), r.stderr.strip()))
    check(all(g["status"] == "fresh" for g in d.guests().values()) and counter.launches() == 2 and
          os.path.exists(elf), "g5 and g6 are fresh again, one appliance each, the kernel back in the cache (%d)"
          % counter.launches())

    # A written-to cache entry found by a look (List, then a dry-run Prepare) is removed, and the
    # guests that boot it are scanned again at once, so that their next start is hot again.
    def flip(path):
        with open(path, "r+b") as f:
            f.seek(4096)
            b = f.read(1)
            f.seek(4096)
            f.write(bytes([b[0] ^ 0xFF]))

    for look in ("list", "prepare --dry-run"):
        flip(elf)
        counter.reset()
        if look == "list":
            guests = d.guests()
            found = [(guests[n]["status"], guests[n]["reason"]) for n in ("g5", "g6")]
            ok = (any(st == "queued" and "was modified after it was stored" in (why or "") for st, why in found) and
                  all(st in ("queued", "scanning") for st, _ in found))
        else:
            r = d.ctl("prepare", "g5", "--dry-run")
            guests = d.guests()
            found = [(guests[n]["status"], guests[n]["reason"]) for n in ("g5", "g6")]
            ok = (r.returncode == 0 and r.stdout.startswith("cold: the next start waits for a scan") and
                  all(st in ("queued", "scanning") for st, _ in found))
        check(ok and not os.path.exists(elf) and ": scanning it again" in d.read_log(),
              "%s finds g5's written-to kernel, removes it, and g5 and g6 are queued for a rescan: %s" % (look, found))
        check(d.wait_for(lambda: all(g["status"] == "fresh" for g in d.guests().values()), 300, "the rescans") and
              os.path.exists(elf) and counter.launches() == 2,
              "after %s: g5 and g6 scanned again (%d appliances), the kernel back in the cache" % (look, counter.launches()))

    # ---- SIGHUP: an invalid config is refused, a valid one is taken --------------------------
    good_conf = open(d.conf).read()
    with open(d.conf, "a") as f:
        f.write("scan_concurrency = 0\n")
    d.proc.send_signal(signal.SIGHUP)
    refused = d.wait_for(lambda: "keeping the configuration in force" in d.read_log(), 10, "the refusal")
    r = d.ctl("--socket=" + d.socket, "--json", "status")   # the file is invalid: name the socket
    st = json.loads(r.stdout) if r.returncode == 0 else {}
    # libxlutil would read the last of the two statements; the report must still name line 6, not line 5.
    why = "%s:%d: scan_concurrency is already set on line 5" % (d.conf, len(good_conf.splitlines()) + 1)
    ok = refused and why in d.read_log() and r.returncode == 0 and st.get("scan_concurrency") == 2
    check(ok, "SIGHUP with an invalid config: refused with file and line, the old one kept, the daemon goes on "
          "(%d, scan_concurrency %s)%s" % (r.returncode, st.get("scan_concurrency"), "" if ok else "\n" + d.read_log()[-600:]))
    textfile = os.path.join(work, "node-exporter", "kunpack.prom")
    os.mkdir(os.path.dirname(textfile))
    with open(d.conf, "w") as f:
        f.write(good_conf.replace("scan_concurrency = 2", "scan_concurrency = 3") +
                'metrics_textfile = "%s"\n' % textfile)
    d.proc.send_signal(signal.SIGHUP)
    check(d.wait_for(lambda: d.ctl_json("status")["scan_concurrency"] == 3, 10, "the reload"),
          "SIGHUP with a valid config: scan_concurrency is now 3")
    # The textfile is written at once on the reload (then every 30 s), mode 0644 despite the umask.
    check(d.wait_for(lambda: os.path.exists(textfile), 10, "the metrics textfile"), "metrics_textfile written")
    if os.path.exists(textfile):
        text = open(textfile).read()
        promtool_check(text, "the metrics textfile")
        m = metric_values(text)
        check(stat.S_IMODE(os.stat(textfile).st_mode) == 0o644 and m.get('kunpack_guests{status="fresh"}') == 7 and
              os.listdir(os.path.dirname(textfile)) == ["kunpack.prom"],
              "the textfile: mode 0644 under umask 0077, 7 fresh guests, no temporary left (%o, %s)"
              % (stat.S_IMODE(os.stat(textfile).st_mode), os.listdir(os.path.dirname(textfile))))

    # ---- SIGTERM during a scan; restart keeps the state ---------------------------------------
    before = state_files(d)
    r = d.ctl("rescan", "g3")
    check(r.returncode == 0 and r.stdout.strip() == "g3: queued", "rescan g3 (no wait): " + r.stdout.strip())
    d.wait_for(lambda: counter.launches() > 0 or d.ctl_json("status")["scanning"] > 0, 60, "the scan to start")
    time.sleep(2)
    t0 = time.monotonic()
    rc = d.stop(signal.SIGTERM, timeout=60)
    took = time.monotonic() - t0
    check(rc == 0 and took < 15, "SIGTERM during a scan: exit %s after %.1f s" % (rc, took))
    check("abandoned" in d.read_log(), "the running scan was abandoned")
    left = subprocess.run(["pgrep", "-f", os.path.join(d.images, "g3.img")], stdout=subprocess.PIPE, text=True)
    check(left.stdout.strip() == "", "no scan program or qemu left behind")
    check(not os.path.exists(d.socket), "the socket it bound is removed")
    after = state_files(d)
    check({k: v for k, v in after.items() if k in before} == before and all(json.loads(v) for v in after.values()),
          "the state records are intact after the abandoned scan")

    # Every daemon verb says plainly that there is no daemon, and exits 3.
    gone = "kunpackctl: kunpackd is not running (%s: No such file or directory)\n" % d.socket
    for verb in (["status"], ["list"], ["show", "g1"], ["rescan", "--wait", "g1"], ["gc", "--dry-run"], ["verify"],
                 ["prepare", "g1", "--dry-run"], ["--json", "list"], ["metrics"]):
        r = d.ctl(*verb)
        check(r.returncode == 3 and r.stderr == gone and r.stdout == "",
              "kunpackctl %s without the daemon: exit %d, %s" % (" ".join(verb), r.returncode, r.stderr.strip()))

    counter.reset()
    d.start()
    guests = d.guests()
    st = d.ctl_json("status")
    check(sorted(guests) == ["g1", "g2", "g3", "g4", "g5", "g6", "g9"] and
          all(g["status"] == "fresh" for g in guests.values()) and st["queued"] == 0 and st["scanning"] == 0,
          "after the restart every guest is fresh from the state on disk, nothing to scan: %s"
          % {n: g["status"] for n, g in guests.items()})
    rc = d.stop()
    check(rc == 0, "kunpackd stops cleanly (%s)" % rc)

    socket_activation(d)


def metric_values(text):
    """{"name{labels}": value} of Prometheus's text format; every sample line."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def promtool_check(text, what):
    """Prometheus's own checker (Debian's prometheus package, in install-deps.sh's test set)."""
    if not shutil.which("promtool"):
        check(False, "%s: promtool is missing (scripts/install-deps.sh test)" % what)
        return
    r = subprocess.run(["promtool", "check", "metrics"], input=text, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=60)
    check(r.returncode == 0, "%s: promtool check metrics passes (%s)" % (what, r.stdout.strip()[-500:]))


def exhibit(command, text):
    """The output itself, in the test log: what an admin sees from a daemon with guests."""
    print("---- kunpackctl %s\n%s---- end" % (command, text))


def fleet_view(d, manifest, kinds, started):
    """kunpackctl list (table, --json, filters) and metrics after the startup scan of the eight guests; then a
    guest whose scan fails without an appliance (its disk is a directory), seen in both, and gone again."""
    guests = d.guests()
    now = time.time()
    want = {"ubuntu-20.04-lz4": ("5.4.0-42-generic", "lz4", False), "debian-12-xz": ("6.1.0-13-amd64", "xz", True),
            "fedora-38-bls": ("6.2.9-300.fc38.x86_64", "zstd", False)}
    for name, src in kinds.items():
        g = guests[name]
        version, fmt, loadable = want[src]
        check(g["status"] == "fresh" and g["reason"] is None and g["kernel_version"] == version and
              g["format"] == fmt and g["pvgrub_loadable"] is loadable and g["pvh_ready"] is True and
              started * 1e6 <= g["last_scan_usec"] <= now * 1e6 and g["autostart"] is False,
              "list --json %s: fresh, %s, %s, pvgrub_loadable %s, pvh_ready (Debian's kernel has PHYS32_ENTRY): %s"
              % (name, version, fmt, loadable, {k: g[k] for k in ("status", "kernel_version", "format",
                                                                    "pvgrub_loadable", "pvh_ready")}))
    r = d.ctl("list")
    exhibit("list", r.stdout)
    lines = r.stdout.splitlines()
    head = lines[0].split() if lines else []
    g1 = next((l.split() for l in lines if l.startswith("g1 ")), [])
    check(r.returncode == 0 and head == ["GUEST", "STATUS", "VERSION", "FORMAT", "PVGRUB", "PVH", "LAST", "SCAN",
                                         "AUTO", "ORIGIN", "DISK"] and len(lines) == 9 and
          g1[:6] == ["g1", "fresh", "5.4.0-42-generic", "lz4", "no", "yes"] and g1[-3:] == [
              "no", "config", os.path.join(d.images, "g1.img")],
          "list: a header and one row per guest (%s)" % lines[:2])
    for flag in ("--stale", "--failed"):
        r = d.ctl("--json", "list", flag)
        check(r.returncode == 0 and json.loads(r.stdout) == [], "list %s: none (%s)" % (flag, r.stdout.strip()))

    r = d.ctl("metrics")
    exhibit("metrics", r.stdout)
    promtool_check(r.stdout, "metrics after the startup scan")
    m = metric_values(r.stdout)
    kernels = len([n for n in os.listdir(os.path.join(d.workdir, "cache", "kernels")) if n.endswith(".elf")])
    check(r.returncode == 0 and m.get("kunpack_scans_total") == 8 and m.get("kunpack_appliance_launches_total") == 8
          and m.get("kunpack_scan_duration_seconds_count") == 8 and m.get('kunpack_guests{status="fresh"}') == 8
          and m.get('kunpack_cache_entries{kind="kernel"}') == kernels == 3
          and m.get('kunpack_starts_total{path="hot"}') == 0 and m.get("kunpack_scans_running") == 0
          and not any(k.startswith("kunpack_scan_failures_total") for k in m),
          "metrics: 8 scans, 8 launches, 8 durations, 8 fresh guests, 3 kernels cached, no failure, no start yet")
    check(0 < m.get("kunpack_scan_duration_seconds_sum", 0) < 8 * 600, "metrics: scan time %.1f s in all"
          % m.get("kunpack_scan_duration_seconds_sum", 0))

    # A guest whose disk is a directory: its scan fails at once (no appliance), with its reason.
    bad = os.path.join(d.images, "not-a-disk")
    os.mkdir(bad)
    d.add_guest("bad1", bad, copy=False)
    ok = d.wait_for(lambda: d.guests().get("bad1", {}).get("status") == "failed", 30, "bad1's scan to fail")
    failed = json.loads(d.ctl("--json", "list", "--failed").stdout)
    stale = json.loads(d.ctl("--json", "list", "--stale").stdout)
    why = "disk %s is neither a regular file nor a block device" % bad
    check(ok and [g["name"] for g in failed] == ["bad1"] and failed[0]["reason"] == why and
          failed[0]["kernel"] is None and failed[0]["pvgrub_loadable"] is None and [g["name"] for g in stale] == ["bad1"],
          "list --failed and --stale: bad1 alone, with its reason (%s)" % failed)
    r = d.ctl("list", "--failed")
    check(r.stdout.splitlines()[-1] == "bad1: failed: " + why, "list --failed (table): the reason under the table")
    r = d.ctl("metrics")
    promtool_check(r.stdout, "metrics with a failed scan")
    m = metric_values(r.stdout)
    check(m.get('kunpack_scan_failures_total{reason="EMEDIUMTYPE"}') == 1 and m.get("kunpack_scans_total") == 9 and
          m.get('kunpack_guests{status="failed"}') == 1 and m.get("kunpack_appliance_launches_total") == 8,
          "metrics: the failure counted by its errno, the guest as failed, no appliance launched for it")
    os.unlink(os.path.join(d.xen, "bad1.cfg"))
    d.wait_for(lambda: "bad1" not in d.guests(), 10, "bad1 to go")
    os.rmdir(bad)

    # bash completion of guest names: the completion runs `kunpackctl list` with the --config= given before it.
    source = os.environ["KP_SOURCE_DIR"]
    spec = importlib.util.spec_from_file_location("completion", os.path.join(source, "tests", "unit",
                                                                            "test-completion.py"))
    harness = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(harness)
    env = d.env()
    env["PATH"] = os.path.dirname(d.kunpackctl) + ":" + env.get("PATH", "/usr/bin:/bin")
    if os.path.exists(harness.BASH_COMPLETION):
        got = harness.complete(os.path.join(source, "shell-completion", "bash", "kunpackctl"),
                               "kunpackctl --config=%s show g" % d.conf, env=env)
        check(got == ["g%d" % i for i in range(1, 9)], "bash completion of guest names: %s" % got)
    else:
        check(False, "bash-completion is missing (scripts/install-deps.sh test)")


def libxl_would_find(name):
    """libxl_bootloader.c: NAME in an installed Xen's private bindir (lstat), else execvp on the service PATH."""
    for bindir in sorted(glob.glob("/usr/lib/xen-*/bin")):
        if os.path.lexists(os.path.join(bindir, name)):
            return os.path.join(bindir, name)
    for p in "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".split(":"):
        if os.path.isfile(os.path.join(p, name)) and os.access(os.path.join(p, name), os.X_OK):
            return os.path.join(p, name)
    return None


def doctor(d):
    """kunpackctl doctor against the running daemon: each line what this machine says, checked from outside."""
    r = d.ctl("doctor")
    exhibit("doctor", r.stdout)
    lines = r.stdout.splitlines()
    by = {}
    for line in lines:
        verdict, check_name, detail = line.split(None, 2)
        by.setdefault(check_name, []).append((verdict, detail))
    cache = os.path.join(d.workdir, "cache")
    check(by.get("settings") == [("ok", d.conf + " is valid")], "doctor: settings (%s)" % by.get("settings"))
    check(by.get("pvgrub", [("",)])[0][0] == ("ok" if os.path.isfile(boottest_pvgrub()) else "FAIL"),
          "doctor: pvgrub (%s)" % by.get("pvgrub"))
    # The link test, made here by hand: a file of the cache linked into /var/lib/xen.
    linkable = None
    if os.path.isdir("/var/lib/xen"):
        probe = os.path.join(cache, "doctor-probe")
        open(probe, "w").close()
        try:
            os.link(probe, "/var/lib/xen/.doctor-probe")
            os.unlink("/var/lib/xen/.doctor-probe")
            linkable = True
        except OSError:
            linkable = False
        os.unlink(probe)
    check(by.get("links", [("",)])[0][0] == ("ok" if linkable else "FAIL"),
          "doctor: links, as a link made by hand says (%s: %s)" % (linkable, by.get("links")))
    st = d.ctl_json("status")
    check(st.get("links_to_libxl") is linkable, "status: links_to_libxl is %s, as by hand" % linkable)
    check(by.get("kunpackd") == [("ok", "running (pid %d), 8 guests, 8 scans done, 1 failed" % d.proc.pid)]
          if linkable is not False else by.get("kunpackd", [("",)])[0][0] == "FAIL",
          "doctor: kunpackd (%s)" % by.get("kunpackd"))
    launch = by.get("libguestfs", [("", "")])[0]
    check(launch[0] == "ok" and re.match(r"an appliance \(512 MiB\) launched and stopped in \d+\.\d s; a cold start "
                                         r"pays this within boot_timeout \(100 s\)$", launch[1]),
          "doctor: a real appliance launch, timed (%s)" % launch[1])
    units = []
    for unit in ("kunpackd.socket", "kunpackd.service"):
        u = subprocess.run(["systemctl", "is-enabled", unit], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True).stdout.splitlines()
        units.append("not installed" if u and "No such file" in u[0] else (u[0] if u else "unknown"))
    check(by.get("units", [("", "")])[0][0] == ("ok" if units == ["enabled", "enabled"] else "FAIL") and
          by["units"][0][1].startswith("kunpackd.socket %s, kunpackd.service %s" % tuple(units)),
          "doctor: units as systemctl is-enabled says (%s)" % units)
    found = libxl_would_find("kunpack-boot")
    check(by.get("bare-name", [("", "")])[0] == (("ok", 'bootloader = "kunpack-boot" finds %s' % found) if found else
                                                 ("FAIL", 'bootloader = "kunpack-boot" is found neither in Xen\'s '
                                                  '/usr/lib/xen-*/bin nor on PATH (/usr/local/sbin:/usr/local/bin:'
                                                  '/usr/sbin:/usr/bin:/sbin:/bin): name '
                                                  '/usr/libexec/kunpack/kunpack-boot instead')),
          "doctor: the bare name, as libxl would look for it (%s)" % found)
    installed = os.access("/usr/libexec/kunpack/kunpack-boot", os.X_OK)
    if installed:
        check(by.get("guests") == [("ok", "8 guest configs name kunpack-boot; each bootloader can be run")],
              "doctor: the 8 guests' bootloader is installed (%s)" % by.get("guests"))
    else:
        check(sorted(x[1].split()[0] for x in by.get("guest", [])) == ["g%d" % i for i in range(1, 9)] and
              all(x[1].endswith("bootloader /usr/libexec/kunpack/kunpack-boot cannot be run: No such file or "
                                "directory") for x in by["guest"]),
              "doctor: one line for each of the 8 guests whose bootloader is not installed (%s)" % by.get("guest"))
    check(r.returncode == (0 if all(v == "ok" for x in by.values() for v, _ in x) else 1),
          "doctor: exit %d for %d failed checks" % (r.returncode, sum(v == "FAIL" for x in by.values() for v, _ in x)))


def boottest_pvgrub():
    import boottest
    return boottest.PVGRUB


def socket_activation(d):
    """kunpackd.socket's way: the listening socket is passed (LISTEN_FDS) and kunpackd starts at the
    first connection. systemd-socket-activate does what PID 1 does for a socket unit."""
    if not shutil.which("systemd-socket-activate"):
        check(False, "systemd-socket-activate (package systemd) is missing")
        return
    notify = daemontest.Notify(os.path.join(d.workdir, "notify.sock"))
    env = d.env()
    env["NOTIFY_SOCKET"] = notify.path
    log_start = len(d.read_log())
    passed = ["-E" + v for v in ("PATH", "NOTIFY_SOCKET", "LIBGUESTFS_HV", "KP_LAUNCH_LOG",
                                 "LIBGUESTFS_BACKEND_SETTINGS") if v in env]
    with open(d.log, "a") as logf:
        proc = subprocess.Popen(["systemd-socket-activate", "-l", d.socket, *passed, d.kunpackd, "--config=" + d.conf,
                                 "--scan-program=" + d.scan], stdout=logf, stderr=subprocess.STDOUT, env=env)
    try:
        d.wait_for(lambda: os.path.exists(d.socket), 10, "the activation socket")
        r = d.ctl("--json", "status")      # the first connection starts kunpackd
        st = json.loads(r.stdout) if r.returncode == 0 else {}
        log = d.read_log()[log_start:]
        check(st.get("pid") == proc.pid and st.get("socket") == d.socket and st.get("guests") == 7 and
              notify.wait("READY=1", 10) and "will not find this daemon" not in log,
              "socket activation: started by the first call, on the passed socket, READY=1 (%s)"
              % (r.stderr.strip() or log.strip().splitlines()[-1:]))
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=60)
        check(rc == 0 and os.path.exists(d.socket),
              "SIGTERM stops it (%d) and the socket, systemd's, stays for the next activation" % rc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        notify.close()


if __name__ == "__main__":
    main()
