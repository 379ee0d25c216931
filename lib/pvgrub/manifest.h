/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What kunpack changed in a guest, kept in the guest itself beside the
 * configuration it rewrote ("<config>.kunpack-changes"), so that
 * `kunpackctl revert` and `kunpackctl show` work from the disk alone, on
 * any host. A text file, one record per line, fields separated by tabs:
 *
 *   kunpack-changes 1
 *   config  PATH  SHA256           the configuration as kunpack wrote it
 *   backup  PATH  SHA256           the guest's original, byte for byte
 *   file    PATH  SHA256  SOURCE  SOURCE-SHA256
 *                                  a decompressed kernel kunpack wrote, and
 *                                  the compressed kernel it came from
 *
 * config and backup come together or not at all (a manifest may list
 * only files, when the guest's own configuration names kunpack's copies).
 * The guest can write this file too: it is parsed with limits, every path
 * must be absolute and clean, and nothing it names is trusted beyond
 * being a path on the guest's own filesystem.
 */

#include <stdbool.h>
#include <stddef.h>

#include "bootcfg/bootplan.h"
#include "kunpack.h"
#include "util/macro.h"

#define KP_PVGRUB_MANIFEST_SUFFIX ".kunpack-changes"
#define KP_PVGRUB_BACKUP_SUFFIX   ".kunpack-orig"
/* A manifest lists at most one file per menu entry: the parsers' own entry limit. */
#define KP_PVGRUB_MANIFEST_MAX_FILES 1024
/* 1024 records of two paths and two hashes need ~300 KiB; a boot config's own limit leaves room. */
#define KP_PVGRUB_MANIFEST_MAX_SIZE KP_BOOTCFG_MAX_SIZE

typedef struct KpPvgrubFile {
        char *path;
        char sha256[65];
        char *source;
        char source_sha256[65];
} KpPvgrubFile;

typedef struct KpPvgrubManifest {
        char *config; /* NULL when kunpack did not rewrite the configuration */
        char config_sha256[65];
        char *backup;
        char backup_sha256[65];
        KpPvgrubFile *files;
        size_t n_files;
} KpPvgrubManifest;

KpPvgrubManifest *kp_pvgrub_manifest_free(KpPvgrubManifest *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(KpPvgrubManifest *, kp_pvgrub_manifest_free);

/* -EBADMSG (with the line) for anything that is not a manifest as above. */
int kp_pvgrub_manifest_parse(const char *data, size_t size, KpError *error, KpPvgrubManifest **ret);
int kp_pvgrub_manifest_format(const KpPvgrubManifest *m, char **ret_text, size_t *ret_size);

/* Adds a file record (copies the strings). */
int kp_pvgrub_manifest_add_file(KpPvgrubManifest *m, const char *path, const char *sha256,
                                const char *source, const char *source_sha256);
/* The record for path, or NULL. */
const KpPvgrubFile *kp_pvgrub_manifest_find(const KpPvgrubManifest *m, const char *path);
