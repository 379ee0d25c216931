/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Filling the cache from a guest, during a scan: only files the cache does
 * not hold yet (keys are sha256s computed inside the appliance, so a
 * kernel already cached never crosses into dom0 again) and only the
 * selected entry's, which is what the next start needs.
 */

#include <stdint.h>

#include "bootcfg/bootplan.h"
#include "guest/session.h"
#include "store/cache.h"

/*
 * For the plan's selected entry, downloads every kernel and initrd the
 * cache lacks (or holds damaged) into an unnamed file in the cache
 * directory and stores it (kernels decompressed with unpack's limits),
 * each under the cache's lock for its key, so that concurrent scans of
 * guests sharing a kernel decompress it once. Locks are waited for until
 * deadline_usec (CLOCK_MONOTONIC; UINT64_MAX: no deadline). The number of
 * files downloaded goes to ret_fetched.
 */
int kp_boot_fetch_selected(KpCache *cache, KpGuestSession *s, size_t guest, const KpBootPlan *plan,
                           const KpUnpackParams *unpack, uint64_t deadline_usec, KpError *error,
                           unsigned *ret_fetched);
