/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The cold path: scan guests' disks in libguestfs appliances, bring the cache
 * up to date for what each one boots, and record it in the state store.
 * This is what kunpack-scan runs (for kunpack-boot, for kunpackd, and for
 * an admin), one process per scan.
 *
 * For each request, in a fixed order (so that two scans of overlapping
 * sets cannot deadlock):
 *
 *  1. lock the disk's state record (one scan per disk and request at a
 *     time; a second scan waits, within the deadline);
 *  2. unless forced: if the record is fresh and its files are cached,
 *     there is nothing to do (another scan just did it);
 *  3. take the disk's identity BEFORE inspecting, so that a write during
 *     the scan makes the record stale, and ask who uses the guest's disks
 *     (xl/inuse.h): a disk some domain or loop device has, before or
 *     after the inspection, gives a provisional record, never fresh;
 *  4. inspect (the boot configuration's choice, --entry, or a direct
 *     request), fetch into the cache what the selected entry needs and
 *     the cache lacks, and save the record.
 *
 * Each guest that needs it gets an appliance of its own, which holds
 * that guest's disks only and dies with its scan; none is started when
 * every record was fresh.
 *
 * grub-reboot's one-shot next_entry: kunpack never writes a guest's
 * grubenv, so GRUB's own clearing of next_entry never happens. A scan
 * that finds the same next_entry the previous record of this disk
 * selected treats it as consumed (the guest booted it once) and selects
 * what GRUB selects once it is cleared (docs/boot-path.md says where this
 * approximation can be wrong).
 */

#include <stdbool.h>
#include <stdint.h>

#include "boot/request.h"
#include "boot/scan-summary.h"
#include "guest/session.h"
#include "store/cache.h"
#include "store/state.h"

/* Appliances one scan runs at once: kunpack.conf's scan_concurrency has the same bound. */
#define KP_SCAN_MAX_CONCURRENCY 64

typedef struct KpScanOptions {
        uint64_t deadline;         /* CLOCK_MONOTONIC µs after which everything stops; 0: none */
        bool force;                /* rescan even a fresh record */
        bool trust_foreign;        /* kunpack.conf trust_foreign_plans, for the freshness check */
        uint64_t max_kernel_size;  /* decompressed kernels larger than this are refused; 0: Xen's 1 GiB */
        uint64_t max_guest_size;   /* kunpack.conf cache_max_guest_size (fetch.h); 0: no share */
        unsigned smp;              /* appliance vCPUs; 0: libguestfs's default */
        unsigned memsize_mib;      /* appliance memory; 0: KP_APPLIANCE_DEFAULT_MEMSIZE_MIB */
        unsigned concurrency;      /* appliances at once (one per guest); 0: 1 */
        /*
         * A pooled appliance (kp_guest_session_launch_pooled(), docs/pool.md),
         * booted before this scan: the first guest that needs an appliance
         * is attached to it and scanned there, the others launch their own.
         * It takes that one guest only, ever; the caller frees it (and
         * should not use it again: kunpack-scan exits). NULL: none.
         */
        KpGuestSession *pooled;
        /* The stages of a guest's appliance; index as for on_step. Called from the guest's thread. */
        void (*progress)(size_t index, KpGuestStage stage, unsigned percent, void *userdata);
        /*
         * Each guest's steps: "waiting" (for another scan's lock),
         * "inspecting", "fetching", "done", "failed"; index is the guest's
         * position in the array given to kp_boot_scan(). Called from the
         * thread scanning that guest, so several at once: keep it short
         * and thread-safe.
         */
        void (*on_step)(size_t index, const char *step, void *userdata);
        void *userdata;
} KpScanOptions;

/*
 * One guest to scan: the request, whose disk keys the state record and is
 * the guest's first disk (GRUB's hd0, the one libxl hands the
 * bootloader), and the guest's other disks in their order (a separate
 * /boot, LVM physical volumes), attached to the same appliance.
 */
typedef struct KpScanGuest {
        KpBootRequest request;
        KpDiskFormat format;       /* of request.disk: raw, as libxl hands it to the bootloader, unless known */
        KpDiskSpec *more_disks;
        size_t n_more_disks;
} KpScanGuest;

void kp_scan_guest_done(KpScanGuest *g);

/*
 * Scans the n guests, each in an appliance of its own (docs/isolation.md),
 * up to options->concurrency at once, and fills results[i] for each
 * (status, error, record). Returns 0 when every guest has its result
 * (failed ones included), a negative errno only when nothing could be
 * tried (out of memory). ret_launches: appliances booted (0 when every
 * record was fresh; a pooled appliance that was used counts as one).
 */
int kp_boot_scan(KpCache *cache, KpStateStore *state, const KpScanGuest *guests, size_t n,
                 const KpScanOptions *options, KpError *error, KpScanResult *results, unsigned *ret_launches);
