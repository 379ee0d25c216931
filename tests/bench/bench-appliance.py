#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What one appliance costs dom0, by appliance_memsize; and starts of several guests at once.

Usage: bench-appliance.py [--memsizes 256,384,512,768,1280] [--guests 1,4,8] [--runs N]
       (with $KP_FIXTURES and $KP_BUILD_DIR set, as meson's bench environment does)

1. For each appliance_memsize, `kunpack-scan --force` of two guests as an
   admin runs it, one after the other, N times: Ubuntu 20.04 (LZ4 kernel on
   ext4) and Ubuntu 22.04 (separate /boot, root in LVM on GPT). Printed:
   whether every scan succeeded, the median wall time, and the appliance's
   (qemu's) peak RSS, sampled every 0.1 s from /proc/PID/status (VmHWM).
   The smallest memsize that succeeds everywhere, with room, is the default
   (docs/isolation.md).
2. For each count G, G copies of the Ubuntu 20.04 guest scanned by one
   kunpack-scan with scan_concurrency = 2 (the default), each in an
   appliance of its own: wall time until all are fresh, the peak number of
   appliances at once, and their summed peak RSS.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import guesttest  # noqa: E402

MiB = 1024 * 1024


class QemuWatch:
    """Peak RSS (VmHWM) of each appliance qemu holding a file under a directory, while active."""

    def __init__(self, under):
        self.under = os.path.realpath(under) + "/"
        self.hwm = {}
        self.max_concurrent = 0
        self._stop = threading.Event()

    def _sample(self):
        live = 0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    argv = f.read().split(b"\0")
                if not argv or b"qemu" not in os.path.basename(argv[0]) or b"-kernel" not in argv:
                    continue
                ours = any(os.readlink("/proc/%s/fd/%s" % (pid, fd)).startswith(self.under)
                           for fd in os.listdir("/proc/%s/fd" % pid))
                if not ours:
                    continue
                with open("/proc/%s/status" % pid) as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            self.hwm[pid] = max(self.hwm.get(pid, 0), int(line.split()[1]) * 1024)
                live += 1
            except OSError:
                continue
        self.max_concurrent = max(self.max_concurrent, live)

    def _run(self):
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(0.1)

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        return False


def write_conf(work, extra):
    conf = os.path.join(work, "kunpack.conf")
    with open(conf, "w") as f:
        f.write('cache_dir = "%s"\nstate_dir = "%s"\nsocket_path = "%s"\n%s' % (
            os.path.join(work, "cache"), os.path.join(work, "state"), os.path.join(work, "none.sock"), extra))
    return conf


def scan(scan_prog, conf, disks, env, work):
    """One kunpack-scan --force of disks: (ok, seconds, per-appliance peak RSS list, max at once)."""
    with QemuWatch(work) as w:
        t0 = time.monotonic()
        r = subprocess.run([scan_prog, "--config=" + conf, "--force", "--json", *disks], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=env, timeout=1800)
        secs = time.monotonic() - t0
    return r.returncode == 0, secs, sorted(w.hwm.values()), w.max_concurrent, r.stderr.strip()[-300:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--memsizes", default="256,384,512,768,1280")
    ap.add_argument("--guests", default="1,4,8")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()

    build = os.environ["KP_BUILD_DIR"]
    scan_prog = os.path.join(build, "tools", "kunpack-scan")
    _, manifest = guesttest.build_images()
    guests = {n: manifest[n]["disks"][0]["path"] for n in ("ubuntu-20.04-lz4", "ubuntu-22.04-gpt-lvm")}
    env = dict(os.environ)
    env.setdefault("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg")
    work = tempfile.mkdtemp(prefix="kp-bench-appliance-")
    env["TMPDIR"] = work
    env.setdefault("LIBGUESTFS_CACHEDIR", "/var/tmp")
    try:
        print("appliance_memsize   guest                  ok   median s   appliance peak RSS (MiB)")
        for m in [int(x) for x in a.memsizes.split(",") if x]:
            conf = write_conf(work, 'appliance_memsize = "%dM"\n' % m)
            for name, disk in guests.items():
                oks, secs, rss = [], [], []
                for _ in range(a.runs):
                    ok, s, hwm, _, err = scan(scan_prog, conf, [disk], env, work)
                    oks.append(ok)
                    secs.append(s)
                    rss += hwm
                    if not ok:
                        print("  failed: %s" % err, file=sys.stderr)
                print("%-19s %-22s %-4s %8.1f   %s" % (
                    "%dM" % m, name, "yes" if all(oks) else "NO", statistics.median(secs),
                    "%.0f" % (max(rss) / MiB) if rss else "-"))

        print("\nguests at once (scan_concurrency = 2, appliance_memsize default)")
        print("guests   wall s   appliances at once   summed peak RSS (MiB)   ok")
        conf = write_conf(work, "")
        for g in [int(x) for x in a.guests.split(",") if x]:
            disks = []
            for i in range(g):
                p = os.path.join(work, "guest-%d.img" % i)
                subprocess.run(["cp", "--sparse=always", guests["ubuntu-20.04-lz4"], p], check=True)
                disks.append(p)
            ok, s, hwm, conc, err = scan(scan_prog, conf, disks, env, work)
            print("%-8d %6.1f   %-20d %-23.0f %s" % (g, s, conc, sum(hwm) / MiB, "yes" if ok else "NO " + err))
            for p in disks:
                os.unlink(p)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
