/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What cache.c (opening, serving, listing, collecting, verifying entries)
 * and cache-store.c (storing them) share. They are two files because
 * serving is kunpack-boot's hot path and storing is kunpack-scan's: only
 * storing a kernel decompresses it, so only programs that store link the
 * kernel layer's decompressors.
 */

#include "store/cache.h"
#include "util/error.h"

struct KpCache {
        char *path;
        int dir_fd;
        int kernels_fd;
        int initrds_fd;
        int locks_fd;
        uint64_t min_free;  /* kp_cache_set_min_free() */
};

/* -EINVAL unless key is a sha256 in hex: keys become file names. */
int kp_cache_check_key(const char *key, KpError *error);

/*
 * Marks a file as written by us and unchanged since: its mtime is set to
 * the sealed instant (see cache.c), its atime to now.
 */
int kp_cache_seal(int fd);

/*
 * Metadata and filesystem blocks a store writes besides the file's own
 * bytes, counted against the floor: a kernel's JSON is a few hundred bytes
 * (cache.c refuses one near 64 KiB), and ext4 needs a few extent blocks for
 * a 1 GiB file.
 */
#define KP_CACHE_STORE_OVERHEAD (UINT64_C(256) * 1024)
