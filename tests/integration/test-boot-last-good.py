#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""on_failure = "last-good", run as libxl runs kunpack-boot.

Usage: test-boot-last-good.py   (with $KP_FIXTURES and $KP_BUILD_DIR set; needs root)

  a good scan, then the disk changes and the appliance hangs (a timeout: the
      host's failure)           the last good plan, byte for byte, said STALE
  the appliance does not launch (its qemu exits at once: the host's failure)
                                the last good plan, said STALE
  no earlier scan, a timeout    pvgrub, saying there was no last good plan
  the guest's disk now boots a refused kernel (the guest's failure; here
      above max_kernel_size), a last good plan there
                                pvgrub, as with on_failure = "pvgrub"

The other policies on the same failures: test-boot-faults.py (pvgrub and
fail on a hung appliance) and test-hostile.py (refused boot configurations).
"""

import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import boottest  # noqa: E402
import guesttest  # noqa: E402
from guesttest import check  # noqa: E402

EXTRA = "console=hvc0"
HANG_TIMEOUT = 20
# For the scans that must succeed: a loaded host takes more than HANG_TIMEOUT.
SCAN_TIMEOUT = 110


def fake_hanging_qemu(work):
    """A LIBGUESTFS_HV whose launches never boot (test-boot-faults.py has the same)."""
    import shutil
    qemu = shutil.which("qemu-system-x86_64")
    path = os.path.join(work, "qemu-hangs")
    with open(path, "w") as f:
        f.write('#!/bin/sh\nfor a in "$@"; do [ "$a" = -kernel ] && exec sleep 1000; done\nexec %s "$@"\n' % qemu)
    os.chmod(path, 0o755)
    return path


def fake_failing_qemu(work):
    """A LIBGUESTFS_HV whose appliance launches fail at once, as a qemu that cannot start does."""
    import shutil
    qemu = shutil.which("qemu-system-x86_64")
    path = os.path.join(work, "qemu-fails")
    with open(path, "w") as f:
        f.write('#!/bin/sh\nfor a in "$@"; do [ "$a" = -kernel ] && { echo "qemu: cannot start" >&2; exit 1; }; done\n'
                'exec %s "$@"\n' % qemu)
    os.chmod(path, 0o755)
    return path


def main():
    if os.geteuid() != 0:
        print("needs root (kunpack's root-owned cache): skipping")
        sys.exit(77)
    fixtures = guesttest.fixtures()
    build = os.environ["KP_BUILD_DIR"]
    outdir, manifest = guesttest.build_images()
    work = tempfile.mkdtemp(prefix="boot-last-good-", dir=os.path.join(build, "tests", "integration"))
    vmlinux = guesttest.sha256(os.path.join(fixtures, "vmlinux"))
    lz4 = manifest["ubuntu-20.04-lz4"]
    initrd = guesttest.file_sha(lz4, "/boot/initrd.img-5.4.0-42-generic")
    args = lz4["expect"]["cmdline"] + " " + EXTRA
    hang = fake_hanging_qemu(work)

    rig = boottest.Rig(work, "last-good")

    def configure(timeout, **extra):
        conf = {"cache_dir": rig.cache, "state_dir": rig.state, "pvgrub_path": boottest.PVGRUB,
                "socket_path": os.path.join(rig.dir, "no-kunpackd.sock"), "on_failure": "last-good",
                "boot_timeout": timeout}
        conf.update(extra)
        rig.write_config(conf)

    configure(SCAN_TIMEOUT)
    disk = boottest.copy_image(lz4["disks"][0]["path"], os.path.join(work, "guest.img"))

    # 1. A good scan: the plan the policy may fall back on.
    ans = rig.start(disk, args=EXTRA)
    boottest.check_answer("good scan", ans, vmlinux, initrd, args)

    # 2. The disk changes, and the scan times out: the last good plan, said STALE.
    os.utime(disk, None)
    configure(HANG_TIMEOUT)
    rig.hv = hang
    rig.reset_counts()
    ans = rig.start(disk, args=EXTRA)
    boottest.check_answer("timeout, last-good", ans, vmlinux, initrd, args)
    lines = boottest.policy_lines(ans)
    check(len(lines) == 2 and disk in lines[0] and re.search(r"deadline passed|did not finish within", lines[0]) and
          "on_failure=last-good: booting the STALE plan of the last good scan" in lines[0] and
          "kernel /boot/vmlinuz-5.4.0-42-generic" in lines[0] and "STALE: the last good plan" in lines[1],
          "timeout, last-good: one warning naming the disk, the failure and the stale plan, then the answer (%s)"
          % lines)
    check(ans.seconds <= HANG_TIMEOUT + 2, "timeout, last-good: answered in %.1f s" % ans.seconds)

    # 2b. The appliance does not launch at all: the host's failure too, the same answer.
    configure(SCAN_TIMEOUT)
    rig.hv = fake_failing_qemu(work)
    ans = rig.start(disk, args=EXTRA)
    boottest.check_answer("launch failure, last-good", ans, vmlinux, initrd, args)
    lines = boottest.policy_lines(ans)
    check(len(lines) == 2 and disk in lines[0] and "could not launch the libguestfs appliance" in lines[0] and
          "on_failure=last-good: booting the STALE plan of the last good scan" in lines[0] and
          "STALE: the last good plan" in lines[1],
          "launch failure, last-good: one warning naming the disk, the launch failure and the stale plan (%s)"
          % lines)
    check(ans.seconds < 30, "launch failure, last-good: answered in %.1f s" % ans.seconds)
    rig.hv = hang
    configure(HANG_TIMEOUT)

    # 3. A timeout on a disk never scanned: nothing to fall back on but pvgrub.
    other = boottest.copy_image(lz4["disks"][0]["path"], os.path.join(work, "never-scanned.img"))
    ans = rig.start(other, args=EXTRA)
    boottest.check_fallback("timeout, no earlier scan", ans, EXTRA, other,
                            r"(deadline passed|did not finish within).*on_failure=last-good: no last good plan "
                            r"either: no earlier scan of")

    # 4. The guest's own failure, with a last good plan there: its disk now boots another kernel
    #    (zstd), which is refused (above max_kernel_size). pvgrub, as without the policy.
    rig.hv = None
    configure(SCAN_TIMEOUT, max_kernel_size="16M")
    boottest.copy_image(manifest["ubuntu-22.04-gpt-lvm"]["disks"][0]["path"], disk + ".new")
    os.rename(disk + ".new", disk)
    ans = rig.start(disk, args=EXTRA)
    boottest.check_fallback("refused kernel, last-good", ans, EXTRA, disk,
                            r"on_failure=last-good: not a failure of the host's")
    check(not any("STALE" in line for line in ans.lines()), "refused kernel: no stale plan served (%s)" % ans.lines())
    guesttest.finish()


if __name__ == "__main__":
    main()
