/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The client side of kunpackd's Prepare call, for kunpack-boot (and
 * kunpackctl prepare). It needs nothing but libsystemd's sd-bus, so a
 * program on libxl's hot path can link it without libguestfs.
 *
 * kunpack-boot asks the daemon first:
 *
 *         KpPrepareRequest req = {
 *                 .disks = (const KpPrepareDisk[]) { { disk, "raw" } }, .n_disks = 1,
 *                 .mode = "direct", .args = libxl_args,
 *                 .output_directory = dir, .timeout_usec = boot_timeout,
 *         };
 *         KpPrepareReply reply = {};
 *         r = kp_client_prepare(config->socket_path, &req, &error, &reply);
 *
 * and on success writes reply.kernel, reply.ramdisk, reply.args to libxl.
 * The daemon, root like kunpack-boot, has already published the kernel
 * and ramdisk as new names inside output_directory. On -ECONNREFUSED or
 * -ENOENT (no daemon) or -EOPNOTSUPP (a request the daemon leaves to
 * kunpack-boot, such as --kernel= or pvgrub mode) the caller does the work
 * in-process; on any other failure its on_failure policy applies.
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "kunpack.h"

typedef struct KpPrepareDisk {
        const char *path;          /* image file or block device, as libxl passes it */
        const char *format;        /* "raw" or "qcow2"; NULL: raw */
} KpPrepareDisk;

typedef struct KpPrepareRequest {
        const KpPrepareDisk *disks;   /* the guest's disks, first = the one libxl passes */
        size_t n_disks;
        const char *entry;            /* --entry=, or NULL: what the guest's config selects */
        const char *mode;             /* "direct" (NULL) or "pvgrub" */
        const char *kernel;           /* libxl's --kernel=, --ramdisk=, --args=, or NULL */
        const char *ramdisk;
        const char *args;
        const char *output_directory; /* libxl's --output-directory=; NULL only with dry_run */
        uint64_t timeout_usec;        /* how long the daemon may take, cold path included (boot_timeout);
                                         0: the daemon's boot_timeout */
        bool dry_run;                 /* say what would boot, hot or cold; publish and scan nothing */
} KpPrepareRequest;

typedef struct KpPrepareReply {
        char *kernel;                 /* a new name inside output_directory (dry run: the cache file) */
        char *ramdisk;                /* likewise, or NULL when the entry has none */
        char *args;                   /* the entry's command line followed by libxl's --args */
        bool hot;                     /* served from a fresh plan without a scan */
        char *guest_kernel;           /* the kernel's path inside the guest */
        char *kernel_sha256;          /* the cache key: sha256 of the guest's compressed kernel */
        char *detail;                 /* hot: the entry's title; cold dry run: why a scan is needed */
} KpPrepareReply;

void kp_prepare_reply_done(KpPrepareReply *reply);

/*
 * Calls Prepare on the daemon at socket_path and waits for its answer, at
 * most timeout_usec plus a second for the round trip. Returns 0 and fills
 * ret, or a negative errno with the daemon's (or the connection's) reason
 * in error: -ENOENT / -ECONNREFUSED when no daemon listens, -EACCES when it
 * refused the caller, -EOPNOTSUPP for a request it leaves to the caller,
 * -ETIMEDOUT when the deadline passed, -EIO (with the scan's message) when
 * the guest could not be scanned.
 */
int kp_client_prepare(const char *socket_path, const KpPrepareRequest *req, KpError *error, KpPrepareReply *ret);

/*
 * The same call on a connection the caller opened with kp_client_connect()
 * (and still owns): a caller that reports "not running" itself tells the
 * connection's failures from the daemon's answers, since -ENOENT from here
 * is always the daemon's (say, nothing bootable).
 */
int kp_client_prepare_on(sd_bus *bus, const KpPrepareRequest *req, KpError *error, KpPrepareReply *ret);

/* ---- shared with kunpackctl ---------------------------------------------------------------------- */

/* Opens a peer-to-peer connection to the daemon at socket_path (no bus daemon, no Hello). */
int kp_client_connect(const char *socket_path, KpError *error, sd_bus **ret);

/* The errno a daemon error stands for (org.kunpack.Error.* and the standard D-Bus names). */
int kp_client_error_to_errno(const sd_bus_error *e);
