/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The kernel cache: one decompressed ELF per distinct compressed kernel,
 * however many guests boot it, and one copy per distinct initrd.
 *
 *   CACHE/kernels/<sha256>.elf    the ELF, named by the sha256 of the
 *                                 compressed kernel file in the guest
 *   CACHE/kernels/<sha256>.json   its metadata (format, sizes, Xen notes,
 *                                 sha256 of the ELF, first seen)
 *   CACHE/initrds/<sha256>        an initrd, named by its own sha256
 *   CACHE/locks/<sha256>          flock()s that make concurrent stores of
 *                                 the same kernel do the work once
 *
 * The directory is root's, mode 0700. Every file appears atomically
 * (O_TMPFILE, fsync, rename, directory fsync); the ELF is committed after
 * its metadata, so an ELF without metadata is never served. Every stored
 * file is "sealed": its mtime is set to 1970-01-01 00:00:01 before it gets
 * its name, and any later write moves the mtime to the present. Before an
 * entry is served its size and ELF header are checked, and an entry that is
 * no longer sealed is re-hashed (served and sealed again if the content is
 * still right, removed otherwise); kp_cache_verify() re-hashes everything,
 * which also catches damage below the filesystem. "Last used" is the atime,
 * set explicitly when an entry is served (no write, no fsync on the hot
 * path). A full disk fails the store and leaves the cache as it was.
 */

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "kernel/unpack.h"
#include "kunpack.h"
#include "util/macro.h"
#include "util/sha256.h"

typedef struct KpCache KpCache;

typedef enum KpCacheKind {
        KP_CACHE_KERNEL,
        KP_CACHE_INITRD,
} KpCacheKind;

typedef struct KpCacheKernel {
        char key[KP_SHA256_HEX_SIZE];           /* sha256 of the compressed kernel */
        KpFormat format;
        uint64_t compressed_size;
        uint64_t output_size;
        char output_sha256[KP_SHA256_HEX_SIZE]; /* sha256 of the ELF */
        uint64_t first_seen_usec;               /* CLOCK_REALTIME */
        uint64_t last_used_usec;                /* atime of the ELF */
        KpElfInfo elf;
} KpCacheKernel;

/* Opens (creating if needed, mode 0700) the cache at path. */
int kp_cache_open(const char *path, KpError *error, KpCache **ret);
KpCache *kp_cache_free(KpCache *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(KpCache *, kp_cache_free);
const char *kp_cache_path(const KpCache *c);

/*
 * Opens the ELF stored for key, after checking it against its metadata
 * (size, ELF magic, and the sha256 when the file was written to since it
 * was stored), and marks it used. -ENOENT when there is no entry; -EBADMSG
 * when the entry is damaged (it is then removed, so the caller can store it
 * again).
 */
int kp_cache_open_kernel(KpCache *c, const char *key, KpError *error, int *ret_fd, KpCacheKernel *ret_meta);

/*
 * The metadata stored with a kernel (format, sizes, the ELF's Xen notes),
 * for reports: nothing is checked against the ELF, nothing is marked used
 * and nothing is removed. -ENOENT when there is no entry; -EBADMSG (or a
 * read error) when the metadata cannot be read.
 */
int kp_cache_read_kernel_meta(KpCache *c, const char *key, KpError *error, KpCacheKernel *ret);

/*
 * Free space the cache leaves on its filesystem (kunpack.conf's
 * cache_min_free): a store that would leave less is refused (-ENOSPC)
 * before it writes, or, for a kernel whose size is only known once it is
 * decompressed, as soon as its output passes the floor; nothing of it
 * stays. 0 (the default) lets only a full disk stop a store.
 */
void kp_cache_set_min_free(KpCache *c, uint64_t bytes);

/*
 * What may still be written to the cache's filesystem before it is down to
 * the floor: statvfs's f_bavail × f_frsize less min_free, 0 below it.
 */
int kp_cache_room(KpCache *c, KpError *error, uint64_t *ret_bytes);

/*
 * Stores the kernel read from in_fd (a regular file holding exactly the
 * guest's compressed kernel). Its sha256 must equal key, or it is refused
 * (-EBADMSG: the guest file changed after its checksum was taken). If
 * another process stored the same key meanwhile, its entry is kept. On
 * success the stored ELF is open in ret_fd, as from kp_cache_open_kernel().
 * The ELF may take what kp_cache_room() allows at most: -ENOSPC past it.
 */
int kp_cache_store_kernel(KpCache *c, const char *key, int in_fd, const KpUnpackParams *options, KpError *error,
                          int *ret_fd, KpCacheKernel *ret_meta);

/*
 * The same for an initrd: stored as is, checked by size (expected_size, or
 * any if UINT64_MAX); refused (-ENOSPC) before it is copied when it does
 * not fit above the floor.
 */
int kp_cache_open_initrd(KpCache *c, const char *key, uint64_t expected_size, KpError *error, int *ret_fd);
int kp_cache_store_initrd(KpCache *c, const char *key, int in_fd, uint64_t max_size, KpError *error, int *ret_fd);

/*
 * Serialises work on one key across processes: waits for an exclusive
 * flock on CACHE/locks/<key> until timeout_usec (CLOCK_MONOTONIC, absolute;
 * 0: don't wait), then returns the lock's fd (close it to unlock).
 * -ETIMEDOUT when the deadline passes. The lock held is always the file
 * that has the name: kp_cache_gc() removes lock files nobody holds, and a
 * waiter whose file was removed meanwhile starts again on a fresh one.
 */
int kp_cache_lock(KpCache *c, const char *key, uint64_t deadline_usec, KpError *error, int *ret_fd);

typedef struct KpCacheEntry {
        KpCacheKind kind;
        char key[KP_SHA256_HEX_SIZE];
        uint64_t size;             /* bytes on disk (ELF, or initrd) */
        uint64_t last_used_usec;
        bool have_meta;            /* kernels: metadata readable */
        KpCacheKernel meta;        /* kernels, when have_meta */
} KpCacheEntry;

/* Every entry, kernels first, each group by key. */
int kp_cache_list(KpCache *c, KpError *error, KpCacheEntry **ret_entries, size_t *ret_n);

typedef struct KpCacheGcStats {
        size_t removed;
        uint64_t removed_bytes;
        size_t kept;
        uint64_t kept_bytes;
        size_t kept_referenced_over_cap;   /* referenced entries kept although over max_size */
} KpCacheGcStats;

/*
 * Removes entries no one refers to (referenced: a strv of keys, from the
 * per-disk state) that were last used before now - max_age_usec; then, while
 * the cache is larger than max_size, the least recently used unreferenced
 * entries. Referenced entries are never removed. Leftover temporary files
 * older than an hour go too. dry_run only counts.
 */
int kp_cache_gc(KpCache *c, char *const *referenced, uint64_t max_age_usec, uint64_t max_size, uint64_t now_usec,
                bool dry_run, KpError *error, KpCacheGcStats *ret_stats);

typedef struct KpCacheVerifyStats {
        size_t checked;
        size_t damaged;            /* found damaged and removed */
} KpCacheVerifyStats;

/*
 * Re-hashes every entry (ELF against its recorded sha256, initrd against its
 * name) and removes the damaged ones, naming each in report (a strv of
 * lines) if given.
 */
int kp_cache_verify(KpCache *c, KpError *error, KpCacheVerifyStats *ret_stats, char ***ret_report);

/*
 * The same, stopping between two entries once *cancel is true (another
 * thread sets it: kunpackd verifies in a thread of its own and stops it
 * when it stops): then -ECANCELED, the entries removed so far removed.
 * Safe in a thread of its own on a KpCache of its own.
 */
int kp_cache_verify_cancellable(KpCache *c, const atomic_bool *cancel, KpError *error, KpCacheVerifyStats *ret_stats,
                                char ***ret_report);
