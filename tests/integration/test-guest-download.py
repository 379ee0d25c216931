#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Builds the images guest-download needs and runs it (one appliance per guest).

It checks the session API the daemon and the cache use: downloads whose bytes
hash to the sha256 computed in the appliance, the refusals, a cancel from
another thread half way through a 50 MB transfer, and that nothing is ever
printed, whatever thread calls.

Usage: test-guest-download.py GUEST_DOWNLOAD   (with $KP_FIXTURES and $KP_BUILD_DIR set)
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guesttest  # noqa: E402


def main():
    helper = os.path.abspath(sys.argv[1])
    _, manifest = guesttest.build_images()
    counter = guesttest.Counter(guesttest.tempfile.mkdtemp(prefix="kp-download-"))
    r = subprocess.run([helper, manifest["ubuntu-20.04-lz4"]["disks"][0]["path"],
                        manifest["hostile-big-config"]["disks"][0]["path"],
                        manifest["boot-specials"]["disks"][0]["path"]], env=counter.env(), timeout=900,
                       stderr=subprocess.PIPE, text=True)
    sys.stderr.write(r.stderr)
    guesttest.check(r.returncode == 0, "guest-download passed")
    # The library never prints, from whichever thread it is called (libguestfs's error handler is per thread).
    guesttest.check("libguestfs:" not in r.stderr, "nothing printed by libguestfs")
    guesttest.check(counter.launches() == 3, "three appliance launches for three guests (%d)" % counter.launches())
    guesttest.finish()


if __name__ == "__main__":
    main()
