/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The parsers' side of KpBootFs: every file read for one plan counts
 * against KP_BOOTCFG_MAX_READ_TOTAL, every file against
 * KP_BOOTCFG_MAX_SIZE, every listing against KP_BOOTCFG_MAX_ENTRIES
 * names, so a guest cannot make a plan read without end.
 */

#include "bootcfg/bootplan.h"

typedef struct KpBootFsReader {
        const KpBootFs *fs;     /* may be NULL: nothing can be read */
        size_t bytes_read;
} KpBootFsReader;

/*
 * Reads a whole file. -ENOENT when absent or when there is no fs (no
 * message), -EFBIG past KP_BOOTCFG_MAX_SIZE, -E2BIG when the budget is
 * spent, other errors of the reader as they come; all but -ENOENT with a
 * message.
 */
int kp_boot_fs_read(KpBootFsReader *r, const char *path, KpError *error, char **ret_data, size_t *ret_size);

typedef enum KpFileKind {
        KP_FILE_MISSING,
        KP_FILE_EMPTY,
        KP_FILE_NON_EMPTY,
        KP_FILE_DIRECTORY,
} KpFileKind;

/* What is at path; -EIO (or the reader's error) when the reader cannot tell, -ENODEV without fs. */
int kp_boot_fs_probe(KpBootFsReader *r, const char *path, KpFileKind *ret);

/* The names in a directory, at most KP_BOOTCFG_MAX_ENTRIES of them (-E2BIG past that). */
int kp_boot_fs_list(KpBootFsReader *r, const char *path, KpError *error, char ***ret_names);
