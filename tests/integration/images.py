#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Build the guest disk images the integration tests inspect.

Every image is made at test time from the real fixture kernels
($KP_FIXTURES/bzImage-<fmt>, named as the distribution would name them)
and small generated initrds, with the host's own tools: mkfs.ext4 -d,
mkfs.xfs -p, mkfs.btrfs --rootdir and sfdisk build filesystems and
partition tables in plain files; LVM and btrfs subvolumes are made inside
one guestfish appliance for all images that need them; qemu-img converts
to qcow2. The boot configurations are the realistic ones the bootcfg unit
tests parse (tests/unit/bootcfg/data/), put on the filesystems they were
written for. The result is cached in OUTDIR, keyed by the sha256 of this
file, those trees and the fixtures, so a second run costs nothing.

OUTDIR/manifest.json describes every image: its disks (path, format), the
files put on it with their sha256, and what a correct boot loader selects
(kernel, initrds, command line, title), plus how pygrub is expected to do.

Usage: images.py OUTDIR [--fixtures DIR] [--only NAME,...] [--list]
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import socket
import stat
import re
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
MiB = 1024 * 1024

# GPT partition type GUIDs (UEFI spec; the Discoverable Partitions Specification).
GPT_BIOS_BOOT = "21686148-6449-6E6F-744E-656564454649"
GPT_ESP = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
GPT_LINUX = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if r.returncode != 0:
        sys.exit("images: %s failed (%d):\n%s%s" % (" ".join(cmd), r.returncode,
                                                    r.stdout.decode(errors="replace"),
                                                    r.stderr.decode(errors="replace")))
    return r


# ---- file contents ---------------------------------------------------------

def cpio_newc(members):
    """A cpio archive in the 'newc' format the kernel unpacks (initramfs)."""
    out = io.BytesIO()
    ino = 1
    for name, mode, data in members + [("TRAILER!!!", 0, b"")]:
        name_b = name.encode() + b"\0"
        hdr = "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X" % (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0)
        out.write(hdr.encode() + name_b)
        out.write(b"\0" * ((4 - (110 + len(name_b)) % 4) % 4))
        out.write(data)
        out.write(b"\0" * ((4 - len(data) % 4) % 4))
        ino += 1
    return out.getvalue()


def make_initrd(version):
    """A small gzip'd initramfs, distinct per version, the same bytes on every run."""
    init = ("#!/bin/sh\n# initramfs for Linux %s, made by kunpack's test image builder\n"
            "exec /sbin/init\n" % version).encode()
    # Some incompressible filler so sizes look like a (very small) real initrd.
    filler = b"".join(hashlib.sha256(("%s/%d" % (version, i)).encode()).digest() for i in range(2048))
    archive = cpio_newc([("init", 0o100755, init), ("conf/filler", 0o100644, filler)])
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as g:
        g.write(archive)
    return buf.getvalue()


# ---- image descriptions ------------------------------------------------------

class Fs:
    """A filesystem: its type, identity and files {path: bytes | ('kernel', fmt) | ('link', target)}."""

    def __init__(self, kind, files=None, uuid=None, label=None, size=64 * MiB, subvol=None, corrupt=False,
                 mkfs_args=()):
        self.kind = kind
        self.mkfs_args = list(mkfs_args)
        self.files = files or {}
        self.uuid = uuid
        self.label = label
        self.size = size
        self.subvol = subvol      # btrfs: put the files in this subvolume and make it the default
        self.corrupt = corrupt    # break the superblock so that mount fails (blkid still sees it)


class Part:
    def __init__(self, fs=None, size=None, mbr_type="83", gpt_type=GPT_LINUX, lvm=None, extended=False):
        self.fs = fs
        self.size = size or (fs.size if fs else 8 * MiB)
        self.mbr_type = mbr_type
        self.gpt_type = gpt_type
        self.lvm = lvm            # (vg, [(lv, size, Fs)]): this partition is an LVM PV
        self.extended = extended


class Disk:
    def __init__(self, label=None, parts=None, fs=None, size=None, qcow2=False):
        self.label = label        # "dos", "gpt" or None for a whole-disk filesystem
        self.parts = parts or []
        self.fs = fs
        self.size = size
        self.qcow2 = qcow2


class Image:
    def __init__(self, name, disks, expect=None, pygrub=None, error=None, note=""):
        self.name = name
        self.disks = disks
        self.expect = expect      # dict: kernel, initrds, cmdline, title, reason, format, config
        self.pygrub = pygrub      # dict: handles (bool), wrong (why pygrub's answer is wrong) ...
        self.error = error        # hostile: dict with errno name and a message fragment
        self.note = note


# The realistic boot configurations the bootcfg unit tests parse, reused as the images' contents.
DATA = os.path.join(os.path.dirname(HERE), "unit", "bootcfg", "data")


def data_tree(name, kernels=None, initrds=(), skip=(), prefix=""):
    """The files of tests/unit/bootcfg/data/NAME (a filesystem tree), with real kernels and initrds
    at the given paths: kernels {path: format}, initrds [path]. prefix moves the tree (a separate /boot)."""
    root = os.path.join(DATA, name)
    files = {}
    for d, _, names in os.walk(root):
        for n in names:
            full = os.path.join(d, n)
            rel = "/" + os.path.relpath(full, root)
            if rel in skip:
                continue
            if os.path.islink(full):
                files[prefix + rel] = ("link", os.readlink(full))
            else:
                with open(full, "rb") as f:
                    files[prefix + rel] = f.read()
    for path, fmt in (kernels or {}).items():
        files[path] = ("kernel", fmt)
    for path in initrds:
        files[path] = make_initrd(os.path.basename(path))
    return files


def os_release(pretty, id_):
    return ('PRETTY_NAME="%s"\nNAME="%s"\nID=%s\n' % (pretty, pretty.split()[0], id_)).encode()


def expect(kernel, initrds, args, title, fmt, config, reason, **extra):
    """What a correct boot loader selects. args: the command line as GRUB 2 passes it (its words
    joined by one space), or verbatim=True for GRUB legacy, which passes the rest of the kernel
    line as it is written."""
    verbatim = extra.pop("verbatim", False)
    cmdline = args if verbatim else " ".join(args.split()) if args else ""
    d = dict(kernel=kernel, initrds=initrds, cmdline=cmdline, title=title, format=fmt, config=config, reason=reason)
    d.update(extra)
    return d


VT_WRONG = "passes Ubuntu's $vt_handoff through literally"


def images():
    out = []

    # Ubuntu 20.04 as grub-mkconfig writes it: LZ4 kernels, the "Advanced options" submenu,
    # $vt_handoff, search --fs-uuid. One ext4 root on an MBR partition.
    u = "6a1f3f5e-8a2b-4c7d-9e10-2b3c4d5e6f70"
    k_new, k_old = "5.4.0-42-generic", "5.4.0-26-generic"
    def ubuntu2004(name):
        files = data_tree(name, kernels={"/boot/vmlinuz-" + k_new: "lz4", "/boot/vmlinuz-" + k_old: "gzip"},
                          initrds=["/boot/initrd.img-" + k_new, "/boot/initrd.img-" + k_old])
        # What virt-get-kernel's OS inspection needs to find this root (the benchmark runs it).
        files["/etc/os-release"] = os_release("Ubuntu 20.04.6 LTS", "ubuntu")
        files["/etc/fstab"] = ("UUID=%s / ext4 errors=remount-ro 0 1\n" % u).encode()
        files["/usr/bin/.keep"] = b""
        files["/bin"] = ("link", "usr/bin")
        files["/vmlinuz"] = ("link", "boot/vmlinuz-" + k_new)
        return files
    def ubuntu_args(uuid):
        # GRUB on Xen: no gfxblacklist.txt, so linux_gfx_mode=keep and gfxmode sets vt.handoff=7.
        return "root=UUID=%s ro quiet splash vt.handoff=7" % uuid
    out.append(Image("ubuntu-20.04-lz4", [Disk("dos", [Part(Fs("ext4", ubuntu2004("ubuntu-20.04"), uuid=u))])],
                     expect=expect("/boot/vmlinuz-" + k_new, ["/boot/initrd.img-" + k_new], ubuntu_args(u), "Ubuntu",
                                   "lz4", "/boot/grub/grub.cfg", "default-index"),
                     pygrub=dict(handles=True, wrong=VT_WRONG)))

    # The same guest with set default="Advanced options for Ubuntu>Ubuntu, with Linux 5.4.0-26-generic".
    out.append(Image("ubuntu-20.04-default-path",
                     [Disk("dos", [Part(Fs("ext4", ubuntu2004("ubuntu-20.04-default-path"), uuid=u))])],
                     expect=expect("/boot/vmlinuz-" + k_old, ["/boot/initrd.img-" + k_old], ubuntu_args(u),
                                   "Ubuntu, with Linux " + k_old, "gzip", "/boot/grub/grub.cfg", "default-path"),
                     pygrub=dict(handles=True, wrong="boots the first entry instead of the submenu entry that "
                                 "set default names; " + VT_WRONG)))

    # ... and with grub-reboot's one-shot next_entry=1>2 in grubenv.
    out.append(Image("ubuntu-20.04-next-entry",
                     [Disk("dos", [Part(Fs("ext4", ubuntu2004("ubuntu-20.04-next-entry"), uuid=u))])],
                     expect=expect("/boot/vmlinuz-" + k_old, ["/boot/initrd.img-" + k_old], ubuntu_args(u),
                                   "Ubuntu, with Linux " + k_old, "gzip", "/boot/grub/grub.cfg", "next-entry"),
                     pygrub=dict(handles=True, wrong="ignores next_entry and boots entry 0; " + VT_WRONG)))

    # Ubuntu 22.04 server on GPT: BIOS boot partition, /boot on its own (zstd kernels, saved_entry by
    # id path), root in LVM.
    b, r = "3f9d2c41-77aa-4d6e-b0c3-5e8f1a2b3c4d", "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
    k_new, k_old = "5.15.0-91-generic", "5.15.0-88-generic"
    boot = data_tree("ubuntu-22.04", kernels={"/vmlinuz-" + k_new: "zstd", "/vmlinuz-" + k_old: "xz"},
                     initrds=["/initrd.img-" + k_new, "/initrd.img-" + k_old])
    root = Fs("ext4", {"/etc/os-release": os_release("Ubuntu 22.04.3 LTS", "ubuntu"), "/boot/.keep": b""}, uuid=r)
    out.append(Image("ubuntu-22.04-gpt-lvm",
                     [Disk("gpt", [Part(size=1 * MiB, gpt_type=GPT_BIOS_BOOT),
                                   Part(Fs("ext4", boot, uuid=b)),
                                   Part(size=80 * MiB, lvm=("ubuntu-vg", [("ubuntu-lv", 64 * MiB, root)]))])],
                     expect=expect("/vmlinuz-" + k_old, ["/initrd.img-" + k_old],
                                   "root=/dev/mapper/ubuntu--vg-ubuntu--lv ro", "Ubuntu, with Linux " + k_old, "xz",
                                   "/grub/grub.cfg", "saved-entry"),
                     pygrub=dict(handles=True, wrong="ignores saved_entry (\"not supported\") and boots entry 0")))

    # Debian 12: xz kernels, ext4 root, an extended partition holding swap (logical partition 5).
    u = "8e2f1d3c-4b5a-4697-8a1b-2c3d4e5f6a7b"
    k_new, k_old = "6.1.0-13-amd64", "6.1.0-9-amd64"
    def debian12(name, new_fmt="xz"):
        files = data_tree(name, kernels={"/boot/vmlinuz-" + k_new: new_fmt, "/boot/vmlinuz-" + k_old: "gzip"},
                          initrds=["/boot/initrd.img-" + k_new, "/boot/initrd.img-" + k_old])
        files["/vmlinuz"] = ("link", "boot/vmlinuz-" + k_new)
        files["/etc/os-release"] = os_release("Debian GNU/Linux 12 (bookworm)", "debian")
        return files
    def deb_disk(qcow2):
        return Disk("dos", [Part(Fs("ext4", debian12("debian-12"), uuid=u)),
                            Part(size=20 * MiB, mbr_type="5", extended=True),
                            Part(Fs("swap", size=16 * MiB), mbr_type="82")], qcow2=qcow2)
    deb_expect = expect("/boot/vmlinuz-" + k_new, ["/boot/initrd.img-" + k_new], "root=UUID=%s ro quiet" % u,
                        "Debian GNU/Linux", "xz", "/boot/grub/grub.cfg", "default-index")
    out.append(Image("debian-12-xz", [deb_disk(False)], expect=deb_expect, pygrub=dict(handles=True)))
    out.append(Image("debian-12-qcow2", [deb_disk(True)], expect=deb_expect,
                     pygrub=dict(handles=False, why="reads raw images only")))

    # Debian 12 with everything, /boot included, in one LVM logical volume; default by id path.
    lv = Fs("ext4", debian12("debian-12-default-id"), uuid=u)
    out.append(Image("debian-12-lvm-default-id",
                     [Disk("dos", [Part(size=120 * MiB, mbr_type="8e",
                                        lvm=("debian-vg", [("root", 96 * MiB, lv), ("swap_1", 8 * MiB, Fs("swap"))]))])],
                     expect=expect("/boot/vmlinuz-" + k_old, ["/boot/initrd.img-" + k_old], "root=UUID=%s ro quiet" % u,
                                   "Debian GNU/Linux, with Linux " + k_old, "gzip", "/boot/grub/grub.cfg",
                                   "default-path"),
                     pygrub=dict(handles=False, why="cannot read LVM")))

    # The Debian tree on a whole-disk xfs filesystem (no partition table), in the older format
    # (v4, no file types in directories) that pygrub's xfs reader still understands; CentOS 7's
    # v5 below it cannot read.
    out.append(Image("xfs-whole-disk",
                     [Disk(None, fs=Fs("xfs", debian12("debian-12", "lz4"), uuid=u, size=320 * MiB,
                                       mkfs_args=["-m", "crc=0", "-n", "ftype=0"]))],
                     expect=dict(deb_expect, format="lz4"), pygrub=dict(handles=True)))

    # CentOS 7: /boot on xfs (partition 1), root and swap in LVM (partition 2), linux16/initrd16,
    # set default="${saved_entry}" with grubenv naming the second entry.
    b = "b1c2d3e4-f5a6-4b7c-8d9e-0a1b2c3d4e5f"
    mid = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    k_new, k_old = "3.10.0-1160.el7.x86_64", "3.10.0-1127.el7.x86_64"
    boot = data_tree("centos-7", kernels={"/vmlinuz-" + k_new: "xz", "/vmlinuz-" + k_old: "gzip",
                                          "/vmlinuz-0-rescue-" + mid: "bzip2"},
                     initrds=["/initramfs-%s.img" % k for k in (k_new, k_old, "0-rescue-" + mid)])
    root = Fs("xfs", {"/etc/os-release": os_release("CentOS Linux 7 (Core)", "centos")}, size=320 * MiB)
    title = "CentOS Linux (%s) 7 (Core)" % k_old
    out.append(Image("centos-7-saved-entry",
                     [Disk("dos", [Part(Fs("xfs", boot, uuid=b, size=320 * MiB)),
                                   Part(size=400 * MiB, mbr_type="8e",
                                        lvm=("centos", [("root", 340 * MiB, root), ("swap", 32 * MiB, Fs("swap"))]))])],
                     expect=expect("/vmlinuz-" + k_old, ["/initramfs-%s.img" % k_old],
                                   "root=/dev/mapper/centos-root ro crashkernel=auto rd.lvm.lv=centos/root "
                                   "rd.lvm.lv=centos/swap rhgb quiet LANG=en_US.UTF-8", title, "gzip",
                                   "/grub2/grub.cfg", "saved-entry"),
                     pygrub=dict(handles=False, why="cannot read xfs v5 (EOPNOTSUPP); it would also ignore "
                                 "saved_entry")))

    # Fedora 38 with BootLoaderSpec snippets: /boot ext4 (partition 1), btrfs root (partition 2),
    # grub.cfg runs blscfg; grubenv holds saved_entry (a BLS id) and kernelopts.
    b, r = "c4d5e6f7-a8b9-4c0d-9e1f-2a3b4c5d6e7f", "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6"
    mid = "5f1c0e4e4a6d4c6a9b2e7d8c9f0a1b2c"
    k_new, k_old = "6.2.15-300.fc38.x86_64", "6.2.9-300.fc38.x86_64"
    boot = data_tree("fedora-38", kernels={"/vmlinuz-" + k_new: "xz", "/vmlinuz-" + k_old: "zstd",
                                           "/vmlinuz-0-rescue-" + mid: "bzip2"},
                     initrds=["/initramfs-%s.img" % k for k in (k_new, k_old, "0-rescue-" + mid)])
    out.append(Image("fedora-38-bls",
                     [Disk("dos", [Part(Fs("ext4", boot, uuid=b)),
                                   Part(Fs("btrfs", {"/etc/os-release": os_release("Fedora Linux 38", "fedora")},
                                           uuid=r, size=128 * MiB))])],
                     expect=expect("/vmlinuz-" + k_old, ["/initramfs-%s.img" % k_old],
                                   "root=UUID=%s ro rootflags=subvol=root rhgb quiet console=hvc0" % r,
                                   "Fedora Linux (%s) 38 (Cloud Edition)" % k_old, "zstd", "/grub2/grub.cfg",
                                   "saved-entry"),
                     pygrub=dict(handles=False, why="no BootLoaderSpec support: it finds no menu entry")))

    # openSUSE-like btrfs: the files live in subvolume "@", made the default subvolume.
    u = "6e7f8a9b-0c1d-4e2f-8a3b-1505cd00000b"
    kv = "5.14.21-150500.55.39-default"
    cfg = """set default="0"
if [ x"${feature_menuentry_id}" = xy ]; then
  menuentry_id_option="--id"
else
  menuentry_id_option=""
fi
export menuentry_id_option
set timeout=8
menuentry 'openSUSE Leap 15.5'  --class opensuse --class gnu-linux --class gnu --class os $menuentry_id_option 'gnulinux-simple-%(u)s' {
	load_video
	set gfxpayload=keep
	insmod gzio
	insmod part_msdos
	insmod btrfs
	set root='hd0,msdos1'
	if [ x$feature_platform_search_hint = xy ]; then
	  search --no-floppy --fs-uuid --set=root --hint-bios=hd0,msdos1 --hint-efi=hd0,msdos1 --hint-baremetal=ahci0,msdos1  %(u)s
	else
	  search --no-floppy --fs-uuid --set=root %(u)s
	fi
	echo	'Loading Linux %(k)s ...'
	linux	/boot/vmlinuz-%(k)s root=UUID=%(u)s  ${extra_cmdline} splash=silent mitigations=auto quiet security=apparmor
	echo	'Loading initial ramdisk ...'
	initrd	/boot/initrd-%(k)s
}
""" % dict(u=u, k=kv)
    files = {"/boot/grub2/grub.cfg": cfg.encode(), "/boot/vmlinuz-" + kv: ("kernel", "zstd"),
             "/boot/initrd-" + kv: make_initrd(kv), "/etc/os-release": os_release("openSUSE Leap 15.5", "opensuse-leap")}
    out.append(Image("opensuse-btrfs-subvol",
                     [Disk("dos", [Part(Fs("btrfs", files, uuid=u, size=128 * MiB, subvol="@"))])],
                     expect=expect("/boot/vmlinuz-" + kv, ["/boot/initrd-" + kv],
                                   "root=UUID=%s splash=silent mitigations=auto quiet security=apparmor" % u,
                                   "openSUSE Leap 15.5", "zstd", "/boot/grub2/grub.cfg", "default-index"),
                     pygrub=dict(handles=False, why="cannot read btrfs")))

    # CentOS 6, GRUB legacy on a separate /boot: /grub/menu.lst -> ./grub.conf, default=1.
    k_new, k_old = "2.6.32-754.35.1.el6.x86_64", "2.6.32-754.el6.x86_64"
    boot = data_tree("centos-6", kernels={"/vmlinuz-" + k_new: "gzip", "/vmlinuz-" + k_old: "xz"},
                     initrds=["/initramfs-%s.img" % k for k in (k_new, k_old)])
    boot["/grub/menu.lst"] = ("link", "./grub.conf")
    out.append(Image("centos-6-menu-lst",
                     [Disk("dos", [Part(Fs("ext4", boot, uuid="7f8a9b0c-1d2e-4f3a-9b4c-0600de00000c")),
                                   Part(Fs("ext4", {"/etc/redhat-release": b"CentOS release 6.10 (Final)\n"}))])],
                     expect=expect("/vmlinuz-" + k_old, ["/initramfs-%s.img" % k_old],
                                   "ro root=/dev/mapper/VolGroup-lv_root rd_NO_LUKS LANG=en_US.UTF-8 rd_NO_MD "
                                   "rd_LVM_LV=VolGroup/lv_swap SYSFONT=latarcyrheb-sun16 crashkernel=auto "
                                   "rd_LVM_LV=VolGroup/lv_root  KEYBOARDTYPE=pc KEYTABLE=us rd_NO_DM rhgb quiet",
                                   "CentOS 6 (%s)" % k_old, "xz", "/grub/menu.lst", "default-index", verbatim=True),
                     pygrub=dict(handles=True)))

    # Debian 5 as a Xen domU: GRUB legacy "default saved" with /boot/grub/default holding 1.
    k_new, k_old = "2.6.26-2-xen-686", "2.6.26-1-xen-686"
    files = data_tree("debian-5", kernels={"/boot/vmlinuz-" + k_new: "gzip", "/boot/vmlinuz-" + k_old: "bzip2"},
                      initrds=["/boot/initrd.img-" + k_new, "/boot/initrd.img-" + k_old])
    out.append(Image("debian-5-menu-lst-saved", [Disk("dos", [Part(Fs("ext3", files))])],
                     expect=expect("/boot/vmlinuz-" + k_old, ["/boot/initrd.img-" + k_old],
                                   "root=/dev/xvda1 ro console=hvc0 quiet", "Debian GNU/Linux, kernel " + k_old,
                                   "bzip2", "/boot/grub/menu.lst", "saved-entry"),
                     pygrub=dict(handles=True, wrong="ignores \"default saved\" and /boot/grub/default")))

    # extlinux: DEFAULT names the second label, the initrd given as APPEND initrd=.
    k_new, k_old = "4.19.0-6-amd64", "4.19.0-5-amd64"
    files = data_tree("extlinux-classic", kernels={"/boot/vmlinuz-" + k_new: "zstd", "/boot/vmlinuz-" + k_old: "lz4"},
                      initrds=["/boot/initrd.img-" + k_new, "/boot/initrd.img-" + k_old])
    out.append(Image("extlinux-classic", [Disk(None, fs=Fs("ext4", files))],
                     expect=expect("/boot/vmlinuz-" + k_new, ["/boot/initrd.img-" + k_new],
                                   "root=/dev/xvda1 ro console=hvc0 quiet", "debian", "zstd",
                                   "/boot/extlinux/extlinux.conf", "label"),
                     pygrub=dict(handles=True)))

    # Alpine: /boot/extlinux.conf, paths relative to it, DEFAULT menu.c32 with MENU DEFAULT.
    u = "e7f8a9b0-c1d2-4e3f-a4b5-c6d7e8f9a0b1"
    files = data_tree("alpine", kernels={"/boot/vmlinuz-virt": "gzip"}, initrds=["/boot/initramfs-virt"])
    out.append(Image("alpine-extlinux", [Disk("dos", [Part(Fs("ext4", files, uuid=u))])],
                     expect=expect("/boot/vmlinuz-virt", ["/boot/initramfs-virt"],
                                   "root=UUID=%s modules=sd-mod,usb-storage,ext4 console=hvc0 quiet rootfstype=ext4" % u,
                                   "Linux virt", "gzip", "/boot/extlinux.conf", "label"),
                     pygrub=dict(handles=False, why="knows KERNEL but not LINUX: finds no kernel")))

    # No configuration at all: the newest /boot/vmlinuz-* by version order (26 > 8), not the .dpkg-bak.
    files = data_tree("fallback", kernels={"/boot/vmlinuz-5.10.0-26-amd64": "xz", "/boot/vmlinuz-5.10.0-8-amd64": "gzip"},
                      initrds=["/boot/initrd.img-5.10.0-26-amd64", "/boot/initrd.img-5.10.0-8-amd64"])
    out.append(Image("fallback-no-config", [Disk("dos", [Part(Fs("ext4", files))])],
                     expect=expect("/boot/vmlinuz-5.10.0-26-amd64", ["/boot/initrd.img-5.10.0-26-amd64"], None,
                                   None, "xz", None, "fallback"),
                     pygrub=dict(handles=False, why="needs a boot configuration")))

    # Four disks: data, swap, /boot (found by label), root. pygrub looks at the first disk only.
    kv = "6.1.0-13-amd64"
    cfg = ("""set default="0"
set timeout=5
menuentry 'Debian GNU/Linux' --class debian --class gnu-linux --class gnu --class os {
	insmod part_msdos
	insmod ext2
	search --no-floppy --label --set=root guestboot
	linux	/vmlinuz-%(k)s root=LABEL=guestroot ro console=hvc0
	initrd	/initrd.img-%(k)s
}
""" % dict(k=kv)).encode()
    out.append(Image("four-disks",
                     [Disk(None, fs=Fs("ext4", {"/srv/data/README": b"data disk\n"}, label="guestdata")),
                      Disk(None, fs=Fs("swap", size=16 * MiB)),
                      Disk("dos", [Part(Fs("ext4", {"/grub/grub.cfg": cfg, "/vmlinuz-" + kv: ("kernel", "xz"),
                                                    "/initrd.img-" + kv: make_initrd(kv)}, label="guestboot"))]),
                      Disk(None, fs=Fs("ext4", {"/etc/os-release": os_release("Debian GNU/Linux 12", "debian"),
                                                "/etc/fstab": b"LABEL=guestroot / ext4 defaults 0 1\n"
                                                              b"LABEL=guestboot /boot ext4 defaults 0 2\n",
                                                "/usr/bin/.keep": b"", "/bin": ("link", "usr/bin"),
                                                "/boot/.keep": b""},
                                       label="guestroot"))],
                     expect=expect("/vmlinuz-" + kv, ["/initrd.img-" + kv], "root=LABEL=guestroot ro console=hvc0",
                                   "Debian GNU/Linux", "xz", "/grub/grub.cfg", "default-index", disk=2),
                     pygrub=dict(handles=False, why="reads the first disk only")))

    # An initrd command that fails on one of its files, then one that works (issue 16: the first one's
    # half-kept state made the second write past its array). GRUB loads the second one's three files.
    kv = "5.4.0-26-generic"
    cfg = b"menuentry 'x' {\n  linux /vmlinuz\n  initrd /a (bogus\n  initrd /b /c /d\n}\n"
    files = {"/boot/grub/grub.cfg": cfg, "/vmlinuz": ("kernel", "lz4")}
    for n in "abcd":
        files["/" + n] = make_initrd(kv + "-" + n)
    out.append(Image("grub-initrd-retry", [Disk("dos", [Part(Fs("ext4", files))])],
                     expect=expect("/vmlinuz", ["/b", "/c", "/d"], "", "x", "lz4", "/boot/grub/grub.cfg", "first"),
                     pygrub=dict(handles=False, why="takes the last initrd line, \"/b /c /d\", as one file name and fails to open it")))

    out.extend(hostile_images())
    out.append(boot_specials_image())
    return out


def boot_specials_image():
    """Objects that are not regular files where a kernel is expected, read through the session API by
    guest-download (each refused with its reason, nothing transferred); entry 0 is a normal kernel."""
    kv = "5.4.0-26-generic"
    names = ["fifo", "chardev", "socket", "sparse", "loop1", "devfile", "devlink"]
    targets = {"fifo": "/boot/fifo", "chardev": "/boot/chardev", "socket": "/boot/socket",
               "sparse": "/boot/sparse", "loop1": "/boot/loop1", "devfile": "/dev/sdb",
               "devlink": "/boot/vmlinuz-dev"}
    cfg = "set default=0\nmenuentry 'Ubuntu' {\n\tlinux /boot/vmlinuz-%s root=/dev/xvda1 ro\n}\n" % kv
    cfg += "".join("menuentry '%s' {\n\tlinux %s\n}\n" % (n, targets[n]) for n in names)
    files = {"/boot/grub/grub.cfg": cfg.encode(), "/boot/vmlinuz-" + kv: ("kernel", "lz4"),
             "/boot/fifo": ("fifo",), "/boot/chardev": ("chr", 1, 3), "/boot/socket": ("socket",),
             "/boot/sparse": ("sparse", 2 * 1024 * MiB), "/boot/loop1": ("link", "loop2"),
             "/boot/loop2": ("link", "loop1"), "/dev/sdb": b"not a disk\n" * 100,
             "/boot/vmlinuz-dev": ("link", "/dev/sdb")}
    return Image("boot-specials", [Disk("dos", [Part(Fs("ext4", files, size=64 * MiB))])],
                 note="special files in /boot, for guest-download")


def hostile_grub(entries_text, header=""):
    return ("set default=0\n" + header + entries_text).encode()


def hostile_images():
    """Guests that attack the inspection: each must be refused or bounded with a clear error."""
    u = "3f4a5b6c-7d8e-4f9a-8bac-0bad00000012"
    kv = "5.4.0-26-generic"
    base = {"/boot/vmlinuz-" + kv: ("kernel", "lz4"), "/boot/initrd.img-" + kv: make_initrd(kv),
            "/etc/shadow": b"root:$6$guestsalt$GUESTSECRETHASH:19000:0:99999:7:::\n"}
    entry = "menuentry 'Ubuntu' {\n\tlinux /boot/vmlinuz-%s root=/dev/xvda1 ro\n\tinitrd /boot/initrd.img-%s\n}\n" % (kv, kv)
    out = []

    def add(name, cfg, error, extra=None, fs_kind="ext4", size=64 * MiB, note=""):
        files = dict(base)
        if cfg is not None:
            files["/boot/grub/grub.cfg"] = cfg
        files.update(extra or {})
        out.append(Image("hostile-" + name, [Disk("dos", [Part(Fs(fs_kind, files, uuid=u, size=size))])],
                         error=error, note=note))

    # A 50 MB grub.cfg: refused before it is read (the limit is 1 MiB).
    big = (entry * 8 + "# " + "x" * 1000 + "\n") * 1
    pad = b"#" * 1023 + b"\n"
    add("big-config", ("big", big.encode(), pad, 50 * MiB), dict(errno="EFBIG", message="is 52428800 bytes, more than the 1048576 allowed"),
        size=96 * MiB)
    # 10,000 entries (~900 KB, under the size limit): the parser's entry limit.
    many = "".join("menuentry 'Entry %d' {\n\tlinux /boot/vmlinuz-%s root=/dev/xvda1\n}\n" % (i, kv)
                   for i in range(10000))
    add("many-entries", hostile_grub(many), dict(errno="E2BIG", message="more than 1024 menu entries"))
    # Submenus nested 100 deep.
    deep = "".join("submenu 'level %d' {\n" % i for i in range(100)) + entry + "}\n" * 100
    add("deep-nesting", hostile_grub(deep), dict(errno="ELOOP", message="nesting deeper than 16 levels"))
    # A kernel path that climbs out with ../../.
    add("dotdot", hostile_grub("menuentry 'evil' {\n\tlinux /boot/../../etc/shadow root=/dev/xvda1\n}\n"),
        dict(errno="EBADMSG", message="kernel path \"/boot/../../etc/shadow\" is not an absolute path free of \"..\""))
    # /boot/vmlinuz is a symlink to the guest's /etc/shadow.
    add("symlink-shadow", hostile_grub("menuentry 'evil' {\n\tlinux /boot/vmlinuz root=/dev/xvda1\n}\n"),
        dict(errno="EPERM", message="/boot/vmlinuz is a symbolic link to /etc/shadow, outside /boot: refused"), extra={"/boot/vmlinuz": ("link", "/etc/shadow")})
    # A NUL byte in the arguments.
    add("nul-args", hostile_grub("menuentry 'Ubuntu' {\n\tlinux /boot/vmlinuz-%s root=/dev/xvda1 ro\0kernel /x\n}\n" % kv),
        dict(errno="EBADMSG", message="NUL byte"))
    # A newline inside a quoted title, which would add a record to libxl's bootloader output.
    add("newline-title",
        hostile_grub("menuentry 'Ubuntu\nkernel /etc/passwd' {\n\tlinux /boot/vmlinuz-%s root=/dev/xvda1 ro\n}\n" % kv),
        dict(errno="EBADMSG", message="title \"Ubuntu\\nkernel /etc/passwd\" contains a control character"))
    # Terminal escapes and other control characters in the arguments.
    add("control-args",
        hostile_grub("menuentry 'Ubuntu' {\n\tlinux /boot/vmlinuz-%s root=/dev/xvda1 ro \"\x1b[2J\x07\x01\"\n}\n" % kv),
        dict(errno="EBADMSG", message="contains a control character"))
    # A 100 KB command line of ordinary words.
    add("long-cmdline",
        hostile_grub("menuentry 'Ubuntu' {\n\tlinux /boot/vmlinuz-%s root=/dev/xvda1 %s\n}\n" % (kv, "quiet " * 17000)),
        dict(errno="E2BIG", message="command line"))
    # grub.cfg names /dev/sdb, and the guest holds a regular file of that name: libguestfs would read
    # the appliance's second disk behind it (issue 11). Refused before anything is read.
    add("dev-path", hostile_grub("menuentry 'Ubuntu' {\n\tlinux /dev/sdb root=/dev/xvda1 ro\n}\n"),
        dict(errno="EPERM", message="/dev/sdb is under /dev, where libguestfs reads devices of the appliance"),
        extra={"/dev/sdb": b"not a disk\n" * 100})
    # The only filesystem's superblock is corrupt: blkid sees ext4, mount fails.
    files = dict(base)
    files["/boot/grub/grub.cfg"] = hostile_grub(entry)
    out.append(Image("hostile-corrupt-fs", [Disk("dos", [Part(Fs("ext4", files, uuid=u, corrupt=True))])],
                     error=dict(errno="ENOENT", message="nothing bootable")))
    return out


# ---- building -------------------------------------------------------------------

def stage_files(root, files, fixtures):
    """Writes files under root; returns {path: sha256} of regular files as placed."""
    sums = {}
    for path, content in sorted(files.items()):
        dst = os.path.join(root, path.lstrip("/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if isinstance(content, tuple) and content[0] == "link":
            os.symlink(content[1], dst)
            continue
        # Objects a guest may put where a kernel is expected (mke2fs -d copies them as they are).
        if isinstance(content, tuple) and content[0] == "fifo":
            os.mkfifo(dst, 0o644)
            continue
        if isinstance(content, tuple) and content[0] == "chr":
            os.mknod(dst, 0o600 | stat.S_IFCHR, os.makedev(content[1], content[2]))
            continue
        if isinstance(content, tuple) and content[0] == "socket":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(dst)
            sock.close()
            continue
        if isinstance(content, tuple) and content[0] == "sparse":
            with open(dst, "wb") as f:
                f.truncate(content[1])
            continue
        if isinstance(content, tuple) and content[0] == "kernel":
            shutil.copyfile(os.path.join(fixtures, "bzImage-" + content[1]), dst)
        elif isinstance(content, tuple) and content[0] == "big":
            # ("big", head, pad, size): head then pad repeated up to size bytes.
            _, head, pad, size = content
            with open(dst, "wb") as f:
                f.write(head)
                while f.tell() + len(pad) <= size:
                    f.write(pad * max(1, min(4096, (size - f.tell()) // len(pad))))
                f.write(pad[:size - f.tell()])
        else:
            with open(dst, "wb") as f:
                f.write(content)
        sums[path] = sha256_file(dst)
    return sums


def xfs_protofile(root):
    """mkfs.xfs -p: the tree under root as a protofile (xfs_mkfs(8), "protofile")."""
    lines = ["/dev/null", "0 0", "d--755 0 0"]

    def walk(d, depth):
        for name in sorted(os.listdir(d)):
            p = os.path.join(d, name)
            ind = " " * depth
            if os.path.islink(p):
                lines.append("%s%s l--777 0 0 %s" % (ind, name, os.readlink(p)))
            elif os.path.isdir(p):
                lines.append("%s%s d--755 0 0" % (ind, name))
                walk(p, depth + 1)
                lines.append(ind + "$")
            else:
                lines.append("%s%s ---644 0 0 %s" % (ind, name, p))
    walk(root, 1)
    lines.append("$")
    return "\n".join(lines) + "\n"


def build_fs(fs, path, work, fixtures):
    """Makes fs as a file at path; returns the sha256s of the files placed."""
    root = tempfile.mkdtemp(dir=work)
    sums = stage_files(root, fs.files, fixtures) if not fs.subvol else {}
    with open(path, "wb") as f:
        f.truncate(fs.size)
    if fs.kind in ("ext2", "ext3", "ext4"):
        cmd = ["mkfs." + fs.kind, "-q", "-F", "-b", "4096", "-d", root]
        if fs.uuid:
            cmd += ["-U", fs.uuid]
        if fs.label:
            cmd += ["-L", fs.label]
        run(cmd + [path])
    elif fs.kind == "xfs":
        proto = os.path.join(work, os.path.basename(path) + ".proto")
        with open(proto, "w") as f:
            f.write(xfs_protofile(root))
        cmd = ["mkfs.xfs", "-q", "-f", "-p", proto] + fs.mkfs_args
        if fs.uuid:
            cmd += ["-m", "uuid=" + fs.uuid]
        if fs.label:
            cmd += ["-L", fs.label]
        run(cmd + [path])
    elif fs.kind == "btrfs":
        cmd = ["mkfs.btrfs", "-q", "-f"]
        if not fs.subvol:
            cmd += ["--rootdir", root]
        if fs.uuid:
            cmd += ["-U", fs.uuid]
        if fs.label:
            cmd += ["-L", fs.label]
        run(cmd + [path])
    elif fs.kind == "vfat":
        run(["mkfs.vfat", "-F", "32", path])
    elif fs.kind == "swap":
        run(["mkswap", path])
    else:
        raise ValueError(fs.kind)
    if fs.corrupt:
        # ext4 superblock at 1024: s_log_block_size (offset 24) set to 2^40-byte blocks.
        # blkid still finds the magic at 1024+56, so the filesystem is listed, but no kernel mounts it.
        with open(path, "r+b") as f:
            f.seek(1024 + 24)
            f.write(struct.pack("<I", 30))
    shutil.rmtree(root)
    return sums


def copy_into(src, dst, offset):
    """Copies src into dst at offset, leaving holes where src is zero."""
    zero = bytes(1 << 16)
    with open(src, "rb") as fi, open(dst, "r+b") as fo:
        pos = offset
        for chunk in iter(lambda: fi.read(1 << 16), b""):
            if chunk != zero[:len(chunk)]:
                fo.seek(pos)
                fo.write(chunk)
            pos += len(chunk)


def build_disk(disk, path, work, fixtures, gf):
    """Builds one raw disk; records guestfish work (LVM, subvolumes) in gf. Returns file sums by fs."""
    sums = {}
    if disk.label is None:
        fs_img = path + ".fs"
        sums["whole"] = build_fs(disk.fs, fs_img, work, fixtures)
        os.rename(fs_img, path)
        if disk.fs.subvol:
            gf.append(("subvol", path, None, disk.fs, 0))
        return sums

    align = 1 * MiB
    start = align
    layout = []
    in_extended = False
    for p in disk.parts:
        if p.extended:
            # Runs to the end of the disk; each logical partition inside it
            # is preceded by its EBR, so they sit 1 MiB apart.
            layout.append((p, start, None))
            start += align
            in_extended = True
            continue
        layout.append((p, start, p.size))
        start += p.size + (align if in_extended else 0)
    total = disk.size or (start + align)
    with open(path, "wb") as f:
        f.truncate(total)

    script = ["label: " + disk.label, "unit: sectors"]
    for p, off, size in layout:
        if size is None:
            script.append("start=%d, type=%s" % (off // 512, p.mbr_type))
            continue
        t = p.gpt_type if disk.label == "gpt" else p.mbr_type
        script.append("start=%d, size=%d, type=%s" % (off // 512, size // 512, t))
    run(["sfdisk", "-q", path], input="\n".join(script).encode() + b"\n")

    # Partition numbers as Linux gives them (logical partitions from 5).
    number, logical = 0, False
    for p, off, size in layout:
        if p.extended:
            number += 1
            logical = True
            continue
        number = 5 if logical and number < 5 else number + 1
        if p.fs:
            fs_img = os.path.join(work, "part%d.img" % number)
            sums["part%d" % number] = build_fs(p.fs, fs_img, work, fixtures)
            copy_into(fs_img, path, off)
            os.unlink(fs_img)
            if p.fs.subvol:
                gf.append(("subvol", path, number, p.fs, off))
        if p.lvm:
            gf.append(("lvm", path, number, p.lvm, off))
    return sums


def parse_pe_start(out):
    """pvs-full prints each PV's name and pe_start (where its first extent begins): {name: pe_start}."""
    pe_start = {}
    name = None
    for line in out.splitlines():
        m = re.match(r"\s*pv_name: (\S+)", line)
        if m:
            name = m.group(1)
        m = re.match(r"\s*pe_start: (\d+)", line)
        if m and name:
            pe_start[name] = int(m.group(1))
    return pe_start


def run_guestfish(gf, work, fixtures):
    """One appliance for every image that needs LVM or btrfs subvolumes."""
    if not gf:
        return {}
    disks = []
    for _, path, _, _, _ in gf:
        if path not in disks:
            disks.append(path)
    letters = "abcdefghijklmnopqrstuvwxyz"
    script = []
    for d in disks:
        script.append("add-drive %s format:raw" % d)
    script.append("run")
    sums = {}
    # Logical volumes whose filesystem is built on the host: written into the disk file after
    # guestfish is done, at the LV's place in the PV, rather than uploaded byte by byte.
    host_writes = []
    for kind, path, number, what, part_offset in gf:
        dev = "/dev/sd" + letters[disks.index(path)]
        part = dev + (str(number) if number else "")
        if kind == "subvol":
            root = tempfile.mkdtemp(dir=work)
            sums[(path, "part%d" % number if number else "whole")] = stage_files(root, what.files, fixtures)
            tar = os.path.join(work, "subvol-%d.tar" % len(script))
            run(["tar", "-C", root, "-cf", tar, "."])
            script += ["mount %s /" % part, "btrfs-subvolume-create /%s" % what.subvol,
                       "tar-in %s /%s" % (tar, what.subvol),
                       # The first subvolume of a new filesystem gets id 256.
                       "btrfs-subvolume-set-default 256 /", "umount-all"]
        elif kind == "lvm":
            vg, lvs = what
            script += ["pvcreate " + part, "vgcreate %s %s" % (vg, part)]
            lv_offset = 0
            for lv, size, fs in lvs:
                lvdev = "/dev/%s/%s" % (vg, lv)
                script.append("lvcreate %s %s %d" % (lv, vg, size // MiB))
                this_offset, lv_offset = lv_offset, lv_offset + size
                if fs.kind == "swap":
                    script.append("mkswap " + lvdev)
                    continue
                if fs.kind.startswith("ext") and all(isinstance(c, bytes) for c in fs.files.values()):
                    # Nothing big: make it in place rather than copying a whole image in.
                    root = tempfile.mkdtemp(dir=work)
                    sums[(path, "lv:%s/%s" % (vg, lv))] = stage_files(root, fs.files, fixtures)
                    script.append("mkfs %s %s" % (fs.kind, lvdev))
                    if fs.uuid:
                        script.append("set-uuid %s %s" % (lvdev, fs.uuid))
                    script.append("mount %s /" % lvdev)
                    for f in sorted(fs.files):
                        script += ["mkdir-p " + os.path.dirname(f),
                                   "upload %s %s" % (os.path.join(root, f.lstrip("/")), f)]
                    script.append("umount-all")
                    continue
                # Built on the host (mkfs -d / -p keep UUIDs and files). On a fresh PV, LVM lays the
                # LVs out one after the other from pe_start (sizes here are whole 4 MiB extents).
                img = os.path.join(work, "lv-%s-%s.img" % (vg, lv))
                fs.size = min(fs.size, size)
                sums[(path, "lv:%s/%s" % (vg, lv))] = build_fs(fs, img, work, fixtures)
                host_writes.append((path, part, part_offset, this_offset, img))
            script.append("vg-activate false %s" % vg)
            script.append("pvs-full")
    script.append("shutdown")
    env = dict(os.environ)
    env.setdefault("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg")
    script_path = os.path.join(work, "guestfish.script")
    with open(script_path, "w") as f:
        f.write("\n".join(script) + "\n")
    out = run(["guestfish", "-f", script_path], env=env).stdout.decode()

    pe_start = parse_pe_start(out)
    if any(part not in pe_start for _, part, _, _, _ in host_writes):
        # Seen under load: the appliance's LVM listed a PV without its fields. Ask a fresh appliance,
        # read-only, before giving up.
        missing = sorted(part for _, part, _, _, _ in host_writes if part not in pe_start)
        sys.stderr.write("images: pvs-full left out %s (listed %s); asking again\n" % (missing, sorted(pe_start)))
        again = ["add-drive %s format:raw readonly:true" % d for d in disks] + ["run", "pvs-full", "shutdown"]
        with open(script_path, "w") as f:
            f.write("\n".join(again) + "\n")
        pe_start = parse_pe_start(run(["guestfish", "-f", script_path], env=env).stdout.decode())
    for path, part, part_offset, lv_offset, img in host_writes:
        if part not in pe_start:
            sys.exit("images: guestfish did not report pe_start for %s (%s)" % (part, sorted(pe_start)))
        copy_into(img, path, part_offset + pe_start[part] + lv_offset)
    return sums


def cache_key(fixtures):
    h = hashlib.sha256()
    with open(os.path.abspath(__file__), "rb") as f:
        h.update(f.read())
    for d, _, names in sorted(os.walk(DATA)):
        for name in sorted(names):
            path = os.path.join(d, name)
            with open(path, "rb") as f:
                h.update(os.path.relpath(path, DATA).encode() + b"\0" + f.read())
    with open(os.path.join(fixtures, "SHA256SUMS"), "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def build(outdir, fixtures, only=None):
    key = cache_key(fixtures)
    stamp = os.path.join(outdir, ".key")
    if os.path.exists(stamp) and open(stamp).read() == key and not only:
        return
    os.makedirs(outdir, exist_ok=True)
    if os.path.exists(stamp):
        os.unlink(stamp)
    work = tempfile.mkdtemp(dir=outdir, prefix=".work-")
    manifest = {}
    gf = []
    plans = []
    for img in images():
        if only and img.name not in only:
            continue
        disks = []
        for i, d in enumerate(img.disks):
            raw = os.path.join(outdir, "%s-%d.img" % (img.name, i))
            if os.path.exists(raw):
                os.unlink(raw)
            sums = build_disk(d, raw, work, fixtures, gf)
            disks.append(dict(raw=raw, qcow2=d.qcow2, sums=sums))
        plans.append((img, disks))

    for (path, where), s in run_guestfish(gf, work, fixtures).items():
        for img, disks in plans:
            for d in disks:
                if d["raw"] == path:
                    d["sums"][where] = s

    for img, disks in plans:
        entry = dict(disks=[], files={}, expect=img.expect, pygrub=img.pygrub, error=img.error)
        for d in disks:
            path, fmt = d["raw"], "raw"
            if d["qcow2"]:
                q = d["raw"][:-len(".img")] + ".qcow2"
                run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", d["raw"], q])
                os.unlink(d["raw"])
                path, fmt = q, "qcow2"
            entry["disks"].append(dict(path=path, format=fmt))
            for where, s in d["sums"].items():
                for p, h in s.items():
                    entry["files"]["%d:%s:%s" % (len(entry["disks"]) - 1, where, p)] = h
        manifest[img.name] = entry

    shutil.rmtree(work)
    if only:
        old = {}
        mp = os.path.join(outdir, "manifest.json")
        if os.path.exists(mp):
            old = json.load(open(mp))
        old.update(manifest)
        manifest = old
    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    if not only:
        with open(stamp, "w") as f:
            f.write(key)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--fixtures", default=os.environ.get("KP_FIXTURES"))
    ap.add_argument("--only", default=None, help="comma-separated image names (no caching)")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    if args.list:
        for img in images():
            print(img.name)
        return
    if not args.fixtures or not os.path.exists(os.path.join(args.fixtures, "SHA256SUMS")):
        sys.exit("images: no fixture kernels (set KP_FIXTURES or --fixtures)")
    build(args.outdir, args.fixtures, args.only.split(",") if args.only else None)


if __name__ == "__main__":
    main()
