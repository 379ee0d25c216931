#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""kunpackd: 16 guests rescanned in batches against 16 sequential virt-get-kernel, and the daemon at rest.

  kunpackd         `kunpackctl rescan --all --wait` over 16 guests (xl configs,
                   each its own copy of the Ubuntu 20.04 LZ4 image) with an
                   empty kernel cache: kunpack-scan inspects all 16 disks in
                   one appliance (drives_per_appliance = 16), checksums each
                   guest's kernel and initrd inside it, and downloads and
                   decompresses what the cache lacks (the 16 copies share one
                   kernel, so one decompression: what content addressing is for)
  virt-get-kernel  `virt-get-kernel -a DISK -o DIR` on the same 16 disks, one
                   after the other: OS inspection, newest kernel and initrd
                   downloaded, one appliance each

Then the daemon idles for --idle seconds with the 16 guests registered: its
resident memory (VmRSS) and the CPU time it used meanwhile. Appliance launches
are counted by a LIBGUESTFS_HV wrapper (guesttest.Counter).

Usage: bench-daemon.py [--guests N] [--idle SECONDS]   (KP_BUILD_DIR, KP_FIXTURES set by meson)
"""

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import daemontest  # noqa: E402
import guesttest  # noqa: E402


def proc_cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--guests", type=int, default=16)
    ap.add_argument("--idle", type=int, default=60)
    args = ap.parse_args()

    vgk = shutil.which("virt-get-kernel")
    if not vgk or os.geteuid() != 0:
        print("needs root and virt-get-kernel: skipping")
        sys.exit(77)
    guesttest.fixtures()
    _, manifest = guesttest.build_images()
    src = manifest["ubuntu-20.04-lz4"]["disks"][0]["path"]
    base = os.environ["KP_BUILD_DIR"]
    work = tempfile.mkdtemp(prefix="bench-daemon-", dir=os.path.join(base, "tests", "bench"))
    counter = guesttest.Counter(work)
    d = daemontest.Daemon(work, counter, extra_conf="")
    d.write_conf()
    try:
        disks = [d.add_guest("guest%02d" % i, src) for i in range(args.guests)]

        # The daemon's own startup scan: every guest is new.
        counter.reset()
        t0 = time.monotonic()
        d.start()
        if not d.wait_for(lambda: all(g["status"] == "fresh" for g in d.guests().values())
                          and len(d.guests()) == args.guests, 1800, "the startup scan"):
            sys.exit("bench-daemon: the startup scan did not finish:\n" + d.read_log()[-3000:])
        startup = time.monotonic() - t0
        startup_launches = counter.launches()

        # An empty cache, then every guest again, as an admin would after an upgrade.
        for sub in ("kernels", "initrds"):
            shutil.rmtree(os.path.join(work, "cache", sub))
            os.makedirs(os.path.join(work, "cache", sub), mode=0o700)
        counter.reset()
        t0 = time.monotonic()
        r = d.ctl("rescan", "--all", "--wait", timeout=3600)
        rescan = time.monotonic() - t0
        if r.returncode != 0:
            sys.exit("bench-daemon: rescan failed: " + r.stderr)
        rescan_launches = counter.launches()

        pid = d.ctl_json("status")["pid"]
        cpu0, t0 = proc_cpu_seconds(pid), time.monotonic()
        time.sleep(args.idle)
        idle_cpu = proc_cpu_seconds(pid) - cpu0
        idle_wall = time.monotonic() - t0
        rss = proc_rss_kib(pid)
        d.stop()

        counter.reset()
        out = os.path.join(work, "vgk")
        t0 = time.monotonic()
        for disk in disks:
            os.makedirs(out, exist_ok=True)
            r = guesttest.run([vgk, "--format", "raw", "-a", disk, "-o", out], env=counter.env(), timeout=900)
            if r.returncode != 0:
                sys.exit("bench-daemon: virt-get-kernel failed: " + r.stderr)
            shutil.rmtree(out)
        vgk_time = time.monotonic() - t0
        vgk_launches = counter.launches()
    finally:
        d.stop()
        shutil.rmtree(work, ignore_errors=True)

    n = args.guests
    print("| %d guests | wall time | appliance launches | ratio to virt-get-kernel |" % n)
    print("|---|---:|---:|---:|")
    print("| `kunpackctl rescan --all --wait` (empty cache) | %.1f s | %d | %.2f× |"
          % (rescan, rescan_launches, rescan / vgk_time))
    print("| kunpackd startup scan (new guests) | %.1f s | %d | %.2f× |"
          % (startup, startup_launches, startup / vgk_time))
    print("| %d × `virt-get-kernel`, one after the other | %.1f s | %d | 1.00× |" % (n, vgk_time, vgk_launches))
    print()
    print("kunpackd at rest with %d guests: VmRSS %.1f MiB, CPU %.3f s in %.0f s (%.3f %%)"
          % (n, rss / 1024, idle_cpu, idle_wall, 100 * idle_cpu / idle_wall))


if __name__ == "__main__":
    main()
