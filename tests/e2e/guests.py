# SPDX-License-Identifier: LGPL-2.1-or-later
"""Guest kernels, initrds and disk images for the end-to-end suite.

Everything a guest boots is made on the host from real parts, without
mounting anything and without libguestfs:

- kernels: the fixture bzImages (tests/fixtures/mkkernels.py) as they are,
  plus relabelled copies of the same Debian kernel (another release string
  in linux_banner and in init_uts_ns, recompressed with the kernel build's
  own compressor command) so that a guest can hold an older and a newer
  kernel and a case can tell from `uname -r` which one booted;
- initrds: a gzip'd newc cpio with busybox-static and an /init that prints
  a marker unique to (disk, kernel, run), `uname -r`, /proc/version and
  /proc/cmdline, then powers the domain off;
- disks: an MBR-partitioned raw image whose first partition is an ext4
  filesystem made by `mkfs.ext4 -d` from a staged Ubuntu-like root with
  the grub.cfg grub-mkconfig writes on Ubuntu 20.04/22.04. Kernels added
  later (a kernel upgrade) are written into the image with debugfs.
"""

import gzip
import hashlib
import importlib.util
import io
import itertools
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile

from grubcfg import grub_cfg, version_key

# The partition starts at 1 MiB, as every partitioning tool since 2008
# aligns it; the image is sparse, so its nominal size costs nothing.
PART_OFFSET = 1 << 20
# Room for two or three kernels plus, in pvgrub mode, a decompressed copy
# of each (about 66 MiB apiece for Debian's kernel).
DISK_SIZE = 768 << 20
BUSYBOX = "/bin/busybox"

# Marker lines the guest's /init prints (parsed by parse_guest_report).
MARK_BEGIN = "KP-E2E-GUEST-BEGIN"
MARK_END = "KP-E2E-GUEST-END"

DISTROS = {
    # name: (os-release NAME/VERSION fields, VERSION_ID, codename)
    "focal": ("Ubuntu", "20.04.6 LTS (Focal Fossa)", "20.04", "focal"),
    "jammy": ("Ubuntu", "22.04.5 LTS (Jammy Jellyfish)", "22.04", "jammy"),
}


def _load_mkkernels(source_dir):
    path = os.path.join(source_dir, "tests", "fixtures", "mkkernels.py")
    spec = importlib.util.spec_from_file_location("kp_mkkernels", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def relabel_release(release, delta):
    """6.1.0-56-amd64 with delta -1 -> 6.1.0-55-amd64 (the ABI number moves)."""
    m = re.fullmatch(r"(\d+\.\d+\.\d+-)(\d+)(-.+)", release)
    if not m:
        raise ValueError("kernel release %r is not Debian-style N.N.N-ABI-FLAVOUR" % release)
    abi = int(m.group(2)) + delta
    if abi < 1:
        raise ValueError("cannot relabel %s by %d" % (release, delta))
    return "%s%d%s" % (m.group(1), abi, m.group(3))


def relabel_elf(elf, old, new):
    """Returns the vmlinux ELF with its release string old replaced by new.

    The release lives in linux_banner ("Linux version R (...)", printed at
    boot) and in init_uts_ns.name.release (what uname(2) and /proc/version
    report); both are rewritten in place, NUL-padded, so no offset in the
    ELF moves. The new release must not be longer than the old one.
    """
    if len(new) > len(old):
        raise ValueError("release %r longer than %r" % (new, old))
    data = bytearray(elf)
    oldb, newb = old.encode(), new.encode()
    banners = 0
    prefix = b"Linux version "
    pos = data.find(prefix + oldb + b" ")
    while pos >= 0:
        end = data.index(b"\0", pos)
        text = bytes(data[pos:end]).replace(prefix + oldb, prefix + newb, 1)
        data[pos:end] = text.ljust(end - pos, b"\0")
        banners += 1
        pos = data.find(prefix + oldb + b" ", end)
    # struct new_utsname: six char[65] fields, sysname "Linux" first,
    # nodename "(none)" second, release third.
    field = 65
    uts = 0
    sig = b"Linux".ljust(field, b"\0") + b"(none)"
    pos = data.find(sig)
    while pos >= 0:
        rel = pos + 2 * field
        if bytes(data[rel : rel + field]) == oldb.ljust(field, b"\0"):
            data[rel : rel + field] = newb.ljust(field, b"\0")
            uts += 1
        pos = data.find(sig, pos + 1)
    if banners == 0 or uts == 0:
        raise ValueError("release %s not found in linux_banner/init_uts_ns" % old)
    return bytes(data)


class Kernels:
    """The guest kernels, built once per build directory and kept there."""

    def __init__(self, source_dir, fixtures, cache_dir):
        self.fixtures = fixtures
        self.cache_dir = cache_dir
        self.release = open(os.path.join(fixtures, "kernel-release")).read().strip()
        self._mk = None
        with open(os.path.join(fixtures, "SHA256SUMS")) as f:
            sums = dict(reversed(line.split()) for line in f if line.strip())
        self.vmlinux_sha256 = sums["vmlinux"]
        self.source_dir = source_dir

    @property
    def reference_vmlinux(self):
        return os.path.join(self.fixtures, "vmlinux")

    def release_for(self, delta):
        return self.release if delta == 0 else relabel_release(self.release, delta)

    def bzimage(self, fmt, delta):
        """Path of a bzImage of format fmt whose release is release_for(delta)."""
        if delta == 0:
            return os.path.join(self.fixtures, "bzImage-" + fmt)
        release = self.release_for(delta)
        os.makedirs(self.cache_dir, exist_ok=True)
        # The name carries the source vmlinux's hash: a new fixture kernel
        # (Debian kernel update) never meets a stale relabelled copy.
        path = os.path.join(self.cache_dir, "bzImage-%s-%s-%s" % (fmt, release, self.vmlinux_sha256[:16]))
        if os.path.exists(path):
            return path
        if self._mk is None:
            self._mk = _load_mkkernels(self.source_dir)
        mk = self._mk
        elf = relabel_elf(open(self.reference_vmlinux, "rb").read(), self.release, release)
        template = open(os.path.join(self.fixtures, "bzImage-" + fmt), "rb").read()
        base, offset, length = mk.parse_bzimage(template)
        image = mk.splice(template, base, offset, length, mk.compress(fmt, elf))
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(image)
        os.replace(tmp, path)
        return path


# ---- initrd ---------------------------------------------------------------

_inodes = itertools.count(2)


def cpio_entry(out, name, mode, data=b"", rdev=(0, 0)):
    """One "newc" (070701) cpio record, the format the kernel unpacks."""
    namez = name.encode() + b"\0"
    hdr = "070701" + "".join("%08X" % v for v in (
        next(_inodes), mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(namez), 0))
    out.write(hdr.encode() + namez)
    out.write(b"\0" * ((4 - (110 + len(namez)) % 4) % 4))
    out.write(data)
    out.write(b"\0" * ((4 - len(data) % 4) % 4))


INIT_SCRIPT = """#!/bin/busybox sh
# The guest's whole userland: report what booted, then power off.
B=/bin/busybox
$B mount -t proc proc /proc
echo "{begin}"
echo "KP-E2E-MARKER={marker}"
echo "KP-E2E-UNAME=$($B uname -r)"
echo "KP-E2E-VERSION=$($B cat /proc/version)"
echo "KP-E2E-CMDLINE=$($B cat /proc/cmdline)"
echo "{end}"
$B sleep 1
$B poweroff -f
"""


def make_initrd(path, marker):
    """A gzip'd newc initramfs whose /init prints marker (see INIT_SCRIPT)."""
    buf = io.BytesIO()
    for d in ("bin", "dev", "proc", "sys"):
        cpio_entry(buf, d, stat.S_IFDIR | 0o755)
    # The kernel opens /dev/console for /init's stdio.
    cpio_entry(buf, "dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
    cpio_entry(buf, "bin/busybox", stat.S_IFREG | 0o755, open(BUSYBOX, "rb").read())
    cpio_entry(buf, "bin/sh", stat.S_IFLNK | 0o777, b"busybox")
    init = INIT_SCRIPT.format(begin=MARK_BEGIN, end=MARK_END, marker=marker).encode()
    cpio_entry(buf, "init", stat.S_IFREG | 0o755, init)
    cpio_entry(buf, "TRAILER!!!", 0)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(gzip.compress(buf.getvalue(), 9, mtime=0))
    os.replace(tmp, path)


def parse_guest_report(console):
    """The KEY=value lines between the guest's begin and end markers, or None."""
    text = console.replace("\r", "")
    start = text.rfind(MARK_BEGIN + "\n")
    if start < 0:
        return None
    end = text.find(MARK_END, start)
    if end < 0:
        return None
    report = {}
    for line in text[start:end].splitlines()[1:]:
        key, sep, value = line.partition("=")
        if sep and key.startswith("KP-E2E-"):
            report[key[len("KP-E2E-"):].lower()] = value
    return report


# ---- disks ----------------------------------------------------------------

def disk_uuid(name):
    """A stable filesystem UUID per disk name (grub.cfg and fstab name it)."""
    h = hashlib.sha256(("kunpack-e2e-disk:" + name).encode()).hexdigest()
    return "%s-%s-4%s-a%s-%s" % (h[:8], h[8:12], h[13:16], h[17:20], h[20:32])


def _write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def _stage_root(root, name, distro, uuid):
    pretty_name, version, version_id, codename = (
        DISTROS[distro][0], DISTROS[distro][1], DISTROS[distro][2], DISTROS[distro][3])
    for d in ("usr/bin", "usr/sbin", "usr/lib", "etc/default", "boot/grub", "dev", "proc", "sys",
              "run", "tmp", "var/log", "root", "home"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    # Merged /usr, as Ubuntu installs it since 19.04.
    for link in ("bin", "sbin", "lib"):
        os.symlink("usr/" + link, os.path.join(root, link))
    shutil.copy(BUSYBOX, os.path.join(root, "usr/bin/busybox"))
    for applet in ("sh", "ls", "cat", "mount"):
        os.symlink("busybox", os.path.join(root, "usr/bin", applet))
    _write(os.path.join(root, "etc/os-release"),
           'NAME="%s"\nVERSION="%s"\nID=ubuntu\nID_LIKE=debian\nPRETTY_NAME="%s %s"\n'
           'VERSION_ID="%s"\nVERSION_CODENAME=%s\nUBUNTU_CODENAME=%s\n'
           % (pretty_name, version, pretty_name, version.split(" (")[0], version_id, codename, codename))
    _write(os.path.join(root, "etc/lsb-release"),
           "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=%s\nDISTRIB_CODENAME=%s\nDISTRIB_DESCRIPTION=\"Ubuntu %s\"\n"
           % (version_id, codename, version.split(" (")[0]))
    _write(os.path.join(root, "etc/hostname"), "kp-%s\n" % name)
    _write(os.path.join(root, "etc/hosts"), "127.0.0.1 localhost\n127.0.1.1 kp-%s\n" % name)
    _write(os.path.join(root, "etc/fstab"),
           "# /etc/fstab: static file system information.\nUUID=%s\t/\text4\terrors=remount-ro\t0 1\n" % uuid)
    _write(os.path.join(root, "etc/default/grub"),
           'GRUB_DEFAULT=0\nGRUB_TIMEOUT_STYLE=hidden\nGRUB_TIMEOUT=0\n'
           'GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`\n'
           'GRUB_CMDLINE_LINUX_DEFAULT="quiet splash"\nGRUB_CMDLINE_LINUX=""\n')
    # An empty environment block, as grub-install leaves it.
    env = b"# GRUB Environment Block\n"
    with open(os.path.join(root, "boot/grub/grubenv"), "wb") as f:
        f.write(env + b"#" * (1024 - len(env)))


def _boot_links(releases):
    """The /vmlinuz, /initrd.img (+ .old) links Ubuntu's kernel postinst keeps."""
    ordered = sorted(releases, key=version_key, reverse=True)
    links = {"vmlinuz": "boot/vmlinuz-" + ordered[0], "initrd.img": "boot/initrd.img-" + ordered[0]}
    if len(ordered) > 1:
        links["vmlinuz.old"] = "boot/vmlinuz-" + ordered[1]
        links["initrd.img.old"] = "boot/initrd.img-" + ordered[1]
    return links


def initrd_marker(disk, release, nonce):
    return "kp-e2e:%s:%s:%s" % (disk, release, nonce)


def run(cmd, **kw):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)
    if proc.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), proc.returncode,
                                                    proc.stdout.decode(errors="replace").strip()))
    return proc.stdout.decode(errors="replace")


def build_disk(path, name, distro, kernels, nonce, scratch):
    """Writes a guest disk image at path.

    kernels: list of (release, bzImage path); the newest is the default.
    Each kernel gets /boot/initrd.img-<release> with marker
    initrd_marker(name, release, nonce).
    """
    uuid = disk_uuid(name)
    root = tempfile.mkdtemp(prefix="root-%s-" % name, dir=scratch)
    try:
        _stage_root(root, name, distro, uuid)
        releases = []
        for release, bzimage in kernels:
            shutil.copy(bzimage, os.path.join(root, "boot", "vmlinuz-" + release))
            os.chmod(os.path.join(root, "boot", "vmlinuz-" + release), 0o600)
            make_initrd(os.path.join(root, "boot", "initrd.img-" + release),
                        initrd_marker(name, release, nonce))
            releases.append(release)
        for link, target in _boot_links(releases).items():
            os.symlink(target, os.path.join(root, link))
        _write(os.path.join(root, "boot/grub/grub.cfg"), grub_cfg(uuid, releases), 0o444)

        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.truncate(DISK_SIZE)
        run(["sfdisk", "-q", "--no-reread", "--no-tell-kernel", tmp],
            input=("label: dos\nlabel-id: 0x%s\nstart=%d, type=83, bootable\n"
                   % (uuid[:8], PART_OFFSET // 512)).encode())
        fs_kib = (DISK_SIZE - PART_OFFSET) // 1024
        run(["mkfs.ext4", "-q", "-F", "-b", "4096", "-T", "default", "-L", "cloudimg-rootfs", "-U", uuid,
             "-E", "offset=%d,root_owner=0:0" % PART_OFFSET, "-d", root, tmp, "%dk" % fs_kib])
        os.replace(tmp, path)
        write_extent_map(path)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return uuid


def write_extent_map(image):
    """Writes IMAGE.extents: the [offset, length] ranges that hold data.

    dom0 copies guest images into a tmpfs (see dom0/driver.py); over 9p it
    cannot ask where the holes are, so the host, which can, tells it.
    """
    extents = []
    with open(image, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        pos = 0
        while pos < size:
            try:
                start = os.lseek(f.fileno(), pos, os.SEEK_DATA)
            except OSError:  # ENXIO: only a hole is left
                break
            end = os.lseek(f.fileno(), start, os.SEEK_HOLE)
            extents.append([start, end - start])
            pos = end
    tmp = image + ".extents.tmp"
    with open(tmp, "w") as f:
        json.dump(extents, f)
    os.replace(tmp, image + ".extents")


def _debugfs(image, commands):
    script = "\n".join(commands) + "\n"
    out = run(["debugfs", "-w", "-f", "-", "%s?offset=%d" % (image, PART_OFFSET)], input=script.encode())
    # debugfs reports per-command errors on its output but exits 0.
    bad = [line for line in out.splitlines()
           if re.search(r"(?i)\b(error|not found|could not|cannot|failed)\b", line)]
    if bad:
        raise RuntimeError("debugfs on %s: %s" % (image, "; ".join(bad)))


def read_file(image, guest_path):
    """The bytes of one file inside the image's filesystem."""
    return subprocess.run(["debugfs", "-R", "cat " + guest_path, "%s?offset=%d" % (image, PART_OFFSET)],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout


def _list_dir(image, guest_dir):
    out = subprocess.run(["debugfs", "-R", "ls -p " + guest_dir, "%s?offset=%d" % (image, PART_OFFSET)],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout.decode()
    # ls -p prints /inode/mode/uid/gid/name/size/ per entry.
    return [fields[5] for fields in (line.split("/") for line in out.splitlines()) if len(fields) > 6]


def install_kernel(image, name, release, bzimage, nonce, scratch):
    """What the guest's package manager does on a kernel upgrade, done to the
    image from outside: add /boot/vmlinuz-R and /boot/initrd.img-R, move the
    /vmlinuz links, and rewrite grub.cfg (update-grub) with R as default.
    The image is changed in place (same inode, new mtime), as a running
    guest changes its disk."""
    uuid = disk_uuid(name)
    installed = {n[len("vmlinuz-"):] for n in _list_dir(image, "/boot") if n.startswith("vmlinuz-")}
    releases = sorted(installed | {release}, key=version_key)
    top = set(_list_dir(image, "/"))
    work = tempfile.mkdtemp(prefix="upgrade-%s-" % name, dir=scratch)
    try:
        initrd = os.path.join(work, "initrd")
        make_initrd(initrd, initrd_marker(name, release, nonce))
        cfg = os.path.join(work, "grub.cfg")
        _write(cfg, grub_cfg(uuid, releases), 0o444)
        links = _boot_links(releases)
        cmds = [
            "write %s /boot/vmlinuz-%s" % (bzimage, release),
            "write %s /boot/initrd.img-%s" % (initrd, release),
            "rm /boot/grub/grub.cfg",
            "write %s /boot/grub/grub.cfg" % cfg,
        ]
        for link, target in links.items():
            if link in top:
                cmds.append("rm /%s" % link)
            cmds.append("symlink /%s %s" % (link, target))
        _debugfs(image, cmds)
        write_extent_map(image)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return releases
