#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Several faults in one run, and a disk that stays full; not a CI step.

Usage: tests/faults/multi-faults.py [--build DIR] [--seed S] TRIALS

(as root, with KP_FIXTURES set as the meson test environment sets it, or
a build directory whose tests/fixtures holds the built kernels)

test-faults.py fails one call at a time, and the next call goes through.
Here, for each writer (kunpack-scan storing into the cache, pvgrub mode
writing into the guest, pvgrub mode's dom0 side, kunpackctl revert), the
write/fsync/rename/link calls of a clean run are counted, and TRIALS runs
each fail either

  several   2 to 6 of those calls, picked at random, each ENOSPC or EIO
            (the errno picked once per run)
  sticky    one call picked at random and every call after it: a disk
            that filled up and stays full (KP_FAIL_NTH="N-")

After each run what faultrig.py describes must hold (whole cache entries,
records that parse, no guest file changed without its backup), and a
clean run after it must recover: the next start answers the reference
kernel and initrd; pvgrub mode brings the guest there; revert gives
grub.cfg back with its bytes and metadata. Prints the counts per writer;
exits 1 if any check failed.
"""

import argparse
import collections
import os
import random
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import faultrig  # noqa: E402


def counted(path):
    """The calls the shim logged, without those staging pvgrub's copy in the cache (test-faults.py says why)."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        rows = [line.rstrip("\n").split(" ", 2) for line in f]
    return [int(n) for n, _, p in rows if not ("/pvgrub/" in p or p.endswith("/pvgrub"))]


def revert(rig, env):
    return subprocess.run(rig.revert_cmd(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


class Writer:
    def __init__(self, name, under, prepare, run, recovered, problems):
        self.name, self.under, self.prepare, self.run = name, under, prepare, run
        self.recovered, self.problems = recovered, problems


def writers(rig):
    def fresh():
        rig.fresh_store()
        rig.fresh_guest()

    def pvgrub_first():
        fresh()
        rig.run_scan(pvgrub=True)

    def answers_right():
        sha, ans = faultrig.answer_kernel_sha(rig)
        return sha == rig.vmlinux and ans.ramdisk_sha256 == rig.initrd

    def pvgrub_again():
        return rig.run_scan(pvgrub=True).returncode == 0 and rig.pvgrub_done()

    def reverted():
        cfg = os.path.join(rig.guest, faultrig.CFG)
        return (revert(rig, rig.env()).returncode == 0 and open(cfg, "rb").read() == rig.original and
                faultrig.meta(cfg) == rig.original_meta)

    def all_problems():
        return rig.cache_problems() + rig.state_problems() + rig.guest_problems()

    return [
        Writer("cache", rig.kp, fresh, lambda env: rig.run_scan(env=env), answers_right, all_problems),
        Writer("pvgrub-guest", rig.guest, fresh, lambda env: rig.run_scan(pvgrub=True, env=env), pvgrub_again,
               all_problems),
        Writer("pvgrub-dom0", rig.cache, fresh, lambda env: rig.run_scan(pvgrub=True, env=env), pvgrub_again,
               all_problems),
        Writer("revert", rig.guest, pvgrub_first, lambda env: revert(rig, env), reverted, all_problems),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trials", type=int, help="runs with faults per writer")
    ap.add_argument("--build", default=os.path.join(SOURCE, "build"))
    ap.add_argument("--seed", type=int, default=None)
    opts = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (owners and attributes of guest files, tmpfs)", file=sys.stderr)
        return 2
    build = os.path.abspath(opts.build)
    fixtures = os.environ.get("KP_FIXTURES") or os.path.join(build, "tests", "fixtures", "kernels")
    seed = opts.seed if opts.seed is not None else int.from_bytes(os.urandom(4), "little")
    rnd = random.Random(seed)
    work = tempfile.mkdtemp(prefix="multi-faults-", dir=os.path.join(build, "tests"))
    rig = faultrig.Rig(work, build, fixtures)
    failures = []
    print("seed %d" % seed)

    for w in writers(rig):
        log = os.path.join(work, w.name + ".calls")
        w.prepare()
        r = w.run(rig.env(log=log, under=w.under))
        calls = counted(log)
        if r.returncode != 0 or not calls:
            failures.append("%s: a clean run failed or made no call (%s)" % (w.name, r.stderr.strip()[-200:]))
            continue
        c = collections.Counter()
        for t in range(opts.trials):
            errno_name = rnd.choice(["ENOSPC", "EIO"])
            if rnd.random() < 0.5:
                chosen = sorted(rnd.sample(calls, min(len(calls), rnd.randint(2, 6))))
                spec, kind = ",".join(map(str, chosen)), "several"
            else:
                spec, kind = "%d-" % rnd.choice(calls), "sticky"
            what = "%s, calls %s fail with %s" % (w.name, spec, errno_name)
            w.prepare()
            r = w.run(rig.env(fail_nth=spec, fail_errno=errno_name, under=w.under))
            c[kind] += 1
            c["failed runs"] += r.returncode != 0
            problems = w.problems()
            if problems:
                failures.append("%s: %s" % (what, problems))
                c["broken"] += 1
            if not w.recovered():
                failures.append("%s: a clean run after it did not recover" % what)
                c["not recovered"] += 1
        print("%-13s %d calls in a clean run; %d runs (%d several, %d sticky), %d of them failed; "
              "%d left something broken, %d did not recover" %
              (w.name, len(calls), opts.trials, c["several"], c["sticky"], c["failed runs"], c["broken"],
               c["not recovered"]), flush=True)

    for f in failures[:50]:
        print("FAIL:", f, file=sys.stderr)
    if failures:
        print("kept %s for a look" % work, file=sys.stderr)
        return 1
    subprocess.run(["rm", "-rf", work])
    return 0


if __name__ == "__main__":
    sys.exit(main())
