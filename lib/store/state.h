/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Per-disk state: what the last scan of a disk found (its boot plan, with
 * every file's size and sha256), when, and the disk's identity just before
 * that scan began. A plan is served without a new scan only while the disk
 * provably has not changed since (docs/design.md, "Freshness"); when in doubt,
 * it is stale.
 *
 *   STATE/disks/<id>.json   one record per disk and request (the boot
 *                           config's plan, or a direct --kernel= request)
 *   STATE/locks/<id>        flock()s: one scan per disk at a time
 *
 * <id> is the sha256 of the disk's canonical path and the request, so a
 * guest cannot choose a file name. Records are written atomically; a
 * damaged record reads as "no state" (with the reason), never as a plan.
 */

#include <stdbool.h>
#include <stdint.h>

#include "bootcfg/bootplan.h"
#include "kunpack.h"
#include "util/macro.h"

/* What a disk looks like from dom0, without reading its content. */
typedef struct KpDiskIdentity {
        bool block;             /* a block device: its content cannot be dated from dom0 */
        uint64_t dev;
        uint64_t ino;
        uint64_t rdev;
        uint64_t size;
        uint64_t mtime_nsec;
        uint64_t ctime_nsec;
} KpDiskIdentity;

/* stat()s the disk (following symlinks, as libxl and qemu do). */
int kp_disk_identity_read(const char *path, KpError *error, KpDiskIdentity *ret);

typedef enum KpFreshness {
        KP_FRESH = 0,
        KP_STALE_CHANGED,       /* the image changed since the scan */
        KP_STALE_BLOCK_DEVICE,  /* a block device: nobody vouches for it */
        KP_STALE_NO_PLAN,       /* no state, or the scan found nothing bootable */
        KP_STALE_PROVISIONAL,   /* scanned while something used the disk (docs/pool.md, "In use") */
        _KP_FRESHNESS_MAX,
} KpFreshness;

const char *kp_freshness_to_string(KpFreshness f);

typedef struct KpDiskState {
        char *disk;             /* canonical path */
        char *request;          /* "" for the boot config's plan; "kernel=...;ramdisk=..." for direct mode */
        KpDiskIdentity identity;
        uint64_t scanned_usec;  /* CLOCK_REALTIME, when the scan finished */
        /*
         * Who used the disk during the scan ("domain 5's vbd 51712"): its
         * plan fills the cache but is never fresh. NULL: nobody did.
         */
        char *provisional;
        KpBootPlan *plan;
} KpDiskState;

KpDiskState *kp_disk_state_free(KpDiskState *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(KpDiskState *, kp_disk_state_free);

/*
 * Whether the state may be served for a disk that looks like now.
 * trust_foreign compares only size and mtime (kunpack.conf's
 * trust_foreign_plans: a plan prepared on another host for the same image).
 * vouched: kunpackd knows no domain used the disk since the scan (the only
 * way a block device is fresh). ret_reason, if given, says why it is stale.
 */
KpFreshness kp_disk_state_freshness(const KpDiskState *s, const KpDiskIdentity *now, bool trust_foreign,
                                    bool vouched, char **ret_reason);

typedef struct KpStateStore KpStateStore;

int kp_state_open(const char *path, KpError *error, KpStateStore **ret);
KpStateStore *kp_state_store_free(KpStateStore *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(KpStateStore *, kp_state_store_free);

/* The record for disk and request: -ENOENT when none, -EBADMSG when damaged (it is then removed). */
int kp_state_load(KpStateStore *s, const char *disk, const char *request, KpError *error, KpDiskState **ret);
int kp_state_save(KpStateStore *s, const KpDiskState *state, KpError *error);
int kp_state_remove(KpStateStore *s, const char *disk, const char *request, KpError *error);

/*
 * One scan per disk at a time: an exclusive flock for disk and request,
 * waited for until deadline_usec (CLOCK_MONOTONIC). -ETIMEDOUT after it.
 */
int kp_state_lock(KpStateStore *s, const char *disk, const char *request, uint64_t deadline_usec, KpError *error,
                  int *ret_fd);

/* Every readable record (damaged ones are skipped and named in ret_skipped, if given). */
int kp_state_list(KpStateStore *s, KpError *error, KpDiskState ***ret_states, size_t *ret_n, char ***ret_skipped);
KpDiskState **kp_disk_states_free(KpDiskState **states, size_t n);

/* The cache keys (kernel and initrd sha256s) that any record refers to: what the GC must keep. */
int kp_state_referenced_keys(KpStateStore *s, KpError *error, char ***ret_keys);
