#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""kunpack-boot as libxl runs it, on realistic LZ4, zstd and xz guests.

Usage: test-boot.py   (with $KP_FIXTURES and $KP_BUILD_DIR set; needs root)

Every start runs kunpack-boot exactly as libxl does and reads the answer as
libxl does (boottest.py): the kernel libxl maps must be byte-identical to
the reference ELF and accepted by Xen's readnotes, the ramdisk the guest's
initrd, the args what the guest's boot configuration selects (pygrub's
answer where pygrub gets it right) followed by the xl config's extra.
Cold and hot paths are told apart from outside: appliance launches are
counted through LIBGUESTFS_HV, and kunpack-scan runs through a wrapper
that notes each one.

  1. kunpack-boot links no libguestfs.
  2. LZ4 (Ubuntu 20.04): first start cold (one launch, one scan), second hot
     (no launch, no scan).
  3. zstd (extlinux) and xz (Debian 12), and zstd on Fedora BLS: prepared by
     one kunpack-scan (one launch for all), then hot starts; against pygrub.
     grub-reboot's one-shot next_entry: booted once, then taken as used.
  4. A direct request (--kernel=, --ramdisk=): no config read, args = --args.
  5. --runas: root is given up before the answer is written (strace).
  6. Freshness: the guest installs a newer kernel and update-grub runs
     (guestfish writes the image): the next start serves the new kernel and
     initrd, never the cached old one; the one after is hot again.
  7. --mode=pvgrub without room in /boot: the pvgrub answer, the image
     unchanged; --help, --version.
"""

import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import boottest  # noqa: E402
import guesttest  # noqa: E402
import images  # noqa: E402
from guesttest import check  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
EXTRA = "console=hvc0 earlyprintk=xen"
K_OLD, K_NEW = "5.4.0-42-generic", "5.4.0-43-generic"


def pygrub_args(disk, work, extra):
    """pygrub's own answer for disk: its args record."""
    outdir = tempfile.mkdtemp(dir=work)
    output = os.path.join(outdir, "out")
    open(output, "w").close()
    r = subprocess.run([boottest.PYGRUB, "-q", "--output-format=simple0", "--args=" + extra, "--output=" + output,
                        "--output-directory=" + outdir, disk], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120)
    if r.returncode != 0:
        return None
    for item in open(output, "rb").read().split(b"\0"):
        if item.startswith(b"args "):
            return item[5:].decode()
    return ""


def relabelled_kernel(fixtures, work):
    """A newer LZ4 kernel: Debian's, relabelled one ABI up (as the e2e suite does): (bzImage path, ELF sha256)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "e2e"))
    import guests  # noqa: E402
    source = os.path.dirname(os.path.dirname(HERE))
    k = guests.Kernels(source, fixtures, os.path.join(os.environ["KP_BUILD_DIR"], "tests", "e2e", "cache"))
    bz = k.bzimage("lz4", 1)
    elf = guests.relabel_elf(open(k.reference_vmlinux, "rb").read(), k.release, k.release_for(1))
    return bz, boottest.sha256_bytes(elf)


def install_kernel(disk, bzimage, work):
    """What apt does on a kernel upgrade, done to the image with guestfish: the new kernel and initrd
    in /boot, and update-grub's grub.cfg booting it. Returns the new initrd's sha256."""
    data = os.path.join(os.path.dirname(HERE), "unit", "bootcfg", "data", "ubuntu-20.04", "boot", "grub")
    cfg = open(os.path.join(data, "grub.cfg")).read().replace(K_OLD, K_NEW)
    cfg_path = os.path.join(work, "grub.cfg.new")
    with open(cfg_path, "w") as f:
        f.write(cfg)
    initrd = images.make_initrd("initrd.img-" + K_NEW)
    initrd_path = os.path.join(work, "initrd.new")
    with open(initrd_path, "wb") as f:
        f.write(initrd)
    script = "\n".join([
        "add-drive %s format:raw" % disk, "run", "mount /dev/sda1 /",
        "upload %s /boot/vmlinuz-%s" % (bzimage, K_NEW),
        "upload %s /boot/initrd.img-%s" % (initrd_path, K_NEW),
        "upload %s /boot/grub/grub.cfg" % cfg_path,
        "umount-all", "shutdown"]) + "\n"
    env = dict(os.environ)
    env.setdefault("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg")
    r = subprocess.run(["guestfish", "--rw"], input=script, text=True, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=600)
    check(r.returncode == 0, "guestfish installed kernel %s into the image (%s)" % (K_NEW, r.stderr.strip()[-300:]))
    return boottest.sha256_bytes(initrd)


def main():
    if os.geteuid() != 0:
        print("needs root (kunpack's cache and state belong to root): skipping")
        sys.exit(77)
    fixtures = guesttest.fixtures()
    build = os.environ["KP_BUILD_DIR"]
    outdir, manifest = guesttest.build_images()
    work = tempfile.mkdtemp(prefix="boot-", dir=os.path.join(build, "tests", "integration"))
    vmlinux = guesttest.sha256(os.path.join(fixtures, "vmlinux"))
    rig = boottest.Rig(work, "rig")

    # 1. The hot path's program links no libguestfs: ~14 MiB of RSS just to map it.
    needed = boottest.readelf_needed(os.path.join(build, "tools", "kunpack-boot"))
    check(needed and not any("guestfs" in n for n in needed),
          "kunpack-boot links no libguestfs (NEEDED: %s)" % ", ".join(needed))
    # kunpack-scan loads libguestfs itself when it opens a guest (lib/guest/guestfs-dl.h): the soname it asks for.
    with open(rig.real_scan, "rb") as f:
        check(b"libguestfs.so.0\0" in f.read(), "kunpack-scan names libguestfs.so.0 to load")

    # 2. LZ4, cold then hot.
    lz4 = manifest["ubuntu-20.04-lz4"]
    disk = boottest.copy_image(lz4["disks"][0]["path"], os.path.join(work, "ubuntu-lz4.img"))
    initrd = guesttest.file_sha(lz4, "/boot/initrd.img-" + K_OLD)
    args = lz4["expect"]["cmdline"] + " " + EXTRA
    rig.reset_counts()
    ans = rig.start(disk, args=EXTRA)
    boottest.check_answer("lz4 cold", ans, vmlinux, initrd, args)
    boottest.check_readnotes("lz4 cold", ans)
    check(rig.counter.launches() == 1 and len(rig.scans()) == 1,
          "lz4 cold: one appliance launch, one kunpack-scan (got %d, %d)" % (rig.counter.launches(), len(rig.scans())))
    check(any("scanned and cached" in line and disk in line for line in ans.lines()),
          "lz4 cold: says it scanned (%s)" % ans.lines())
    # The cold start's two lines at info level, in the order libxl's bootloader.N.log keeps them.
    lines = ans.lines()
    began = [i for i, line in enumerate(lines)
             if "%s: cold start: scanning the disk in a libguestfs appliance (at most " % disk in line
             and line.endswith(": %s has not been scanned yet" % disk)]
    ended = [i for i, line in enumerate(lines) if re.search(re.escape(disk) + r": scan done in [0-9]+\.[0-9] s$", line)]
    check(len(began) == 1 and len(ended) == 1 and began[0] < ended[0],
          "lz4 cold: one line when the scan begins (disk, why), one when it ends (time): %s" % lines)
    print("lz4 cold start: %.1f s" % ans.seconds)

    rig.reset_counts()
    ans = rig.start(disk, args=EXTRA)
    boottest.check_answer("lz4 hot", ans, vmlinux, initrd, args)
    boottest.check_readnotes("lz4 hot", ans)
    check(rig.counter.launches() == 0 and rig.scans() == [],
          "lz4 hot: no appliance, no kunpack-scan (got %d, %s)" % (rig.counter.launches(), rig.scans()))
    check(not any("cold start" in line or "scan done" in line for line in ans.lines()),
          "lz4 hot: no cold start lines (%s)" % ans.lines())
    # An option a newer libxl might pass: one warning, and the same answer.
    ans = rig.start(disk, bootloader_args=["--config=" + rig.config, "--from-a-future-libxl=yes"], args=EXTRA)
    boottest.check_answer("lz4 hot, an unknown option", ans, vmlinux, initrd, args)
    check(len(ans.lines()) == 2 and ans.lines()[0] == 'kunpack-boot: %s: ignoring unknown option '
          '"--from-a-future-libxl=yes" (from a newer libxl, or a typo in bootloader_args)' % disk,
          "an unknown option: one warning line, then the answer (%s)" % ans.lines())
    # How fast is bench-boot's to say (a timed check would fail on a busy machine, not on a slow start).
    print("lz4 hot start: %.3f s" % ans.seconds)
    # pygrub gets this one wrong ($vt_handoff passed literally): the expectation is GRUB's own.
    check("$vt_handoff" in (pygrub_args(disk, work, EXTRA) or "$vt_handoff"),
          "lz4: pygrub passes $vt_handoff literally, kunpack passes GRUB's vt.handoff=7")

    # 3. zstd, xz and zstd-on-BLS prepared by one kunpack-scan, then hot starts.
    names = ["extlinux-classic", "debian-12-xz", "fedora-38-bls"]
    disks = [manifest[n]["disks"][0]["path"] for n in names]
    rig.reset_counts()
    rc, summary, err = rig.scan(disks)
    statuses = [d["status"] for d in (summary or {}).get("disks", [])]
    check(rc == 0 and statuses == ["scanned"] * 3, "kunpack-scan of 3 disks: exit 0, all scanned (got %d, %s; %s)" % (
        rc, statuses, err.strip()[-300:]))
    check(rig.counter.launches() == 3 and (summary or {}).get("launches") == 3,
          "kunpack-scan of 3 disks: one appliance each (counted %d)" % rig.counter.launches())
    for name, d in zip(names, disks):
        entry = manifest[name]
        exp = entry["expect"]
        want_args = exp["cmdline"] + " " + EXTRA
        rig.reset_counts()
        ans = rig.start(d, args=EXTRA)
        boottest.check_answer("%s (%s)" % (name, exp["format"]), ans, vmlinux,
                              guesttest.file_sha(entry, exp["initrds"][0]), want_args)
        boottest.check_readnotes(name, ans)
        check(rig.counter.launches() == 0 and rig.scans() == [], "%s: hot after kunpack-scan" % name)
        if entry["pygrub"].get("handles") and not entry["pygrub"].get("wrong"):
            theirs = pygrub_args(d, work, EXTRA)
            check(theirs is not None and " ".join(theirs.split()) == ans.args,
                  "%s: args equal pygrub's (\"%s\", kunpack \"%s\")" % (name, theirs, ans.args))

    # 3b. grub-reboot's one-shot next_entry: kunpack never clears it in the guest's grubenv, so the
    # scan after the guest ran (its disk changed) takes the same next_entry as used up.
    ne = manifest["ubuntu-20.04-next-entry"]
    ne_disk = boottest.copy_image(ne["disks"][0]["path"], os.path.join(work, "next-entry.img"))
    rc, summary, err = rig.scan([ne_disk])
    d = (summary or {}).get("disks", [{}])[0]
    check(rc == 0 and d.get("reason") == "next-entry" and d.get("kernel") == ne["expect"]["kernel"]
          and not d.get("next_entry_consumed"),
          "next_entry: the first scan boots it once (%s, %s)" % (d.get("reason"), d.get("kernel")))
    ans = rig.start(ne_disk, args=EXTRA)
    check(ans.rc == 0 and ans.ramdisk_sha256 == guesttest.file_sha(ne, ne["expect"]["initrds"][0]),
          "next_entry: the start boots the one-shot entry's initrd")
    os.utime(ne_disk)  # the guest ran and wrote to its disk
    rc, summary, err = rig.scan([ne_disk])
    d = (summary or {}).get("disks", [{}])[0]
    check(rc == 0 and d.get("next_entry_consumed") is True and d.get("kernel") == "/boot/vmlinuz-" + K_OLD
          and d.get("reason") == "default-index",
          "next_entry: the next scan takes it as used and boots the default (%s, %s, %s)" % (
              d.get("reason"), d.get("kernel"), d.get("next_entry_consumed")))

    # 4. A direct request: the guest config's kernel/ramdisk, no boot config read.
    rig.reset_counts()
    ans = rig.start(disk, kernel="/boot/vmlinuz-" + K_OLD, ramdisk="/boot/initrd.img-" + K_OLD, args=EXTRA)
    boottest.check_answer("direct request", ans, vmlinux, initrd, EXTRA)
    check(rig.counter.launches() == 1, "direct request: its own record, one launch (got %d)" % rig.counter.launches())
    rig.reset_counts()
    ans = rig.start(disk, kernel="/boot/vmlinuz-" + K_OLD, ramdisk="/boot/initrd.img-" + K_OLD)
    boottest.check_answer("direct request, hot, no --args", ans, vmlinux, initrd, None)
    check(rig.counter.launches() == 0 and rig.scans() == [], "direct request: hot the second time")

    # 5. --runas: the answer is written after root is given up for good.
    trace = os.path.join(work, "runas.strace")
    strace_boot = os.path.join(rig.bin, "kunpack-boot-traced")
    with open(strace_boot, "w") as f:
        f.write("#!/bin/sh\nexec strace -f -qq -o %s -e trace=setgroups,setresgid,setresuid,write %s \"$@\"\n" % (
            trace, rig.boot))
    os.chmod(strace_boot, 0o755)
    ans = boottest.run_like_libxl(strace_boot, disk, rig.domains, ["--config=" + rig.config], runas=65534,
                                  args=EXTRA, env=rig.env())
    boottest.check_answer("--runas=65534", ans, vmlinux, initrd, args)
    calls = open(trace).read()
    drop = calls.find("setresuid(65534, 65534, 65534)")
    answer_write = calls.find('write(3, "kernel ')
    if answer_write < 0:
        answer_write = calls.find('"kernel /')
    check(calls.find("setgroups(0, NULL)") >= 0 and calls.find("setresgid(65534, 65534, 65534)") >= 0,
          "--runas: supplementary groups dropped and gid set")
    check(0 <= drop < answer_write, "--runas: setresuid(65534) comes before the answer is written")
    check(ans.lines() == [], "--runas: --quiet, nothing on the console on success (%s)" % ans.lines())

    # 6. Freshness: a kernel upgrade inside the guest, then the next start.
    bz, new_elf = relabelled_kernel(fixtures, work)
    check(new_elf != vmlinux, "the upgrade's kernel is another ELF")
    new_initrd = install_kernel(disk, bz, work)
    rig.reset_counts()
    ans = rig.start(disk, args=EXTRA)
    boottest.check_answer("after the upgrade", ans, new_elf, new_initrd, args)
    boottest.check_readnotes("after the upgrade", ans)
    check(rig.counter.launches() == 1 and len(rig.scans()) == 1,
          "after the upgrade: the stale record was not served; one rescan (launches %d)" % rig.counter.launches())
    rig.reset_counts()
    ans = rig.start(disk, args=EXTRA)
    boottest.check_answer("after the upgrade, again", ans, new_elf, new_initrd, args)
    check(rig.counter.launches() == 0 and rig.scans() == [], "after the upgrade: hot again")

    # 7. pvgrub mode on this image, whose /boot has no room for a 66 MB ELF (test-pvgrub has the rest):
    #    said, nothing written, and the guest boots through pvgrub as before.
    before = guesttest.sha256(disk)
    ans = rig.start(disk, bootloader_args=["--config=" + rig.config, "--mode=pvgrub"], args=EXTRA)
    boottest.check_fallback("--mode=pvgrub without room", ans, EXTRA, disk,
                            r"pvgrub mode: .*bytes free, kunpack needs \d+ .*nothing written")
    check(guesttest.sha256(disk) == before, "--mode=pvgrub without room: the image is unchanged")
    r = subprocess.run([rig.boot, "--version"], stdout=subprocess.PIPE, text=True)
    check(r.returncode == 0 and re.match(r"kunpack-boot \d", r.stdout), "--version: %s" % r.stdout.strip())
    r = subprocess.run([rig.boot, "--help"], stdout=subprocess.PIPE, text=True)
    check(r.returncode == 0 and "--output-directory" in r.stdout and "--mode=direct|pvgrub" in r.stdout, "--help")

    guesttest.finish()
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
