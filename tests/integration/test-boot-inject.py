#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Guests whose boot configuration tries to smuggle records into libxl's
bootloader answer (XSA-198) or paths out of the output directory.

Usage: test-boot-inject.py   (with $KP_FIXTURES and $KP_BUILD_DIR set; needs root)

The corpus: images.py's hostile guests (a newline in a title, a NUL and
terminal escapes in the arguments, a kernel path with "..", /boot/vmlinuz
a symlink to /etc/shadow) and boot_images.py's (record-like words in the
title and arguments, a quoted newline or tab in an argument, an initrd path
with "..", a newline in the kernel path). One kunpack-scan looks at all of
them in one appliance; then every guest is started as libxl starts it.

Whatever a guest wrote, an answer never holds more than one record of each
kind, nothing libxl would not expect, and no path outside
--output-directory: a guest whose strings are plain data boots with them as
arguments; any other is refused (the scan says why) and boots through
pvgrub. An admin's --args too long for libxl's record buffer is refused the
same way (pvgrub, without the args) rather than silently dropped by libxl.
"""

import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import boot_images  # noqa: E402
import boottest  # noqa: E402
import guesttest  # noqa: E402
from guesttest import check  # noqa: E402

EXTRA = "console=hvc0"
HOSTILE = ["hostile-newline-title", "hostile-nul-args", "hostile-control-args", "hostile-dotdot",
           "hostile-symlink-shadow"]


def check_shape(what, ans):
    """What libxl would take from the answer, whatever it is."""
    check(all(ans.count(k) <= 1 for k in ("kernel", "ramdisk", "args")) and ans.count("kernel") == (ans.rc == 0)
          and not ans.unexpected and not ans.skipped,
          "%s: at most one record of each kind, nothing else (%s, unexpected %s)" % (
              what, [k for k, _ in ans.records], ans.unexpected))
    paths = [v for k, v in ans.records if k in ("kernel", "ramdisk")]
    check(all(os.path.dirname(p) == os.path.realpath(ans.outdir) and "/.." not in p for p in paths),
          "%s: every file named is inside --output-directory (%s)" % (what, paths))
    check(all("shadow" not in p and "passwd" not in p for p in paths), "%s: no guest path in a record" % what)


def main():
    if os.geteuid() != 0:
        print("needs root (kunpack's cache and state belong to root): skipping")
        sys.exit(77)
    fixtures = guesttest.fixtures()
    build = os.environ["KP_BUILD_DIR"]
    outdir, manifest = guesttest.build_images()
    corpus = boot_images.build(os.path.join(build, "tests", "integration", "boot-images"), fixtures)
    work = tempfile.mkdtemp(prefix="boot-inject-", dir=os.path.join(build, "tests", "integration"))
    vmlinux = guesttest.sha256(os.path.join(fixtures, "vmlinux"))
    rig = boottest.Rig(work, "rig")

    disks = {}
    for name in HOSTILE:
        e = manifest[name]
        disks[name] = (e["disks"][0]["path"], {"refused": re.escape(e["error"]["message"])}, None)
    for name, c in corpus.items():
        disks[name] = (c["path"], c["expect"], c["initrd_sha256"])

    # One kunpack-scan looks at all of them, each guest in an appliance of its own.
    names = sorted(disks)
    rc, summary, err = rig.scan([disks[n][0] for n in names])
    check(summary is not None and rig.counter.launches() == len(names),
          "one kunpack-scan, one appliance per guest: %d for %d guests (%s)" % (
              rig.counter.launches(), len(names), err.strip()[-200:]))
    results = {}
    for name, d in zip(names, (summary or {}).get("disks", [])):
        results[name] = d
    for name in names:
        path, expect, initrd = disks[name]
        d = results.get(name, {})
        if "accepted" in expect:
            check(d.get("status") == "scanned", "%s: accepted as data (%s)" % (name, d.get("error")))
        else:
            check(d.get("status") == "failed" and re.search(expect["refused"], d.get("error") or "") is not None,
                  "%s: refused: /%s/ (got %s: %s)" % (name, expect["refused"], d.get("errno"), d.get("error")))

    # Every guest started as libxl starts it.
    for name in names:
        path, expect, initrd = disks[name]
        if "refused" in expect and name != "hostile-newline-title":
            continue  # each would rescan (one launch each) to the same refusal; one shows it below
        rig.reset_counts()
        ans = rig.start(path, args=EXTRA)
        check_shape(name, ans)
        if "accepted" in expect:
            boottest.check_answer(name, ans, vmlinux, initrd, expect["accepted"] + " " + EXTRA)
            check(rig.counter.launches() == 0, "%s: hot after the scan" % name)
            check("kernel /etc/shadow" in ans.args and ans.args.count(" ") == expect["accepted"].count(" ") + 1,
                  "%s: the record-like words are arguments inside the one args record" % name)
        else:
            boottest.check_fallback(name, ans, EXTRA, path, r"control character")

    # An admin's --args that would overflow libxl's record buffer: refused, not silently dropped.
    path = corpus["inject-words"]["path"]
    # Too long even alone: the pvgrub answer then goes without it (libxl would drop it anyway).
    long_args = "x" * boottest.LIBXL_ITEM_MAX
    ans = rig.start(path, args=long_args)
    check_shape("--args over libxl's record limit", ans)
    boottest.check_fallback("--args over libxl's record limit", ans, None, path,
                            r"libxl drops a record over 8191 bytes.*without --args \(too long for libxl\)")

    guesttest.finish()
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
