#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""libkunpack.so exports exactly what libkunpack.sym and kunpack.h promise, and needs only libc.

- the dynamic symbols the library defines are the .sym file's global list,
  each in its version node (LIBKUNPACK_0.1), and nothing else;
- every function kunpack.h declares is exported, and every export is
  declared there;
- its soname is libkunpack.so.0 and it needs libc alone: no libguestfs, Xen,
  libsystemd, yajl or compression library (those are loaded with dlopen()).

Usage: test-symbols.py LIBKUNPACK_SO LIBKUNPACK_SYM KUNPACK_H
"""

import re
import subprocess
import sys

failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def sym_file(path):
    """{symbol: version node} from a version script."""
    text = re.sub(r"/\*.*?\*/", "", open(path).read(), flags=re.S)
    out = {}
    for node, body in re.findall(r"([\w.]+)\s*\{(.*?)\}\s*[\w.]*\s*;", text, re.S):
        m = re.search(r"global:(.*?)(local:|$)", body, re.S)
        for name in re.findall(r"(\w+)\s*;", m.group(1) if m else ""):
            out[name] = node
    return out


def main():
    so, sym, header = sys.argv[1:4]
    promised = sym_file(sym)
    check(len(promised) > 0 and set(promised.values()) == {"LIBKUNPACK_0.1"},
          "libkunpack.sym: %d symbols, all in LIBKUNPACK_0.1" % len(promised))

    nm = subprocess.run(["nm", "-D", "--defined-only", so], stdout=subprocess.PIPE, text=True, check=True).stdout
    exported = {}
    for line in nm.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[1] in "TDBRtdbr" and fields[1].isupper():
            name, _, version = fields[2].partition("@@")
            exported[name] = version
    check(set(exported) == set(promised),
          "exports are the .sym list (extra: %s, missing: %s)" %
          (sorted(set(exported) - set(promised)), sorted(set(promised) - set(exported))))
    check(all(exported.get(n) == v for n, v in promised.items()),
          "each export carries its version node (%s)" %
          sorted(n for n, v in promised.items() if exported.get(n) != v))

    text = re.sub(r"/\*.*?\*/", "", open(header).read(), flags=re.S)
    declared = set(re.findall(r"\b(kp_\w+)\s*\(", text))
    check(declared == set(promised),
          "kunpack.h declares the exported functions (undeclared: %s, not exported: %s)" %
          (sorted(set(promised) - declared), sorted(declared - set(promised))))

    dyn = subprocess.run(["readelf", "-d", so], stdout=subprocess.PIPE, text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn)
    soname = re.findall(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", dyn)
    check(soname == ["libkunpack.so.0"], "soname libkunpack.so.0 (%s)" % soname)
    check(needed == ["libc.so.6"], "needs libc only (NEEDED: %s)" % needed)

    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
