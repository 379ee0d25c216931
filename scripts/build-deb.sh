#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds kunpack's Debian packages from this checkout, in a clean copy of
# its tracked files, and leaves the .deb files in OUTDIR (default: dist/):
#
#   scripts/build-deb.sh [OUTDIR]
#   apt install ./dist/kunpack_*.deb        # on the Xen host
#
# Installs the build dependencies first (root: apt-get), then runs
# dpkg-buildpackage -us -uc -b (the unit suite runs at build time unless
# DEB_BUILD_OPTIONS=nocheck) and lintian on the result.
set -eu
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-dist}")

scripts/install-deps.sh build
if ! dpkg-query -W -f='${Status}' debhelper lintian 2>/dev/null | grep -q 'install ok installed.*install ok installed'; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debhelper lintian
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/kunpack"
git ls-files -z --cached --others --exclude-standard | (cd "$(pwd)" && xargs -0 cp --parents -t "$work/kunpack")
(cd "$work/kunpack" && dpkg-buildpackage -us -uc -b)
mkdir -p "$out"
cp "$work"/*.deb "$work"/*.buildinfo "$work"/*.changes "$out"/
lintian --fail-on error --info "$out"/kunpack_*.changes
ls -l "$out"/*.deb
