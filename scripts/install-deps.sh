#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Installs everything kunpack needs to build, run its demo and run every
# test suite, from Debian bookworm's own packages. Idempotent; needs root.
set -eu

if [ "$(id -u)" != 0 ]; then
    echo "install-deps: run as root (it calls apt-get)" >&2
    exit 1
fi

packages="
    build-essential meson ninja-build pkg-config git
    clang libclang-rt-14-dev llvm
    liblz4-dev libzstd-dev liblzma-dev zlib1g-dev libbz2-dev liblzo2-dev libdeflate-dev
    libyajl-dev libsystemd-dev
    libguestfs-dev libguestfs-tools
    libxen-dev xen-utils-4.17 xen-hypervisor-4.17-amd64 grub-xen-host
    grub-xen-bin xenstore-utils mount
    linux-image-amd64
    lz4 zstd xz-utils bzip2 lzop gzip python3
    qemu-system-x86 qemu-utils
    e2fsprogs xfsprogs btrfs-progs dosfstools fdisk lvm2
    util-linux cpio busybox-static kmod procps psmisc
    systemd time hyperfine strace libseccomp-dev
"

missing=""
for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done

if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
fi
