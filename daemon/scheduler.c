/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The scan queue. A scan target (Disk) is idle, queued or running; callers
 * of a queued or running disk share its scan. Each queued disk is scanned
 * by a scan program run of its own (one appliance, holding that guest's
 * disks only: docs/isolation.md), at most scan_concurrency runs at once,
 * highest priority first and first come first served within a priority.
 * When every run is busy with background work and a domain start waits,
 * the youngest such run is stopped (its disk goes back to the queue) to
 * make room for the start.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "boot/scan-summary.h"
#include "daemon/bus-methods.h"
#include "daemon/bus-prepare.h"
#include "daemon/bus.h"
#include "daemon/manager.h"
#include "daemon/pool.h"
#include "daemon/registry.h"
#include "daemon/scheduler.h"
#include "daemon/worker.h"
#include "util/error.h"
#include "util/log.h"
#include "util/messages.h"
#include "util/time-util.h"

size_t scheduler_count(Manager *m, DiskScanState state)
{
        size_t n = 0;

        KP_LIST_FOREACH(disks, d, m->disks)
                if (d->scan == state)
                        n++;
        return n;
}

void waiter_free(Waiter *w)
{
        if (!w)
                return;
        sd_event_source_disable_unref(w->timer);
        sd_bus_message_unref(w->call);
        free(w->output_directory);
        free(w->args);
        free(w);
}

void disk_add_waiter(Disk *d, Waiter *w)
{
        w->disk = d;
        KP_LIST_PREPEND(waiters, d->waiters, w);
}

void disk_remove_waiter(Disk *d, Waiter *w)
{
        KP_LIST_FOREACH(waiters, x, d->waiters)
                if (x == w) {
                        KP_LIST_REMOVE(waiters, d->waiters, w);
                        return;
                }
}

static int set_step(Disk *d, const char *step, unsigned percent)
{
        char *s = strdup(step);

        if (!s)
                return -ENOMEM;
        free(d->step);
        d->step = s;
        d->percent = percent;
        return 0;
}

static int on_dispatch(sd_event_source *s, void *userdata);

/* Dispatching happens once per loop iteration, so that disks queued together are ordered by priority together. */
static void schedule_dispatch(Manager *m)
{
        if (m->stopping)
                return;
        if (m->dispatch) {
                (void) sd_event_source_set_enabled(m->dispatch, SD_EVENT_ONESHOT);
                return;
        }
        if (sd_event_add_defer(m->event, &m->dispatch, on_dispatch, m) >= 0)
                (void) sd_event_source_set_enabled(m->dispatch, SD_EVENT_ONESHOT);
}

void scheduler_enqueue(Disk *d, ScanPriority priority)
{
        Manager *m = d->manager;

        switch (d->scan) {
        case DISK_RUNNING:
                /* Shared: the running scan serves this caller too. A boot waits on it. */
                return;
        case DISK_QUEUED:
                if (priority > d->priority)
                        d->priority = priority;
                break;
        case DISK_IDLE:
                d->scan = DISK_QUEUED;
                d->priority = priority;
                d->queued_seq = ++m->queue_seq;
                (void) set_step(d, "queued", 0);
                break;
        }
        schedule_dispatch(m);
        manager_update_status(m);
}

int scheduler_enqueue_damaged(Disk *d, const char *why)
{
        Manager *m = d->manager;
        int r = 0;

        if (m->stopping)
                return 0;
        if (d->in_use == 0 && d->scan == DISK_IDLE) {
                log_disk_event(LOG_NOTICE, 0, NULL, m, d, NULL, "%s: %s: scanning it again", disk_display_name(m, d),
                               why);
                scheduler_enqueue(d, SCAN_PRIORITY_BACKGROUND);
                r = 1;
        }
        /*
         * A cache entry is shared by every disk that boots the same kernel;
         * the others now miss it: they are scanned too, as after a verify.
         */
        for (Disk *o = m->disks; o; o = o->disks_next)
                if (o != d && scheduler_enqueue_after_damage(o) > 0)
                        log_disk_event(LOG_NOTICE, 0, NULL, m, o, NULL,
                                       "%s is not fresh since a damaged cache entry was removed: scanning it again",
                                       disk_display_name(m, o));
        return r;
}

int scheduler_enqueue_after_damage(Disk *d)
{
        if (d->in_use > 0 || d->scan != DISK_IDLE || d->last_error < 0)
                return 0;
        return scheduler_enqueue_if_stale(d, SCAN_PRIORITY_BACKGROUND);
}

int scheduler_enqueue_if_stale(Disk *d, ScanPriority priority)
{
        Manager *m = d->manager;
        KpPrepared p = KP_PREPARED_INIT;
        KpPrepareOptions o = { .trust_foreign = m->settings->trust_foreign_plans, .vouched = disk_is_vouched(m, d) };
        KpError error = {};
        int r;

        r = kp_boot_prepare(m->cache, m->state, &d->request, &o, &error, &p);
        if (r >= 0 && p.outcome == KP_PREPARE_READY) {
                kp_prepared_done(&p);
                return 0;
        }
        kp_prepared_done(&p);
        scheduler_enqueue(d, priority);
        return 1;
}

void disk_mark_changed(Disk *d, const char *why)
{
        if (d->scan == DISK_RUNNING)
                d->rescan_after = true;
        if (!d->changed)
                log_disk_event(LOG_INFO, 0, KP_MESSAGE_DISK_CHANGED, d->manager, d, NULL, "%s: %s",
                               disk_display_name(d->manager, d), why);
        d->changed = true;
        d->vouched = false;
}

static int compare_queued(const void *a, const void *b)
{
        const Disk *x = *(Disk *const *) a, *y = *(Disk *const *) b;

        if (x->priority != y->priority)
                return x->priority > y->priority ? -1 : 1;
        return x->queued_seq < y->queued_seq ? -1 : x->queued_seq > y->queued_seq;
}

/* The youngest run that serves no waiting start or admin, to stop for a start that waits. */
static Worker *preemptible_worker(Manager *m)
{
        Worker *best = NULL;

        KP_LIST_FOREACH(workers, w, m->workers) {
                bool background = !w->terminated;
                for (size_t i = 0; background && i < w->n_disks; i++)
                        if (w->disks[i]->waiters || w->disks[i]->priority >= SCAN_PRIORITY_ADMIN)
                                background = false;
                if (background && (!best || w->started_usec > best->started_usec))
                        best = w;
        }
        return best;
}

static void dispatch(Manager *m)
{
        unsigned concurrency = m->settings->scan_concurrency;

        while (!m->stopping) {
                Disk *next = NULL;

                KP_LIST_FOREACH(disks, d, m->disks)
                        if (d->scan == DISK_QUEUED && (!next || compare_queued(&d, &next) < 0))
                                next = d;
                if (!next) {
                        /* Nothing waits: the pool may boot what it lacks (pool.c). */
                        pool_refill(m);
                        return;
                }

                if (m->n_workers >= concurrency) {
                        if (next->priority == SCAN_PRIORITY_BOOT) {
                                Worker *victim = preemptible_worker(m);
                                if (victim) {
                                        log_info("stopping a background scan of %s: a domain start waits",
                                                 disk_display_name(m, victim->disks[0]));
                                        worker_terminate(victim, true);
                                }
                        }
                        return;
                }

                /* Could not even start: the disk fails now rather than waiting forever. */
                if (worker_start(m, next) < 0)
                        scheduler_disk_finished(next, -EIO, "cannot start the scan program", NULL);
        }
}

static int on_dispatch(sd_event_source *s, void *userdata)
{
        dispatch(userdata);
        manager_update_status(userdata);
        return 0;
}

/*
 * A disk's scan ended (error 0: the state record is written). Wakes its
 * waiters: Prepare calls try the hot path again, Rescan calls collect the
 * result.
 */
/* How long the disk's scan ran: said in the journal, where the admin looks for a slow start. */
static double scan_seconds(const Disk *d)
{
        uint64_t now = kp_now_usec(CLOCK_MONOTONIC);

        return d->scan_started_usec > 0 && now > d->scan_started_usec
                       ? (double) (now - d->scan_started_usec) / USEC_PER_SEC
                       : 0.0;
}

void scheduler_disk_finished(Disk *d, int error, const char *message, const char *kernel_sha256)
{
        Manager *m = d->manager;
        Waiter *waiters;

        metrics_scan_finished(m, d, error);
        d->worker = NULL;
        d->scan = DISK_IDLE;
        d->last_error = error;
        free(d->last_message);
        d->last_message = message ? strdup(message) : NULL;
        d->last_scan_usec = kp_now_usec(CLOCK_REALTIME);
        (void) set_step(d, error < 0 ? "failed" : "done", 100);

        if (error < 0 && m->stopping)
                /* Abandoned on SIGTERM: not a failure of the disk; its record stays as it was. */
                log_disk_event(LOG_INFO, 0, NULL, m, d, NULL, "scan of %s abandoned", disk_display_name(m, d));
        else if (error < 0) {
                m->scans_failed++;
                log_disk_event(LOG_WARNING, error, KP_MESSAGE_SCAN_FAILED, m, d, NULL,
                               "scan of %s (%s) failed after %.1f s: %s", disk_display_name(m, d), d->request.disk,
                               scan_seconds(d), message ? message : strerror(-error));
        } else {
                m->scans_ok++;
                /*
                 * Vouching: the scan began with no domain on the disk and none
                 * started since (we follow every start), so until one does, a
                 * block device's plan may be served.
                 */
                d->vouched = manager_xen_running(m) && d->in_use == 0 && !d->rescan_after;
                log_disk_event(LOG_INFO, 0, KP_MESSAGE_SCAN_FINISHED, m, d, kernel_sha256, "scanned %s (%s) in %.1f s%s%s",
                               disk_display_name(m, d), d->request.disk, scan_seconds(d), message ? ": " : "",
                               message ? message : "");
        }
        bus_emit_finished(m, d);

        /* Waiters may re-queue the disk; take the list first. */
        waiters = d->waiters;
        d->waiters = NULL;
        while (waiters) {
                Waiter *w = waiters;
                waiters = w->waiters_next;
                w->waiters_next = w->waiters_prev = NULL;
                if (w->kind == WAITER_PREPARE) {
                        disk_add_waiter(d, w);
                        if (prepare_try_answer(w, true) != 0) {
                                disk_remove_waiter(d, w);
                                waiter_free(w);
                        }
                } else {
                        rescan_call_result(w->rescan, w->index, error, message);
                        waiter_free(w);
                }
        }

        if (d->rescan_after && !m->stopping) {
                d->rescan_after = false;
                scheduler_enqueue(d, SCAN_PRIORITY_BACKGROUND);
        }
        schedule_dispatch(m);
        manager_update_status(m);
        /* At startup, the last autostart guest's scan is what READY=1 waits for. */
        manager_startup_check(m);
}

/* The disks of a run that was stopped to make room go back to the queue, as they were. */
void scheduler_disk_requeue(Disk *d)
{
        d->worker = NULL;
        d->scan = DISK_IDLE;
        scheduler_enqueue(d, d->waiters ? SCAN_PRIORITY_BOOT : d->priority);
}

void scheduler_disk_progress(Disk *d, const char *step, unsigned percent)
{
        if (d->step && streq(d->step, step) && d->percent == percent)
                return;
        (void) set_step(d, step, percent);
        bus_emit_progress(d->manager, d);
        manager_update_status(d->manager);
}

void scheduler_stop_all(Manager *m)
{
        KP_LIST_FOREACH(disks, d, m->disks) {
                Waiter *waiters = d->waiters;

                if (d->scan == DISK_QUEUED) {
                        d->scan = DISK_IDLE;
                        (void) set_step(d, "idle", 0);
                }
                d->waiters = NULL;
                while (waiters) {
                        Waiter *w = waiters;
                        waiters = w->waiters_next;
                        if (w->kind == WAITER_PREPARE)
                                (void) bus_reply_errno(w->call, -ESHUTDOWN, "kunpackd is stopping");
                        else
                                rescan_call_result(w->rescan, w->index, -ESHUTDOWN, "kunpackd is stopping");
                        waiter_free(w);
                }
        }
        KP_LIST_FOREACH(workers, w, m->workers)
                worker_terminate(w, false);
}
