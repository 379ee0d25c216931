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
 *         switch (kp_client_prepare(settings->socket_path, &req, &error, &reply)) { ... }
 *
 * and on KP_CLIENT_ANSWERED writes reply.kernel, reply.ramdisk, reply.args
 * to libxl. The daemon, root like kunpack-boot, has already published the
 * kernel and ramdisk as new names inside output_directory. On
 * KP_CLIENT_NO_DAEMON, KP_CLIENT_LOST and KP_CLIENT_DECLINED the caller
 * does the work in-process; on KP_CLIENT_REFUSED and KP_CLIENT_FAILED its
 * on_failure policy applies. On KP_CLIENT_UNTRUSTED (the socket is not
 * root's) nothing was asked and the caller does the work too. The caller
 * still checks what an answer names before it hands it on: every path
 * inside output_directory (kunpack-boot does).
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
        /*
         * The domain being built (from libxl's --output name), 0 when not
         * known: the daemon then finds the image behind a /dev/xvdX that
         * libxl attached to dom0 for a qcow2 disk (lib/xl/attach.h).
         */
        uint32_t domid;
        /*
         * Called while the call waits, when the daemon says this start
         * waits for a scan of disk (a cold start), and why: the caller can
         * tell its own log before the 10-30 s pass. NULL: not told.
         */
        void (*on_waiting)(const char *disk, const char *why, void *userdata);
        void *userdata;
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
 * What became of a call to the daemon: what a caller branches on. The
 * errnos behind it overlap across layers (-ENOENT is "no socket" from a
 * connect and "no such file" in a daemon's answer, and sd-bus reports a
 * connection lost mid-call as an error reply of its own), so only
 * lib/client reads them.
 */
typedef enum KpClientOutcome {
        /* The daemon answered with a result. */
        KP_CLIENT_ANSWERED,
        /* Nobody listens on the socket: none there, or one left by a daemon that died. */
        KP_CLIENT_NO_DAEMON,
        /* The daemon went away (a restart, a crash), or began to stop, before it answered. */
        KP_CLIENT_LOST,
        /* The daemon leaves this request to the caller (--kernel=, a mode it does not serve). */
        KP_CLIENT_DECLINED,
        /* The daemon refused the caller (not root), or its socket did (mode 0600). */
        KP_CLIENT_REFUSED,
        /*
         * The daemon's answer is a failure (nothing bootable, the scan
         * failed, its deadline passed), or the call could not be made
         * (out of memory, a bad socket path).
         */
        KP_CLIENT_FAILED,
        /*
         * The process that listens on the socket is not root (SO_PEERCRED):
         * not kunpackd, whatever it says. Nothing was asked; the caller does
         * the work itself, as without a daemon, and says so.
         */
        KP_CLIENT_UNTRUSTED,
        _KP_CLIENT_OUTCOME_MAX,
} KpClientOutcome;

/*
 * Calls Prepare on the daemon at socket_path and waits for its answer, at
 * most timeout_usec plus a second for the round trip. Returns
 * KP_CLIENT_ANSWERED and fills ret; any other outcome leaves ret alone and
 * says why in error (error->code the errno, for the journal).
 */
KpClientOutcome kp_client_prepare(const char *socket_path, const KpPrepareRequest *req, KpError *error,
                                  KpPrepareReply *ret);

/*
 * The same call on a connection the caller opened with kp_client_connect()
 * (and still owns), for a caller that asks the daemon something else
 * first: never KP_CLIENT_NO_DAEMON.
 */
KpClientOutcome kp_client_prepare_on(sd_bus *bus, const KpPrepareRequest *req, KpError *error,
                                     KpPrepareReply *ret);

/* ---- shared with kunpackctl ---------------------------------------------------------------------- */

/*
 * Opens a peer-to-peer connection to the daemon at socket_path (no bus
 * daemon, no Hello). Returns 0, or a negative errno with a message for the
 * admin in error ("kunpackd is not running (PATH: REASON)" when nobody
 * listens there; -EPERM when the listener is not root: kunpackd runs as
 * root, so anything else on its socket is an impostor).
 */
int kp_client_connect(const char *socket_path, KpError *error, sd_bus **ret);

/*
 * What a failed call on a connection means: r and e as sd_bus_call()
 * left them (e is set for the daemon's error answers and for sd-bus's own
 * failures alike). Never KP_CLIENT_ANSWERED, nor KP_CLIENT_NO_DAEMON.
 */
KpClientOutcome kp_client_call_outcome(int r, const sd_bus_error *e);
