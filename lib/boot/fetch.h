/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Filling the cache from a guest, during a scan: only files the cache does
 * not hold yet (keys are sha256s computed inside the appliance, so a
 * kernel already cached never crosses into dom0 again) and only the
 * selected entry's, which is what the next start needs.
 *
 * What a guest may take is checked before anything is downloaded
 * (docs/boot-path.md, "Cache space"): its initrds together must fit in the
 * one ramdisk libxl is handed (KP_ANSWER_MAX_FILE), its files in its share
 * of the cache (max_guest_size, every file charged in full to each guest
 * that boots it), and what is not cached yet above the cache's floor
 * (kp_cache_set_min_free()).
 */

#include <stdint.h>

#include "bootcfg/bootplan.h"
#include "guest/session.h"
#include "kernel/unpack.h"
#include "store/cache.h"

typedef struct KpFetchOptions {
        KpUnpackParams unpack;       /* limits for the decompression */
        uint64_t max_guest_size;     /* kunpack.conf cache_max_guest_size; 0: no share */
        uint64_t deadline_usec;      /* for the cache's locks (CLOCK_MONOTONIC); UINT64_MAX: none */
} KpFetchOptions;

/*
 * For the plan's selected entry, downloads every kernel and initrd the
 * cache lacks (or holds damaged) into an unnamed file in the cache
 * directory and stores it (kernels decompressed with unpack's limits),
 * each under the cache's lock for its key, so that concurrent scans of
 * guests sharing a kernel decompress it once. The number of files
 * downloaded goes to ret_fetched.
 *
 * Refused before any download: initrds larger together than
 * KP_ANSWER_MAX_FILE (-EFBIG), files over the guest's share (-EDQUOT),
 * and downloads that do not fit above the cache's floor (-ENOSPC); a
 * kernel whose decompression passes what is left of either stops there
 * with the same errors, and nothing of it stays.
 */
int kp_boot_fetch_selected(KpCache *cache, KpGuestSession *s, size_t guest, const KpBootPlan *plan,
                           const KpFetchOptions *options, KpError *error, unsigned *ret_fetched);
