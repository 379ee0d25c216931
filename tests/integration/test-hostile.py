#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hostile guest images: each refused or bounded with a clear error, and no host file touched.

Usage: test-hostile.py KUNPACKCTL   (with $KP_FIXTURES and $KP_BUILD_DIR set)

The images (tests/integration/images.py, "hostile-*"): a 50 MB grub.cfg,
10,000 entries, submenus 100 deep, a kernel path with ../../, /boot/vmlinuz a
symlink to the guest's /etc/shadow, a NUL byte in the arguments, a newline
in a title, terminal escapes in the arguments, a 100 KB command line, and a
filesystem whose superblock is corrupt. All of them are inspected, each in an
appliance of its own, from a fresh directory (cwd, HOME and TMPDIR), under strace -f.

Each must fail with its own errno and a message naming the reason. Then,
from strace's record of every file kunpackctl and its children (qemu,
supermin, libguestfs's helpers) opened, created, renamed or removed: no
path named by a guest was opened on the host, the host's /etc/shadow was
never opened, and nothing was written outside the fresh directory and
libguestfs's own appliance cache. Neither the host's nor the guest's
shadow file content, nor their sha256, appears in anything printed.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import boottest  # noqa: E402
import guesttest  # noqa: E402
from guesttest import check  # noqa: E402

GUEST_SECRET = b"GUESTSECRETHASH"
# Paths only a guest names; none may ever be opened on the host.
GUEST_NAMES = re.compile(r"vmlinuz|initrd|grub\.cfg|grubenv|menu\.lst|extlinux|/boot/")
WRITE_FLAGS = re.compile(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC")


def traced_paths(trace_dir):
    """(path, kind) for every file operation in strace's output files."""
    ops = []
    # strace -y prints a directory fd with its path: openat(5</tmp/kp-x/libguestfsAB>, "overlay1.qcow2", ...
    pat = re.compile(r'^(?:\d+\s+)?(?:<\.\.\. )?(\w+)\((?:AT_FDCWD|\d+(?:<([^>]*)>)?)?,?\s*"([^"]*)"(.*)$')
    for name in os.listdir(trace_dir):
        with open(os.path.join(trace_dir, name), errors="replace") as f:
            for line in f:
                m = pat.match(line)
                if not m:
                    continue
                call, dirpath, path, rest = m.groups()
                if dirpath and not path.startswith("/"):
                    path = os.path.join(dirpath, path)
                ops.append((path, "any", rest))
                if call in ("open", "openat", "openat2"):
                    ops.append((path, "write" if WRITE_FLAGS.search(rest) else "read", rest))
                elif call in ("creat", "mkdir", "mkdirat", "unlink", "unlinkat", "rename", "renameat",
                              "renameat2", "link", "linkat", "symlink", "symlinkat", "truncate", "rmdir"):
                    ops.append((path, "write", rest))
    return ops


def scan_initrd_retry(entry, work):
    """kunpack-scan of a guest whose grub.cfg has an initrd that fails on one file and then one that
    works: it used to crash (SIGSEGV); now it exits 0 with the plan GRUB itself would boot."""
    rig = boottest.Rig(work, "initrd-retry")
    rc, summary, err = rig.scan([entry["disks"][0]["path"]])
    check(rc == 0, "kunpack-scan of grub-initrd-retry exits 0 (%d: %s)" % (rc, err.strip()))
    d = (summary or {}).get("disks", [{}])[0]
    check(d.get("status") == "scanned", "grub-initrd-retry: scanned (%s: %s)" % (d.get("status"), d.get("error")))
    check(d.get("kernel") == "/vmlinuz" and d.get("format") == "lz4",
          "grub-initrd-retry: kernel /vmlinuz, lz4 (%s, %s)" % (d.get("kernel"), d.get("format")))
    check(d.get("initrds") == ["/b", "/c", "/d"], "grub-initrd-retry: initrds /b /c /d (%s)" % d.get("initrds"))
    check(d.get("fetched") == 4, "grub-initrd-retry: kernel and three initrds in the cache (%s)" % d.get("fetched"))


def main():
    ctl = os.path.abspath(sys.argv[1])
    strace = shutil.which("strace")
    if not strace:
        print("strace not found (scripts/install-deps.sh installs it): skipping")
        sys.exit(77)
    outdir, manifest = guesttest.build_images()
    hostile = {n: e for n, e in manifest.items() if e["error"]}
    check(len(hostile) >= 10, "%d hostile images" % len(hostile))

    fresh = tempfile.mkdtemp(prefix="kp-hostile-")
    trace_dir = os.path.join(fresh, "strace")
    os.mkdir(trace_dir)
    counter = guesttest.Counter(fresh)
    env = counter.env()
    env.update(HOME=fresh, TMPDIR=fresh, XDG_RUNTIME_DIR=fresh)
    # libguestfs's cached appliance stays where it is (by default it follows TMPDIR).
    env.setdefault("LIBGUESTFS_CACHEDIR", "/var/tmp")
    cachedir = env["LIBGUESTFS_CACHEDIR"]

    names = sorted(hostile)
    specs = [guesttest.disk_specs(hostile[n])[0] for n in names]
    r = guesttest.run([strace, "-f", "-qq", "-ff", "-y", "--seccomp-bpf", "-o", os.path.join(trace_dir, "t"),
                       "-e", "trace=%file", ctl, "inspect", "--each", "--json", *specs],
                      env=env, cwd=fresh)
    if not check(r.returncode == 1, "inspect --each exits 1 when guests fail (%d)" % r.returncode):
        print(r.stderr, file=sys.stderr)
    check(counter.launches() == len(names), "one appliance launch per hostile guest: %d for %d" % (
        counter.launches(), len(names)))
    try:
        results = json.loads(r.stdout)
    except ValueError:
        results = []
    check(len(results) == len(names), "one result per guest")

    for name, res in zip(names, results):
        want = hostile[name]["error"]
        check("plan" not in res, "%s: refused (no plan)" % name)
        check(res.get("errno") == want["errno"], "%s: %s (got %s)" % (name, want["errno"], res.get("errno")))
        check(want["message"] in (res.get("error") or ""), "%s: says \"%s\" (%s)" % (
            name, want["message"], res.get("error")))
        # Exactly the same line on stderr, one per guest.
        check(sum(1 for l in r.stderr.splitlines() if l.startswith("kunpackctl: " + res.get("disk", "?") + ": ")) == 1,
              "%s: one line on stderr" % name)

    printed = (r.stdout + r.stderr).encode()
    check(GUEST_SECRET not in printed, "the guest's /etc/shadow content is not printed")
    guest_shadow = guesttest.file_sha(manifest["hostile-symlink-shadow"], "/etc/shadow")
    check(guest_shadow and guest_shadow.encode() not in printed, "nor its sha256")
    try:
        with open("/etc/shadow", "rb") as f:
            host_shadow = f.read()
        check(hashlib.sha256(host_shadow).hexdigest().encode() not in printed, "the host's /etc/shadow sha256 is not printed")
        lines = [l for l in host_shadow.split(b"\n") if len(l) > 8]
        check(not any(l in printed for l in lines), "no line of the host's /etc/shadow is printed")
    except PermissionError:
        pass

    ops = traced_paths(trace_dir)
    check(len(ops) > 100, "strace recorded the run (%d file operations)" % len(ops))
    images_dir = os.path.dirname(hostile[names[0]]["disks"][0]["path"])
    # libguestfs's own places: the appliance cache, and (for root it ignores XDG_RUNTIME_DIR, to keep
    # socket paths short) its socket directory /tmp/libguestfsXXXXXX.
    allowed_write = (fresh, os.path.join(cachedir, ".guestfs-%d" % os.getuid()), "/dev/", "/tmp/libguestfs")
    shadow = [p for p, k, _ in ops if p == "/etc/shadow" or p.endswith("/etc/shadow") and not p.startswith(fresh)]
    check(not shadow, "no /etc/shadow opened on the host (%s)" % shadow[:3])
    guestish = [p for p, k, _ in ops if GUEST_NAMES.search(p) and not p.startswith((images_dir, fresh, cachedir,
                                                                                     "/usr/", "/lib/", "/proc/"))]
    check(not guestish, "no guest-named path opened on the host (%s)" % guestish[:5])
    writes = [p for p, k, _ in ops if k == "write" and not p.startswith(allowed_write)]
    check(not writes, "nothing written outside the fresh directory and the appliance cache (%s)" % writes[:5])
    image_writes = [p for p, k, _ in ops if k == "write" and p.startswith(images_dir)]
    check(not image_writes, "the guest images were opened read-only (%s)" % image_writes[:3])

    scan_initrd_retry(manifest["grub-initrd-retry"], fresh)

    shutil.rmtree(fresh)
    guesttest.finish()


if __name__ == "__main__":
    main()
