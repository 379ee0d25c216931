#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""kunpack's decompression against each format's reference CLI, on the real fixtures.

For every format the x86 kernel build can produce, times, in the same run and
interleaved, on the same filesystem, each as a whole process:

  CLI        the reference tool decompressing the bare payload (without the
             kernel build's size trailer) to a file, as a user would: `lz4 -d
             IN OUT` and `zstd -d IN -o OUT` (which write holes for pages of
             zeros, as kunpack does), `xz -dc IN > OUT` for the tools that
             only decompress in place;
  CLI+sync   the same followed by `sync OUT` (an fsync of the output), in one
             shell: what extract's durability costs the CLI;
  kunpack    kp_unpack() on the whole bzImage into a plain file, no fsync,
             i.e. measured like the CLI (tests/bench/bench-unpack);
  extract    `kunpackctl extract KERNEL -o OUT`, the real command: it also
             fsyncs the file and its directory before renaming it into place.

Goals (issue 10): extract <= 1.05x the CLI for lz4 and zstd with the output
on tmpfs (--workdir /dev/shm; fsync costs nothing there), and <= 1.05x
CLI+sync on disk.

Every run's output is checked against the reference sha256. Times are the
median wall time of --runs runs (CPU time, user + system, is shown as a
ratio too: it is what a busy machine disturbs least); RSS is the largest peak resident set size
(GNU time's %M) seen. For gzip the libdeflate alternative is
measured too (whole payload and output in memory).

Usage: bench.py --kunpackctl PATH --helper PATH [--fixtures DIR] [--runs N] [--workdir DIR]
"""

import argparse
import hashlib
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TIME = "/usr/bin/time"
FORMATS = ["lz4", "zstd", "gzip", "xz", "lzma", "bzip2", "lzo"]
# Each CLI as a user decompresses to a file: IN and OUT replaced; None means `> OUT`.
CLI = {
    "gzip": ["gzip", "-dc", "IN"],
    "bzip2": ["bzip2", "-dc", "IN"],
    "lzma": ["lzma", "-dc", "IN"],
    "xz": ["xz", "-dc", "IN"],
    "lzo": ["lzop", "-dc", "IN"],
    "lz4": ["lz4", "-d", "-f", "-q", "IN", "OUT"],
    "zstd": ["zstd", "-d", "-f", "-q", "IN", "-o", "OUT"],
}


def cli_cmd(fmt, stream, out):
    """(argv, stdout path or None) of the reference CLI."""
    argv = [stream if a == "IN" else out if a == "OUT" else a for a in CLI[fmt]]
    return argv, None if "OUT" in CLI[fmt] else out


def cli_sync_cmd(fmt, stream, out):
    """The CLI then `sync OUT`, in one shell: the same durability as extract's fsync."""
    argv, stdout_path = cli_cmd(fmt, stream, out)
    line = " ".join(shlex.quote(a) for a in argv) + (" > " + shlex.quote(out) if stdout_path else "")
    return ["sh", "-c", line + " && sync " + shlex.quote(out)], None


def filesystem(path):
    """The filesystem type path is on, from /proc/mounts (longest mount point that holds it)."""
    best, kind = "", "?"
    path = os.path.realpath(path)
    for line in open("/proc/mounts"):
        mnt, fstype = line.split()[1], line.split()[2]
        if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
            best, kind = mnt, fstype
    return kind


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def measure(cmd, stdout_path, rss_path):
    """Runs cmd; returns (wall seconds, peak RSS in KiB, CPU seconds).

    The peak RSS comes from GNU time (%M), which forks the command from its
    own small process: a child forked from this Python process would count
    Python's memory in its ru_maxrss, since Linux carries the high-water mark
    across exec.
    """
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    try:
        start = time.perf_counter()
        p = subprocess.run([TIME, "-f", "%M %U %S", "-o", rss_path, *cmd], stdout=out, stderr=subprocess.PIPE)
        wall = time.perf_counter() - start
    finally:
        if stdout_path:
            out.close()
    if p.returncode != 0:
        sys.exit("bench: %s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr.decode(errors="replace")))
    maxrss, user, system = open(rss_path).read().split()[-3:]
    return wall, int(maxrss), float(user) + float(system)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kunpackctl", required=True)
    ap.add_argument("--helper", required=True)
    ap.add_argument("--fixtures", default=os.environ.get("KP_FIXTURES"))
    ap.add_argument("--runs", type=int, default=int(os.environ.get("KP_BENCH_RUNS", "7")))
    ap.add_argument("--workdir", default=None, help="where outputs are written (default: a directory in /var/tmp)")
    ap.add_argument("--formats", default=",".join(FORMATS))
    args = ap.parse_args()

    if not args.fixtures or not os.path.exists(os.path.join(args.fixtures, "SHA256SUMS")):
        print("bench: KP_FIXTURES not built; run `ninja -C BUILD tests/fixture-kernels.stamp` first")
        return 77
    ref = sha256(os.path.join(args.fixtures, "vmlinux"))
    work = tempfile.mkdtemp(prefix="kp-bench-", dir=args.workdir or "/var/tmp")
    rows = []
    try:
        for fmt in args.formats.split(","):
            kernel = os.path.join(args.fixtures, "bzImage-" + fmt)
            payload = os.path.join(args.fixtures, "payload-" + fmt)
            stream = os.path.join(work, "payload." + fmt)
            # The CLI gets what `make` gets from it: the stream, without size_append's trailer.
            shutil.copyfile(payload, stream)
            if fmt != "gzip":
                os.truncate(stream, os.path.getsize(payload) - 4)
            out = os.path.join(work, "vmlinux")

            variants = {
                "cli": cli_cmd(fmt, stream, out),
                "cli+sync": cli_sync_cmd(fmt, stream, out),
                "kunpack": ([args.helper, kernel, out], None),
                "extract": ([args.kunpackctl, "extract", kernel, "-o", out], None),
            }
            if fmt == "gzip" and subprocess.run([args.helper, "--libdeflate", stream, out]).returncode == 0:
                variants["libdeflate"] = ([args.helper, "--libdeflate", stream, out], None)

            times = {k: [] for k in variants}
            cpus = {k: [] for k in variants}
            rss = {k: 0 for k in variants}
            for run in range(args.runs + 1):
                for name, (cmd, stdout_path) in variants.items():
                    if os.path.exists(out):
                        os.unlink(out)
                    # Write back what the previous run left dirty, untimed, so no run pays for another's
                    # 66 MB of page cache (the runs take turns, and the kernel throttles dirty writers).
                    os.sync()
                    wall, maxrss, cpu = measure(cmd, stdout_path, os.path.join(work, "rss"))
                    if sha256(out) != ref:
                        sys.exit("bench: %s %s produced a wrong vmlinux" % (fmt, name))
                    if run > 0:  # the first round warms the page cache
                        times[name].append(wall)
                        cpus[name].append(cpu)
                        rss[name] = max(rss[name], maxrss)
            os.unlink(out)
            os.unlink(stream)
            rows.append((fmt, {k: statistics.median(v) for k, v in times.items()},
                         {k: statistics.median(v) for k, v in cpus.items()}, rss))
            print("bench: %s done" % fmt, file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print("kunpack vs reference CLIs: %d runs each (median wall time), %s, load average %s"
          % (args.runs, os.uname().machine, " ".join("%.2f" % x for x in os.getloadavg())))
    where = args.workdir or "/var/tmp"
    print("ELF: %d bytes; outputs in %s (%s); page cache warm\n"
          % (os.path.getsize(os.path.join(args.fixtures, "vmlinux")), where, filesystem(where)))
    print("| format | reference CLI | CLI | CLI+sync | kunpack, no fsync | ratio | kunpackctl extract, with fsync "
          "| vs CLI | vs CLI+sync | CPU: extract / CLI | CLI peak RSS | kunpack peak RSS | kunpackctl peak RSS |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for fmt, t, c, rss in rows:
        cli = " ".join(CLI[fmt]) + ("" if "OUT" in CLI[fmt] else " > OUT")
        print("| %s | `%s` | %.3f s | %.3f s | %.3f s | %.2f× | %.3f s | **%.2f×** | **%.2f×** | %.2f× "
              "| %.1f MiB | %.1f MiB | %.1f MiB |" % (
                  fmt, cli, t["cli"], t["cli+sync"], t["kunpack"], t["kunpack"] / t["cli"], t["extract"],
                  t["extract"] / t["cli"], t["extract"] / t["cli+sync"], c["extract"] / c["cli"],
                  rss["cli"] / 1024, rss["kunpack"] / 1024, rss["extract"] / 1024))
        if "libdeflate" in t:
            print("| gzip via libdeflate (not used) | `%s` | %.3f s | | %.3f s | %.2f× | | | | | %.1f MiB | %.1f MiB | |" % (
                cli, t["cli"], t["libdeflate"], t["libdeflate"] / t["cli"], rss["cli"] / 1024,
                rss["libdeflate"] / 1024))
    print()
    print("Ratios of median wall times; CPU is user + system time. kunpack peak RSS is the library's (kp_unpack()")
    print("in a small program); kunpackctl's adds what its start maps (libc, yajl, libsystemd and theirs: the")
    print("compression, guest and Xen libraries are loaded only when needed).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
