/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The methods' arguments as the caller sent them, checked and turned into
 * what the daemon works with, apart from the bus: bus-prepare.c and
 * bus-methods.c read the values out of the call (sd-bus checks the
 * types), these functions decide what they mean. Nothing here needs a bus
 * or a manager, so tests/fuzz/fuzz-bus-args.c runs them on any input.
 *
 * Callers are root (bus.c checks SO_PEERCRED), but a root process that is
 * broken or compromised is still no reason to crash kunpackd, whose other
 * callers are starting domains: every value is checked as hostile.
 */

#include <stdbool.h>
#include <stdint.h>

#include "guest/diskspec.h"
#include "kunpack.h"

/* Guests one Rescan call may name: more than any host has; the list comes from root, but still. */
#define KP_RESCAN_MAX_NAMES 65536

/*
 * Prepare(a(ss) disks, s entry, s mode, s kernel, s ramdisk, s args, s output_directory, t timeout_usec, t flags,
 *         u domid)
 */
typedef struct PrepareArgs {
        const char *const *paths;     /* the disks' (path, format) pairs, n_disks of each */
        const char *const *formats;
        size_t n_disks;
        const char *entry;            /* "" for none, as every string below */
        const char *mode;
        const char *kernel;
        const char *ramdisk;
        const char *args;
        const char *output_directory;
        uint64_t timeout_usec;
        uint64_t flags;
        uint32_t domid;               /* the domain being built, 0 when not said */
} PrepareArgs;

typedef struct PrepareRequest {
        KpDiskSpec *specs;            /* at least one, at most KP_DOMAIN_MAX_DISKS */
        size_t n_specs;
        const char *entry;            /* NULL for "", pointing into the PrepareArgs */
        const char *kernel;
        const char *ramdisk;
        char *args;                   /* NULL for "" */
        char *output_directory;       /* absolute; NULL on a dry run */
        bool dry_run;
        uint64_t timeout_usec;        /* what the caller may wait: in (0, max_timeout_usec] */
        uint32_t domid;               /* the domain being built; 0: not said */
} PrepareRequest;

void prepare_request_done(PrepareRequest *r);

/*
 * Checks Prepare's arguments: -EINVAL without a disk, with a relative disk
 * path or (but on a dry run) a relative output directory, -E2BIG with more
 * than KP_DOMAIN_MAX_DISKS disks, the disk format's own error for one
 * kunpack cannot read, -EOPNOTSUPP for a mode kunpackd does not serve
 * (kunpack-boot then does the work). A timeout of 0, or one over
 * max_timeout_usec (boot_timeout), is max_timeout_usec. The message in
 * error is the caller's answer.
 */
int prepare_args_parse(const PrepareArgs *a, uint64_t max_timeout_usec, KpError *error, PrepareRequest *ret);

/* Rescan(as guests, t flags): -E2BIG past KP_RESCAN_MAX_NAMES names. */
int rescan_args_check(size_t n_names, uint64_t flags, KpError *error);
