#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""kunpack against pygrub on every guest image pygrub can read.

Usage: test-pygrub-images.py KUNPACKCTL [PYGRUB]   (with $KP_FIXTURES, $KP_BUILD_DIR)

pygrub (xen-utils-4.17) is the reference for which entry and which arguments
a guest's boot configuration selects. For each image it handles, pygrub
extracts the kernel and ramdisk it would boot; kunpack must select a kernel
and first initrd with the same sha256 and the same command line (compared
word by word: GRUB 2 itself joins the words with one space, pygrub keeps the
spacing of the file). Where pygrub is known to be wrong (images.py says why:
Ubuntu's $vt_handoff passed literally, saved_entry and next_entry ignored),
the test says so, checks that pygrub really differs, and checks kunpack's
answer against the image's expectation instead. kunpack inspects all these
guests in one appliance.
"""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guesttest  # noqa: E402
from guesttest import check  # noqa: E402

PYGRUB = "/usr/lib/xen-4.17/bin/pygrub"


def run_pygrub(pygrub, disk, work):
    """pygrub as libxl runs it, non-interactive: {kernel, ramdisk, args} with sha256s, or None."""
    outdir = tempfile.mkdtemp(dir=work)
    out = os.path.join(outdir, "out")
    open(out, "w").close()                     # pygrub opens --output without O_CREAT
    env = dict(os.environ, TERM=os.environ.get("TERM") or "xterm")   # curses needs terminfo even with -q
    r = subprocess.run([pygrub, "-q", "--output-format=simple0", "--output=" + out, "--output-directory=" + outdir,
                        disk], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=300)
    if r.returncode != 0:
        return None, r.stderr.decode(errors="replace").strip().splitlines()[-1:]
    res = {}
    with open(out, "rb") as f:
        for rec in f.read().split(b"\0"):
            if rec:
                key, _, value = rec.decode().partition(" ")
                res[key] = value
    res["kernel_sha256"] = guesttest.sha256(res["kernel"])
    res["ramdisk_sha256"] = guesttest.sha256(res["ramdisk"]) if "ramdisk" in res else None
    shutil.rmtree(outdir)
    return res, None


def main():
    ctl = os.path.abspath(sys.argv[1])
    pygrub = sys.argv[2] if len(sys.argv) > 2 else PYGRUB
    if not os.access(pygrub, os.X_OK):
        print("%s not found: skipping" % pygrub)
        sys.exit(77)
    outdir, manifest = guesttest.build_images()
    work = tempfile.mkdtemp(prefix="kp-pygrub-")
    counter = guesttest.Counter(work)

    handled = {n: e for n, e in manifest.items() if e["pygrub"] and e["pygrub"].get("handles")}
    check(len(handled) >= 8, "pygrub handles %d of the images" % len(handled))

    results, r, launches = guesttest.inspect_each(ctl, counter, handled)
    check(r.returncode == 0, "kunpackctl inspect --each exits 0 (%s)" % r.stderr.strip())
    check(launches == len(handled), "one appliance launch per guest: %d for %d guests" % (launches, len(handled)))

    rows = []
    for name, entry in sorted(handled.items()):
        exp = entry["expect"]
        py, err = run_pygrub(pygrub, entry["disks"][0]["path"], work)
        plan = (results.get(name) or {}).get("plan")
        if not check(py is not None, "%s: pygrub ran (%s)" % (name, err)) or \
           not check(plan is not None, "%s: kunpack gave a plan" % name):
            continue
        sel = plan["selected"]
        kp_initrd = (sel.get("initrd_files") or [{}])[0].get("sha256")
        same_kernel = py["kernel_sha256"] == sel["sha256"]
        same_initrd = py["ramdisk_sha256"] == kp_initrd
        same_args = py.get("args", "").split() == sel["cmdline"].split()
        agree = same_kernel and same_initrd and same_args
        wrong = entry["pygrub"].get("wrong")

        if wrong:
            print("note: %s: pygrub is wrong here: %s" % (name, wrong))
            check(not agree, "%s: pygrub indeed differs (%s)" % (name, wrong))
            check(sel["kernel"] == exp["kernel"] and sel["cmdline"] == exp["cmdline"] and
                  sel["initrds"] == exp["initrds"],
                  "%s: kunpack selects %s \"%s\" instead" % (name, exp["kernel"], exp["cmdline"]))
            check(sel["sha256"] == guesttest.file_sha(entry, exp["kernel"]), "%s: kunpack's kernel sha256" % name)
            verdict = "pygrub wrong"
        else:
            check(same_kernel, "%s: same kernel as pygrub (sha256 %s)" % (name, py["kernel_sha256"][:16]))
            check(same_initrd, "%s: same initrd as pygrub (sha256 %s)" % (name, (py["ramdisk_sha256"] or "-")[:16]))
            check(same_args, "%s: same arguments as pygrub (\"%s\" / \"%s\")" % (name, py.get("args"), sel["cmdline"]))
            verdict = "agree" if agree else "DIFFER"
        rows.append((name, py["kernel_sha256"][:12], " ".join(py.get("args", "").split())[-44:],
                     sel["sha256"][:12], sel["cmdline"][-44:], verdict))

    print()
    print("%-26s %-12s %-44s %-12s %-44s %s" % ("image", "pygrub", "pygrub args", "kunpack", "kunpack cmdline",
                                               "verdict"))
    for row in rows:
        print("%-26s %-12s %-44s %-12s %-44s %s" % row)
    guesttest.finish()


if __name__ == "__main__":
    main()
