#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Installs, removes and purges kunpack's Debian packages as an admin would
# (apt install ./kunpack_*.deb, apt remove, apt purge), inside a throwaway
# copy of this machine's root: an overlay over / in a private mount
# namespace, so the maintainer scripts run for real and this machine is left
# as it was. Builds the packages first unless DEBDIR already holds them.
#
#   tests/package/test-install.sh [DEBDIR]
#
# Checks: the files land where debian/*.install says, kunpack-boot is found
# by bare name on PATH, kunpackctl scan runs the installed kunpack-scan, the settings file is a conffile kept on remove, the
# units are enabled, prerm names the xl configs that still use kunpack-boot,
# purge removes the cache and state and says what it leaves in guests.
set -eu

src=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (a mount namespace and apt)"; exit 77; }

tmp=$(mktemp -d /tmp/kunpack-package-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
debdir=${1:-}
if [ -z "$debdir" ] || ! ls "$debdir"/kunpack_*.deb >/dev/null 2>&1; then
    debdir=$tmp/deb
    DEB_BUILD_OPTIONS=nocheck "$src/scripts/build-deb.sh" "$debdir" >"$tmp/build.log" 2>&1 ||
        { tail -30 "$tmp/build.log" >&2; fail "scripts/build-deb.sh did not build the packages"; }
fi

# The part that runs inside the overlaid root, as root of that copy.
cat >"$tmp/inside.sh" <<'EOF'
set -eu
fail() { echo "FAIL: $*" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# man-db's trigger re-indexes every manual page of this machine: not what is tested.
rm -f /var/lib/man-db/auto-update
dpkg-query -W kunpack >/dev/null 2>&1 && fail "kunpack is already installed on this machine's root"

mkdir -p /etc/xen /var/cache/kunpack/entries /var/lib/kunpack
printf 'name = "web1"\nbootloader = "kunpack-boot"\n' >/etc/xen/web1.cfg
printf 'name = "db1"\nbootloader = "pygrub"\n' >/etc/xen/db1.cfg
echo cached >/var/cache/kunpack/entries/x

apt-get install -y -q --no-install-recommends /deb/kunpack_*.deb /deb/libkunpack0_*.deb >/tmp/install.log 2>&1 ||
    { tail -20 /tmp/install.log >&2; fail "apt-get install ./kunpack_*.deb ./libkunpack0_*.deb"; }
[ "$(dpkg-query -W -f='${Status}' kunpack)" = "install ok installed" ] || fail "kunpack not installed"
[ "$(command -v kunpack-boot)" = /usr/sbin/kunpack-boot ] || fail "kunpack-boot by bare name is $(command -v kunpack-boot)"
[ "$(readlink -f /usr/sbin/kunpack-boot)" = /usr/libexec/kunpack/kunpack-boot ] || fail "/usr/sbin/kunpack-boot does not lead to /usr/libexec/kunpack/kunpack-boot"
kunpack-boot --version | grep -q '^kunpack-boot ' || fail "kunpack-boot --version"
kunpackctl --version | grep -q '^kunpackctl ' || fail "kunpackctl --version"
# kunpackctl scan runs the kunpack-scan of /usr/libexec/kunpack, off PATH.
kunpackctl scan --version | grep -q '^kunpack-scan ' || fail "kunpackctl scan does not run the installed kunpack-scan"
for f in /usr/sbin/kunpackd /usr/libexec/kunpack/kunpack-scan /lib/systemd/system/kunpackd.service \
         /lib/systemd/system/kunpackd.socket /usr/lib/systemd/catalog/kunpack.catalog \
         /usr/share/man/man8/kunpack-boot.8.gz /usr/share/man/man5/kunpack.conf.5.gz \
         /usr/share/bash-completion/completions/kunpackctl; do
    [ -e "$f" ] || fail "$f not installed"
done
dpkg-query -W -f='${Conffiles}\n' kunpack | grep -q '^ /etc/kunpack/kunpack.conf ' || fail "/etc/kunpack/kunpack.conf is not a conffile"
[ -L /etc/systemd/system/sockets.target.wants/kunpackd.socket ] || fail "kunpackd.socket not enabled"
[ -L /etc/systemd/system/multi-user.target.wants/kunpackd.service ] || fail "kunpackd.service not enabled"
echo "installed: $(dpkg-query -W -f='${Package} ${Version}' kunpack), $(dpkg -L kunpack | wc -l) paths"

# apt runs dpkg on a terminal of its own: its lines end in \r\n.
apt-get remove -y -q kunpack >/tmp/remove.raw 2>&1 || { cat /tmp/remove.raw >&2; fail "apt-get remove kunpack"; }
tr -d '\r' </tmp/remove.raw >/tmp/remove.log
grep -q 'kunpack: these xl domain configs still name kunpack-boot' /tmp/remove.log || fail "prerm did not warn"
grep -q "^kunpack:   /etc/xen/web1.cfg$" /tmp/remove.log || { cat /tmp/remove.log >&2; fail "prerm did not name /etc/xen/web1.cfg"; }
grep -q 'db1.cfg' /tmp/remove.log && fail "prerm named db1.cfg, which uses pygrub"
[ ! -e /usr/sbin/kunpackctl ] || fail "kunpackctl left after remove"
[ -f /etc/kunpack/kunpack.conf ] || fail "remove took the conffile"
[ -f /var/cache/kunpack/entries/x ] || fail "remove took the cache"
echo "removed: prerm named web1.cfg only, conffile and cache kept"

apt-get purge -y -q kunpack >/tmp/purge.raw 2>&1 || { cat /tmp/purge.raw >&2; fail "apt-get purge kunpack"; }
tr -d '\r' </tmp/purge.raw >/tmp/purge.log
grep -q 'guests changed by pvgrub mode keep their changes' /tmp/purge.log || fail "postrm purge did not say what stays in guests"
for d in /var/cache/kunpack /var/lib/kunpack /etc/kunpack/kunpack.conf; do
    [ ! -e "$d" ] || fail "$d left after purge"
done
case $(dpkg-query -W -f='${Status}' kunpack 2>/dev/null || true) in
    ""|"unknown ok not-installed") ;;
    *) fail "dpkg still knows kunpack: $(dpkg-query -W -f='${Status}' kunpack)" ;;
esac
apt-get purge -y -q libkunpack0 >/dev/null 2>&1 || fail "apt-get purge libkunpack0"
echo "purged: cache, state and conffile gone"
EOF

# A copy-on-write root: / read through an overlay whose writes go to a
# tmpfs, with its own /proc, /dev, /run and /tmp, in a mount namespace of
# its own; nothing reaches this machine's root.
unshare --mount --propagation private sh -eu -c '
    t=$1 debdir=$2
    mkdir -p "$t/ovl" "$t/root"
    mount -t tmpfs -o size=2g tmpfs "$t/ovl"
    mkdir "$t/ovl/upper" "$t/ovl/work"
    mount -t overlay overlay -o "lowerdir=/,upperdir=$t/ovl/upper,workdir=$t/ovl/work" "$t/root"
    mount -t proc proc "$t/root/proc"
    mount --rbind /dev "$t/root/dev"
    mount -t tmpfs tmpfs "$t/root/run"
    mount -t tmpfs tmpfs "$t/root/tmp"
    mkdir "$t/root/deb"
    cp "$debdir"/kunpack_*.deb "$debdir"/libkunpack0_*.deb "$t/inside.sh" "$t/root/deb/"
    exec chroot "$t/root" sh /deb/inside.sh
' sh "$tmp" "$debdir" 2>&1 || fail "see above"
