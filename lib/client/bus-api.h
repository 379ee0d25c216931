/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * kunpackd's control API: names shared by the daemon, kunpackctl and
 * kunpack-boot. The API is D-Bus in peer-to-peer mode on a unix socket
 * (no bus daemon): `busctl --address=unix:path=/run/kunpack/kunpackd.sock
 * introspect org.kunpack.Manager1 /org/kunpack/Manager` shows it, and
 * man/kunpackd.8 documents every method. Only root may call it.
 *
 * Methods of org.kunpack.Manager1 at /org/kunpack/Manager:
 *
 *   Prepare(a(ss) disks, s entry, s mode, s kernel, s ramdisk, s args,
 *           s output_directory, t timeout_usec, t flags, u domid)
 *       → (s kernel, s ramdisk, s args, b hot, s guest_kernel, s kernel_sha256, s detail)
 *   Rescan(as guests, t flags) → (a(ssis) results: guest, disk, errno, message)
 *   List() → (a(sssbsssssiit) guests: name, disk, origin, autostart, status, reason, kernel,
 *             kernel_version, format, pvgrub_loadable, pvh_ready (1, 0, -1 unknown), last_scan_usec)
 *   Show(s guest) → (s json)
 *   GC(t flags) → (t removed, t removed_bytes, t kept, t kept_bytes)
 *   Verify() → (t checked, t damaged, as report)
 *   Status() → (s json)
 *   Metrics() → (s text: Prometheus's text exposition format)
 *
 * Signals: ScanProgress(s guest, s disk, s step, u percent, u left),
 *          ScanFinished(s guest, s disk, i errno, s message),
 *          PrepareWaiting(s disk, s why): to a Prepare caller alone, when its
 *          start waits for a scan (a cold start), before the scan.
 */

/*
 * Every name a call needs. Peer to peer there is no bus, so no bus name
 * to address: kunpackctl and kunpack-boot name no destination, and the
 * daemon does not look at one (busctl insists on a destination argument;
 * the interface name does, as in the examples above).
 */
#define KP_BUS_INTERFACE "org.kunpack.Manager1"
#define KP_BUS_PATH "/org/kunpack/Manager"

/* Errors the daemon returns besides errno-mapped ones (org.freedesktop.DBus.Error.*). */
#define KP_BUS_ERROR_ACCESS_DENIED "org.kunpack.Error.AccessDenied"   /* caller is not root */
#define KP_BUS_ERROR_NO_SUCH_GUEST "org.kunpack.Error.NoSuchGuest"
#define KP_BUS_ERROR_SCAN_FAILED "org.kunpack.Error.ScanFailed"       /* the scan ran and failed: see message */
#define KP_BUS_ERROR_NOT_SUPPORTED "org.kunpack.Error.NotSupported"   /* ask kunpack-boot to do it in-process */
#define KP_BUS_ERROR_TIMEOUT "org.kunpack.Error.Timeout"              /* the caller's deadline passed */
#define KP_BUS_ERROR_SHUTTING_DOWN "org.kunpack.Error.ShuttingDown"

/* Prepare flags. */
#define KP_PREPARE_DRY_RUN (UINT64_C(1) << 0)   /* say what would be booted, hot or cold; publish nothing, scan nothing */

/* Rescan flags. */
#define KP_RESCAN_ALL (UINT64_C(1) << 0)        /* every known guest; the guest list is then empty */
#define KP_RESCAN_WAIT (UINT64_C(1) << 1)       /* reply when every scan asked for has finished */

/* GC flags. */
#define KP_GC_DRY_RUN (UINT64_C(1) << 0)
