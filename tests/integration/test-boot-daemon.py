#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""kunpack-boot asks kunpackd first, and does the work itself without it.

Usage: test-boot-daemon.py   (with $KP_FIXTURES and $KP_BUILD_DIR set; needs root)

kunpack-boot runs as libxl runs it (boottest.run_like_libxl) with the same
configuration file as a real kunpackd (daemontest.Daemon), on a copy of the
Ubuntu 20.04 LZ4 image:

  1. With the daemon: the first start is served by kunpackd after its scan
     (the daemon's log says so; kunpack-boot launches no appliance of its
     own), the second from its fresh plan; both answers byte-exact.
  2. The daemon stopped (its socket gone): the start is answered in-process,
     hot, from the state and cache the daemon left.
  3. A stale socket file nobody listens on: in-process again, no error.
  4. The daemon up again with --kernel=/--ramdisk= (a request it may leave
     to kunpack-boot): the answer is the guest's files and libxl's args.
"""

import os
import re
import socket
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import boottest  # noqa: E402
import daemontest  # noqa: E402
import guesttest  # noqa: E402
from guesttest import check  # noqa: E402

EXTRA = "console=hvc0 earlyprintk=xen"
K_OLD = "5.4.0-42-generic"


def main():
    if os.geteuid() != 0:
        print("needs root (kunpack's cache and state belong to root): skipping")
        sys.exit(77)
    fixtures = guesttest.fixtures()
    build = os.environ["KP_BUILD_DIR"]
    _, manifest = guesttest.build_images()
    work = tempfile.mkdtemp(prefix="boot-daemon-", dir=os.path.join(build, "tests", "integration"))
    vmlinux = guesttest.sha256(os.path.join(fixtures, "vmlinux"))
    boot = os.path.join(build, "tools", "kunpack-boot")
    counter = guesttest.Counter(work)
    daemon = daemontest.Daemon(work, counter, 'pvgrub_path = "%s"\n' % boottest.PVGRUB)
    domains = os.path.join(work, "xen-lib")  # /var/lib/xen's stand-in: libxl's output files
    os.mkdir(domains)

    lz4 = manifest["ubuntu-20.04-lz4"]
    disk = boottest.copy_image(lz4["disks"][0]["path"], os.path.join(daemon.images, "ubuntu-lz4.img"))
    initrd = guesttest.file_sha(lz4, "/boot/initrd.img-" + K_OLD)
    args = lz4["expect"]["cmdline"] + " " + EXTRA

    def start(**kw):
        """One domain start as libxl does it; kunpack-boot's own appliance launches are counted."""
        before = counter.launches()
        ans = boottest.run_like_libxl(boot, disk, domains, ["--config=" + daemon.conf], env=counter.env(), **kw)
        return ans, counter.launches() - before

    # 1. kunpackd serves the start: cold after its own scan, then hot.
    daemon.start()
    try:
        ans, _ = start(args=EXTRA)
        boottest.check_answer("via kunpackd, cold", ans, vmlinux, initrd, args)
        boottest.check_readnotes("via kunpackd, cold", ans)
        log = daemon.read_log()
        check("served after a scan" in log and disk in log,
              "the daemon's log says it served the start of %s after a scan" % disk)
        check(any("kunpackd" in line and "scanned and cached" in line for line in ans.lines()),
              "kunpack-boot says kunpackd answered after a scan (%s)" % ans.lines())
        # While it waits, not only after: the daemon's PrepareWaiting signal, then the time the scan took.
        lines = ans.lines()
        began = [i for i, line in enumerate(lines)
                 if "%s: cold start: kunpackd is scanning the disk in a libguestfs appliance" % disk in line
                 and "has not been scanned yet" in line]
        ended = [i for i, line in enumerate(lines) if re.search(r": kunpackd's scan done in [0-9]+\.[0-9] s$", line)]
        check(len(began) == 1 and len(ended) == 1 and began[0] < ended[0],
              "kunpack-boot says the start waits for kunpackd's scan, and how long it took: %s" % lines)
        check(re.search(r"scanned \S+ \(%s\) in [0-9]+\.[0-9] s" % re.escape(disk), log) is not None,
              "the daemon's log says how long the scan took")

        ans, launched = start(args=EXTRA)
        boottest.check_answer("via kunpackd, hot", ans, vmlinux, initrd, args)
        check("served from a fresh plan" in daemon.read_log(), "the daemon served the second start from a fresh plan")
        check(launched == 0, "hot start via kunpackd: no appliance launched (got %d)" % launched)
        check(any("kunpackd" in line and "from the cache" in line for line in ans.lines()),
              "kunpack-boot says kunpackd answered from the cache (%s)" % ans.lines())
    finally:
        rc = daemon.stop()
    check(rc == 0, "kunpackd stops cleanly (%s)" % rc)

    # 2. No daemon: kunpack-boot alone, hot from what the daemon left in the state and the cache.
    check(not os.path.exists(daemon.socket), "the daemon removed its socket (%s)" % daemon.socket)
    ans, launched = start(args=EXTRA)
    boottest.check_answer("without kunpackd", ans, vmlinux, initrd, args)
    check(launched == 0 and any("from the cache" in line and "kunpackd" not in line for line in ans.lines()),
          "without kunpackd: answered in-process from the cache, no appliance (launches %d, %s)" % (
              launched, ans.lines()))

    # 3. A socket file left behind by a dead daemon: refused connections mean "no daemon", not a failure.
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(daemon.socket)
    stale.close()
    ans, _ = start(args=EXTRA)
    boottest.check_answer("stale socket", ans, vmlinux, initrd, args)
    os.unlink(daemon.socket)

    # 4. A direct request through the daemon (or left to kunpack-boot by it): the guest's files, libxl's args.
    daemon.start()
    try:
        ans, _ = start(kernel="/boot/vmlinuz-" + K_OLD, ramdisk="/boot/initrd.img-" + K_OLD, args="root=/dev/xvda1")
        boottest.check_answer("--kernel= with kunpackd", ans, vmlinux, initrd, "root=/dev/xvda1")
    finally:
        rc = daemon.stop()
    check(rc == 0, "kunpackd stops cleanly again (%s)" % rc)
    guesttest.finish()


if __name__ == "__main__":
    main()
