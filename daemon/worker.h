/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A run of the scan program (kunpack-scan) for one guest, whose appliance
 * holds that guest's disks only (docs/isolation.md), in a child process of
 * its own process group: stopping it (SIGTERM, then SIGKILL) takes the
 * appliance's qemu along, and the state record it writes appears
 * atomically, so a stopped scan leaves the disk's record as it was
 * before. Its JSON summary (boot/scan-summary.h) says how the disk fared;
 * its progress lines say what it is doing.
 */

#include "daemon/manager.h"

/* A background run gets this long, plus KP_WORKER_TIMEOUT_PER_DISK_USEC per disk, before it is killed. */
#define KP_WORKER_TIMEOUT_BASE_USEC (300 * USEC_PER_SEC)
#define KP_WORKER_TIMEOUT_PER_DISK_USEC (30 * USEC_PER_SEC)
/* After SIGTERM, a run has this long to go before SIGKILL. */
#define KP_WORKER_KILL_GRACE_USEC (5 * USEC_PER_SEC)
/* Progress lines longer than this are not progress lines. */
#define KP_WORKER_MAX_PROGRESS_LINE 4096

/*
 * Starts the scan of one guest: the disk d and the guest's other disks, in
 * a ready pooled appliance when there is one (pool.c), else in a run of the
 * scan program that launches an appliance of their own.
 */
int worker_start(Manager *m, Disk *d);

/*
 * Runs the scan program with argv in a process group of its own: in as its
 * standard input (-EBADF: /dev/null), its summary and progress followed,
 * its exit handled (on_worker_exit), stopped after timeout_usec. The run
 * is in no list yet: the caller puts it in m->workers or m->pool.
 */
int worker_spawn(Manager *m, char **argv, int in, uint64_t timeout_usec, Worker **ret);
void worker_free(Worker *w);
/* Asks the run to stop; requeue: its disks go back to the queue instead of failing. */
void worker_terminate(Worker *w, bool requeue);
