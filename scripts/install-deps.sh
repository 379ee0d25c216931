#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Installs what kunpack needs, from Debian bookworm's own packages, by set:
#
#   build     compiler, meson, python3, systemd, and the -dev packages kunpack
#             builds against (debian/control's Build-Depends)
#   runtime   what an installed kunpack needs on a Xen host (dom0): the
#             libraries it loads (with dlopen(), which no linker records;
#             docs/install.md), libguestfs and its
#             appliance (built from the host's own kernel), pvgrub2 for the
#             fallback. No compiler, build or test tool.
#   demo      what scripts/demo.py uses beside build and runtime
#   test      every test suite (sanitizers, fuzzers, integration, e2e with
#             Xen under QEMU, benchmarks): the build and runtime sets'
#             packages are installed with it
#
#   scripts/install-deps.sh                 every set
#   scripts/install-deps.sh build runtime   these sets
#
# Idempotent; needs root.
set -eu

if [ "$(id -u)" != 0 ]; then
    echo "install-deps: run as root (it calls apt-get)" >&2
    exit 1
fi

build="
    build-essential meson ninja-build pkg-config git python3 systemd
    liblz4-dev libzstd-dev liblzma-dev zlib1g-dev libbz2-dev liblzo2-dev
    libyajl-dev libsystemd-dev libguestfs-dev libxen-dev
"
runtime="
    liblz4-1 libzstd1 liblzma5 zlib1g libbz2-1.0 liblzo2-2 libyajl2 libsystemd0
    libguestfs0 libxenmisc4.17 linux-image-amd64 grub-xen-bin systemd
"
demo="
    python3 lz4 zstd xz-utils e2fsprogs fdisk xen-utils-4.17
"
test="
    clang libclang-rt-14-dev llvm libdeflate-dev libseccomp-dev
    libguestfs-tools
    xen-utils-4.17 xen-hypervisor-4.17-amd64 grub-xen-host xenstore-utils mount
    lz4 zstd xz-utils bzip2 lzop gzip python3
    qemu-system-x86 qemu-utils qemu-system-xen
    e2fsprogs xfsprogs btrfs-progs dosfstools fdisk lvm2
    util-linux cpio busybox-static kmod procps psmisc
    time hyperfine strace
    prometheus bash-completion
"

sets=${*:-build runtime demo test}
packages=""
for s in $sets; do
    case $s in
        build) packages="$packages $build" ;;
        runtime) packages="$packages $runtime" ;;
        demo) packages="$packages $demo" ;;
        test) packages="$packages $build $runtime $test" ;;
        *)
            echo "install-deps: unknown set \"$s\" (build, runtime, demo, test)" >&2
            exit 2 ;;
    esac
done

missing=""
for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        case " $missing " in *" $p "*) ;; *) missing="$missing $p" ;; esac
    fi
done

if [ -n "$missing" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
fi
