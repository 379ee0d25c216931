/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Running kunpack-scan (or any helper) under a deadline. The cold path
 * runs in its own process so that the hot one never maps libguestfs (it
 * costs about 14 MiB of RSS just to link), and so that a hung appliance
 * dies with the process that started it: the helper runs in a process
 * group of its own, and when the deadline passes, or the caller is told
 * to stop (SIGTERM from libxl when the domain dies), the whole group is
 * killed, qemu included.
 */

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "kunpack.h"
#include "util/macro.h"

/* What is kept of the helper's standard output: the summary of a scan of many disks fits. */
#define KP_HELPER_MAX_OUTPUT (1024 * 1024)
/* What is kept of its standard error: the end, where the reason for a failure is. */
#define KP_HELPER_STDERR_TAIL 4096

/*
 * The program kunpack-boot runs for the cold path: kunpack-scan in the
 * directory of the running executable (as installed, /usr/libexec/kunpack,
 * and in a build tree, tools/), else in KP_LIBEXECDIR.
 */
int kp_scan_helper_path(KpError *error, char **ret);

typedef struct KpHelperRun {
        int status;                /* exit code; 128 + signal when killed by one */
        bool timed_out;            /* killed at the deadline */
        char *out;                 /* standard output, NUL-terminated, at most KP_HELPER_MAX_OUTPUT */
        bool out_truncated;
        char *err;                 /* the last KP_HELPER_STDERR_TAIL bytes of standard error */
} KpHelperRun;

void kp_helper_run_done(KpHelperRun *r);

/*
 * Runs argv (argv[0] an absolute path) with standard input from /dev/null
 * and both outputs captured, until it exits or deadline_usec
 * (CLOCK_MONOTONIC) passes; then its process group is killed (SIGKILL)
 * and reaped, and ret->timed_out set. The signals in stop (blocked by the
 * caller; may be NULL) end the wait the same way, with -EINTR. Returns 0
 * once the helper is reaped, whatever its exit status.
 */
int kp_helper_run(char *const argv[], uint64_t deadline_usec, const sigset_t *stop, KpError *error,
                  KpHelperRun *ret);
