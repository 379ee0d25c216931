#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The journal catalog and the programs' MESSAGE_IDs agree.

Usage: test-catalog.py MESSAGES_H CATALOG

Every ID in lib/util/messages.h appears once there and has exactly one
entry in catalog/kunpack.catalog with a Subject, Defined-By and Support
line, and the catalog has no entry the programs never log. Then systemd's
own tool compiles the catalog in a scratch root (journalctl
--update-catalog) and lists every ID back (--list-catalog), so a format
error systemd would reject fails here, not on an admin's host.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

failed = False


def check(cond, what):
    global failed
    print(("ok: " if cond else "FAIL: ") + what)
    failed = failed or not cond


def main():
    header, catalog = sys.argv[1], sys.argv[2]
    with open(header) as f:
        ids = re.findall(r'#define (KP_MESSAGE_\w+)\s+"MESSAGE_ID=([0-9a-f]{32})"', f.read())
    names = [n for n, _ in ids]
    values = [v for _, v in ids]
    check(len(ids) >= 17, "%d message IDs in %s" % (len(ids), header))
    check(len(set(names)) == len(names), "each macro defined once")
    check(len(set(values)) == len(values), "no ID used for two kinds of event")

    with open(catalog) as f:
        text = f.read()
    entries = re.split(r"^-- ", text, flags=re.M)[1:]
    cat = {}
    for e in entries:
        head, _, body = e.partition("\n")
        mid = head.strip()
        check(re.fullmatch(r"[0-9a-f]{32}", mid) is not None, "catalog entry id %s is 32 hex digits" % mid)
        check(mid not in cat, "catalog entry %s appears once" % mid)
        cat[mid] = body
        for field in ("Subject:", "Defined-By: kunpack", "Support:"):
            check(re.search("^" + field, body, re.M) is not None, "%s has %s" % (mid, field))
    check(set(cat) == set(values), "the catalog explains exactly the IDs the programs log (missing %s, extra %s)" % (
        sorted(set(values) - set(cat)), sorted(set(cat) - set(values))))

    journalctl = shutil.which("journalctl")
    if journalctl:
        root = tempfile.mkdtemp(prefix="kp-catalog-")
        try:
            d = os.path.join(root, "usr", "lib", "systemd", "catalog")
            os.makedirs(d)
            shutil.copy(catalog, d)
            os.makedirs(os.path.join(root, "var", "lib", "systemd", "catalog"))
            r = subprocess.run([journalctl, "--root=" + root, "--update-catalog"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
            check(r.returncode == 0 and not r.stderr.strip(), "journalctl --update-catalog accepts it (%s)" %
                  r.stderr.strip())
            r = subprocess.run([journalctl, "--root=" + root, "--list-catalog"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
            listed = set(l.split()[0] for l in r.stdout.splitlines() if l.strip())
            check(set(values) <= listed, "journalctl --list-catalog lists every ID (missing %s)" %
                  sorted(set(values) - listed))
        finally:
            shutil.rmtree(root)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
