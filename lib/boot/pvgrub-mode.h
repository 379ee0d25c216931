/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * pvgrub mode for one disk, as kunpack-boot, kunpack-scan and kunpackctl
 * run it (docs/pvgrub-mode.md). The guest-side work is lib/pvgrub/; this
 * adds what a start needs around it: the in-use check, the state record
 * that lets the next start skip the appliance, and its lock.
 *
 * The record is the disk's state with request "mode=pvgrub"; it is saved
 * after the appliance has shut down and the disk's identity is read then,
 * because kunpack's own writes change the image's mtime. It is fresh under
 * the same rules as a direct-mode record (state.h): any later write to the
 * image, by the guest or anyone, makes the next start look again.
 */

#include <stdbool.h>
#include <stdint.h>

#include "guest/diskspec.h"
#include "kunpack.h"
#include "pvgrub/pvgrub.h"
#include "store/state.h"

/* The request string of pvgrub mode's state record (no other request starts with "mode="). */
#define KP_PVGRUB_REQUEST "mode=pvgrub"

/*
 * The hot path, without an appliance: 1 when disk's pvgrub record says the
 * rewrite was done and the disk has not changed since, 0 otherwise (the
 * reason in ret_reason, if given), negative on errors reading the state.
 */
int kp_boot_pvgrub_fresh(KpStateStore *state, const char *disk, bool trust_foreign, KpError *error,
                         char **ret_reason);

typedef struct KpPvgrubRunOptions {
        uint64_t deadline;        /* CLOCK_MONOTONIC µs; 0: none */
        bool force;               /* look even when the record is fresh */
        bool trust_foreign;       /* kunpack.conf trust_foreign_plans */
        uint32_t exclude_domid;   /* the domain being built (libxl's bootloader run); UINT32_MAX: none */
        const char *tmp_dir;      /* host directory for downloads (the cache directory) */
        uint64_t tmp_min_free;    /* left free there (kunpack.conf cache_min_free) */
        uint64_t max_kernel_size; /* decompressed kernels larger than this are refused; 0: Xen's 1 GiB */
        unsigned smp;
        KpGuestProgressFunc progress;
        void *userdata;
} KpPvgrubRunOptions;

/*
 * Brings disk (a raw image or block device, as libxl hands it, or any
 * KpDiskSpec) to pvgrub mode: under the record's lock, unless the record
 * is fresh (ret_fresh true, nothing done): checks no domain uses the disk,
 * opens it writable in an appliance, inspects every entry, applies
 * kp_pvgrub_apply(), shuts the appliance down and saves the record.
 * state may be NULL (no record, no hot path next time).
 */
int kp_boot_pvgrub_run(KpStateStore *state, const KpDiskSpec *disk, const KpPvgrubRunOptions *options,
                       KpError *error, KpPvgrubReport *ret_report, bool *ret_fresh);

/*
 * Undoes pvgrub mode on disk (kp_pvgrub_revert()) after the same in-use
 * check, and drops its record. A guest kunpack never changed is not a
 * failure: 0, with the report's message saying so (changed false).
 */
int kp_boot_pvgrub_revert(KpStateStore *state, const KpDiskSpec *disk, const KpPvgrubRunOptions *options,
                          KpError *error, KpPvgrubReport *ret_report);

/* What kunpack changed in disk's guest, read-only (for kunpackctl show). -ENOENT: nothing. */
int kp_boot_pvgrub_show(const KpDiskSpec *disk, const KpPvgrubRunOptions *options, KpError *error,
                        char **ret_device, char **ret_manifest_path, KpPvgrubManifest **ret_manifest);
