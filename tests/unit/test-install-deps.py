#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""scripts/install-deps.sh's sets agree with the Debian package.

Usage: test-install-deps.py SOURCE_ROOT

The build set holds every package of debian/control's Build-Depends
(debhelper, which scripts/build-deb.sh installs itself, aside), so that
`scripts/build-deb.sh` passes dpkg-checkbuilddeps on a fresh machine. The
runtime set holds every library debian/rules adds to the package's
Depends because kunpack loads it with dlopen(), so that a host installed
from the source tree runs what the package would.
"""

import os
import re
import sys

failed = False


def check(cond, what):
    global failed
    print(("ok: " if cond else "FAIL: ") + what)
    failed = failed or not cond


def main():
    root = sys.argv[1]
    with open(os.path.join(root, "scripts", "install-deps.sh")) as f:
        script = f.read()
    sets = {name: set(body.split()) for name, body in re.findall(r'^(\w+)="\n(.*?)\n"', script, re.M | re.S)}
    check({"build", "runtime", "demo", "test"} <= set(sets), "install-deps.sh has its four sets (%s)" % sorted(sets))

    with open(os.path.join(root, "debian", "control")) as f:
        control = f.read()
    m = re.search(r"^Build-Depends:(.*?)^\S", control, re.M | re.S)
    build_depends = set(re.sub(r"\(.*?\)", "", d).strip() for d in m.group(1).split(",") if d.strip())
    build_depends.discard("debhelper-compat")
    check(len(build_depends) >= 15, "%d Build-Depends in debian/control" % len(build_depends))
    check(build_depends <= sets.get("build", set()), "the build set holds every Build-Depends (missing %s)" %
          sorted(build_depends - sets.get("build", set())))

    with open(os.path.join(root, "debian", "rules")) as f:
        rules = f.read().replace("\\\n", " ")
    dlopen = set(re.findall(r"\$\(call atleast,([\w.+-]+)\)", rules))
    dlopen |= set(re.findall(r"\b(libxenmisc)\$\(XEN_ABI\)", rules))
    check(len(dlopen) >= 9, "%d dlopen()ed packages in debian/rules (%s)" % (len(dlopen), sorted(dlopen)))
    runtime = set(re.sub(r"[\d.]+$", "", p) if p.startswith("libxenmisc") else p for p in sets.get("runtime", ()))
    check(dlopen <= runtime, "the runtime set holds every dlopen()ed package (missing %s)" %
          sorted(dlopen - runtime))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
