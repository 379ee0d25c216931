/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <time.h>

#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MSEC UINT64_C(1000)
#define NSEC_PER_USEC UINT64_C(1000)

/* Microseconds on clock (CLOCK_MONOTONIC for deadlines, CLOCK_REALTIME for timestamps). */
static inline uint64_t kp_now_usec(clockid_t clock)
{
        struct timespec ts;

        (void) clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

static inline uint64_t kp_timespec_to_usec(const struct timespec *ts)
{
        return (uint64_t) ts->tv_sec * USEC_PER_SEC + (uint64_t) ts->tv_nsec / NSEC_PER_USEC;
}

/* Time left until an absolute CLOCK_MONOTONIC deadline; 0 when it has passed. */
static inline uint64_t kp_usec_left(uint64_t deadline_usec)
{
        uint64_t now = kp_now_usec(CLOCK_MONOTONIC);
        return deadline_usec > now ? deadline_usec - now : 0;
}
