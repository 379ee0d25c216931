/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The thread re-hashes the cache through a KpCache of its own (the loop's
 * may be replaced by a reload meanwhile) and touches nothing else of the
 * daemon: no sd-bus, no sd-event, no logging. When it is done it writes an
 * eventfd the loop watches; the loop then joins it, logs what it found,
 * schedules rescans and answers the calls. The hot path runs alongside it
 * unchanged: an entry the thread removes as damaged is one the hot path
 * would have refused too, and one removed under it is a cache miss.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "daemon/bus.h"
#include "daemon/registry.h"
#include "daemon/scheduler.h"
#include "daemon/verify.h"
#include "store/cache.h"
#include "util/error.h"
#include "util/grow.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/time-util.h"

/* Calls one run answers: far more than anyone sends; each is a root caller's. */
#define KP_VERIFY_MAX_CALLS 64

struct VerifyRun {
        Manager *manager;
        KpCache *cache;
        pthread_t thread;
        int done_fd;
        sd_event_source *done_source;
        atomic_bool cancel;
        sd_bus_message **calls;
        size_t n_calls;
        uint64_t started_usec;         /* CLOCK_MONOTONIC */

        /* Written by the thread, read by the loop once it is joined. */
        int result;
        KpError error;
        KpCacheVerifyStats stats;
        char **report;
};

static VerifyRun *verify_run_free(VerifyRun *v)
{
        if (!v)
                return NULL;
        sd_event_source_disable_unref(v->done_source);
        safe_close(v->done_fd);
        for (size_t i = 0; i < v->n_calls; i++)
                sd_bus_message_unref(v->calls[i]);
        free(v->calls);
        strv_free(v->report);
        kp_cache_free(v->cache);
        free(v);
        return NULL;
}

static void *verify_thread(void *userdata)
{
        VerifyRun *v = userdata;
        uint64_t one = 1;

        v->result = kp_cache_verify_cancellable(v->cache, &v->cancel, &v->error, &v->stats, &v->report);
        /* An eventfd write of 1 fails only on a counter near 2^64: a bug; without it the loop would wait forever. */
        if (write(v->done_fd, &one, sizeof(one)) != sizeof(one))
                abort();
        return NULL;
}

static int reply(sd_bus_message *call, const VerifyRun *v)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *r = NULL;
        int k;

        if (v->result < 0)
                return bus_reply_errno(call, v->result, kp_error_message(&v->error, v->result));
        k = sd_bus_message_new_method_return(call, &r);
        if (k >= 0)
                k = sd_bus_message_append(r, "tt", (uint64_t) v->stats.checked, (uint64_t) v->stats.damaged);
        if (k >= 0)
                k = sd_bus_message_append_strv(r, v->report);
        if (k >= 0)
                k = sd_bus_send(NULL, r, NULL);
        return k;
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        VerifyRun *v = userdata;
        Manager *m = v->manager;

        (void) pthread_join(v->thread, NULL);
        m->verify = NULL;

        if (v->result < 0)
                log_error_errno(v->result, "cache verify failed: %s", kp_error_message(&v->error, v->result));
        else
                log_info("cache verify: %zu entries checked, %zu damaged and removed, in %.1f s", v->stats.checked,
                         v->stats.damaged,
                         (double) (kp_now_usec(CLOCK_MONOTONIC) - v->started_usec) / USEC_PER_SEC);
        STRV_FOREACH(line, v->report)
                log_warning("cache verify: %s", *line);

        /*
         * A guest whose kernel or initrd was just removed would start cold:
         * scan every idle disk that is no longer fresh now, in the
         * background, as at startup. (Which disks were fresh before cannot
         * be asked without side effects: the hot path's own check already
         * removes an entry written since it was sealed.) Disks of running
         * domains, and disks whose last scan failed, keep to their schedule.
         */
        for (Disk *d = m->disks; v->stats.damaged > 0 && !m->stopping && d; d = d->disks_next)
                if (scheduler_enqueue_after_damage(d) > 0)
                        log_disk_event(LOG_NOTICE, 0, NULL, m, d, NULL,
                                       "%s is not fresh after the cache verify: scanning it again",
                                       disk_display_name(m, d));

        for (size_t i = 0; i < v->n_calls; i++)
                (void) reply(v->calls[i], v);
        verify_run_free(v);
        return 0;
}

static int add_call(VerifyRun *v, sd_bus_message *call)
{
        sd_bus_message **n;

        if (v->n_calls >= KP_VERIFY_MAX_CALLS)
                return -EBUSY;
        n = kp_grow(v->calls, v->n_calls, sizeof(sd_bus_message *));
        if (!n)
                return -ENOMEM;
        v->calls = n;
        v->calls[v->n_calls++] = sd_bus_message_ref(call);
        return 0;
}

int verify_start(Manager *m, sd_bus_message *call)
{
        VerifyRun *v;
        KpError error = {};
        int r;

        if (m->verify) {
                r = add_call(m->verify, call);
                if (r < 0)
                        return bus_reply_errno(call, r, "too many Verify calls wait for the run in progress");
                return 1;
        }

        v = calloc(1, sizeof(VerifyRun));
        if (!v)
                return -ENOMEM;
        v->manager = m;
        v->done_fd = -EBADF;
        atomic_init(&v->cancel, false);
        v->started_usec = kp_now_usec(CLOCK_MONOTONIC);
        r = kp_cache_open(kp_cache_path(m->cache), &error, &v->cache);
        if (r < 0) {
                verify_run_free(v);
                return bus_reply_errno(call, r, kp_error_message(&error, r));
        }
        v->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (v->done_fd < 0) {
                r = negative_errno();
                verify_run_free(v);
                return r;
        }
        r = sd_event_add_io(m->event, &v->done_source, v->done_fd, EPOLLIN, on_done, v);
        if (r >= 0)
                r = add_call(v, call);
        if (r >= 0)
                r = -pthread_create(&v->thread, NULL, verify_thread, v);
        if (r < 0) {
                verify_run_free(v);
                return r;
        }
        m->verify = v;
        log_info("cache verify started in the background");
        return 1;
}

void verify_stop(Manager *m)
{
        VerifyRun *v = m->verify;

        if (!v)
                return;
        /* It stops between two entries: at most one more kernel is hashed (Xen's ceiling is 1 GiB). */
        atomic_store(&v->cancel, true);
        (void) pthread_join(v->thread, NULL);
        m->verify = NULL;
        for (size_t i = 0; i < v->n_calls; i++)
                (void) bus_reply_errno(v->calls[i], -ESHUTDOWN, "kunpackd is stopping");
        verify_run_free(v);
}

bool verify_running(const Manager *m)
{
        return m->verify != NULL;
}
