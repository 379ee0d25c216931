#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""kunpackd's appliance pool (docs/design.md): a start right after the guest's disk changed, and a host's boot.

1. A start right after the disk changed in place. kunpack-boot as libxl runs
   it (tests/integration/boottest.py), asking kunpackd, on a copy of the
   Ubuntu 20.04 LZ4 guest whose record was fresh a moment before:

     changed   the image rewritten in place with its own bytes (what a guest
               that ran and wrote leaves: a new mtime, the same kernel, which
               the cache holds)
     upgraded  the image overwritten with another Ubuntu's bytes, whose kernel
               (gzip) the cache lacks: downloaded and decompressed too

   with a ready pooled appliance (appliance_pool = 1) and without a pool
   (appliance_pool = 0, kunpackd launches one per scan as before), against
   virt-get-kernel --format raw -a DISK -o DIR on the same disk in the same
   run, interleaved. Medians of --runs runs. Goal (issue 12): a start with a
   ready pool <= 0.1x virt-get-kernel.

2. A host's boot: --guests autostart guests (xl configs in an auto directory,
   copies of the same image) none of which has a record yet (each needs a
   scan, as every disk a guest wrote to before the host went down), kunpackd started
   with and without a pool: the time until every plan is fresh, and the CPU
   kunpackd and everything it ran used until then and until the pool was
   ready (getrusage of the reaped children). The difference is not the
   refill's whole cost: a pooled appliance's qemu, killed with its worker's
   process group when kunpackd stops, may be reaped by init rather than by
   its worker, and is then not counted.

3. An idle pooled appliance: its qemu's and worker's RSS, and the CPU they use
   over --idle seconds while nothing asks anything of them.

Usage: bench-pool.py [--runs N] [--guests N]   (root; $KP_FIXTURES, $KP_BUILD_DIR set by meson)
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import boottest  # noqa: E402
import daemontest  # noqa: E402
import guesttest  # noqa: E402


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def write_conf(d, pool, auto=False):
    dirs = '"%s", "%s/auto"' % (d.xen, d.xen) if auto else '"%s"' % d.xen
    with open(d.conf, "w") as f:
        f.write('cache_dir = "%s/cache"\nstate_dir = "%s/state"\nsocket_path = "%s"\n'
                'domain_config_dirs = [ %s ]\nscan_concurrency = 2\nappliance_pool = %d\n'
                'pvgrub_path = "%s"\n' % (d.workdir, d.workdir, d.socket, dirs, pool, boottest.PVGRUB))


def quiet(d, pool):
    """Nothing queued or scanning, and (with a pool) one ready."""
    st = d.ctl_json("status")
    return st["queued"] == 0 and st["scanning"] == 0 and (pool == 0 or st["appliance_pool"]["ready"] >= 1)


def rewrite(path, source):
    with open(source, "rb") as src, open(path, "r+b") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
        dst.flush()
        os.fsync(dst.fileno())


def empty_cache(cache):
    """Every cached kernel and initrd gone, their directories kept: kunpackd holds them open."""
    for sub in ("kernels", "initrds"):
        for top, _, files in os.walk(os.path.join(cache, sub)):
            for name in files:
                os.unlink(os.path.join(top, name))


def start_once(d, boot, disk, outdir):
    t0 = time.monotonic()
    ans = boottest.run_like_libxl(boot, disk, outdir, ["--config=" + d.conf], env=d.env())
    wall = time.monotonic() - t0
    if ans.rc != 0 or ans.kernel_sha256 == guesttest.sha256(boottest.PVGRUB):
        sys.exit("bench-pool: the start failed or fell back to pvgrub: %s\n%s" % (ans.lines(), d.read_log()[-3000:]))
    return wall


def vgk_once(vgk, disk, work, counter):
    out = os.path.join(work, "vgk")
    os.makedirs(out, exist_ok=True)
    t0 = time.monotonic()
    r = guesttest.run([vgk, "--format", "raw", "-a", disk, "-o", out], env=counter.env(), timeout=900)
    wall = time.monotonic() - t0
    shutil.rmtree(out)
    if r.returncode != 0:
        sys.exit("bench-pool: virt-get-kernel failed: " + r.stderr)
    return wall


def qemu_of(pid):
    """The appliance qemu a kunpack-scan worker started, or None."""
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open("/proc/%s/cmdline" % p, "rb") as f:
                argv = f.read().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid and b"qemu" in os.path.basename(argv[0]) and b"-kernel" in argv:
            return int(p)
    return None


def proc_cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def idle_cost(d, seconds):
    """The ready pooled appliance, left alone: its worker's and qemu's RSS, and the CPU they use over seconds."""
    worker = d.ctl_json("status")["appliance_pool"]["appliances"][0]["pid"]
    q = qemu_of(worker)
    if q is None:
        sys.exit("bench-pool: no qemu under the pooled worker %d" % worker)
    c0 = proc_cpu(q) + proc_cpu(worker)
    time.sleep(seconds)
    cpu = proc_cpu(q) + proc_cpu(worker) - c0
    return proc_rss_kib(q), proc_rss_kib(worker), cpu / seconds


def bench_start(args, manifest, boot, vgk):
    lz4 = manifest["ubuntu-20.04-lz4"]["disks"][0]["path"]
    newer = manifest["ubuntu-20.04-default-path"]["disks"][0]["path"]
    base = os.environ["KP_BUILD_DIR"]
    work = tempfile.mkdtemp(prefix="bench-pool-", dir=os.path.join(base, "tests", "bench"))
    tmp = tempfile.mkdtemp(prefix="kp-bench-pool-")
    counter = guesttest.Counter(work)
    d = daemontest.Daemon(work, counter)
    d.extra_env = {"TMPDIR": tmp}
    times = {}
    try:
        disk = d.add_guest("g", lz4)
        outdir = os.path.join(work, "libxl")
        os.makedirs(outdir)
        for pool in (1, 0):
            write_conf(d, pool)
            d.start()
            d.ctl("rescan", "--wait", "g", timeout=900)
            if pool:
                if not d.wait_for(lambda: quiet(d, pool), 900, "a quiet daemon"):
                    sys.exit("bench-pool: the pool did not fill:\n" + d.read_log()[-3000:])
                times["idle"] = idle_cost(d, args.idle)
            for run in range(args.runs):
                for kind in ("changed", "upgraded"):
                    if not d.wait_for(lambda: quiet(d, pool), 900, "a quiet daemon"):
                        sys.exit("bench-pool: the daemon did not settle:\n" + d.read_log()[-3000:])
                    if kind == "changed":
                        rewrite(disk, disk)
                    else:
                        # Every other upgrade goes back: each time a kernel the cache does not hold.
                        src = newer if run % 2 == 0 else lz4
                        rewrite(disk, src)
                        empty_cache(os.path.join(work, "cache"))
                    times.setdefault((kind, pool), []).append(start_once(d, boot, disk, outdir))
                    times.setdefault((kind, "vgk"), []).append(vgk_once(vgk, disk, work, counter))
            d.stop()
    finally:
        d.stop()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return times


def bench_host_boot(args, manifest):
    src = manifest["ubuntu-20.04-lz4"]["disks"][0]["path"]
    base = os.environ["KP_BUILD_DIR"]
    results = {}
    for pool in (0, 1):
        work = tempfile.mkdtemp(prefix="bench-pool-boot-", dir=os.path.join(base, "tests", "bench"))
        tmp = tempfile.mkdtemp(prefix="kp-bench-pool-")
        counter = guesttest.Counter(work)
        d = daemontest.Daemon(work, counter)
        d.extra_env = {"TMPDIR": tmp}
        write_conf(d, pool, auto=True)
        os.makedirs(os.path.join(d.xen, "auto"))
        try:
            for i in range(args.guests):
                d.add_guest("auto%02d" % i, src)
                os.rename(os.path.join(d.xen, "auto%02d.cfg" % i), os.path.join(d.xen, "auto", "auto%02d.cfg" % i))
            cpu0 = children_cpu()
            t0 = time.monotonic()
            d.start()
            if not d.wait_for(lambda: len(d.guests()) == args.guests and
                              all(g["status"] == "fresh" for g in d.guests().values()), 3600, "every plan fresh"):
                sys.exit("bench-pool: the host boot did not finish:\n" + d.read_log()[-3000:])
            fresh = time.monotonic() - t0
            ready = None
            if pool:
                d.wait_for(lambda: d.ctl_json("status")["appliance_pool"]["ready"] == 1, 900, "the pool")
                ready = time.monotonic() - t0
            d.stop()
            results[pool] = (fresh, ready, children_cpu() - cpu0, counter.launches())
        finally:
            d.stop()
            shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(tmp, ignore_errors=True)
    return results


def med(v):
    return statistics.median(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--guests", type=int, default=8)
    ap.add_argument("--idle", type=int, default=30, help="seconds the idle pooled appliance is watched")
    ap.add_argument("--kunpack-boot", default=os.path.join(os.environ.get("KP_BUILD_DIR", ""), "tools",
                                                             "kunpack-boot"))
    args = ap.parse_args()
    vgk = shutil.which("virt-get-kernel")
    if os.geteuid() != 0 or not vgk:
        print("needs root and virt-get-kernel: skipping")
        sys.exit(77)
    guesttest.fixtures()
    _, manifest = guesttest.build_images()

    times = bench_start(args, manifest, args.kunpack_boot, vgk)
    rss, worker_rss, cpu = times["idle"]
    print("an idle pooled appliance (over %d s): qemu RSS %.0f MiB, its kunpack-scan worker %.0f MiB, "
          "CPU %.1f%% of one core" % (args.idle, rss / 1024, worker_rss / 1024, cpu * 100))
    print()
    print("| a start right after the disk changed (median of %d) | wall time | ratio to virt-get-kernel |" % args.runs)
    print("|---|---:|---:|")
    for kind in ("changed", "upgraded"):
        v = med(times[(kind, "vgk")])
        for pool, what in ((1, "kunpackd, a ready pooled appliance"), (0, "kunpackd without a pool")):
            t = med(times[(kind, pool)])
            print("| %s: %s | %.1f s | %.2fx |" % (kind, what, t, t / v))
        print("| %s: `virt-get-kernel` on the same disk | %.1f s | 1.00x |" % (kind, v))
    print()

    boot = bench_host_boot(args, manifest)
    print("| host boot, %d autostart guests, no record yet | every plan fresh | pool ready | CPU of kunpackd "
          "and its children | launches |" % args.guests)
    print("|---|---:|---:|---:|---:|")
    for pool in (0, 1):
        fresh, ready, cpu, launches = boot[pool]
        print("| appliance_pool = %d | %.1f s | %s | %.1f s | %d |" % (
            pool, fresh, "%.1f s" % ready if ready else "-", cpu, launches))
    print()
    # The CPU of reaped processes only: a pooled appliance's qemu killed with its worker's process group may
    # be reaped by init, not counted here, so this difference is a lower bound of the refill's cost.
    print("CPU with the pool minus without: %+.1f s (%+.2fx); the pooled appliance's own boot is not fully "
          "counted (see the docstring)" % (boot[1][2] - boot[0][2], (boot[1][2] - boot[0][2]) / boot[0][2]))


if __name__ == "__main__":
    main()
