/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* KpBootFs over one filesystem of a guest session (guest-bootfs.c). */

#include "bootcfg/bootplan.h"
#include "guest/guest-internal.h"

typedef struct KpGuestBootFs {
        KpBootFs ops;           /* hand &ops to the parsers; ops.userdata points back here */
        KpGuestSession *session;
        size_t fs;
        /* Why the last read failed: the parsers only see the errno. */
        KpError error;
} KpGuestBootFs;

/* Must not move after this: ops.userdata points at b. */
int kp_guest_bootfs_init(KpGuestSession *s, size_t fs, KpGuestBootFs *b);
