#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Each program maps what it uses (lib/meson.build, lib/util/dlopen.h).

- kunpack-boot, libxl's hot path at every domain start: at most 12 entries
  in ldd, no libguestfs and no Xen library, and libc and yajl its only
  NEEDED (libsystemd is loaded only when a kunpackd socket is there,
  lib/client/client.c);
- kunpackctl and kunpack-scan need no libguestfs, Xen or compression
  library at start: they load each when first needed;
- and they do load them then: `kunpackctl --version` maps none, `kunpackctl
  extract --check` of an lzo kernel maps liblzo2 and no other of them
  (LD_DEBUG=files, the dynamic loader's own account).

Usage: test-link-boundaries.py KUNPACK_BOOT KUNPACKCTL [KUNPACK_SCAN]   ($KP_FIXTURES)
"""

import os
import re
import subprocess
import sys

failures = []
HEAVY = re.compile(r"^lib(guestfs|xen|xl|lz4|zstd|lzma|z|bz2|lzo2)[.-]")


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def ldd(path):
    out = subprocess.run(["ldd", path], stdout=subprocess.PIPE, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def needed(path):
    out = subprocess.run(["readelf", "-d", path], stdout=subprocess.PIPE, text=True, check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def loaded(cmd):
    """Base names of every object the dynamic loader mapped while cmd ran."""
    env = dict(os.environ, LD_DEBUG="files")
    p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return p.returncode, {os.path.basename(m) for m in re.findall(r"file=(\S+) \[\d+\];\s+generating link map",
                                                                  p.stderr)}


def main():
    boot, ctl = sys.argv[1], sys.argv[2]
    scan = sys.argv[3] if len(sys.argv) > 3 else None

    entries = ldd(boot)
    check(len(entries) <= 12, "kunpack-boot: %d ldd entries, at most 12 (%s)" % (len(entries), " ".join(entries)))
    check(not any("guestfs" in e or e.startswith(("libxen", "libxl")) for e in entries),
          "kunpack-boot maps no libguestfs and no Xen library")
    # (A sanitizer build's runtime, linked into the program, brings libm and libgcc_s.)
    extra = [n for n in needed(boot) if n not in ("libc.so.6", "libyajl.so.2", "libm.so.6", "libgcc_s.so.1")]
    check(not extra, "kunpack-boot needs libc and yajl only (%s)" % needed(boot))

    for name, path in (("kunpackctl", ctl), ("kunpack-scan", scan)):
        if path:
            heavy = [n for n in needed(path) if HEAVY.match(n)]
            check(not heavy, "%s needs no libguestfs, Xen or compression library at start (%s)" % (name, heavy))

    rc, libs = loaded([ctl, "--version"])
    check(rc == 0 and not {"liblzo2.so.2", "libbz2.so.1.0", "libguestfs.so.0"} & libs
          and not any(l.startswith(("libxl", "libxen")) for l in libs),
          "kunpackctl --version maps no lzo, bzip2, libguestfs or Xen library (%s)" % sorted(libs))
    kernel = os.path.join(os.environ["KP_FIXTURES"], "bzImage-lzo")
    rc, libs = loaded([ctl, "extract", "--check", kernel])
    check(rc == 0 and "liblzo2.so.2" in libs, "kunpackctl extract --check of an lzo kernel maps liblzo2")
    check(not {"libbz2.so.1.0", "libguestfs.so.0"} & libs and not any(l.startswith(("libxl", "libxen")) for l in libs),
          "... and no bzip2, libguestfs or Xen library (%s)" % sorted(libs))

    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
