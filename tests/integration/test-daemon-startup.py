#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Host boot: kunpackd's READY=1, which xendomains.service waits for (it is
ordered after kunpackd.service), comes only once every autostart guest's
scan has ended, so that xendomains starts them hot; or after
startup_scan_timeout, whatever is left scanned in the background.

The real daemon, real scans (kunpack-scan, libguestfs appliances), and a
NOTIFY_SOCKET that records each datagram as systemd would receive it.
Two autostart guests (in a directory named auto, as /etc/xen/auto) and
one that is not.
"""

import os
import re
import shutil
import sys
import tempfile
import time

import daemontest
import guesttest
from guesttest import check


def main():
    if os.geteuid() != 0:
        print("kunpackd serves root only: skipping")
        sys.exit(77)
    outdir, manifest = guesttest.build_images()
    base = os.environ.get("KP_BUILD_DIR") or tempfile.gettempdir()
    work = tempfile.mkdtemp(prefix="test-daemon-startup-", dir=os.path.join(base, "tests", "integration"))
    counter = guesttest.Counter(work)
    try:
        run(work, counter, manifest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    guesttest.finish()


def run(work, counter, manifest):
    d = daemontest.Daemon(work, counter)
    auto = os.path.join(d.xen, "auto")
    os.makedirs(auto)

    def conf(extra=""):
        d.write_conf(extra)
        with open(d.conf) as f:
            text = f.read()
        with open(d.conf, "w") as f:
            f.write(text.replace('domain_config_dirs = [ "%s" ]' % d.xen,
                                 'domain_config_dirs = [ "%s", "%s" ]' % (d.xen, auto)))

    disks = {}
    for name, img in (("a1", "ubuntu-20.04-lz4"), ("a2", "debian-12-xz"), ("g3", "ubuntu-22.04-gpt-lvm")):
        disks[name] = d.add_guest(name, manifest[img]["disks"][0]["path"])
        if name.startswith("a"):
            os.rename(os.path.join(d.xen, name + ".cfg"), os.path.join(auto, name + ".cfg"))

    # ---- 1. READY=1 after the autostart guests' scans ----------------------------------------
    conf()
    t0 = time.monotonic()
    d.start(wait_ready=False)
    ready = d.notify.wait("READY=1", 600)
    t_ready = time.monotonic()
    guests = d.guests()
    log = d.read_log()
    timed = list(d.notify.timed)
    check(ready, "READY=1 came (%.1f s)" % (t_ready - t0))
    status = {n: g["status"] for n, g in guests.items()}
    check(status.get("a1") == "fresh" and status.get("a2") == "fresh" and guests["a1"]["autostart"] and
          not guests["g3"]["autostart"],
          "when READY=1 came, both autostart guests were fresh: %s" % status)
    # systemd was asked to wait long enough first: startup_scan_timeout (5 min) and a 30 s margin.
    msgs = [m for _, m in timed if m]
    extend = [i for i, m in enumerate(msgs) if m == "EXTEND_TIMEOUT_USEC=330000000"]
    first_ready = msgs.index("READY=1") if "READY=1" in msgs else -1
    check(extend and first_ready > extend[0] and msgs.count("READY=1") == 1,
          "EXTEND_TIMEOUT_USEC=330000000 before the one READY=1: %s" % msgs)
    # The scans ended before READY=1 was said: the daemon's own log in its order.
    i_ready = log.find("ready (READY=1) after")
    i_a1 = log.find("scanned a1 (")
    i_a2 = log.find("scanned a2 (")
    check(0 <= i_a1 < i_ready and 0 <= i_a2 < i_ready and
          "every autostart guest's startup scan has ended" in log[i_ready:i_ready + 200],
          "the log says a1 and a2 were scanned, then READY=1")
    m = re.search(r"ready \(READY=1\) after ([0-9.]+) s", log)
    print("time to READY=1 with 2 autostart guests and one other: %.1f s (daemon: %s s); appliances so far: %d"
          % (t_ready - t0, m.group(1) if m else "?", counter.launches()))
    # g3 is not an autostart guest: READY=1 did not wait for it, it is scanned after.
    check(d.wait_for(lambda: d.guests()["g3"]["status"] == "fresh", 300, "g3's scan"), "g3 is scanned after")
    d.stop()

    # ---- 2. startup_scan_timeout: READY=1 then, the scan goes on ------------------------------
    os.utime(disks["a1"], None)   # as after a write: a1's plan is stale
    conf('startup_scan_timeout = "3s"\n')
    t0 = time.monotonic()
    d.start(wait_ready=False)
    ready = d.notify.wait("READY=1", 60)
    t_ready = time.monotonic() - t0
    guests = d.guests()
    log = d.read_log()
    msgs = [m for _, m in d.notify.timed if m]
    check(ready and 2.5 <= t_ready < 15 and "EXTEND_TIMEOUT_USEC=33000000" in msgs,
          "startup_scan_timeout = 3s: EXTEND_TIMEOUT_USEC=33000000, READY=1 after %.1f s" % t_ready)
    check("startup_scan_timeout (3 s) passed with 1 autostart guests still queued or being scanned" in log and
          (guests["a1"]["status"].startswith("scanning") or guests["a1"]["status"] == "queued") and
          guests["a2"]["status"] == "fresh",
          "the log says one autostart guest was still being scanned; a1 is: %s" % guests["a1"]["status"])
    check(d.wait_for(lambda: d.guests()["a1"]["status"] == "fresh", 300, "a1's scan"),
          "a1's scan went on after READY=1")
    d.stop()

    # ---- 3. every plan fresh: READY=1 at once ------------------------------------------------
    conf()
    t0 = time.monotonic()
    d.start(wait_ready=False)
    ready = d.notify.wait("READY=1", 30)
    t_ready = time.monotonic() - t0
    check(ready and t_ready < 5 and "no autostart guest needs a scan" in d.read_log() and
          not any(m.startswith("EXTEND_TIMEOUT_USEC=") for m in d.notify.seen("EXTEND")),
          "every plan fresh: READY=1 at once (%.1f s), no timeout extension" % t_ready)
    d.stop()


if __name__ == "__main__":
    main()
