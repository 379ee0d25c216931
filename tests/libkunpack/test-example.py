#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""libkunpack as a user meets it: installed, found with pkg-config, the example built and run.

The build is installed into a scratch directory (meson install --destdir);
tests/libkunpack/example.c, which docs/libkunpack.md shows verbatim, is
compiled with `pkg-config --cflags --libs libkunpack` against the installed
<kunpack.h> and libkunpack.so only, then run on the real fixture kernels:
its output must be the reference ELF byte for byte, and what it prints must
be what the kernel is. A compression library that cannot be loaded must
fail the unpack with a message naming it.

Usage: test-example.py BUILD_DIR SOURCE_DIR [CC...]   ($KP_FIXTURES: the fixture kernels)
"""

import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def docs_example(md):
    """The C code block that follows the marker line in docs/libkunpack.md."""
    text = open(md).read()
    m = re.search(r"<!-- tests/libkunpack/example\.c -->\n```c\n(.*?)```\n", text, re.S)
    return m.group(1) if m else None


def main():
    build, source = sys.argv[1], sys.argv[2]
    cc = sys.argv[3:] or os.environ.get("CC", "cc").split()
    fixtures = os.environ["KP_FIXTURES"]
    example_c = os.path.join(source, "tests", "libkunpack", "example.c")

    # 1. The docs show the file that is built here, to the byte.
    check(docs_example(os.path.join(source, "docs", "libkunpack.md")) == open(example_c).read(),
          "docs/libkunpack.md shows tests/libkunpack/example.c verbatim")

    work = tempfile.mkdtemp(prefix="libkunpack-")
    try:
        dest = os.path.join(work, "root")
        subprocess.run(["meson", "install", "-C", build, "--no-rebuild", "--quiet", "--destdir", dest,
                        "--tags", "devel,runtime"], check=True, stdout=subprocess.DEVNULL)
        pcs = glob.glob(os.path.join(dest, "**", "pkgconfig", "libkunpack.pc"), recursive=True)
        check(len(pcs) == 1, "libkunpack.pc is installed (%s)" % pcs)
        headers = glob.glob(os.path.join(dest, "**", "include", "kunpack", "kunpack.h"), recursive=True)
        check(len(headers) == 1, "kunpack.h is installed under include/kunpack/")
        if failures:
            return 1
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pcs[0]), PKG_CONFIG_SYSROOT_DIR=dest)

        def pkgconfig(*args):
            return subprocess.run(["pkg-config", *args, "libkunpack"], env=env, check=True,
                                  stdout=subprocess.PIPE, text=True).stdout.split()

        cflags, libs = pkgconfig("--cflags"), pkgconfig("--libs")
        static_libs = pkgconfig("--static", "--libs")
        # Everything libkunpack needs is libc (its compression libraries are loaded with dlopen()):
        # a static link needs nothing more than a shared one.
        check([f for f in libs if f.startswith("-l")] == ["-lkunpack"], "pkg-config --libs: -lkunpack (%s)" % libs)
        check(static_libs == libs, "pkg-config --static --libs adds nothing (%s)" % static_libs)
        check(all(f.startswith("-I" + dest) for f in cflags), "pkg-config --cflags points into the install (%s)"
              % cflags)

        exe = os.path.join(work, "kunpack-example")
        subprocess.run([*cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-o", exe, example_c, *cflags, *libs],
                       check=True)
        libdir = os.path.dirname(os.path.dirname(pcs[0]))
        needed = subprocess.run(["readelf", "-d", exe], stdout=subprocess.PIPE, text=True, check=True).stdout
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", needed)
        # (A sanitizer's runtime, linked into the program, brings libm and libgcc_s.)
        check(needed[0] == "libkunpack.so.0" and not [n for n in needed if not n.startswith(
              ("libkunpack.so", "libc.so", "libm.so", "libgcc_s.so"))],
              "the example needs libkunpack.so.0 and libc only (%s)" % needed)
        run_env = dict(os.environ, LD_LIBRARY_PATH=libdir)

        # 2. Every format the kernel build writes, against the reference ELF.
        reference = sha256(os.path.join(fixtures, "vmlinux"))
        for fmt in ["lz4", "zstd", "gzip", "xz", "lzma", "bzip2", "lzo"]:
            out = os.path.join(work, "vmlinux-" + fmt)
            p = subprocess.run([exe, os.path.join(fixtures, "bzImage-" + fmt), out], env=run_env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            lines = p.stdout.splitlines()
            pvgrub = fmt in ("gzip", "xz", "lzo")
            check(p.returncode == 0 and sha256(out) == reference,
                  "%s: exit 0 and the reference ELF (%s)" % (fmt, p.stderr.strip()))
            check(lines[:3] == ["format: %s%s" % (fmt, "" if pvgrub else " (pvgrub cannot load it)"),
                                "output: %d bytes" % os.path.getsize(os.path.join(fixtures, "vmlinux")),
                                "sha256: " + reference],
                  "%s: format, size and sha256 printed (%s)" % (fmt, lines[:3]))
            check("Xen note LOADER: generic" in lines and any(l.startswith("Xen note ENTRY: 0x") for l in lines),
                  "%s: the Xen notes listed" % fmt)
            os.unlink(out)

        # 3. Not a kernel: the library's errno and words, nothing written.
        out = os.path.join(work, "not-a-kernel.elf")
        p = subprocess.run([exe, example_c, out], env=run_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        check(p.returncode == 1 and p.stderr.startswith(example_c + ": ") and not os.path.exists(out),
              "a C file is refused, nothing written (%r)" % p.stderr)

        # 4. A compression library that cannot be loaded: that unpack fails and says which library.
        broken = os.path.join(work, "broken")
        os.mkdir(broken)
        open(os.path.join(broken, "liblzo2.so.2"), "w").close()
        broken_env = dict(os.environ, LD_LIBRARY_PATH=broken + ":" + libdir)
        p = subprocess.run([exe, os.path.join(fixtures, "bzImage-lzo"), out], env=broken_env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        check(p.returncode == 1 and "lzo: cannot load liblzo2.so.2 (" in p.stderr and not os.path.exists(out),
              "liblzo2 unloadable: the lzo kernel fails naming it (%r)" % p.stderr.strip())
        p = subprocess.run([exe, os.path.join(fixtures, "bzImage-gzip"), out], env=broken_env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        check(p.returncode == 0 and sha256(out) == reference, "... while a gzip kernel still unpacks")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
