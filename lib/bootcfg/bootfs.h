/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The parsers' side of KpBootFs: every file read for one plan counts
 * against KP_BOOTCFG_MAX_READ_TOTAL, every file against
 * KP_BOOTCFG_MAX_SIZE, every listing against KP_BOOTCFG_MAX_ENTRIES
 * names, and every read, look and listing against
 * KP_BOOTCFG_MAX_FS_REQUESTS, so a guest cannot make a plan read without
 * end, in bytes or in round trips to the appliance.
 */

#include "bootcfg/bootplan.h"

/*
 * Reads, looks ([ -f ], search --file) and listings for one plan. Each is
 * a round trip into the appliance (and into the parsing process when it
 * runs apart, parse-isolated.h): a grub.cfg sourcing a file that sources
 * another four times, 15 levels deep, stays within the bytes read and
 * asks a million times. Fedora with 1024 BLS snippets asks 1,030 times,
 * Ubuntu's grub.cfg 6; 4096 is room for both at their entry limits.
 */
#define KP_BOOTCFG_MAX_FS_REQUESTS 4096

typedef struct KpBootFsReader {
        const KpBootFs *fs;     /* may be NULL: nothing can be read */
        size_t bytes_read;
        unsigned requests;
} KpBootFsReader;

/*
 * Reads a whole file. -ENOENT when absent or when there is no fs (no
 * message), -EFBIG past KP_BOOTCFG_MAX_SIZE, -E2BIG when a budget (bytes
 * read, requests) is spent, other errors of the reader as they come; all
 * but -ENOENT with a message.
 */
int kp_boot_fs_read(KpBootFsReader *r, const char *path, KpError *error, char **ret_data, size_t *ret_size);

typedef enum KpFileKind {
        KP_FILE_MISSING,
        KP_FILE_EMPTY,
        KP_FILE_NON_EMPTY,
        KP_FILE_DIRECTORY,
} KpFileKind;

/*
 * What is at path; -EIO (or the reader's error) when the reader cannot
 * tell, -ENODEV without fs, -E2BIG (with a message) when the requests are
 * spent.
 */
int kp_boot_fs_probe(KpBootFsReader *r, const char *path, KpError *error, KpFileKind *ret);

/* The names in a directory, at most KP_BOOTCFG_MAX_ENTRIES of them (-E2BIG past that, or past the requests). */
int kp_boot_fs_list(KpBootFsReader *r, const char *path, KpError *error, char ***ret_names);
