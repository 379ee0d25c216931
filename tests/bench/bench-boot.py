#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A domain start's bootloader: kunpack-boot (hot and cold) against pygrub and virt-get-kernel.

All four run on the same Ubuntu 20.04-like guest with an LZ4 kernel
(tests/integration/images.py, "ubuntu-20.04-lz4"), in the same run, each
--runs times, interleaved (A B C D A B C D ...) so a busy moment hurts all
alike. Wall time and peak RSS (GNU time's %M: the process and the children
it waited for) are medians.

  pygrub           /usr/lib/xen-4.17/bin/pygrub -q --output-format=simple0
                   --output=F --output-directory=D DISK: what a Xen host
                   runs today; it copies the (still compressed) kernel and
                   the initrd out of the image
  kunpack-boot hot kunpack-boot as libxl runs it (libxl's arguments), with a
                   fresh record: cache lookup, hard links into D, the answer.
                   The cache and D share a filesystem, as README's install
                   section asks
  kunpack-boot cold the same with no record and an empty cache: kunpack-scan
                   inspects in one appliance launch, downloads and
                   decompresses the kernel, then the hot path answers.
                   Its peak RSS is the appliance's qemu's (a child)
  virt-get-kernel  virt-get-kernel --format raw -a DISK -o D: libguestfs's
                   own way to get a guest's kernel and initrd (downloaded,
                   not decompressed)
  /bin/true        the floor: what this harness (a fork, GNU time, an
                   exec) costs for a program that does nothing

Goals (issue 4, issue 10): hot <= 0.05x pygrub's wall time and <= 4 MiB
peak RSS; cold <= 0.6x virt-get-kernel's wall time. --hot-only leaves out
the cold start and virt-get-kernel (one cold start still fills the cache),
for quick measurements of the hot path.

Usage: bench-boot.py --kunpack-boot PATH [--runs N] [--hot-only]   (root; $KP_FIXTURES, $KP_BUILD_DIR)
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

PYGRUB = "/usr/lib/xen-4.17/bin/pygrub"
TIME = "/usr/bin/time"


def measure(cmd, env, rss_path):
    """(wall seconds, peak RSS KiB) of one run; exits on failure."""
    t0 = time.monotonic()
    r = subprocess.run([TIME, "-f", "%M", "-o", rss_path, *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True, env=env)
    wall = time.monotonic() - t0
    if r.returncode != 0:
        sys.exit("bench-boot: %s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr.strip()[-500:]))
    return wall, int(open(rss_path).read().split()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kunpack-boot", required=True)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--hot-only", action="store_true", help="only pygrub, the hot start and /bin/true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (kunpack's cache and state belong to root): skipping")
        sys.exit(77)
    vgk = shutil.which("virt-get-kernel")
    if not vgk or not os.path.exists(PYGRUB) or not os.path.exists(TIME):
        print("needs pygrub, virt-get-kernel and GNU time: skipping")
        sys.exit(77)

    _, manifest = guesttest.build_images()
    disk = manifest["ubuntu-20.04-lz4"]["disks"][0]["path"]
    build = os.environ["KP_BUILD_DIR"]
    work = tempfile.mkdtemp(prefix="bench-boot-", dir=os.path.join(build, "tests", "bench"))
    rss = os.path.join(work, "rss")
    cache, state = os.path.join(work, "cache"), os.path.join(work, "state")
    config = os.path.join(work, "kunpack.conf")
    with open(config, "w") as f:
        f.write('cache_dir = "%s"\nstate_dir = "%s"\n' % (cache, state))
    env = dict(os.environ)
    env["LIBGUESTFS_BACKEND_SETTINGS"] = "force_tcg"
    env["TERM"] = "vt100"
    counter = [0]

    def fresh_out():
        """libxl's per-start output directory and pre-created output file."""
        counter[0] += 1
        d = os.path.join(work, "bootloader.%d.d" % counter[0])
        os.mkdir(d, 0o600)
        out = os.path.join(work, "bootloader.%d.out" % counter[0])
        open(out, "w").close()
        return d, out

    def boot_cmd():
        d, out = fresh_out()
        return [args.kunpack_boot, "--args=console=hvc0", "--output=" + out, "--output-format=simple0",
                "--output-directory=" + d, "--config=" + config, disk]

    def cold_cmd():
        for p in (cache, state):
            shutil.rmtree(p, ignore_errors=True)
        return boot_cmd()

    def pygrub_cmd():
        d, out = fresh_out()
        return [PYGRUB, "-q", "--output-format=simple0", "--args=console=hvc0", "--output=" + out,
                "--output-directory=" + d, disk]

    def vgk_cmd():
        d, _ = fresh_out()
        return [vgk, "--format", "raw", "-a", disk, "-o", d]

    def hot_cmd():
        if not os.path.exists(state):
            measure(cold_cmd(), env, rss)  # a record and a warm cache first
        return boot_cmd()

    def true_cmd():
        return ["/bin/true"]

    tools = [("pygrub", pygrub_cmd), ("kunpack-boot hot", hot_cmd), ("kunpack-boot cold", cold_cmd),
             ("virt-get-kernel", vgk_cmd), ("/bin/true", true_cmd)]
    if args.hot_only:
        tools = [t for t in tools if t[0] in ("pygrub", "kunpack-boot hot", "/bin/true")]
    walls = {n: [] for n, _ in tools}
    peaks = {n: [] for n, _ in tools}
    for i in range(args.runs):
        for name, make in tools:
            cmd = make()
            wall, peak = measure(cmd, env, rss)
            walls[name].append(wall)
            peaks[name].append(peak)
        # What libxl would unlink after mapping: keep the scratch directory small.
        for n in os.listdir(work):
            if n.startswith("bootloader."):
                shutil.rmtree(os.path.join(work, n), ignore_errors=True) if n.endswith(".d") else \
                    os.unlink(os.path.join(work, n))
        print("run %d/%d done" % (i + 1, args.runs), file=sys.stderr)

    med = {n: statistics.median(walls[n]) for n in walls}
    rmed = {n: statistics.median(peaks[n]) / 1024 for n in peaks}
    print()
    print("| tool | median wall | min wall | median peak RSS | ratio |")
    print("|---|---:|---:|---:|---|")
    ratio = {
        "pygrub": "1 (reference for hot)",
        "kunpack-boot hot": "%.3fx pygrub (goal <= 0.05x)" % (med["kunpack-boot hot"] / med["pygrub"]),
        "/bin/true": "%.3fx pygrub (the harness's floor)" % (med["/bin/true"] / med["pygrub"]),
    }
    if not args.hot_only:
        ratio["kunpack-boot cold"] = "%.2fx virt-get-kernel (goal <= 0.6x)" % (med["kunpack-boot cold"] /
                                                                             med["virt-get-kernel"])
        ratio["virt-get-kernel"] = "1 (reference for cold)"
    for name, _ in tools:
        w = med[name]
        print("| %s | %s | %s | %.1f MiB | %s |" % (
            name, ("%.1f ms" % (w * 1000)) if w < 1 else ("%.2f s" % w),
            ("%.1f ms" % (min(walls[name]) * 1000)) if w < 1 else ("%.2f s" % min(walls[name])), rmed[name],
            ratio[name]))
    print("\n%d runs each, interleaved; hot peak RSS goal <= 4 MiB: %.1f MiB (max %.1f MiB)" % (
        args.runs, rmed["kunpack-boot hot"], max(peaks["kunpack-boot hot"]) / 1024))
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
