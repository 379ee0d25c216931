#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""kill -9 at random points of kunpack's writers, then what must hold; not a CI step.

Usage: tests/soak/soak.py [--build DIR] [--seed S] [--reset-every K] ITERATIONS

(as root, with KP_FIXTURES set as the meson test environment sets it, or
a build directory whose tests/fixtures holds the built kernels)

One guest whose filesystem is a host directory (tests/faults/fake-guestfs.c:
no appliance, so a run takes a fraction of a second and can be killed
anywhere) and one kunpack installation (tests/faults/faultrig.py). Each
iteration picks one writer at random:

  scan     kunpack-scan in direct mode: the cache and the state store
  boot     kunpack-boot as libxl runs it, on whatever the cache holds
  pvgrub   kunpack-scan --pvgrub: the guest's files and dom0's temporary ones
  revert   kunpackctl revert

and kills it with SIGKILL after a random delay between 0 and 1.2 times
what a clean run of it takes (measured first), so that most kills land
inside it. Then:

  - the cache holds only whole entries, every state record parses, and no
    guest file changed without its backup (faultrig.py: cache_problems,
    state_problems, guest_problems; a temporary file a killed write left
    is counted apart, as iterations after which one was there: the next
    pvgrub run that writes, or revert, removes it);
  - a start as libxl runs it answers the reference kernel and initrd, or
    pvgrub, and nothing else (a corrupt entry served would be neither).

At the end one pvgrub run and one revert run to completion, after which
no temporary file may be left in the guest.

Half the scans and boots start from an empty cache and state directory
(the start that checks each iteration fills them again). Every K
iterations (--reset-every, default 100) the guest and the store start
fresh, so that every stage of every writer keeps being reached. At
the end one line of counts per writer and the totals; the exit status is
1 if anything corrupt was found or served.
"""

import argparse
import collections
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE, "tests", "faults"))
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))
import faultrig  # noqa: E402
import boottest  # noqa: E402


def command(rig, op):
    if op == "scan":
        return rig.scan_cmd()
    if op == "pvgrub":
        return rig.scan_cmd(pvgrub=True)
    if op == "revert":
        return rig.revert_cmd()
    raise ValueError(op)


def run_killed(rig, op, delay):
    """Runs op and kills its process with SIGKILL after delay seconds: whether it was killed before it ended."""
    if op == "boot":
        killed = []

        def kill_later(pid):
            def k():
                time.sleep(delay)
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(True)
                except ProcessLookupError:
                    pass
            import threading
            threading.Thread(target=k, daemon=True).start()

        ans = boottest.run_like_libxl(rig.boot, rig.disk, rig.out, ["--config=" + rig.config], env=rig.env(),
                                      pre=kill_later)
        return bool(killed) and ans.rc != 0
    p = subprocess.Popen(command(rig, op), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=rig.env(),
                         start_new_session=True)
    try:
        p.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        p.wait()
        # What it forked (a parsing child) goes with it, as systemd would see to.
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return True


def clean_duration(rig, op):
    """Seconds a clean run of op takes (the longest of three), from the state it finds."""
    longest = 0.0
    for _ in range(3):
        if op == "revert":
            subprocess.run(rig.scan_cmd(pvgrub=True), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env=rig.env())
        else:
            rig.fresh_store()
            rig.fresh_guest()
        t0 = time.monotonic()
        if op == "boot":
            boottest.run_like_libxl(rig.boot, rig.disk, rig.out, ["--config=" + rig.config], env=rig.env())
        else:
            subprocess.run(command(rig, op), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=rig.env())
        longest = max(longest, time.monotonic() - t0)
    return longest


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("iterations", type=int)
    ap.add_argument("--build", default=os.path.join(SOURCE, "build"))
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--reset-every", type=int, default=100)
    opts = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (owners and attributes of guest files, kunpack's root-owned cache)", file=sys.stderr)
        return 2
    build = os.path.abspath(opts.build)
    fixtures = os.environ.get("KP_FIXTURES") or os.path.join(build, "tests", "fixtures", "kernels")
    seed = opts.seed if opts.seed is not None else int.from_bytes(os.urandom(4), "little")
    rnd = random.Random(seed)
    work = tempfile.mkdtemp(prefix="soak-", dir=os.path.join(build, "tests"))
    rig = faultrig.Rig(work, build, fixtures)
    rig.fresh_guest()

    ops = ["scan", "boot", "pvgrub", "revert"]
    durations = {op: clean_duration(rig, op) for op in ops}
    print("seed %d; clean runs: %s" % (seed, ", ".join("%s %.2f s" % (op, d) for op, d in durations.items())),
          flush=True)

    counts = collections.defaultdict(collections.Counter)
    problems = []
    rig.fresh_store()
    rig.fresh_guest()
    t0 = time.monotonic()
    for i in range(opts.iterations):
        if i > 0 and i % opts.reset_every == 0:
            rig.fresh_store()
            rig.fresh_guest()
        op = rnd.choice(ops)
        # The start after every iteration fills the cache again: half the
        # scans and boots begin from an empty one, or they would find
        # nothing to write.
        if op in ("scan", "boot") and rnd.random() < 0.5:
            rig.fresh_store()
        delay = rnd.uniform(0, durations[op] * 1.2)
        killed = run_killed(rig, op, delay)
        c = counts[op]
        c["runs"] += 1
        c["killed"] += killed

        found = rig.cache_problems()
        c["corrupt cache entries"] += len(found)
        bad = rig.state_problems()
        c["bad state records"] += len(bad)
        guest = rig.guest_problems()
        temps = [g for g in guest if g.startswith("temporary file left")]
        c["guest files changed without backup"] += len(guest) - len(temps)
        c["temporary files left"] += bool(temps)
        for what in found + bad + [g for g in guest if g not in temps]:
            problems.append("iteration %d (%s killed after %.3f s): %s" % (i, op, delay, what))

        sha, ans = faultrig.answer_kernel_sha(rig)
        if sha == rig.vmlinux and ans.ramdisk_sha256 == rig.initrd:
            c["answers: reference kernel"] += 1
        elif sha == "pvgrub":
            c["answers: pvgrub"] += 1
        else:
            c["answers: corrupt or none"] += 1
            problems.append("iteration %d (%s killed after %.3f s): the next start answered %s (%s)" %
                            (i, op, delay, sha, ans.lines()))
        if (i + 1) % 100 == 0:
            print("%d iterations, %.0f s, %d problems" % (i + 1, time.monotonic() - t0, len(problems)), flush=True)

    # A temporary file a killed write left is removed by the next pvgrub run that writes and by a revert
    # (pvgrub-mode.md): one run of each to the end, and none may be left.
    ends = [subprocess.run(command(rig, op), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env=rig.env()).returncode for op in ("pvgrub", "revert")]
    left = [g for g in rig.guest_problems() if g.startswith("temporary file left")]
    print("after a last pvgrub run and revert (exit %s): %d temporary files left" % (ends, len(left)))
    if ends != [0, 0] or left:
        problems.append("a last pvgrub run and revert (exit %s) left %s" % (ends, left))

    keys = ["runs", "killed", "corrupt cache entries", "bad state records", "guest files changed without backup",
            "temporary files left", "answers: reference kernel", "answers: pvgrub", "answers: corrupt or none"]
    total = collections.Counter()
    for op in ops:
        total.update(counts[op])
        print("%-7s %s" % (op, ", ".join("%s %d" % (k, counts[op][k]) for k in keys)))
    print("%-7s %s" % ("total", ", ".join("%s %d" % (k, total[k]) for k in keys)))
    print("%d iterations in %.0f s (seed %d)" % (opts.iterations, time.monotonic() - t0, seed))
    for p in problems[:50]:
        print("PROBLEM:", p, file=sys.stderr)
    if not problems:
        subprocess.run(["rm", "-rf", work])
    else:
        print("kept %s for a look" % work, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
