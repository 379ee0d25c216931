/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "boot/pool-protocol.h"
#include "daemon/pool.h"
#include "daemon/scheduler.h"
#include "daemon/worker.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/time-util.h"

/* Pooled runs we have not asked to stop: what the pool counts against appliance_pool. */
static unsigned pool_live(Manager *m)
{
        unsigned n = 0;

        KP_LIST_FOREACH(workers, w, m->pool)
                if (!w->terminated)
                        n++;
        return n;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;

        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        pool_refill(m);
        manager_update_status(m);
        return 0;
}

static bool retry_pending(Manager *m)
{
        int enabled = SD_EVENT_OFF;

        return m->pool_retry && sd_event_source_get_enabled(m->pool_retry, &enabled) >= 0 && enabled != SD_EVENT_OFF;
}

/* Another failure in a row: the next launch waits 10 s, 20 s, 40 s ... up to 10 minutes. */
static void back_off(Manager *m)
{
        uint64_t delay = KP_POOL_RETRY_USEC;

        m->pool_failures++;
        for (unsigned i = 1; i < m->pool_failures && delay < KP_POOL_RETRY_MAX_USEC; i++)
                delay *= 2;
        delay = MIN(delay, KP_POOL_RETRY_MAX_USEC);
        if (!m->pool_retry) {
                if (sd_event_add_time_relative(m->event, &m->pool_retry, CLOCK_MONOTONIC, delay, USEC_PER_SEC, on_retry,
                                               m) < 0)
                        return;
        } else
                (void) sd_event_source_set_time_relative(m->pool_retry, delay);
        (void) sd_event_source_set_enabled(m->pool_retry, SD_EVENT_ONESHOT);
        log_info("next pooled appliance in %" PRIu64 " s (%u failed in a row)", delay / USEC_PER_SEC, m->pool_failures);
}

static int on_control(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Worker *w = userdata;
        Manager *m = w->manager;
        char buf[64];
        ssize_t n;

        n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n == (ssize_t) STRLEN(KP_POOL_READY) && memcmp(buf, KP_POOL_READY, STRLEN(KP_POOL_READY)) == 0 &&
            !w->ready) {
                uint64_t now = kp_now_usec(CLOCK_MONOTONIC);

                w->ready = true;
                w->ready_usec = now;
                m->pool_failures = 0;
                log_info("pooled appliance ready, pid %d, booted in %.1f s", (int) w->pid,
                         (double) (now - w->started_usec) / USEC_PER_SEC);
                /* It waits at most pool_max_age, then makes room for a younger one. */
                (void) sd_event_source_set_time_relative(w->timer, m->settings->pool_max_age * USEC_PER_SEC);
                (void) sd_event_source_set_enabled(w->timer, SD_EVENT_ONESHOT);
                manager_update_status(m);
                return 0;
        }
        /* End of file (it went: its exit says why) or anything else: not a pool worker to trust. */
        w->control_source = sd_event_source_disable_unref(w->control_source);
        if (n > 0)
                pool_recycle(w, "it said something other than \"" KP_POOL_READY "\"");
        return 0;
}

static int pool_spawn(Manager *m)
{
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_close_ int theirs = -EBADF;
        int sv[2], r;
        Worker *w;

        if (strv_extend(&argv, m->scan_program) < 0 ||
            (m->settings->path && kp_strv_extendf(&argv, "--config=%s", m->settings->path) < 0) ||
            strv_extend(&argv, "--pool-worker") < 0)
                return log_oom();
        /* Packets: a request is read whole or not at all (boot/pool-protocol.h). */
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return log_error_errno(-errno, "cannot make a socket for a pooled appliance: %m");
        theirs = sv[1];
        r = worker_spawn(m, argv, theirs, KP_POOL_BOOT_TIMEOUT_USEC, &w);
        if (r < 0) {
                safe_close(sv[0]);
                return r;
        }
        w->pooled = true;
        w->control_fd = sv[0];
        r = sd_event_add_io(m->event, &w->control_source, w->control_fd, EPOLLIN, on_control, w);
        KP_LIST_PREPEND(workers, m->pool, w);
        m->n_pool++;
        if (r < 0) {
                pool_recycle(w, "it cannot be followed");
                return log_error_errno(r, "cannot watch a pooled appliance: %s", strerror(-r));
        }
        log_debug("booting a pooled appliance, pid %d", (int) w->pid);
        return 0;
}

void pool_refill(Manager *m)
{
        /*
         * Not while scans wait in the queue: they take the free memory and
         * CPU first (a host's boot with many stale guests runs as without
         * a pool), and the pool boots once they are under way. dispatch()
         * calls this again when the queue is empty.
         */
        if (scheduler_count(m, DISK_QUEUED) > 0)
                return;
        while (!m->stopping && !m->pool_disabled && !retry_pending(m) &&
               pool_live(m) < m->settings->appliance_pool)
                if (pool_spawn(m) < 0) {
                        back_off(m);
                        break;
                }
}

Worker *pool_take(Manager *m)
{
        Worker *best = NULL;

        KP_LIST_FOREACH(workers, w, m->pool)
                if (w->ready && !w->terminated && (!best || w->ready_usec < best->ready_usec))
                        best = w;
        if (!best)
                return NULL;
        KP_LIST_REMOVE(workers, m->pool, best);
        m->n_pool--;
        return best;
}

void pool_give_back(Worker *w)
{
        Manager *m = w->manager;

        w->pooled = true;
        KP_LIST_PREPEND(workers, m->pool, w);
        m->n_pool++;
}

/* Asks a pooled run to go; the pool's refill is the caller's. */
static void recycle(Worker *w, const char *why)
{
        if (w->terminated)
                return;
        log_info("stopping pooled appliance (pid %d): %s", (int) w->pid, why);
        w->terminated = true;
        /* Its end of the socket reads end of file: it exits, and its appliance with it. */
        w->control_source = sd_event_source_disable_unref(w->control_source);
        w->control_fd = safe_close(w->control_fd);
        (void) kill(-w->pid, SIGTERM);
        (void) sd_event_source_set_time_relative(w->timer, KP_WORKER_KILL_GRACE_USEC);
        (void) sd_event_source_set_enabled(w->timer, SD_EVENT_ONESHOT);
}

void pool_recycle(Worker *w, const char *why)
{
        Manager *m = w->manager;

        recycle(w, why);
        pool_refill(m);
        manager_update_status(m);
}

void pool_worker_expired(Worker *w)
{
        Manager *m = w->manager;

        if (!w->ready) {
                log_warning("pooled appliance (pid %d) did not boot within %" PRIu64 " s", (int) w->pid,
                            KP_POOL_BOOT_TIMEOUT_USEC / USEC_PER_SEC);
                back_off(m);
                pool_recycle(w, "its boot took too long");
                return;
        }
        m->pool_recycled++;
        /* dom0's updates of qemu, libguestfs or the kernel reach the pool this way. */
        pool_recycle(w, "it reached pool_max_age");
}

void pool_worker_exited(Worker *w, const siginfo_t *si)
{
        Manager *m = w->manager;
        char status[64];

        KP_LIST_REMOVE(workers, m->pool, w);
        m->n_pool--;
        if (si->si_code == CLD_EXITED)
                (void) snprintf(status, sizeof(status), "exited with status %d", si->si_status);
        else
                (void) snprintf(status, sizeof(status), "killed by SIG%s",
                                sigabbrev_np(si->si_status) ? sigabbrev_np(si->si_status) : "?");

        if (w->terminated)
                log_debug("pooled appliance (pid %d) stopped: %s", (int) w->pid, status);
        else if (si->si_code == CLD_EXITED && si->si_status == KP_POOL_EXIT_UNSUPPORTED) {
                free(m->pool_disabled);
                m->pool_disabled = strdup("this libguestfs or qemu cannot attach disks to a running appliance");
                log_error("the appliance pool is off until kunpackd reloads: %s (the scan program said why just "
                          "before; docs/pool.md)", m->pool_disabled ?: "?");
        } else {
                m->pool_died++;
                /* A death is a failure too: a pool whose appliances keep dying backs off as one that cannot boot. */
                log_warning("pooled appliance (pid %d) %s: %s; another one replaces it", (int) w->pid,
                            w->ready ? "died while it waited" : "failed to boot", status);
                back_off(m);
        }
        worker_free(w);
        manager_exit_if_idle(m);
        pool_refill(m);
        manager_update_status(m);
}

void pool_stop_all(Manager *m)
{
        KP_LIST_FOREACH(workers, w, m->pool)
                recycle(w, "kunpackd stops");
}

void pool_reload(Manager *m)
{
        /* Booted with the old settings (appliance_memsize, appliance_pool, the config itself): replaced. */
        KP_LIST_FOREACH(workers, w, m->pool)
                recycle(w, "the settings were reloaded");
        m->pool_disabled = mfree(m->pool_disabled);
        m->pool_failures = 0;
        if (m->pool_retry)
                (void) sd_event_source_set_enabled(m->pool_retry, SD_EVENT_OFF);
        pool_refill(m);
}

void pool_status_json(Manager *m, yajl_gen g)
{
        uint64_t now = kp_now_usec(CLOCK_MONOTONIC);
        unsigned ready = 0, booting = 0;

        KP_LIST_FOREACH(workers, w, m->pool)
                if (!w->terminated) {
                        if (w->ready)
                                ready++;
                        else
                                booting++;
                }
        kp_json_key(g, "appliance_pool");
        yajl_gen_map_open(g);
        kp_json_kv_uint(g, "size", m->settings->appliance_pool);
        kp_json_kv_uint(g, "ready", ready);
        kp_json_kv_uint(g, "booting", booting);
        kp_json_kv_uint(g, "max_age", m->settings->pool_max_age);
        kp_json_kv_uint(g, "taken", m->pool_taken);
        kp_json_kv_uint(g, "recycled", m->pool_recycled);
        kp_json_kv_uint(g, "died", m->pool_died);
        kp_json_kv_string(g, "disabled", m->pool_disabled);
        kp_json_key(g, "appliances");
        yajl_gen_array_open(g);
        KP_LIST_FOREACH(workers, w, m->pool)
                if (!w->terminated) {
                        yajl_gen_map_open(g);
                        kp_json_kv_uint(g, "pid", (uint64_t) w->pid);
                        kp_json_kv_bool(g, "ready", w->ready);
                        kp_json_kv_uint(g, "seconds", (now - (w->ready ? w->ready_usec : w->started_usec)) /
                                                              USEC_PER_SEC);
                        yajl_gen_map_close(g);
                }
        yajl_gen_array_close(g);
        yajl_gen_map_close(g);
}
