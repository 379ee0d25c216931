/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A guest filesystem in memory for the boot-config tests: a map from
 * absolute path to content, directories implied by the paths. It answers
 * the KpBootFs calls exactly as bootplan.h specifies them (max 0 probes,
 * -EISDIR, -ENOTDIR), so the parsers meet the same answers as over
 * libguestfs.
 */

#include "bootcfg/bootplan.h"

typedef struct MemFile {
        char *path;
        char *data;
        size_t size;
} MemFile;

typedef struct MemFs {
        MemFile *files;
        size_t n_files;
        KpBootFs fs;
        unsigned reads;      /* read_file calls with max > 0, for tests of the budget */
} MemFs;

MemFs *memfs_new(void);
void memfs_free(MemFs *m);
/* Adds (or replaces) a file. */
void memfs_add(MemFs *m, const char *path, const char *data, size_t size);
void memfs_add_str(MemFs *m, const char *path, const char *s);
void memfs_remove(MemFs *m, const char *path);
/* Loads every regular file under dir (a host directory of test data) as "/relative/path". */
void memfs_load_dir(MemFs *m, const char *dir);
const MemFile *memfs_get(const MemFs *m, const char *path);

/* $KP_SOURCE_DIR/tests/unit/bootcfg/data/<name>, or abort. */
char *test_data_dir(const char *name);
