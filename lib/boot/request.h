/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What one domain start asks kunpack for: a disk (the one libxl hands the
 * bootloader), and either the entry of the guest's boot configuration
 * (the one it selects, or --entry) or, with --kernel=, named guest files
 * used as they are (a direct request, as pygrub does). Each distinct
 * request has its own state record (state.h): its key is the "request"
 * string below.
 */

#include "kunpack.h"
#include "util/macro.h"

typedef struct KpBootRequest {
        char *disk;             /* canonical path (symlinks resolved), as the state is keyed */
        char *entry;            /* --entry: index, title, id or Submenu>Entry; NULL: what the config selects */
        char *kernel;           /* --kernel=: a direct request (no config parsed); NULL otherwise */
        char *ramdisk;          /* --ramdisk=, only with kernel */
} KpBootRequest;

/*
 * Fills a request from what libxl and the guest's bootloader_args give.
 * The disk must exist (its path is resolved); --entry is ignored for a
 * direct request and --ramdisk without --kernel is ignored, as pygrub
 * ignores them. Refuses (-EINVAL) empty values, guest paths that are not
 * absolute, and control characters anywhere (they would reach logs and
 * state files).
 */
int kp_boot_request_init(const char *disk, const char *entry, const char *kernel, const char *ramdisk,
                         KpError *error, KpBootRequest *ret);
void kp_boot_request_done(KpBootRequest *r);

/*
 * The checks kp_boot_request_init() applies to the options' values
 * alone, without the disk: for a program that tells a bad command line
 * (exit 2) from a disk it cannot open (a runtime failure).
 */
int kp_boot_request_check_options(const char *entry, const char *kernel, const char *ramdisk, KpError *error);

bool kp_boot_request_is_direct(const KpBootRequest *r);

/*
 * The state record's request string: "" for the configuration's own
 * choice, "entry=<E>" for --entry, "kernel=<K>;ramdisk=<R>" for a direct
 * request, with '\' and ';' in values escaped by a '\' so that no two
 * requests share a string.
 */
int kp_boot_request_key(const KpBootRequest *r, char **ret);

/* True for a string without control characters (C0, DEL): what may go into a log line or a record. */
bool kp_string_is_printable(const char *s);
