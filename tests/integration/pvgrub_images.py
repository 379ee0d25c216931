#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The guest images pvgrub mode's integration test writes into.

Built with images.py's own builders (mkfs -d, sfdisk, real fixture
kernels, the realistic configs of tests/unit/bootcfg/data/), but with
filesystems big enough for a decompressed kernel beside the compressed
ones (the fixture ELF is ~66 MB), and a few made to fail:

  focal-lz4       Ubuntu 20.04: one ext4 root, /boot/vmlinuz-5.4.0-42 LZ4 (the
                  default, and in the "Advanced options" submenu, recovery
                  too), 5.4.0-26 gzip (pvgrub loads it: left alone)
  jammy-zstd      Ubuntu 22.04: GPT, a separate /boot partition (paths
                  /vmlinuz-*), zstd 5.15.0-91 and xz 5.15.0-88, saved_entry
  debian5-bzip2   Debian 5 as a Xen domU: GRUB legacy menu.lst, the old
                  kernel bzip2 (pvgrub cannot load it), the new one gzip
  bookworm-xz     Debian 12: xz and gzip kernels only, nothing to do
  small-boot      jammy-zstd with a 64 MiB /boot: the ELF does not fit
  ro-compat       focal-lz4 on an ext4 with an unknown read-only-compatible
                  feature: Linux mounts it read-only, never read-write
  corrupt         focal-lz4 whose superblock no kernel mounts

Each is built once per build directory (keyed by this file, images.py,
the data trees and the fixtures); tests copy them before writing.
"""

import hashlib
import json
import os
import shutil
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import images  # noqa: E402
from images import MiB, Disk, Fs, Part, GPT_BIOS_BOOT, data_tree  # noqa: E402

FOCAL_NEW, FOCAL_OLD = "5.4.0-42-generic", "5.4.0-26-generic"
JAMMY_NEW, JAMMY_OLD = "5.15.0-91-generic", "5.15.0-88-generic"
DEB_NEW, DEB_OLD = "2.6.26-2-xen-686", "2.6.26-1-xen-686"
BOOKWORM_NEW, BOOKWORM_OLD = "6.1.0-13-amd64", "6.1.0-9-amd64"
FOCAL_UUID = "6a1f3f5e-8a2b-4c7d-9e10-2b3c4d5e6f70"
JAMMY_BOOT_UUID = "3f9d2c41-77aa-4d6e-b0c3-5e8f1a2b3c4d"

# ext4 superblock (at 1024): s_feature_ro_compat at offset 0x64. Bit 31 is
# assigned to nothing: Linux then mounts the filesystem read-only only
# ("couldn't mount RDWR because of unsupported optional features").
EXT4_RO_COMPAT_OFFSET = 1024 + 0x64
EXT4_UNKNOWN_RO_COMPAT = 0x80000000


def focal_files():
    return data_tree("ubuntu-20.04", kernels={"/boot/vmlinuz-" + FOCAL_NEW: "lz4",
                                              "/boot/vmlinuz-" + FOCAL_OLD: "gzip"},
                     initrds=["/boot/initrd.img-" + FOCAL_NEW, "/boot/initrd.img-" + FOCAL_OLD])


def jammy_boot():
    return data_tree("ubuntu-22.04", kernels={"/vmlinuz-" + JAMMY_NEW: "zstd", "/vmlinuz-" + JAMMY_OLD: "xz"},
                     initrds=["/initrd.img-" + JAMMY_NEW, "/initrd.img-" + JAMMY_OLD])


def jammy(boot_size):
    root = Fs("ext4", {"/etc/os-release": images.os_release("Ubuntu 22.04.3 LTS", "ubuntu"), "/boot/.keep": b""})
    return [Disk("gpt", [Part(size=1 * MiB, gpt_type=GPT_BIOS_BOOT),
                         Part(Fs("ext4", jammy_boot(), uuid=JAMMY_BOOT_UUID, size=boot_size)),
                         Part(root)])]


def all_images():
    deb = data_tree("debian-5", kernels={"/boot/vmlinuz-" + DEB_NEW: "gzip", "/boot/vmlinuz-" + DEB_OLD: "bzip2"},
                    initrds=["/boot/initrd.img-" + DEB_NEW, "/boot/initrd.img-" + DEB_OLD])
    bookworm = data_tree("debian-12", kernels={"/boot/vmlinuz-" + BOOKWORM_NEW: "xz",
                                               "/boot/vmlinuz-" + BOOKWORM_OLD: "gzip"},
                         initrds=["/boot/initrd.img-" + BOOKWORM_NEW, "/boot/initrd.img-" + BOOKWORM_OLD])
    return [
        ("focal-lz4", [Disk("dos", [Part(Fs("ext4", focal_files(), uuid=FOCAL_UUID, size=192 * MiB))])]),
        ("jammy-zstd", jammy(160 * MiB)),
        ("debian5-bzip2", [Disk("dos", [Part(Fs("ext3", deb, size=160 * MiB))])]),
        ("bookworm-xz", [Disk("dos", [Part(Fs("ext4", bookworm, size=96 * MiB))])]),
        ("small-boot", jammy(64 * MiB)),
        # A whole-disk filesystem, so that its superblock sits at 1024; no metadata_csum, so that
        # flipping a feature bit leaves a superblock Linux still reads.
        ("ro-compat", [Disk(None, fs=Fs("ext4", focal_files(), uuid=FOCAL_UUID, size=192 * MiB))]),
        ("corrupt", [Disk("dos", [Part(Fs("ext4", focal_files(), uuid=FOCAL_UUID, size=192 * MiB,
                                          corrupt=True))])]),
    ]


def key(fixtures):
    h = hashlib.sha256(images.cache_key(fixtures).encode())
    with open(os.path.abspath(__file__), "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def build(outdir, fixtures):
    """Builds the images into outdir (once); returns {name: {"disk": path, "files": {fs: {path: sha}}}}."""
    stamp = os.path.join(outdir, ".key")
    mpath = os.path.join(outdir, "manifest.json")
    k = key(fixtures)
    if os.path.exists(stamp) and open(stamp).read() == k:
        with open(mpath) as f:
            return json.load(f)
    os.makedirs(outdir, exist_ok=True)
    work = tempfile.mkdtemp(dir=outdir, prefix=".work-")
    manifest = {}
    for name, disks in all_images():
        path = os.path.join(outdir, name + ".img")
        if name == "ro-compat":
            disks[0].fs.mkfs_args = []
        sums = images.build_disk(disks[0], path, work, fixtures, [])
        if name == "ro-compat":
            run_tune = ["tune2fs", "-O", "^metadata_csum", path]
            images.run(run_tune)
            with open(path, "r+b") as f:
                f.seek(EXT4_RO_COMPAT_OFFSET)
                v = struct.unpack("<I", f.read(4))[0]
                f.seek(EXT4_RO_COMPAT_OFFSET)
                f.write(struct.pack("<I", v | EXT4_UNKNOWN_RO_COMPAT))
        manifest[name] = dict(disk=path, files=sums)
    shutil.rmtree(work)
    with open(mpath, "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    with open(stamp, "w") as f:
        f.write(k)
    return manifest


if __name__ == "__main__":
    print(json.dumps(build(sys.argv[1], os.environ["KP_FIXTURES"]), indent=1))
