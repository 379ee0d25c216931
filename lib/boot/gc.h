/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Keeping the cache within kunpack.conf's cache_max_size after it grew. */

#include <stdbool.h>
#include <stdint.h>

#include "store/cache.h"
#include "store/state.h"

/*
 * When the cache holds more than max_size bytes, runs kp_cache_gc() with
 * the keys every state record refers to as the ones to keep (max_age in
 * seconds for unreferenced entries). *ret_ran says whether it did; the
 * statistics go to ret_stats when it did.
 */
int kp_boot_gc_if_over(KpCache *cache, KpStateStore *state, uint64_t max_size, uint64_t max_age_sec, KpError *error,
                       bool *ret_ran, KpCacheGcStats *ret_stats);
