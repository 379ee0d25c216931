#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""pvgrub mode (issue 6) on real images, through real libguestfs.

kunpack-boot --mode=pvgrub is run exactly as libxl runs it; what it wrote
is read back with guestfish (another appliance, not kunpack's code):

  focal-lz4     the ELF beside the LZ4 kernel is byte-identical to the
                reference vmlinux; grub.cfg differs from the original only
                in the kernel names of the three lines that load it; the
                backup is the original byte for byte; the answer is pvgrub.
                The next start is hot (no appliance, image untouched); a
                forced second run writes nothing (the image's sha256 and
                mtime stay). Then the guest "upgrades": a new kernel, the
                old one removed, update-grub's new grub.cfg; the next start
                decompresses the new kernel, removes the stale copy, backs
                up the new original. kunpackctl show --changes lists it;
                kunpackctl revert restores the config byte for byte and
                removes every file kunpack wrote. Its grub.cfg is made
                0600, group 4, with a user.* attribute and an SELinux label
                first, its LZ4 kernel 0600 with a label: grub.cfg, the
                backup and the manifest have the config's mode, owner,
                group and attributes after the rewrite, the ELF its
                source's, and grub.cfg has them again after revert.
  jammy-zstd    separate /boot (paths /vmlinuz-*), zstd beside xz
  debian5-bzip2 GRUB legacy menu.lst, bzip2 beside gzip
  bookworm-xz   xz and gzip kernels only: pvgrub answer, image untouched
  small-boot, ro-compat, corrupt
                a /boot without room for the ELF, a filesystem Linux mounts
                read-only only, one no kernel mounts: the image is
                untouched (whole-image sha256) and the answer is pvgrub,
                with one line saying why; with on_failure = "fail", exit 1.
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import boottest  # noqa: E402
import guesttest  # noqa: E402
import pvgrub_images as P  # noqa: E402
from guesttest import check  # noqa: E402

BUILD = os.environ.get("KP_BUILD_DIR", "")
KUNPACKCTL = os.path.join(BUILD, "tools", "kunpackctl")


def image_sha(path):
    return guesttest.sha256(path)


def guestfish(script, *disks, ro=True):
    """Runs script in one guestfish appliance over disks; returns stdout."""
    cmd = ["guestfish"] + (["--ro"] if ro else []) + sum((["--format=raw", "-a", d] for d in disks), [])
    r = subprocess.run(cmd, input="run\n" + script, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=dict(os.environ, LIBGUESTFS_BACKEND_SETTINGS="force_tcg"), timeout=600)
    if r.returncode != 0:
        sys.exit("guestfish failed (%d): %s" % (r.returncode, r.stderr))
    return r.stdout


def readback(items, outdir, then=None, meta=None):
    """items: [(disk, device, [paths])]. Downloads every path that exists (small ones) or takes its sha256
    (names starting with vmlinu), in one appliance; then (guestfish commands) runs on the last filesystem
    afterwards, read-write. Returns {(disk, path): bytes | sha256 | None}; with meta (a dict), also fills
    meta[(disk, path)] with each existing file's metadata (see parse_meta)."""
    disks = []
    script = []
    keys = []
    for disk, device, paths in items:
        if disk not in disks:
            disks.append(disk)
        dev = "/dev/sd%s%s" % ("abcdefgh"[disks.index(disk)], device[len("/dev/sda"):])
        script.append("mount-ro %s /" % dev)
        for p in paths:
            n = len(keys)
            keys.append((disk, p))
            local = os.path.join(outdir, "f%d" % n)
            script.append("echo @@%d" % n)
            script.append("is-file %s" % p)
            # guestfish stops at the first error: only ask for files that exist.
            script.append("-download %s %s" % (p, local) if not os.path.basename(p).startswith("vmlinu")
                          else "-checksum sha256 %s" % p)
            if meta is not None:
                script.append("echo %%%%%d" % n)
                script.append("-lstatns %s" % p)
                script.append("-lgetxattrs %s" % p)
        if then:
            script.append(then)
        script.append("umount /")
    out = guestfish("\n".join(script).replace("mount-ro ", "mount " if then else "mount-ro ") + "\n", *disks,
                    ro=not then)
    result = {}
    if meta is not None:
        for n, block in re.findall(r"%%(\d+)\n(.*?)(?=@@\d+\n|%%\d+\n|\Z)", out, re.S):
            m = parse_meta(block)
            if m:
                meta[keys[int(n)]] = m
    for n, block in re.findall(r"@@(\d+)\n(.*?)(?=@@\d+\n|\Z)", out, re.S):
        n = int(n)
        lines = block.split("\n")
        if lines[0] != "true":
            result[keys[n]] = None
            continue
        local = os.path.join(outdir, "f%d" % n)
        if os.path.exists(local):
            with open(local, "rb") as f:
                result[keys[n]] = f.read()
            os.unlink(local)
        else:
            result[keys[n]] = lines[1].strip()
    return result


def parse_meta(block):
    """guestfish's lstatns and lgetxattrs output: (mode & 07777, uid, gid, sorted [(name, value)]), or None."""
    st = dict(re.findall(r"^(st_mode|st_uid|st_gid): (\d+)$", block, re.M))
    if len(st) != 3:
        return None
    xattrs = sorted(re.findall(r"attrname: (\S+)\n\s*attrval: (.*)", block))
    return (int(st["st_mode"]) & 0o7777, int(st["st_uid"]), int(st["st_gid"]), xattrs)


# What the focal guest's grub.cfg and LZ4 kernel are given before the first start: a grub.cfg holding a
# GRUB password hash is 0600 on a careful guest, and an SELinux guest labels /boot's files.
META_LABEL = "system_u:object_r:boot_t:s0"
META_SETUP = """mount /dev/sda1 /
chmod 0600 %(cfg)s
chown 0 4 %(cfg)s
setxattr user.kunpack-test 0600-grub-cfg 13 %(cfg)s
setxattr security.selinux %(label)s %(n)d %(cfg)s
chmod 0600 %(kernel)s
setxattr security.selinux %(label)s %(n)d %(kernel)s
umount /
"""


def only_kernel_names_differ(what, orig, new, renames):
    """new is orig with, on some lines, a kernel name replaced (renames: {old: new}); nothing else."""
    a, b = orig.split(b"\n"), new.split(b"\n")
    check(len(a) == len(b), "%s: as many lines as the original (%d, got %d)" % (what, len(a), len(b)))
    changed = 0
    for x, y in zip(a, b):
        if x == y:
            continue
        changed += 1
        ok = any(x.replace(o.encode(), n.encode(), 1) == y for o, n in renames.items())
        check(ok, "%s: line changed in its kernel name only: %r" % (what, y[:100]))
    return changed


def run_scan(rig, disk, *extra):
    r = subprocess.run([rig.real_scan, "--config=" + rig.config, "--pvgrub", "--json", *extra, disk],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=rig.env(), timeout=600)
    return r


def ctl(rig, *args):
    return subprocess.run([KUNPACKCTL, "--config=" + rig.config, *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=rig.env(), timeout=600)


def check_pvgrub_answer(what, ans):
    check(ans.rc == 0, "%s: exit 0 (got %s: %s)" % (what, ans.rc, ans.lines()))
    check(ans.count("kernel") == 1 and ans.count("ramdisk") == 0 and not ans.unexpected,
          "%s: a kernel record only (got %s)" % (what, [k for k, _ in ans.records]))
    check(ans.kernel_sha256 == guesttest.sha256(boottest.PVGRUB), "%s: the kernel libxl mapped is pvgrub" % what)


def main():
    fixtures = guesttest.fixtures()
    with open(os.path.join(fixtures, "SHA256SUMS")) as f:
        sums = {line.split()[1]: line.split()[0] for line in f if line.strip()}
    vmlinux_sha = sums["vmlinux"]
    bzimage = {fmt: sums["bzImage-" + fmt] for fmt in ("lz4", "zstd", "bzip2", "gzip", "xz")}

    imgs = P.build(os.path.join(BUILD or tempfile.gettempdir(), "tests", "integration", "pvgrub-images"), fixtures)
    work = tempfile.mkdtemp(prefix="kp-pvgrub-")
    rig = boottest.Rig(work, "rig")
    data = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "unit", "bootcfg", "data")
    with open(os.path.join(data, "ubuntu-20.04", "boot", "grub", "grub.cfg"), "rb") as f:
        focal_cfg = f.read()
    with open(os.path.join(data, "ubuntu-22.04", "grub", "grub.cfg"), "rb") as f:
        jammy_cfg = f.read()
    with open(os.path.join(data, "debian-5", "boot", "grub", "menu.lst"), "rb") as f:
        deb_cfg = f.read()
    pvgrub_args = ["--config=" + rig.config, "--mode=pvgrub"]

    # ---- focal-lz4: the first start rewrites ------------------------------------------------------------
    focal = boottest.copy_image(imgs["focal-lz4"]["disk"], os.path.join(work, "focal.img"))
    new42 = "/boot/vmlinuz-" + P.FOCAL_NEW
    cfg = "/boot/grub/grub.cfg"
    guestfish(META_SETUP % dict(cfg=cfg, kernel=new42, label=META_LABEL, n=len(META_LABEL)), focal, ro=False)
    meta0 = {}
    readback([(focal, "/dev/sda1", [cfg, new42])], work, meta=meta0)
    cfg_meta, kernel_meta = meta0.get((focal, cfg)), meta0.get((focal, new42))
    check(cfg_meta is not None and cfg_meta[:3] == (0o600, 0, 4) and
          ("user.kunpack-test", "0600-grub-cfg") in cfg_meta[3] and
          any(n == "security.selinux" and v.startswith(META_LABEL) for n, v in cfg_meta[3]),
          "focal: grub.cfg is 0600, group 4, with a user attribute and an SELinux label (%s)" % (cfg_meta,))
    check(kernel_meta is not None and kernel_meta[0] == 0o600, "focal: the LZ4 kernel is 0600 (%s)" % (kernel_meta,))
    ans = rig.start(focal, bootloader_args=pvgrub_args)
    check_pvgrub_answer("focal cold start", ans)
    check(rig.counter.launches() == 1 and len(rig.scans()) == 1,
          "focal cold start: one kunpack-scan, one appliance (got %d, %d)" % (len(rig.scans()), rig.counter.launches()))
    check(any("pvgrub mode" in line and "brought up to date" in line for line in ans.lines()),
          "focal cold start: says the guest's /boot was brought up to date (%s)" % ans.lines())

    elf42 = "/boot/vmlinux-" + P.FOCAL_NEW
    orig, man = "/boot/grub/grub.cfg.kunpack-orig", "/boot/grub/grub.cfg.kunpack-changes"

    # ---- a forced second look writes nothing; the next start is hot ---------------------------------------
    before, mtime = image_sha(focal), os.stat(focal).st_mtime_ns
    r = run_scan(rig, focal, "--force")
    check(r.returncode == 0 and '"written":0' in r.stdout and '"kept":1' in r.stdout and
          '"config_written":false' in r.stdout,
          "focal second run: nothing written, one kernel kept (%s %s)" % (r.stdout.strip(), r.stderr.strip()))
    check(image_sha(focal) == before and os.stat(focal).st_mtime_ns == mtime,
          "focal second run: the image's sha256 and mtime are unchanged")
    rig.reset_counts()
    ans = rig.start(focal, bootloader_args=pvgrub_args)
    check_pvgrub_answer("focal hot start", ans)
    check(rig.counter.launches() == 0 and not rig.scans(),
          "focal hot start: no kunpack-scan, no appliance (got %d, %d)" % (len(rig.scans()), rig.counter.launches()))

    # ---- what the first start wrote, read back; then the guest upgrades in the same appliance: a new
    # kernel and initrd, the old ones removed (apt), and update-grub's new grub.cfg -------------------------
    new48 = "5.4.0-48-generic"
    regen = focal_cfg.replace(P.FOCAL_NEW.encode(), new48.encode())
    with open(os.path.join(work, "regen.cfg"), "wb") as f:
        f.write(regen)
    meta1 = {}
    got = readback([(focal, "/dev/sda1", [cfg, orig, man, elf42, "/boot/vmlinux-" + P.FOCAL_OLD, new42])], work,
                   meta=meta1, then="cp %s /boot/vmlinuz-%s\nrm %s\ncp /boot/initrd.img-%s /boot/initrd.img-%s\n"
                        "rm /boot/initrd.img-%s\nupload %s %s\n" %
                        (new42, new48, new42, P.FOCAL_NEW, new48, P.FOCAL_NEW, os.path.join(work, "regen.cfg"), cfg))
    check(got[(focal, elf42)] == vmlinux_sha, "focal: %s is byte-identical to the reference vmlinux" % elf42)
    for path in (cfg, orig, man):
        check(meta1.get((focal, path)) == cfg_meta,
              "focal: %s has grub.cfg's mode, owner, group and attributes (%s, want %s)" %
              (path, meta1.get((focal, path)), cfg_meta))
    check(meta1.get((focal, elf42)) == kernel_meta,
          "focal: %s has its source's mode, owner, group and label (%s, want %s)" %
          (elf42, meta1.get((focal, elf42)), kernel_meta))
    check(got[(focal, "/boot/vmlinux-" + P.FOCAL_OLD)] is None, "focal: no copy of the gzip kernel pvgrub loads")
    check(got[(focal, new42)] == bzimage["lz4"], "focal: the LZ4 kernel is still there, unchanged")
    check(got[(focal, orig)] == focal_cfg, "focal: the backup is the original grub.cfg byte for byte")
    n = only_kernel_names_differ("focal grub.cfg", focal_cfg, got[(focal, cfg)] or b"",
                                 {"vmlinuz-" + P.FOCAL_NEW: "vmlinux-" + P.FOCAL_NEW})
    check(n == 3, "focal: exactly the three lines loading the LZ4 kernel changed (got %d)" % n)
    manifest = (got[(focal, man)] or b"").decode()
    check(("file\t%s\t%s\t%s\t%s\n" % (elf42, vmlinux_sha, new42, bzimage["lz4"])) in manifest,
          "focal: the manifest records the ELF and its source with their sha256s")
    check(("backup\t%s\t%s\n" % (orig, hashlib.sha256(focal_cfg).hexdigest())) in manifest,
          "focal: the manifest records the backup's sha256")

    rig.reset_counts()
    ans = rig.start(focal, bootloader_args=pvgrub_args)
    check_pvgrub_answer("focal after update-grub", ans)
    check(len(rig.scans()) == 1, "focal after update-grub: the changed image is looked at again")
    elf48 = "/boot/vmlinux-" + new48
    got = readback([(focal, "/dev/sda1", [cfg, orig, man, elf48, elf42])], work)
    check(got[(focal, elf48)] == vmlinux_sha, "focal after update-grub: the new kernel's ELF is the reference")
    check(got[(focal, elf42)] is None, "focal after update-grub: the stale %s is removed" % elf42)
    check(got[(focal, orig)] == regen, "focal after update-grub: the backup is the new original")
    n = only_kernel_names_differ("focal regenerated grub.cfg", regen, got[(focal, cfg)] or b"",
                                 {"vmlinuz-" + new48: "vmlinux-" + new48})
    check(n == 3, "focal after update-grub: rewritten again, three lines (got %d)" % n)
    check(elf42 not in (got[(focal, man)] or b"").decode(), "focal after update-grub: the manifest forgot the stale copy")

    # ---- show --changes, then revert, naming the guest by its xl config as an admin would ----------------
    xen = os.path.join(work, "xen-configs")
    os.mkdir(xen)
    with open(os.path.join(xen, "guest1.cfg"), "w") as f:
        f.write('name = "focal-guest"\nbootloader = "kunpack-boot"\nbootloader_args = [ "--mode=pvgrub" ]\n'
                "disk = [ 'format=raw, vdev=xvda, access=rw, target=%s' ]\n" % focal)
    with open(rig.config, "a") as f:
        f.write('domain_config_dirs = [ "%s" ]\n' % xen)
    r = ctl(rig, "show", "focal-guest", "--changes")
    check(r.returncode == 0 and ("Wrote:    %s (sha256 %s)" % (elf48, vmlinux_sha)) in r.stdout and
          ("Config:   %s rewritten" % cfg) in r.stdout,
          "kunpackctl show focal-guest --changes (found by name =) lists the ELF and the config (%s %s)" %
          (r.stdout, r.stderr))
    r = ctl(rig, "revert", "guest1")
    check(r.returncode == 0 and "original configuration restored, 1 decompressed kernel removed" in r.stdout,
          "kunpackctl revert guest1 (found as guest1.cfg): says what it did (%s %s)" %
          (r.stdout.strip(), r.stderr.strip()))
    meta2 = {}
    got = readback([(focal, "/dev/sda1", [cfg, orig, man, elf48, "/boot/vmlinuz-" + new48])], work, meta=meta2)
    check(got[(focal, cfg)] == regen, "revert: grub.cfg is the guest's own, byte for byte")
    check(meta2.get((focal, cfg)) == cfg_meta,
          "revert: grub.cfg has its mode, owner, group and attributes back exactly (%s, want %s)" %
          (meta2.get((focal, cfg)), cfg_meta))
    check(got[(focal, orig)] is None and got[(focal, man)] is None and got[(focal, elf48)] is None,
          "revert: the backup, the manifest and the ELF are gone")
    check(got[(focal, "/boot/vmlinuz-" + new48)] == bzimage["lz4"], "revert: the guest's own kernel stays")

    # ---- jammy (separate /boot) and Debian 5 (menu.lst): one readback for both -----------------------------
    jammy = boottest.copy_image(imgs["jammy-zstd"]["disk"], os.path.join(work, "jammy.img"))
    deb = boottest.copy_image(imgs["debian5-bzip2"]["disk"], os.path.join(work, "deb.img"))
    for name, disk in (("jammy", jammy), ("debian5", deb)):
        ans = rig.start(disk, bootloader_args=pvgrub_args)
        check_pvgrub_answer("%s cold start" % name, ans)
    j91, j88 = "/vmlinux-" + P.JAMMY_NEW, "/vmlinux-" + P.JAMMY_OLD
    d1, d2 = "/boot/vmlinux-" + P.DEB_OLD, "/boot/vmlinux-" + P.DEB_NEW
    got = readback([(jammy, "/dev/sda2", ["/grub/grub.cfg", "/grub/grub.cfg.kunpack-orig", j91, j88]),
                    (deb, "/dev/sda1", ["/boot/grub/menu.lst", "/boot/grub/menu.lst.kunpack-orig", d1, d2])], work)
    check(got[(jammy, j91)] == vmlinux_sha and got[(jammy, j88)] is None,
          "jammy: the zstd kernel's ELF (on the /boot partition) is the reference; none for the xz one")
    check(got[(jammy, "/grub/grub.cfg.kunpack-orig")] == jammy_cfg, "jammy: backup is the original")
    n = only_kernel_names_differ("jammy grub.cfg", jammy_cfg, got[(jammy, "/grub/grub.cfg")] or b"",
                                 {"vmlinuz-" + P.JAMMY_NEW: "vmlinux-" + P.JAMMY_NEW})
    check(n >= 2, "jammy: the zstd kernel's lines rewritten (%d)" % n)
    check(got[(deb, d1)] == vmlinux_sha and got[(deb, d2)] is None,
          "debian5: the bzip2 kernel's ELF is the reference; none for the gzip one")
    check(got[(deb, "/boot/grub/menu.lst.kunpack-orig")] == deb_cfg, "debian5: backup is the original menu.lst")
    n = only_kernel_names_differ("debian5 menu.lst", deb_cfg, got[(deb, "/boot/grub/menu.lst")] or b"",
                                 {"vmlinuz-" + P.DEB_OLD: "vmlinux-" + P.DEB_OLD})
    check(n == 1, "debian5: exactly the bzip2 kernel's line changed (got %d)" % n)

    # ---- nothing pvgrub cannot load: nothing written, not even a superblock's mount count -------------------
    bookworm = boottest.copy_image(imgs["bookworm-xz"]["disk"], os.path.join(work, "bookworm.img"))
    before = image_sha(bookworm)
    ans = rig.start(bookworm, bootloader_args=pvgrub_args)
    check_pvgrub_answer("bookworm (xz and gzip kernels)", ans)
    check(image_sha(bookworm) == before, "bookworm: the image is untouched (whole-image sha256)")

    # ---- failures: untouched, pvgrub answer -------------------------------------------------------------------
    for name, reason in (("small-boot", r"has \d+ bytes free, kunpack needs \d+ .*nothing written"),
                         ("ro-compat", r"could not mount /dev/sda \(ext4\) for writing"),
                         ("corrupt", r"pvgrub mode: .*(mount|filesystem)")):
        disk = boottest.copy_image(imgs[name]["disk"], os.path.join(work, name + ".img"))
        before = image_sha(disk)
        ans = rig.start(disk, bootloader_args=pvgrub_args)
        boottest.check_fallback(name, ans, None, disk, reason)
        check(image_sha(disk) == before, "%s: the image is untouched (whole-image sha256)" % name)

    # on_failure = "fail": a failure fails the start, with one line (a disk that is not there: no appliance).
    strict = boottest.Rig(work, "strict", conf_extra={"on_failure": "fail"})
    disk = os.path.join(work, "gone.img")
    ans = strict.start(disk, bootloader_args=["--config=" + strict.config, "--mode=pvgrub"])
    boottest.check_failed("missing disk, on_failure=fail", ans, disk, r"pvgrub mode: .*No such file")

    shutil.rmtree(work)
    guesttest.finish()


if __name__ == "__main__":
    main()
