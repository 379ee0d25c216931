#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""kunpackctl inspect against virt-get-kernel, on the same guest images, in the same run.

Both answer "which kernel does this guest boot" through the libguestfs
appliance under software emulation (LIBGUESTFS_BACKEND_SETTINGS=force_tcg),
so both pay for an appliance launch; the goal is one launch per call and
kunpack's wall time at most 0.6 of virt-get-kernel's.

  kunpack          kunpackctl inspect --json DISK...: every entry's kernel
                   and initrds located, sha256'd and (kernels) their format
                   read, inside the appliance; nothing downloaded
  kunpack-boot     the same with --selected-only: what a cold start of a
                   domain needs (the selected entry's files only)
  virt-get-kernel  virt-get-kernel -a DISK -o DIR: libguestfs's OS
                   inspection, then the newest kernel and initrd downloaded.
                   It takes one -a only, so for the four-disk guest the same
                   work is done with guestfish: guestfish --ro -a ... -i
                   (inspection, mounting / and /boot from the guest's fstab)
                   and the download of the kernel and initrd

Runs alternate between the tools (A B C A B C ...) so that a busy moment
hurts all of them alike; the table shows medians of --runs runs, the ratio
to virt-get-kernel and how many appliances each call launched (counted by
a LIBGUESTFS_HV wrapper around qemu).

Usage: bench-inspect.py --kunpackctl PATH [--runs N] [--images DIR]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import guesttest  # noqa: E402


def timed(cmd, env):
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    took = time.monotonic() - t0
    if r.returncode != 0:
        sys.exit("bench-inspect: %s failed: %s" % (" ".join(cmd), r.stderr.strip()))
    return took


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kunpackctl", required=True)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    vgk = shutil.which("virt-get-kernel")
    if not vgk:
        print("virt-get-kernel not found: skipping")
        sys.exit(77)
    _, manifest = guesttest.build_images()
    work = tempfile.mkdtemp(prefix="kp-bench-inspect-")
    counter = guesttest.Counter(work)
    env = counter.env()
    env["LIBGUESTFS_BACKEND_SETTINGS"] = "force_tcg"

    guests = [("ubuntu-20.04 (1 disk)", manifest["ubuntu-20.04-lz4"]),
              ("four disks", manifest["four-disks"])]
    rows = []
    for label, entry in guests:
        specs = guesttest.disk_specs(entry)
        out = os.path.join(work, "vgk")
        if len(entry["disks"]) == 1:
            d = entry["disks"][0]
            peer = ("virt-get-kernel", [vgk, "--format", d["format"], "-a", d["path"], "-o", out])
        else:
            exp = entry["expect"]
            gf = ["guestfish", "--ro"]
            for d in entry["disks"]:
                gf += ["--format=" + d["format"], "-a", d["path"]]
            # The kernel and initrd live in the guest's /boot (mounted from its fstab by -i).
            gf += ["-i", "download", "/boot" + exp["kernel"], os.path.join(out, "kernel"), ":",
                   "download", "/boot" + exp["initrds"][0], os.path.join(out, "initrd")]
            peer = ("guestfish -i", gf)
        tools = [("kunpack", [args.kunpackctl, "inspect", "--json", *specs]),
                 ("kunpack-boot", [args.kunpackctl, "inspect", "--json", "--selected-only", *specs]),
                 peer]
        times = {name: [] for name, _ in tools}
        launches = {name: set() for name, _ in tools}
        for _ in range(args.runs):
            for name, cmd in tools:
                if os.path.exists(out):
                    shutil.rmtree(out)
                os.mkdir(out)
                counter.reset()
                times[name].append(timed(cmd, env))
                launches[name].add(counter.launches())
        base = statistics.median(times[peer[0]])
        for name, _ in tools:
            med = statistics.median(times[name])
            rows.append((label, name, med, min(times[name]), med / base,
                         ",".join(str(n) for n in sorted(launches[name]))))

    print()
    print("%-22s %-16s %9s %9s %10s %9s" % ("guest", "tool", "median s", "min s", "ratio", "launches"))
    for label, name, med, low, ratio, n in rows:
        print("%-22s %-16s %9.2f %9.2f %9.2fx %9s" % (label, name, med, low, ratio, n))
    print("\n(%d runs each, interleaved; ratio = median / the peer's (last row of each guest) median)" % args.runs)
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
