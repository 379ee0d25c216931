#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""kunpackd's units as systemd reads them: `systemd-analyze verify` on
kunpackd.service (as configured, its ExecStart the built daemon),
kunpackd.socket and a xendomains.service as Xen ships it, and the
ordering host boot relies on: xendomains starts the autostart guests only
once kunpackd is ready, and kunpackd is ready only after their scans
(Type=notify; manager.c sends READY=1), so systemd must wait for READY=1
and not for the process to start.

Usage: test-units.py SERVICE SOCKET KUNPACKD
"""

import configparser
import os
import shutil
import subprocess
import sys
import tempfile

failed = 0


def check(cond, what):
    global failed
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failed += 1


# Xen's own tools/hotplug/Linux/systemd/xendomains.service.in, with a command that exists here.
XENDOMAINS = """[Unit]
Description=Xendomains - start and stop guests on boot and shutdown
Requires=proc-xen.mount xenstored.service
After=proc-xen.mount xenstored.service xenconsoled.service xen-init-dom0.service
After=network-online.target
After=remote-fs.target
ConditionPathExists=/proc/xen/capabilities

[Service]
Type=oneshot
RemainAfterExit=true
ExecStart=/bin/true
ExecStop=/bin/true

[Install]
WantedBy=multi-user.target
"""


def unit(path):
    p = configparser.ConfigParser(strict=False, interpolation=None, allow_no_value=True)
    p.optionxform = str
    with open(path) as f:
        # Repeated keys (After= twice) are systemd's way of appending: keep the last for this check.
        p.read_string(f.read())
    return p


def main():
    service, socket_unit, kunpackd = sys.argv[1:4]
    if not shutil.which("systemd-analyze"):
        print("systemd-analyze not found: skipping")
        sys.exit(77)
    work = tempfile.mkdtemp(prefix="test-units-")
    with open(service) as f:
        text = f.read()
    exec_start = [line for line in text.splitlines() if line.startswith("ExecStart=")]
    check(len(exec_start) == 1, "one ExecStart= in kunpackd.service: %s" % exec_start)
    # The installed path does not exist in a build tree: the built daemon stands in for it.
    text = text.replace(exec_start[0], "ExecStart=" + os.path.abspath(kunpackd))
    with open(os.path.join(work, "kunpackd.service"), "w") as f:
        f.write(text)
    shutil.copy(socket_unit, os.path.join(work, "kunpackd.socket"))
    with open(os.path.join(work, "xendomains.service"), "w") as f:
        f.write(XENDOMAINS)

    units = [os.path.join(work, n) for n in ("kunpackd.service", "kunpackd.socket", "xendomains.service")]
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", *units], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, cwd=work)
    # Units systemd has never heard of here (xenstored.service, proc-xen.mount) are only
    # dependencies; anything about our own units is a failure.
    ours = [line for line in r.stdout.splitlines() if "kunpackd." in line]
    check(ours == [], "systemd-analyze verify says nothing about kunpackd's units: %s" % ours)

    s = unit(os.path.join(work, "kunpackd.service"))
    before = s.get("Unit", "Before", fallback="").split()
    check("xendomains.service" in before, "kunpackd.service is ordered Before=xendomains.service (%s)" % before)
    check(s.get("Service", "Type", fallback="simple") == "notify",
          "Type=notify: systemd counts kunpackd started at READY=1, which comes after the autostart scans")
    check(s.get("Service", "NotifyAccess", fallback="main") == "main",
          "READY=1 and EXTEND_TIMEOUT_USEC come from the main process (NotifyAccess=main)")
    timeout = s.get("Service", "TimeoutStartSec", fallback=None)
    check(timeout is None, "TimeoutStartSec left to EXTEND_TIMEOUT_USEC (set: %s)" % timeout)
    shutil.rmtree(work)
    if failed:
        print("%d check(s) failed" % failed)
        sys.exit(1)


if __name__ == "__main__":
    main()
