/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What a scan did, disk by disk: the result type of kp_boot_scan() (scan.h)
 * and the JSON summary `kunpack-scan --json` prints, which kunpack-boot and
 * kunpackd read back. The JSON shape is a contract:
 *
 * {
 *   "version": 1,
 *   "launches": 1,                  appliances booted (0 when every disk was fresh)
 *   "seconds": 14.2,
 *   "disks": [ {
 *       "disk": "/var/lib/xen/images/web1.img",   canonical path
 *       "request": "",              the state record's request (request.h)
 *       "status": "scanned",        "scanned", "fresh" (nothing to do) or "failed"
 *       "errno": null,              "ETIMEDOUT", "ENOSPC", ... when failed
 *       "error": null,              one line saying why, when failed
 *       "title": "Ubuntu",          the selected entry (null when failed)
 *       "reason": "default-index",
 *       "kernel": "/boot/vmlinuz-5.4.0-42-generic",
 *       "kernel_sha256": "...",     the guest's (compressed) kernel: the cache key
 *       "format": "lz4",
 *       "initrds": ["/boot/initrd.img-5.4.0-42-generic"],
 *       "cmdline": "root=UUID=... ro quiet splash vt.handoff=7",
 *       "next_entry_consumed": false,
 *       "fetched": 2,               files downloaded into the cache by this scan
 *       "provisional": null         who used the disk during the scan ("domain 5's vbd 51712 (/dev/vg/web1)"):
 *                                   the record is then never fresh (store/state.h)
 *   } ]
 * }
 */

#include <stdbool.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>

#include "kunpack.h"
#include "store/state.h"
#include "util/macro.h"

typedef enum KpScanStatus {
        KP_SCAN_SCANNED,           /* inspected; the state record and the cache are up to date */
        KP_SCAN_FRESH,             /* the record was fresh and its files cached: nothing done */
        KP_SCAN_FAILED,
        _KP_SCAN_STATUS_MAX,
} KpScanStatus;

const char *kp_scan_status_to_string(KpScanStatus s);
int kp_scan_status_from_string(const char *s, KpScanStatus *ret);

typedef struct KpScanResult {
        KpScanStatus status;
        int error;                 /* negative errno when failed */
        char message[KP_ERROR_MESSAGE_MAX];
        KpDiskState *state;        /* the record now in the state store (scanned or fresh) */
        bool next_entry_consumed;  /* a one-shot next_entry was treated as used (boot-path.md) */
        unsigned fetched;          /* kernels and initrds downloaded into the cache */
} KpScanResult;

void kp_scan_result_done(KpScanResult *r);

/* One disk's result as a JSON object (the shape above). */
void kp_scan_result_to_json(const KpScanResult *r, const char *disk, const char *request, yajl_gen g);

/* The whole summary. */
int kp_scan_summary_format(const KpScanResult *results, char *const *disks, char *const *requests, size_t n,
                           unsigned launches, double seconds, char **ret_text);

/* What a reader of the summary needs of one disk. */
typedef struct KpScanSummaryDisk {
        char *disk;
        char *request;
        KpScanStatus status;
        int error;                 /* negative errno (from the "errno" name), -EIO if unknown */
        char *message;
} KpScanSummaryDisk;

/* Reads a summary back (at most KP_SCAN_SUMMARY_MAX bytes). -EBADMSG if it is not one. */
#define KP_SCAN_SUMMARY_MAX (1024 * 1024)
int kp_scan_summary_parse(const char *text, KpError *error, KpScanSummaryDisk **ret_disks, size_t *ret_n,
                          unsigned *ret_launches);
KpScanSummaryDisk *kp_scan_summary_disks_free(KpScanSummaryDisk *d, size_t n);

/* "ENOSPC" for -ENOSPC; "EIO" when unknown. The inverse gives -EIO for unknown names. */
const char *kp_errno_name(int r);
int kp_errno_from_name(const char *name);
