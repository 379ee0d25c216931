/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Between kunpackd and a pooled kunpack-scan (`kunpack-scan --pool-worker`,
 * docs/pool.md): the worker boots an appliance with no guest disk, says
 * "ready", waits for one request, scans that one guest in it exactly as
 * `kunpack-scan ARGS...` would, and exits.
 *
 * The control channel is a SOCK_SEQPACKET socket, the worker's standard
 * input: each message is one packet, so nothing is ever read half or
 * joined to the next. Standard output carries the scan's JSON summary and
 * --progress-fd its progress lines, as for any run of kunpack-scan.
 *
 *   worker → daemon   "ready"                 the appliance is up and checked
 *   daemon → worker   "scan\0ARG\0ARG\0..."   kunpack-scan's arguments for one guest
 *
 * The daemon recycles an idle worker by closing its end: the worker exits
 * 0 and its appliance with it.
 */

#include <stddef.h>

/* The one message a worker sends. */
#define KP_POOL_READY "ready"

/* A request: far more than one guest's options need (an entry title, a domain config's path). */
#define KP_POOL_REQUEST_MAX (64 * 1024)
#define KP_POOL_REQUEST_MAX_ARGS 64

/* How a worker that never got a request ends, besides 0 (recycled) and a failed launch (1). */
#define KP_POOL_EXIT_UNSUPPORTED 3   /* this libguestfs or qemu cannot attach disks later: no pool */
#define KP_POOL_EXIT_DIED 4          /* its appliance died while it waited */

/* The CPU priority (nice) a worker boots at; back to 0 when it takes a request. */
#define KP_POOL_NICE 19

/* "scan\0" and args, each NUL-terminated, in one buffer; -E2BIG past the limits above. */
int kp_pool_request_encode(char *const *args, char **ret, size_t *ret_size);

/*
 * The arguments of a request (a NULL-terminated strv), refused with
 * -EBADMSG unless it is one: the prefix, every argument NUL-terminated,
 * none empty, within the limits.
 */
int kp_pool_request_decode(const char *msg, size_t size, char ***ret_args);
