/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What the fleet view (List, Show) says about one guest: whether its next
 * start is served from the cache and why not, what it boots, and what that
 * kernel allows (pvgrub2 loading it as it is; moving the guest to PVH).
 * Everything comes from the guest's state record, the cache entry's
 * metadata and what this daemon follows in memory; nothing is scanned.
 */

#include "daemon/manager.h"

/* A yes/no fact that may not be known (no record yet, no cache entry). */
typedef enum GuestFact {
        GUEST_FACT_UNKNOWN = -1,
        GUEST_FACT_NO = 0,
        GUEST_FACT_YES = 1,
} GuestFact;

typedef struct GuestView {
        /*
         * "fresh": the next start is served from the cache; "stale": it
         * waits for a scan; "queued" and "scanning": a scan is on its way;
         * "failed": the last scan failed (or the record cannot be used).
         */
        const char *status;
        char *reason;            /* why stale or failed, the step while scanning; NULL when fresh or queued */
        char *kernel;            /* the selected entry's kernel in the guest; NULL without a record */
        char *kernel_sha256;     /* of that (compressed) file: its cache key */
        const char *kernel_version; /* from the kernel's file name (points into kernel); NULL when it has none */
        KpFormat format;         /* its payload, as the appliance read it; KP_FORMAT_UNKNOWN when not known */
        GuestFact pvgrub_loadable; /* pvgrub2 can boot it as it is (kp_format_pvgrub_can_load) */
        GuestFact pvh_ready;     /* the decompressed kernel has XEN_ELFNOTE_PHYS32_ENTRY (from the cache) */
        uint64_t last_scan_usec; /* CLOCK_REALTIME, the last scan that finished, ok or not; 0: none known */
        KpDiskState *state;      /* the record, for Show; NULL when there is none */
} GuestView;

#define GUEST_VIEW_INIT { .pvgrub_loadable = GUEST_FACT_UNKNOWN, .pvh_ready = GUEST_FACT_UNKNOWN }

/* Fills ret for g. -ENOMEM only: whatever cannot be known is left unknown. */
int guest_view(Manager *m, Guest *g, GuestView *ret);
void guest_view_done(GuestView *v);

/* "yes", "no", NULL. */
const char *guest_fact_to_string(GuestFact f);
