#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""One guest, one appliance: two guests scanned together, one of them hostile.

Usage: test-isolation.py   (with $KP_FIXTURES and $KP_BUILD_DIR set; needs root)

The hostile guest (images.py "hostile-dev-path") names /dev/sdb as its
kernel and holds a regular file of that name, which libguestfs would have
read as the appliance's second disk: in a shared appliance, the other
tenant's disk. The victim is Ubuntu 20.04 with an LZ4 kernel.

`kunpack-scan A B`, as an admin or kunpackd runs it, with its cache, state
and temp directory on a tmpfs of their own, while the test watches every
appliance (qemu) on the host:

  - no appliance ever held both guests' images (/proc/PID/fd), one
    appliance per guest, two launches;
  - the hostile guest is refused with EPERM and the reason, the victim gets
    its own kernel (sha256 of the file on its disk, and the cached ELF);
  - the tmpfs never held more than the victim's files and the overlays
    (its peak use, sampled every 0.1 s, is printed and bounded): no device
    contents reached dom0;
  - pvgrub mode on the hostile guest is refused the same way and leaves
    its image byte for byte as it was.
"""

import hashlib
import os
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import boottest  # noqa: E402
import guesttest  # noqa: E402
from guesttest import check  # noqa: E402

MiB = 1024 * 1024


class PeakUse:
    """The peak of a filesystem's used bytes (statvfs) while active."""

    def __init__(self, path):
        self.path = path
        self.base = self.used()
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = None

    def used(self):
        st = os.statvfs(self.path)
        return (st.f_blocks - st.f_bfree) * st.f_frsize

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.used())
            self._stop.wait(0.1)

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.used())
        return False


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    if os.geteuid() != 0:
        print("needs root (a tmpfs of its own): skipping")
        sys.exit(77)
    _, manifest = guesttest.build_images()
    hostile = manifest["hostile-dev-path"]["disks"][0]["path"]
    victim_entry = manifest["ubuntu-20.04-lz4"]
    victim = victim_entry["disks"][0]["path"]

    work = tempfile.mkdtemp(prefix="kp-isolation-")
    fs = os.path.join(work, "fs")
    os.mkdir(fs)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1g,mode=0700", "kp-isolation", fs],
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        print("cannot mount a tmpfs (%s): skipping" % r.stderr.strip())
        sys.exit(77)
    try:
        tmp = os.path.join(fs, "tmp")
        os.mkdir(tmp)
        rig = boottest.Rig(fs, "rig")
        env = rig.env()
        env["TMPDIR"] = tmp
        # libguestfs's cached appliance stays where it is (by default it follows TMPDIR).
        env.setdefault("LIBGUESTFS_CACHEDIR", "/var/tmp")

        with guesttest.Appliances([hostile, victim], only_under=fs) as watch, PeakUse(fs) as use:
            p = subprocess.run([rig.real_scan, "--config=" + rig.config, "--json", hostile, victim],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, timeout=600)
        summary = boottest.json.loads(p.stdout) if p.stdout.strip() else {}
        disks = summary.get("disks", [{}, {}])
        peak = (use.peak - use.base) / MiB
        print("peak use of the tmpfs holding cache, state and temp files: %.1f MiB" % peak)

        check(p.returncode == 1, "kunpack-scan exits 1: one guest failed (%d)" % p.returncode)
        check(summary.get("launches") == 2 and rig.counter.launches() == 2,
              "two appliances for two guests (summary %s, counted %d)" % (summary.get("launches"),
                                                                         rig.counter.launches()))
        check(not watch.shared(), "no appliance held both guests' disks (%s)" % watch.shared())
        check(sorted(len(h) for h in watch.held.values()) == [1, 1],
              "each appliance held exactly one guest's disk (%s)" % {k: sorted(v) for k, v in watch.held.items()})

        a, b = disks[0], disks[1]
        check(a.get("status") == "failed" and a.get("errno") == "EPERM" and
              "/dev/sdb is under /dev, where libguestfs reads devices of the appliance" in (a.get("error") or ""),
              "the hostile guest is refused: %s %s" % (a.get("errno"), a.get("error")))
        want = guesttest.file_sha(victim_entry, victim_entry["expect"]["kernel"])
        check(b.get("status") == "scanned" and b.get("kernel") == victim_entry["expect"]["kernel"] and
              b.get("kernel_sha256") == want,
              "the victim gets its own kernel (%s %s %s)" % (b.get("status"), b.get("kernel"), b.get("kernel_sha256")))
        elfs = os.listdir(os.path.join(rig.cache, "kernels"))
        check(len(elfs) >= 1, "the victim's kernel is in the cache (%s)" % elfs)
        # The victim's ELF, its initrd and the two appliances' overlays: well under the 64 MiB and more
        # a device stream would have brought (the appliance's root disk, the other guest's image).
        biggest = max(os.path.getsize(os.path.join(d, f)) for d, _, fs_ in os.walk(fs) for f in fs_)
        check(peak < 160, "peak tmpfs use %.1f MiB stays below 160 MiB" % peak)
        check(biggest < 100 * MiB, "no file in dom0 bigger than the victim's kernel (%d bytes)" % biggest)

        # pvgrub mode writes into the guest: the same name is refused there, and the image is untouched.
        before = sha256_file(hostile)
        copy = os.path.join(work, "hostile-copy.img")
        subprocess.run(["cp", "--sparse=always", hostile, copy], check=True)
        p = subprocess.run([rig.real_scan, "--config=" + rig.config, "--pvgrub", copy], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=env, timeout=600)
        check(p.returncode == 1 and "/dev/sdb" in p.stderr,
              "pvgrub mode refuses the /dev/sdb kernel (%d: %s)" % (p.returncode, p.stderr.strip()[-300:]))
        check(sha256_file(copy) == before, "the hostile image is byte for byte as it was after pvgrub mode")
    finally:
        subprocess.run(["umount", "-l", fs])
    guesttest.finish()


if __name__ == "__main__":
    main()
