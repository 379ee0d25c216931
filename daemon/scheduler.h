/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The scan queue (scheduler.c): which disk is scanned next, its waiters,
 * and what becomes of a disk when its scan ends.
 */

#include "daemon/manager.h"

void scheduler_enqueue(Disk *d, ScanPriority priority);
/* The same for a disk whose next start would not be served at once; returns 1 when it queued it. */
int scheduler_enqueue_if_stale(Disk *d, ScanPriority priority);
/*
 * A look that found the disk's record or cache entry damaged (and removed
 * it; prepare.h's damaged): queues a background rescan, so that the next
 * start is hot again, unless a domain uses the disk (it keeps to its
 * schedule) or a scan is queued or running already; and so for every other
 * idle disk no longer fresh (they shared the entry). Returns 1 when it
 * queued d.
 */
int scheduler_enqueue_damaged(Disk *d, const char *why);
/*
 * After a damaged cache entry was removed: scans d if it is idle, its last
 * scan succeeded and it is now stale (1). A disk whose last scan failed
 * keeps its own schedule: the removed entry is no news to it.
 */
int scheduler_enqueue_after_damage(Disk *d);
void scheduler_stop_all(Manager *m);
size_t scheduler_count(Manager *m, DiskScanState state);
void disk_add_waiter(Disk *d, Waiter *w);
void waiter_free(Waiter *w);
void disk_mark_changed(Disk *d, const char *why);

void scheduler_disk_finished(Disk *d, int error, const char *message, const char *kernel_sha256);
void scheduler_disk_requeue(Disk *d);
void scheduler_disk_progress(Disk *d, const char *step, unsigned percent);
void disk_remove_waiter(Disk *d, Waiter *w);
