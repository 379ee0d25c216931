#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""kunpackd stays responsive while `kunpackctl verify` re-hashes a big
cache: Verify runs in a thread of its own (daemon/verify.c), so Prepare is
answered meanwhile.

The cache holds 2.25 GiB of initrd entries (sparse files: reading them
costs no disk, hashing them costs the same CPU as real ones) and one
damaged entry. Dry-run Prepare calls (the real client, kunpackctl
prepare) are timed before and during the verify; no appliance is
launched.
"""

import hashlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import daemontest
import guesttest
from guesttest import check

MIB = 1024 * 1024
# Three entries of different sizes (so different contents and names), 2.25 GiB in all.
SIZES = (704 * MIB, 768 * MIB, 832 * MIB)


def zeros_sha256(size):
    h = hashlib.sha256()
    block = bytes(MIB)
    for _ in range(size // MIB):
        h.update(block)
    return h.hexdigest()


def fill_cache(initrds):
    names = []
    for size in SIZES:
        name = zeros_sha256(size)
        with open(os.path.join(initrds, name), "wb") as f:
            f.truncate(size)
        names.append(name)
    return names


def damage(initrds):
    """An entry whose name is the sha256 of other bytes."""
    bad = hashlib.sha256(b"what was stored").hexdigest()
    with open(os.path.join(initrds, bad), "wb") as f:
        f.write(b"what is there now")
    return bad


def main():
    if os.geteuid() != 0:
        print("kunpackd serves root only: skipping")
        sys.exit(77)
    base = os.environ.get("KP_BUILD_DIR") or tempfile.gettempdir()
    work = tempfile.mkdtemp(prefix="test-daemon-verify-", dir=os.path.join(base, "tests", "integration"))
    counter = guesttest.Counter(work)
    d = daemontest.Daemon(work, counter)
    disk = os.path.join(d.images, "unscanned.img")
    with open(disk, "wb") as f:
        f.truncate(64 * MIB)

    def prepare():
        t = time.monotonic()
        r = d.ctl("prepare", "--disk=" + disk, "--dry-run", timeout=120)
        return time.monotonic() - t, r

    d.start()
    try:
        initrds = os.path.join(work, "cache", "initrds")
        names = fill_cache(initrds)
        total = sum(os.path.getsize(os.path.join(initrds, n)) for n in names)
        check(total >= 2 * 1000 ** 3, "the cache holds %.2f GB to verify" % (total / 1000 ** 3))

        idle = []
        for _ in range(5):
            s, r = prepare()
            check(r.returncode == 0 and r.stdout.startswith("cold: the next start waits for a scan"),
                  "dry-run Prepare of an unscanned disk: %s" % (r.stdout.strip() or r.stderr.strip()))
            idle.append(s)

        t0 = time.monotonic()
        v = subprocess.Popen([d.kunpackctl, "--config=" + d.conf, "verify"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=d.env())
        during = []
        while v.poll() is None:
            at = time.monotonic() - t0
            s, r = prepare()
            if v.poll() is None:
                during.append((s, at))
                check(r.returncode == 0, "Prepare answered during the verify: %s" % r.stderr.strip())
        out, err = v.communicate()
        verify_s = time.monotonic() - t0
        check(v.returncode == 0 and out == "3 cache entries checked, 0 damaged and removed\n",
              "verify: every entry hashed, none damaged (exit %d): %s %s" % (v.returncode, out, err))
        lat = sorted(x[0] for x in during)
        slowest = max(during) if during else (0, 0)
        print("verify of %.2f GB: %.1f s; dry-run Prepare idle: median %.0f ms, max %.0f ms; during verify: "
              "%d calls, median %.0f ms, 99th percentile %.0f ms, max %.0f ms (%.1f s into the verify)"
              % (total / 1000 ** 3, verify_s, statistics.median(idle) * 1000, max(idle) * 1000, len(during),
                 statistics.median(lat) * 1000 if lat else 0, lat[len(lat) * 99 // 100] * 1000 if lat else 0,
                 slowest[0] * 1000, slowest[1]))
        # Answered all along, not once the hashing is over: on the event loop, one call would have
        # waited for the whole verify and only one would fit in it.
        check(verify_s >= 2 and len(during) >= 3 and slowest[0] < max(1.5, verify_s / 4),
              "Prepare is answered while verify runs (%d calls in %.1f s, the slowest %.0f ms)"
              % (len(during), verify_s, slowest[0] * 1000))
        check(counter.launches() == 0, "no appliance launched (%d)" % counter.launches())

        # Two Verify calls at once share one run, and get the same answer.
        a = subprocess.Popen([d.kunpackctl, "--config=" + d.conf, "verify"], stdout=subprocess.PIPE, text=True,
                             env=d.env())
        time.sleep(0.3)
        b = subprocess.Popen([d.kunpackctl, "--config=" + d.conf, "verify"], stdout=subprocess.PIPE, text=True,
                             env=d.env())
        oa, _ = a.communicate(timeout=600)
        ob, _ = b.communicate(timeout=600)
        runs = d.read_log().count("cache verify started in the background")
        check(a.returncode == 0 and b.returncode == 0 and oa == ob == "3 cache entries checked, 0 damaged and removed\n"
              and runs == 2, "two Verify calls at once: one run (%d in all), one answer: %r %r" % (runs, oa, ob))

        # A damaged entry is named and removed; the sound ones stay.
        bad = damage(initrds)
        r = d.ctl("verify", timeout=600)
        check(r.returncode == 1 and r.stdout.strip().splitlines() ==
              ["initrd %s: sha256 is %s, expected %s: removed" % (bad, hashlib.sha256(b"what is there now").hexdigest(), bad),
               "4 cache entries checked, 1 damaged and removed"],
              "verify names and removes the damaged entry (exit %d): %s %s" % (r.returncode, r.stdout, r.stderr))
        check(not os.path.exists(os.path.join(initrds, bad)) and
              all(os.path.exists(os.path.join(initrds, n)) for n in names),
              "the damaged entry is gone, the sound ones stay")

        # Stopping during a verify: the run stops between two entries, its caller hears why.
        v = subprocess.Popen([d.kunpackctl, "--config=" + d.conf, "verify"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=d.env())
        time.sleep(0.5)
        t = time.monotonic()
        rc = d.stop(signal.SIGTERM)
        stop_s = time.monotonic() - t
        out, err = v.communicate(timeout=60)
        check(rc == 0 and v.returncode != 0 and "kunpackd is stopping" in err and stop_s < 15,
              "SIGTERM during a verify: the daemon exits in %.1f s, the caller is told (%d: %s)"
              % (stop_s, v.returncode, err.strip()))
    finally:
        d.stop()
        shutil.rmtree(work, ignore_errors=True)
    guesttest.finish()


if __name__ == "__main__":
    main()
