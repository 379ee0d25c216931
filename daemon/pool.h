/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The pool of pre-booted, single-use appliances (docs/pool.md):
 * appliance_pool runs of `kunpack-scan --pool-worker`, each booting an
 * appliance with no guest disk at a low CPU priority and then waiting. A
 * scan takes a ready one (worker_start()), which attaches that one guest's
 * disks, scans, and exits with its appliance; another one boots in its
 * place. An idle one older than pool_max_age is replaced; one that dies is
 * replaced with a log line, after a pause that grows while launches keep
 * failing; one whose libguestfs or qemu cannot attach disks later turns the
 * pool off until the next reload.
 *
 * At most scan_concurrency scans and appliance_pool pooled appliances run
 * at once: kunpackd.service's MemoryMax is sized for their sum.
 */

#include <yajl/yajl_gen.h>

#include "daemon/manager.h"

/* A boot that takes this long has failed (the run's own limit is 300 s): it is stopped. */
#define KP_POOL_BOOT_TIMEOUT_USEC (330 * USEC_PER_SEC)
/* After a failed launch the next waits this long, doubling with each failure in a row, up to the maximum. */
#define KP_POOL_RETRY_USEC (10 * USEC_PER_SEC)
#define KP_POOL_RETRY_MAX_USEC (600 * USEC_PER_SEC)

/*
 * Boots pooled appliances until appliance_pool are booting or ready; not
 * while scans are queued (they go first), while stopping, while the pool
 * is off or backing off after failures.
 */
void pool_refill(Manager *m);

/* The oldest ready pooled run, out of the pool (the caller hands it a request or gives it back); NULL if none. */
Worker *pool_take(Manager *m);
/* A run pool_take() gave that could not be handed its request: back in the pool's list. */
void pool_give_back(Worker *w);

/* Stops a pooled run (it exits with its appliance) and lets the pool boot another; why: for the log. */
void pool_recycle(Worker *w, const char *why);

/* The pooled run's timer: its boot took too long, or it has waited pool_max_age. */
void pool_worker_expired(Worker *w);

/* A pooled run exited (on_worker_exit()): logged, counted, replaced. Frees it. */
void pool_worker_exited(Worker *w, const siginfo_t *si);

/* Stops every pooled run (kunpackd stops). */
void pool_stop_all(Manager *m);

/* Settings were reloaded: runs started with the old ones are replaced, and the pool resized. */
void pool_reload(Manager *m);

/* "appliance_pool": {"size", "ready", "booting", ...} for Status. */
void pool_status_json(Manager *m, yajl_gen g);
