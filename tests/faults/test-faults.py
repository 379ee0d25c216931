#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Faults injected into the cache, the state store and pvgrub mode (tests/faults/).

Usage: test-faults.py   (with $KP_FIXTURES and $KP_BUILD_DIR set; needs root)

kunpack-scan runs against a guest whose filesystem is a host directory
(tests/faults/fake-guestfs.c), with tests/faults/fail-nth.c making the Nth
write, fsync, rename or link under one directory fail with ENOSPC or EIO.
The calls of a clean run are counted first; then each rename, link and
fsync, and the first, last and a spread of the writes, fail in turn (the
errno alternating). After each, what faultrig.py describes must hold (no
entry that is not whole, no record that does not parse, no guest file
changed without its backup), and a clean start afterwards must answer
right: the reference kernel, or the guest fully in pvgrub mode.

Then the limits of issue 13 that need a guest but no appliance:
cache_min_free and cache_max_guest_size refuse before a download,
initrds over 1 GiB together too; pvgrub mode checks the guest's free
space before anything crosses into dom0, and a payload that holds more
than its header claims stops there.
"""

import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import faultrig  # noqa: E402
import guesttest  # noqa: E402
from guesttest import check  # noqa: E402


def counted(path, staging=False):
    """The shim's log: [(n, op, path)], without the writes that stage pvgrub's copy in the cache
    (lib/boot/fallback.h: kunpack-scan makes it at its start; its failures only cost a later link)."""
    if not os.path.exists(path):
        return []
    out = []
    with open(path) as f:
        for line in f:
            n, op, p = line.rstrip("\n").split(" ", 2)
            if staging or not ("/pvgrub/" in p or p.endswith("/pvgrub")):
                out.append((int(n), op, p))
    return out


def pick(calls, writes=6):
    """Every rename, link and fsync, and a spread of the writes (first, last and between)."""
    chosen = [n for n, op, _ in calls if not op.startswith(("write", "pwrite", "copy_file_range", "sendfile",
                                                           "ftruncate", "fallocate", "writev"))]
    w = [n for n, op, _ in calls if n not in chosen]
    if w:
        step = max(1, len(w) // (writes - 1)) if writes > 1 else len(w)
        chosen += sorted(set(w[::step] + [w[-1]]))
    return sorted(set(chosen))


def cache_faults(rig, work):
    """Direct mode: the scan stores the kernel and initrd and saves the record; every store call may fail."""
    log = os.path.join(work, "cache.calls")
    rig.fresh_guest()
    rig.fresh_store()
    r = rig.run_scan(env=rig.env(log=log, under=rig.kp))
    calls = counted(log, staging=True)
    check(r.returncode == 0 and calls, "cache: a clean scan stores (%d calls counted; %s)" % (len(calls), r.stderr.strip()))
    chosen = pick(calls)
    print("cache: %d write/fsync/rename/link calls; failing %d of them in turn" % (len(calls), len(chosen)))
    failed_runs = 0
    for i, n in enumerate(chosen):
        errno_name = "ENOSPC" if i % 2 == 0 else "EIO"
        what = "cache, call %d (%s) fails with %s" % (n, dict((c[0], c[1]) for c in calls)[n], errno_name)
        rig.fresh_store()
        r = rig.run_scan(env=rig.env(fail_nth=n, fail_errno=errno_name, under=rig.kp))
        failed_runs += r.returncode != 0
        problems = rig.cache_problems() + rig.state_problems()
        check(problems == [], "%s: nothing served could be half-written (%s)" % (what, problems))
        if r.returncode == 0:
            # A fault the scan can shrug off (a directory fsync after the rename): the record must be usable.
            check("ok" in r.stdout or '"status"' in r.stdout, "%s: the scan says what it did" % what)
        sha, ans = faultrig.answer_kernel_sha(rig)
        check(sha == rig.vmlinux and ans.ramdisk_sha256 == rig.initrd,
              "%s: the next start answers the reference kernel and initrd (%s; %s)" % (what, sha, ans.lines()))
    check(failed_runs > 0, "cache: the injected faults fail scans (%d of %d)" % (failed_runs, len(chosen)))


def pvgrub_faults(rig, work):
    """pvgrub mode: every write, fsync and rename of the guest's files may fail; so may dom0's."""
    log = os.path.join(work, "pvgrub.calls")
    rig.fresh_store()
    rig.fresh_guest()
    r = rig.run_scan(pvgrub=True, env=rig.env(log=log, under=rig.guest))
    calls = counted(log)
    check(r.returncode == 0 and rig.pvgrub_done(), "pvgrub: a clean run writes (%d guest calls; %s)" %
          (len(calls), r.stderr.strip()))
    chosen = pick(calls, writes=8)
    print("pvgrub: %d write/fsync/rename calls into the guest; failing %d of them in turn" % (len(calls), len(chosen)))
    for i, n in enumerate(chosen):
        errno_name = "EIO" if i % 2 == 0 else "ENOSPC"
        what = "pvgrub, guest call %d (%s) fails with %s" % (n, dict((c[0], c[1]) for c in calls)[n], errno_name)
        rig.fresh_store()
        rig.fresh_guest()
        r = rig.run_scan(pvgrub=True, env=rig.env(fail_nth=n, fail_errno=errno_name, under=rig.guest))
        problems = rig.guest_problems()
        check(problems == [], "%s: no guest file changed without its backup (exit %d; %s)" % (
            what, r.returncode, problems))
        r = rig.run_scan(pvgrub=True)
        check(r.returncode == 0 and rig.pvgrub_done(), "%s: the next run brings the guest to pvgrub mode (%s)" % (
            what, r.stderr.strip()))

    # dom0's side of pvgrub mode: the downloads and ELFs in the cache directory.
    log = os.path.join(work, "pvgrub-dom0.calls")
    rig.fresh_store()
    rig.fresh_guest()
    r = rig.run_scan(pvgrub=True, env=rig.env(log=log, under=rig.cache))
    calls = counted(log)
    for i, n in enumerate(pick(calls, writes=4)):
        what = "pvgrub, dom0 call %d (%s) fails" % (n, dict((c[0], c[1]) for c in calls)[n])
        rig.fresh_store()
        rig.fresh_guest()
        r = rig.run_scan(pvgrub=True, env=rig.env(fail_nth=n, fail_errno="ENOSPC", under=rig.cache))
        check(r.returncode != 0 and open(os.path.join(rig.guest, faultrig.CFG), "rb").read() == rig.original
              and rig.guest_problems() == [],
              "%s: refused, the guest untouched (exit %d; %s)" % (what, r.returncode, r.stderr.strip()[-200:]))


def revert_faults(rig, work):
    """kunpackctl revert: every guest call may fail; grub.cfg is then the rewrite (with its backup) or the original."""
    log = os.path.join(work, "revert.calls")
    rig.fresh_store()
    rig.fresh_guest()
    check(rig.run_scan(pvgrub=True).returncode == 0, "revert: pvgrub mode first")
    r = subprocess.run(rig.revert_cmd(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=rig.env(log=log, under=rig.guest))
    calls = counted(log)
    check(r.returncode == 0 and open(os.path.join(rig.guest, faultrig.CFG), "rb").read() == rig.original and
          faultrig.meta(os.path.join(rig.guest, faultrig.CFG)) == rig.original_meta,
          "revert: a clean revert gives grub.cfg back with its metadata (%d calls; %s)" % (len(calls), r.stdout.strip()))
    for i, n in enumerate(pick(calls)):
        what = "revert, guest call %d (%s) fails" % (n, dict((c[0], c[1]) for c in calls)[n])
        rig.fresh_store()
        rig.fresh_guest()
        check(rig.run_scan(pvgrub=True).returncode == 0, "%s: pvgrub mode first" % what)
        r = subprocess.run(rig.revert_cmd(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=rig.env(fail_nth=n, fail_errno="EIO", under=rig.guest))
        check(rig.guest_problems() == [], "%s: no guest file changed without its backup (%s)" % (
            what, rig.guest_problems()))
        r = subprocess.run(rig.revert_cmd(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=rig.env())
        cfg = os.path.join(rig.guest, faultrig.CFG)
        check(open(cfg, "rb").read() == rig.original and faultrig.meta(cfg) == rig.original_meta,
              "%s: revert again restores grub.cfg exactly (%s %s)" % (what, r.stdout.strip(), r.stderr.strip()))


def leftovers(rig, work):
    """A writer killed between a write and its rename leaves .NAME.kunpack-tmp (the soak's finding):
    the next run that writes, and revert, remove it where kunpack writes, and nothing else."""
    def plant(root):
        boot, grub = os.path.join(root, "boot"), os.path.join(root, "boot", "grub")
        ours = {os.path.join(boot, ".vmlinux-%s.kunpack-tmp" % faultrig.NEW): b"half an ELF",
                os.path.join(grub, ".grub.cfg.kunpack-tmp"): b"half a config"}
        theirs = {os.path.join(boot, "notes.kunpack-tmp"): b"no leading dot",
                  os.path.join(boot, ".kunpack-tmp"): b"no name"}
        for p, data in list(ours.items()) + list(theirs.items()):
            with open(p, "wb") as f:
                f.write(data)
        os.symlink("/etc/passwd", os.path.join(boot, ".passwd.kunpack-tmp"))
        os.mkdir(os.path.join(boot, ".dir.kunpack-tmp"))
        return ours, theirs

    def left_alone(root, theirs):
        boot = os.path.join(root, "boot")
        ok = all(open(p, "rb").read() == data for p, data in theirs.items())
        ok = ok and os.path.islink(os.path.join(boot, ".passwd.kunpack-tmp"))
        ok = ok and os.path.isdir(os.path.join(boot, ".dir.kunpack-tmp"))
        return ok and os.path.getsize("/etc/passwd") > 0

    def unplant(root, theirs):
        for p in theirs:
            os.unlink(p)
        os.unlink(os.path.join(root, "boot", ".passwd.kunpack-tmp"))
        os.rmdir(os.path.join(root, "boot", ".dir.kunpack-tmp"))

    rig.fresh_store()
    root = rig.fresh_guest()
    passwd = faultrig.sha256_file("/etc/passwd")
    ours, theirs = plant(root)
    r = rig.run_scan(pvgrub=True)
    check(r.returncode == 0 and not any(os.path.exists(p) for p in ours) and left_alone(root, theirs) and
          "what an interrupted run left removed" in r.stderr,
          "leftovers: a pvgrub run removes .NAME.kunpack-tmp files in the directories it writes, and leaves a "
          "symlink, a directory and other names alone (%s)" % r.stderr.strip()[-200:])
    unplant(root, theirs)
    check(rig.pvgrub_done(), "leftovers: the run then brought the guest to pvgrub mode (%s)" % rig.guest_problems())

    ours, theirs = plant(root)
    r = subprocess.run(rig.revert_cmd(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=rig.env())
    check(r.returncode == 0 and not any(os.path.exists(p) for p in ours) and left_alone(root, theirs) and
          "and what an interrupted run left" in r.stdout,
          "leftovers: revert removes them too, and says so (%s)" % r.stdout.strip())
    unplant(root, theirs)
    check(open(os.path.join(root, faultrig.CFG), "rb").read() == rig.original and rig.guest_problems() == [] and
          faultrig.sha256_file("/etc/passwd") == passwd,
          "leftovers: after revert the guest is as it was (%s)" % rig.guest_problems())


def limits(rig, work):
    """Issue 13's limits, before anything is downloaded."""
    # cache_min_free above what the filesystem has: nothing stored, nothing even downloaded.
    log = os.path.join(work, "floor.calls")
    rig.fresh_store()
    rig.fresh_guest()
    rig.write_config(cache_min_free="1000T")
    r = rig.run_scan(env=rig.env(log=log, under=rig.cache))
    writes = [c for c in counted(log) if not c[2].endswith((".json", "/locks"))]
    check(r.returncode != 0 and "above cache_min_free; nothing downloaded" in r.stdout + r.stderr,
          "cache_min_free: refused before the download (%s)" % (r.stdout + r.stderr).strip()[-300:])
    check(all("/kernels/" not in c[2] and "/initrds/" not in c[2] for c in writes) and rig.cache_problems() == [],
          "cache_min_free: nothing written into the cache (%s)" % writes[:3])
    sha, ans = faultrig.answer_kernel_sha(rig)
    check(sha == "pvgrub" and any("cache_min_free" in line for line in ans.lines()),
          "cache_min_free: the start falls back to pvgrub, the log says why (%s)" % ans.lines())

    # A guest's share smaller than its kernel: the decompression stops there, nothing stays.
    rig.fresh_store()
    rig.write_config(cache_max_guest_size="16M")
    r = rig.run_scan()
    check(r.returncode != 0 and "more than the" in r.stdout + r.stderr and "cache_max_guest_size" in r.stdout + r.stderr,
          "cache_max_guest_size: the 66 MB kernel is over a 16M share (%s)" % (r.stdout + r.stderr).strip()[-300:])
    check(not os.path.exists(os.path.join(rig.cache, "kernels")) or
          [n for n in os.listdir(os.path.join(rig.cache, "kernels")) if n.endswith(".elf")] == [],
          "cache_max_guest_size: no kernel stored")

    # Initrds of 1 GiB and more together (sparse: no space used): refused before a byte is downloaded.
    rig.write_config()
    rig.fresh_store()
    root = rig.fresh_guest()
    with open(os.path.join(root, "boot", "grub", "grub.cfg"), "rb") as f:
        cfg = f.read()
    cfg = cfg.replace(b"initrd\t/boot/initrd.img-" + faultrig.NEW.encode(),
                      b"initrd\t/boot/initrd.img-" + faultrig.NEW.encode() + b" /boot/big-a /boot/big-b", 1)
    with open(os.path.join(root, "boot", "grub", "grub.cfg"), "wb") as f:
        f.write(cfg)
    for n in ("big-a", "big-b"):
        with open(os.path.join(root, "boot", n), "wb") as f:
            f.truncate(600 * 1024 * 1024)
    r = rig.run_scan(env=rig.env(log=log + "2", under=rig.cache))
    check(r.returncode != 0 and "as one ramdisk, more than the 1073741824" in r.stdout + r.stderr and
          "nothing downloaded" in r.stdout + r.stderr,
          "initrds over 1 GiB together: refused before the download (%s)" % (r.stdout + r.stderr).strip()[-300:])
    check([c for c in counted(log + "2") if "/initrds/" in c[2] or "#" in c[2]] == [],
          "initrds over 1 GiB together: nothing copied into the cache")

    # pvgrub mode on a guest filesystem without room: refused before anything crosses into dom0.
    small = os.path.join(work, "small")
    os.makedirs(small, exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", small]).returncode != 0:
        print("no tmpfs here: the small /boot cases are not run")
        return
    try:
        rig.fresh_store()
        root = rig.fresh_guest(os.path.join(small, "g"))
        log3 = os.path.join(work, "small.calls")
        r = rig.run_scan(pvgrub=True, env=rig.env(log=log3, under=rig.cache))
        check(r.returncode != 0 and "by the sizes the kernels' headers claim" in r.stdout + r.stderr and
              "nothing written" in r.stdout + r.stderr,
              "pvgrub, a 40 MiB /boot: refused by the claimed size (%s)" % (r.stdout + r.stderr).strip()[-300:])
        check(counted(log3) == [], "pvgrub, a 40 MiB /boot: nothing written in dom0 (%s)" % counted(log3)[:3])
        check(rig.guest_problems(root) == [] and open(os.path.join(root, faultrig.CFG), "rb").read() == rig.original,
              "pvgrub, a 40 MiB /boot: the guest untouched")

        # A payload that holds more than its header claims (a trailer saying 1 MiB) stops at the claim.
        rig.fresh_guest(rig.guest)
        k = os.path.join(rig.guest, "boot", "vmlinuz-" + faultrig.NEW)
        with open(k, "r+b") as f:
            f.seek(0x1f1)
            setup = f.read(1)[0] or 4
            f.seek(0x248)
            off, length = struct.unpack("<II", f.read(8))
            f.seek((setup + 1) * 512 + off + length - 4)
            f.write(struct.pack("<I", 1024 * 1024))
        r = rig.run_scan(pvgrub=True)
        check(r.returncode != 0 and "decompresses to more than the 1048576 bytes its header claims" in r.stdout + r.stderr,
              "pvgrub, a header claiming 1 MiB: refused at the claim (%s)" % (r.stdout + r.stderr).strip()[-300:])
        check(open(os.path.join(rig.guest, faultrig.CFG), "rb").read() == rig.original and
              not os.path.exists(os.path.join(rig.guest, faultrig.ELF)),
              "pvgrub, a header claiming 1 MiB: nothing written in the guest")
    finally:
        subprocess.run(["umount", "-l", small])


def main():
    if os.geteuid() != 0:
        print("needs root (owners, tmpfs): skipping")
        sys.exit(77)
    fixtures = guesttest.fixtures()
    build = os.environ["KP_BUILD_DIR"]
    work = tempfile.mkdtemp(prefix="faults-", dir=os.path.join(build, "tests", "faults"))
    rig = faultrig.Rig(work, build, fixtures)
    cache_faults(rig, work)
    pvgrub_faults(rig, work)
    revert_faults(rig, work)
    leftovers(rig, work)
    limits(rig, work)
    guesttest.finish()
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
