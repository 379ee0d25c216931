#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs guest-pool: one pooled appliance (docs/pool.md) on the real libguestfs
and qemu, given the four-disk guest over QMP, with another guest's disk offered
to it too. Checks from outside what guest-pool cannot see itself: one launch,
the appliance's qemu held the four disks of its guest and never the other
guest's disk, and the plan is what images.py put on the disks.

Usage: test-pool-session.py GUEST_POOL   (with $KP_FIXTURES and $KP_BUILD_DIR set)
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guesttest  # noqa: E402


def main():
    helper = os.path.abspath(sys.argv[1])
    _, manifest = guesttest.build_images()
    four = manifest["four-disks"]
    other = manifest["ubuntu-20.04-lz4"]["disks"][0]["path"]
    disks = [d["path"] for d in four["disks"]]
    counter = guesttest.Counter(guesttest.tempfile.mkdtemp(prefix="kp-pool-session-"))

    with guesttest.Appliances(disks + [other]) as watch:
        r = subprocess.run([helper, other, *disks], env=counter.env(), timeout=600, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    sys.stderr.write(r.stderr)
    print(r.stdout, end="")
    out = dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)
    guesttest.check(r.returncode == 0, "guest-pool passed (exit %d)" % r.returncode)
    guesttest.check("libguestfs:" not in r.stderr, "nothing printed by libguestfs")
    guesttest.check(counter.launches() == 1, "one appliance launch (%d)" % counter.launches())

    held = set().union(*watch.held.values()) if watch.held else set()
    real = {os.path.realpath(p) for p in disks}
    guesttest.check(held == real, "the appliance held the guest's four disks (%s)" % sorted(held))
    guesttest.check(os.path.realpath(other) not in held, "and never the other guest's disk")

    want = four["expect"]
    guesttest.check(out.get("kernel") == want["kernel"], "kernel %s (%s)" % (want["kernel"], out.get("kernel")))
    sha = guesttest.file_sha(four, want["kernel"], disk=want.get("disk"))
    guesttest.check(sha is not None and out.get("kernel_sha256") == sha, "its sha256 is the one on disk %d"
                    % want.get("disk", 0))
    # The guest's third disk, as the guest names it, wherever it sits in the appliance.
    guesttest.check(out.get("config_device", "").startswith("/dev/sdc"),
                    "the config is on the guest's third disk (%s)" % out.get("config_device"))
    guesttest.finish()


if __name__ == "__main__":
    main()
