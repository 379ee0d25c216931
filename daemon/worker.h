/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A run of the scan program (kunpack-scan) over a batch of disks, in a
 * child process of its own process group: stopping it (SIGTERM, then
 * SIGKILL) takes the appliance's qemu along, and the state records it
 * writes appear atomically, so a stopped scan leaves each disk's record as
 * it was before. Its JSON summary (boot/scan-summary.h) says how each disk
 * fared; its progress lines say what it is doing.
 */

#include "daemon/manager.h"

/* A background run gets this long, plus KP_WORKER_TIMEOUT_PER_DISK_USEC per disk, before it is killed. */
#define KP_WORKER_TIMEOUT_BASE_USEC (300 * USEC_PER_SEC)
#define KP_WORKER_TIMEOUT_PER_DISK_USEC (30 * USEC_PER_SEC)
/* After SIGTERM, a run has this long to go before SIGKILL. */
#define KP_WORKER_KILL_GRACE_USEC (5 * USEC_PER_SEC)
/* Progress lines longer than this are not progress lines. */
#define KP_WORKER_MAX_PROGRESS_LINE 4096

int worker_start(Manager *m, Disk **disks, size_t n);
void worker_free(Worker *w);
/* Whether two disks can share a run: the scan program's request options apply to all its disks. */
bool worker_same_request(const Disk *a, const Disk *b);
/* Asks the run to stop; requeue: its disks go back to the queue instead of failing. */
void worker_terminate(Worker *w, bool requeue);
