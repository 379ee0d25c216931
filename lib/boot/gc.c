/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "boot/gc.h"
#include "util/error.h"
#include "util/strv.h"
#include "util/time-util.h"

int kp_boot_gc_if_over(KpCache *cache, KpStateStore *state, uint64_t max_size, uint64_t max_age_sec, KpError *error,
                       bool *ret_ran, KpCacheGcStats *ret_stats)
{
        _cleanup_free_ KpCacheEntry *entries = NULL;
        _cleanup_strv_free_ char **keys = NULL;
        KpCacheGcStats stats = {};
        uint64_t total = 0, max_age_usec;
        size_t n = 0;
        int r;

        r = kp_cache_list(cache, error, &entries, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                total += entries[i].size;
        if (total <= max_size) {
                *ret_ran = false;
                return 0;
        }

        r = kp_state_referenced_keys(state, error, &keys);
        if (r < 0)
                return r;
        max_age_usec = max_age_sec > UINT64_MAX / USEC_PER_SEC ? UINT64_MAX : max_age_sec * USEC_PER_SEC;
        r = kp_cache_gc(cache, keys, max_age_usec, max_size, kp_now_usec(CLOCK_REALTIME), false, error, &stats);
        if (r < 0)
                return r;
        *ret_ran = true;
        if (ret_stats)
                *ret_stats = stats;
        return 0;
}
