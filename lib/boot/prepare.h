/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The hot path of a domain start: no appliance, no decompression, no
 * write. The disk's state record says what the guest boots; if the disk
 * provably has not changed since that scan (state.h, freshness) and the
 * selected entry's kernel and initrds are in the cache and check out, their
 * files are opened and the start can be answered at once. Anything else is
 * not a failure but a distinct outcome: the disk needs a scan (the cold
 * path, kunpack-scan), after which this is tried again.
 */

#include <stdbool.h>

#include "boot/request.h"
#include "bootcfg/bootplan.h"
#include "store/cache.h"
#include "store/state.h"
#include "util/sha256.h"

typedef enum KpPrepareOutcome {
        KP_PREPARE_READY,          /* the files are open: answer */
        KP_PREPARE_NEEDS_SCAN,     /* stale or missing state, or a file missing from the cache */
        _KP_PREPARE_OUTCOME_MAX,
} KpPrepareOutcome;

typedef struct KpPrepareOptions {
        bool trust_foreign;        /* kunpack.conf trust_foreign_plans */
        bool vouched;              /* kunpackd vouches that no domain used the disk since the scan */
} KpPrepareOptions;

typedef struct KpPrepared {
        KpPrepareOutcome outcome;
        /* NEEDS_SCAN: why, in words ("the image was modified since the scan"). */
        char why[KP_ERROR_MESSAGE_MAX];
        /* NEEDS_SCAN: a record or cache entry was found damaged (and removed): worth a warning. */
        bool damaged;

        /* READY: */
        int kernel_fd;             /* the decompressed ELF in the cache */
        int initrd_fds[KP_BOOTCFG_MAX_INITRDS];
        size_t n_initrds;
        char kernel_sha256[KP_SHA256_HEX_SIZE];  /* the guest's (compressed) kernel: the cache key */
        char *cmdline;             /* the entry's command line ("" for a direct request) */
        char *title;               /* the entry's menu path or title, for logs; may be NULL */
        char *kernel_path;         /* in the guest, for logs */
        KpSelectReason reason;
        uint64_t scanned_usec;     /* CLOCK_REALTIME of the scan behind the answer */
} KpPrepared;

#define KP_PREPARED_INIT { .kernel_fd = -EBADF }

void kp_prepared_done(KpPrepared *p);

/*
 * The hot path for req. Returns 0 with ret->outcome READY (files open) or
 * NEEDS_SCAN (ret->why says why), or a negative errno for what a scan
 * cannot fix (the disk is gone or unreadable, the state or cache directory
 * unusable). ret must be KP_PREPARED_INIT.
 */
int kp_boot_prepare(KpCache *cache, KpStateStore *state, const KpBootRequest *req, const KpPrepareOptions *options,
                    KpError *error, KpPrepared *ret);

/*
 * Opens the cache files of a plan's selected entry: kernel and initrds.
 * 0 when all are there and check out (fds in ret), 1 when one is missing
 * or was damaged (ret->why, ret->damaged), negative errno otherwise. Used
 * by the hot path, and by the scan to decide what to fetch.
 */
/*
 * on_failure = "last-good": the plan the disk's record holds, fresh or
 * not, if its kernel and initrds are still in the cache and check out.
 * Returns 0 with ret READY, -ENOENT when there is no record or its files
 * are gone (error says which), another negative errno otherwise. The
 * caller says loudly that the answer is stale (kunpack-boot(8)).
 */
int kp_boot_prepare_last_good(KpCache *cache, KpStateStore *state, const KpBootRequest *req, KpError *error,
                              KpPrepared *ret);

/*
 * Whether a failed start's errno is the host's trouble, which the last
 * good plan may paper over: the deadline passed (-ETIMEDOUT), the
 * appliance did not launch (-EHOSTDOWN, lib/guest/session.c), dom0 ran
 * out of room or memory (-ENOSPC, -EDQUOT, -ENOMEM), a filesystem was
 * read-only or a disk busy (-EROFS, -EBUSY), a library is missing
 * (-ELIBACC). Anything else (a boot configuration or kernel refused, a
 * disk that cannot be read) is the guest's: its last plan is no answer.
 */
bool kp_boot_failure_is_host_side(int error);

int kp_boot_open_cached(KpCache *cache, const KpBootPlan *plan, KpError *error, KpPrepared *ret);
