#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""kunpack's demo, run by scripts/demo.sh as `scripts/demo.py BUILDDIR`.

It tells the story on real kernels, one step after the other:

  kernels   Debian's own kernel recompressed as Ubuntu ships it (LZ4 and zstd),
            exactly as the kernel's Makefile.lib does;
  pvgrub    what those kernels are, and that pvgrub2 cannot load them;
  extract   kunpack decompresses each to the ELF, identical (sha256) to the
            reference, and Xen's own readnotes accepts its Xen notes.

Each step is a function in STEPS taking a Demo and printing what it shows;
later steps (build a demo disk, run kunpack-boot as libxl would, boot the
guest) are added to that list.
"""

import hashlib
import json
import os
import subprocess
import sys

SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FORMATS = ["lz4", "zstd"]


class Demo:
    def __init__(self, build):
        self.build = os.path.abspath(build)
        self.dir = os.path.join(self.build, "demo")
        self.kernels = os.path.join(self.dir, "kernels")
        self.kunpackctl = os.path.join(self.build, "tools", "kunpackctl")
        self.facts = {}  # what steps learn, for the steps after them

    def run(self, *cmd, check=True, capture=True):
        r = subprocess.run(cmd, stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE if capture else None,
                           text=True)
        if check and r.returncode != 0:
            fail("%s failed (exit %d): %s" % (" ".join(cmd), r.returncode, (r.stderr or "").strip()))
        return r


def say(text=""):
    print(text, flush=True)


def title(text):
    say()
    say("== " + text)


def fail(text):
    print("demo: " + text, file=sys.stderr)
    sys.exit(1)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def readnotes():
    for version in sorted(os.listdir("/usr/lib"), reverse=True):
        path = os.path.join("/usr/lib", version, "bin", "readnotes")
        if version.startswith("xen-") and os.access(path, os.X_OK):
            return path
    return None


# ---- steps -----------------------------------------------------------------

def step_kernels(d):
    title("Kernels as Ubuntu ships them: Debian's kernel recompressed with lz4 -l -9 and zstd -22 --ultra")
    d.run(sys.executable, os.path.join(SOURCE, "tests", "fixtures", "mkkernels.py"), d.kernels,
          "--formats", ",".join(FORMATS), capture=False)
    release = open(os.path.join(d.kernels, "kernel-release")).read().strip()
    d.facts["reference"] = sha256(os.path.join(d.kernels, "vmlinux"))
    say("source: /boot/vmlinuz-%s (xz); reference ELF sha256 %s" % (release, d.facts["reference"]))
    for fmt in FORMATS:
        path = os.path.join(d.kernels, "bzImage-" + fmt)
        say("  %-44s %10d bytes" % (path, os.path.getsize(path)))


def step_pvgrub(d):
    title("What they are, and whether pvgrub2 could boot them (kunpackctl extract --check)")
    for fmt in FORMATS:
        kernel = os.path.join(d.kernels, "bzImage-" + fmt)
        info = json.loads(d.run(d.kunpackctl, "extract", "--check", "--json", kernel).stdout)
        d.facts.setdefault("check", {})[fmt] = info
        say("  bzImage-%s: boot protocol %s, %s payload of %d bytes -> %d-byte ELF" % (
            fmt, info["boot_protocol"], info["format"], info["payload_size"], info["output_size"]))
        if info["pvgrub_can_load"]:
            say("    pvgrub2 can load this payload")
        else:
            say("    pvgrub2 cannot: GRUB's Xen loader opens payloads only through gzip, xz and lzo,")
            say("    so this guest stops at \"error: not xen image\"")


def step_extract(d):
    title("kunpack decompresses them to the ELF every Xen loader boots (kunpackctl extract)")
    notes_tool = readnotes()
    for fmt in FORMATS:
        kernel = os.path.join(d.kernels, "bzImage-" + fmt)
        out = os.path.join(d.dir, "vmlinux-from-" + fmt)
        d.run(d.kunpackctl, "extract", kernel, "-o", out)
        got = sha256(out)
        if got != d.facts["reference"]:
            fail("%s: sha256 %s differs from the reference %s" % (out, got, d.facts["reference"]))
        say("  %s: sha256 %s, identical to the reference" % (out, got))
        d.facts.setdefault("extracted", {})[fmt] = out

    if notes_tool:
        out = d.facts["extracted"][FORMATS[-1]]
        say()
        say("Xen's readnotes on %s:" % out)
        r = d.run(notes_tool, out)
        for line in r.stdout.splitlines():
            say("    " + line)
        wanted = {"LOADER: generic", "XEN_VERSION: xen-3.0", "GUEST_OS: linux"}
        missing = [w for w in wanted if w not in r.stdout.splitlines()]
        if missing:
            fail("readnotes does not show %s" % ", ".join(missing))
    else:
        say("  (xen-utils' readnotes is not installed: skipping Xen's own view of the notes)")


STEPS = [
    ("kernels", step_kernels),
    ("pvgrub", step_pvgrub),
    ("extract", step_extract),
]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: scripts/demo.py BUILDDIR")
    d = Demo(sys.argv[1])
    if not os.access(d.kunpackctl, os.X_OK):
        fail("%s not built; run ninja -C %s" % (d.kunpackctl, d.build))
    os.makedirs(d.dir, exist_ok=True)
    for name, step in STEPS:
        step(d)
    title("Done")
    say("Both kernels, which pvgrub2 refuses, are now plain ELFs with their Xen notes intact.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
