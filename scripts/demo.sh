#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The demo command of README.md: installs the dependencies from Debian's
# packages, builds kunpack and runs it on a built-in demo.
set -eu
cd "$(dirname "$0")/.."

scripts/install-deps.sh build runtime demo
if [ ! -f build/build.ninja ]; then
    meson setup build
fi
ninja -C build

exec /usr/bin/python3 scripts/demo.py build
