#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# PID 1 of dom0 once its root is the host's root under a tmpfs overlay
# (see init). Brings up the Xen toolstack the way xencommons would, without
# systemd or udev, runs the case driver and powers the machine off.
#
#   setup.sh RUN_DIR
#
# RUN_DIR is the host's run directory (disks, xl configs, plan.json); it is
# mounted read-write over 9p ("kprun") at the same path, so every path the
# host wrote into a config means the same file here, and what the driver
# writes there is on the host after QEMU exits.
RUN_DIR=$1
E2E_DIR=$(dirname "$(dirname "$(readlink -f "$0")")")
XENBIN=/usr/lib/xen-4.17/bin
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C.UTF-8

say() { echo "KP-E2E-DOM0: $*"; }
fail() {
    echo "KP-E2E-DOM0-FAILED: $*"
    sync
    /bin/busybox poweroff -f
    sleep 3600
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=000 devpts /dev/pts
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=mmap kprun "$RUN_DIR" ||
    fail "cannot mount the run directory $RUN_DIR over 9p"
say "root is the host's, run directory mounted"

# The root is the build machine's, but this is another host: give it its
# own identity, so that nothing keyed on /etc/machine-id (kunpack's state
# is prepared on the build machine) mistakes dom0 for the machine that
# wrote it.
tr -d '-' < /proc/sys/kernel/random/uuid > /etc/machine-id
hostname kp-e2e-dom0

# The modules the issue measured: event channels, grant tables, privcmd,
# xenfs for /proc/xen, blkback for guest disks, loop for image files.
modprobe -a xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs xen-blkback loop ||
    fail "modprobe"
mount -t xenfs xenfs /proc/xen || fail "mount xenfs"

mkdir -p /run/xen /run/xenstored /var/lib/xenstored /var/lib/xen /var/log/xen/console
$XENBIN/xenstored --pid-file=/run/xenstored.pid || fail "xenstored"
i=0
until xenstore-exists / 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 100 ] || fail "xenstored does not answer"
    sleep 0.1
done
$XENBIN/xen-init-dom0 || fail "xen-init-dom0"
# Each guest's console lands in /var/log/xen/console/guest-NAME.log.
$XENBIN/xenconsoled --log=guest --log-dir=/var/log/xen/console --pid-file=/run/xenconsoled.pid ||
    fail "xenconsoled"

# qemu as dom0's disk backend (qdisk), with the arguments Debian's
# /etc/init.d/xen gives it (its messages kept in /var/log/xen/qemu-dom0.log
# instead of -daemonize's /dev/null): libxl attaches a qcow2 image to dom0
# through it for the bootloader, which then reads /dev/xvdX (xen-blkfront).
# Without qemu-system-xen the qcow2 case fails with libxl's own error, and
# no other case needs it.
QEMU_DOM0=/usr/libexec/xen-qemu-system-i386
if [ -x $QEMU_DOM0 ]; then
    modprobe xen-blkfront || fail "modprobe xen-blkfront"
    $QEMU_DOM0 -xen-domid 0 -xen-attach -name dom0 -nographic -M xenpv -monitor none \
        -serial none -parallel none -pidfile /run/qemu-dom0.pid </dev/null >/var/log/xen/qemu-dom0.log 2>&1 &
fi

# Debian's block script needs flock and more of a system than this one;
# ours does the part a file-backed PV disk needs (see dom0/block).
install -m 0755 "$E2E_DIR/dom0/block" /etc/xen/scripts/block ||
    fail "installing the block hotplug script"

# The Debian package, when run-e2e.py built one: its files unpacked into
# this dom0's overlay exactly as the package lays them out (the build
# machine's root stays as it is), so that a guest names kunpack-boot by bare
# name as admins write pygrub and libxl finds the package's /usr/sbin link.
# dpkg -i itself is not run here: over 9p under emulation, reading dpkg's
# database of the build machine's 150,000 files takes minutes; the
# maintainer scripts run in tests/package/test-install.sh.
if ls "$RUN_DIR"/deb/kunpack_*.deb >/dev/null 2>&1; then
    # As dpkg does, follow the root's directory links (/lib -> usr/lib on a
    # merged-/usr system) instead of replacing them, which plain
    # `dpkg-deb -x` would do for the package's /lib/systemd.
    for deb in "$RUN_DIR"/deb/kunpack_*.deb "$RUN_DIR"/deb/libkunpack0_*.deb; do
        dpkg-deb --fsys-tarfile "$deb" | tar -x --keep-directory-symlink -C / || fail "unpacking $deb"
    done
    [ -x /usr/sbin/kunpack-boot ] || fail "the package did not install /usr/sbin/kunpack-boot"
    say "unpacked $(dpkg-deb -f "$RUN_DIR"/deb/kunpack_*.deb Package Version | tr '\n' ' ')"
fi

say "READY $(cut -d' ' -f1 /proc/uptime)"
python3 "$E2E_DIR/dom0/driver.py" "$RUN_DIR"
rc=$?
say "DONE rc=$rc $(cut -d' ' -f1 /proc/uptime)"
sync
umount "$RUN_DIR" 2>/dev/null
/bin/busybox poweroff -f
sleep 3600
