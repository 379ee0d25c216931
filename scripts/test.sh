#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The test command of README.md, and what CI runs (.ci/run): installs the
# dependencies from Debian's packages, builds kunpack twice (gcc with
# -Werror; clang with ASan+UBSan and the fuzzers) and runs every suite.
#
#   scripts/test.sh                 everything
#   scripts/test.sh unit fuzz       only these suites
set -eu
cd "$(dirname "$0")/.."

suites=${*:-unit fuzz integration e2e}

scripts/install-deps.sh build runtime test

if [ ! -f build/build.ninja ]; then
    meson setup build -Dwerror=true
fi
ninja -C build

args=""
for s in $suites; do args="$args --suite $s"; done
# shellcheck disable=SC2086
meson test -C build --print-errorlogs --num-processes 2 $args

# Sanitizers: the unit suite and the fuzzers' corpora under ASan and UBSan.
san=""
for s in $suites; do
    case $s in unit|fuzz) san="$san --suite $s" ;; esac
done
if [ -n "$san" ]; then
    if [ ! -f build-asan/build.ninja ]; then
        CC=clang meson setup build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
            -Dfuzz=true -Dbuildtype=debug
    fi
    ninja -C build-asan
    # shellcheck disable=SC2086
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
        meson test -C build-asan --print-errorlogs --num-processes 2 $san
fi
