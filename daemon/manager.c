/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "daemon/bus.h"
#include "daemon/manager.h"
#include "daemon/pool.h"
#include "daemon/registry.h"
#include "daemon/scheduler.h"
#include "daemon/verify.h"
#include "daemon/watch.h"
#include "daemon/worker.h"
#include "daemon/xen.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/messages.h"
#include "util/string-table.h"
#include "util/strv.h"
#include "util/time-util.h"

/* Unreferenced cache entries are collected once a day (and on `kunpackctl gc`). */
#define KP_DAEMON_GC_INTERVAL_USEC (24 * 3600 * USEC_PER_SEC)
/* startup_scan_timeout plus this is what systemd is asked to wait for READY=1: the time to send it. */
#define KP_DAEMON_STARTUP_MARGIN_USEC (30 * USEC_PER_SEC)

static const char *const guest_origin_table[_GUEST_ORIGIN_MAX] = {
        [GUEST_ORIGIN_CONFIG] = "config",
        [GUEST_ORIGIN_PREPARE] = "prepare",
        [GUEST_ORIGIN_XEN] = "xen",
};
KP_DEFINE_STRING_TABLE_TO_STRING(guest_origin, GuestOrigin, guest_origin_table);

void log_disk_event(int level, int error, const char *message_id, Manager *m, Disk *d, const char *sha256,
                    const char *format, ...)
{
        _cleanup_free_ char *guest = NULL, *disk = NULL, *kernel = NULL;
        const char *fields[5] = {};
        char message[2048];
        size_t n = 0;
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);

        if (message_id)
                fields[n++] = message_id;
        if (d) {
                Guest *g = registry_guest_for_disk(m, d);
                if (g && asprintf(&guest, "GUEST=%s", g->name) >= 0)
                        fields[n++] = guest;
                if (asprintf(&disk, "DISK=%s", d->request.disk) >= 0)
                        fields[n++] = disk;
        }
        if (sha256 && *sha256 && asprintf(&kernel, "KERNEL_SHA256=%s", sha256) >= 0)
                fields[n++] = kernel;
        fields[n] = NULL;
        (void) kp_log_internal(level, error, fields, "%s", message);
}

static int open_stores(KpSettings *c, KpCache **ret_cache, KpStateStore **ret_state)
{
        _cleanup_(kp_cache_freep) KpCache *cache = NULL;
        _cleanup_(kp_state_store_freep) KpStateStore *state = NULL;
        KpError error = {};
        int r;

        r = kp_cache_open(c->cache_dir, &error, &cache);
        if (r < 0)
                return log_error_errno(r, "cannot open the cache %s: %s", c->cache_dir, kp_error_message(&error, r));
        r = kp_state_open(c->state_dir, &error, &state);
        if (r < 0)
                return log_error_errno(r, "cannot open the state directory %s: %s", c->state_dir,
                                       kp_error_message(&error, r));
        *ret_cache = TAKE_PTR(cache);
        *ret_state = TAKE_PTR(state);
        return 0;
}

static int load_config(const char *config_arg, KpSettings **ret)
{
        KpError error = {};
        bool explicit_path;
        const char *path = kp_settings_choose_path(config_arg, &explicit_path);
        int r;

        r = kp_settings_load(path, explicit_path, &error, ret);
        if (r < 0)
                return kp_log_internal(LOG_ERR, r, KP_FIELDS(KP_MESSAGE_CONFIG_REFUSED), "%s",
                                       kp_error_message(&error, r));
        /* Settings that are read but do nothing any more: the admin may want to remove them. */
        STRV_FOREACH(note, (*ret)->notes)
                log_notice("%s", *note);
        return 0;
}

int manager_new(const char *config_arg, const char *scan_program, Manager **ret)
{
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return log_oom();
        m->listen_fd = -EBADF;
        m->inotify_fd = -EBADF;
        m->config_arg = config_arg;
        m->started_usec = kp_now_usec(CLOCK_REALTIME);
        m->startup_usec = kp_now_usec(CLOCK_MONOTONIC);

        r = load_config(config_arg, &m->settings);
        if (r < 0)
                return r;
        m->socket_path = strdup(m->settings->socket_path);
        m->scan_program = strdup(scan_program);
        if (!m->socket_path || !m->scan_program)
                return log_oom();

        r = open_stores(m->settings, &m->cache, &m->state);
        if (r < 0)
                return r;

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "cannot allocate the event loop: %s", strerror(-r));
        r = sd_id128_randomize(&m->server_id);
        if (r < 0)
                return log_error_errno(r, "cannot make a server id: %s", strerror(-r));

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m)
{
        if (!m)
                return NULL;
        verify_stop(m);
        scheduler_stop_all(m);
        KP_LIST_FOREACH_SAFE(workers, w, n, m->workers) {
                KP_LIST_REMOVE(workers, m->workers, w);
                worker_free(w);
        }
        KP_LIST_FOREACH_SAFE(workers, w, n, m->pool) {
                KP_LIST_REMOVE(workers, m->pool, w);
                worker_free(w);
        }
        sd_event_source_disable_unref(m->pool_retry);
        free(m->pool_disabled);
        xen_watch_stop(m);
        watch_close(m);
        bus_close(m);
        registry_free(m);
        sd_event_source_disable_unref(m->dispatch);
        sd_event_source_disable_unref(m->registry_settle);
        sd_event_source_disable_unref(m->gc_timer);
        sd_event_source_disable_unref(m->metrics_timer);
        sd_event_source_disable_unref(m->startup_timer);
        sd_event_unref(m->event);
        kp_cache_free(m->cache);
        kp_state_store_free(m->state);
        kp_settings_free(m->settings);
        free(m->scan_program);
        free(m->socket_path);
        free(m->status);
        free(m);
        return NULL;
}

static int run_gc(Manager *m, bool dry_run, KpCacheGcStats *ret)
{
        _cleanup_strv_free_ char **keys = NULL;
        KpError error = {};
        int r;

        r = kp_state_referenced_keys(m->state, &error, &keys);
        if (r >= 0)
                r = kp_cache_gc(m->cache, keys, m->settings->cache_max_age * USEC_PER_SEC, m->settings->cache_max_size,
                                kp_now_usec(CLOCK_REALTIME), dry_run, &error, ret);
        if (r < 0)
                return log_error_errno(r, "cache garbage collection failed: %s", kp_error_message(&error, r));
        if (!dry_run && ret->removed > 0)
                log_info("cache: removed %zu unused entries (%" PRIu64 " bytes), kept %zu (%" PRIu64 " bytes)",
                         ret->removed, ret->removed_bytes, ret->kept, ret->kept_bytes);
        return 0;
}

int manager_gc(Manager *m, bool dry_run, KpCacheGcStats *ret)
{
        return run_gc(m, dry_run, ret);
}

static int on_gc_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;
        KpCacheGcStats stats;

        (void) run_gc(m, false, &stats);
        (void) sd_event_source_set_time_relative(s, KP_DAEMON_GC_INTERVAL_USEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

/* Autostart guests whose disk is queued or being scanned. */
static size_t startup_pending(Manager *m)
{
        size_t n = 0;

        KP_LIST_FOREACH(guests, g, m->guests)
                if (g->autostart && g->disk->scan != DISK_IDLE)
                        n++;
        return n;
}

static void send_ready(Manager *m, const char *why)
{
        if (m->ready_sent)
                return;
        m->ready_sent = true;
        m->startup_timer = sd_event_source_disable_unref(m->startup_timer);
        log_info("ready (READY=1) after %.1f s: %s", (double) (kp_now_usec(CLOCK_MONOTONIC) - m->startup_usec) / USEC_PER_SEC,
                 why);
        (void) sd_notify(false, "READY=1");
}

void manager_startup_check(Manager *m)
{
        if (m->ready_sent || m->stopping || startup_pending(m) > 0)
                return;
        send_ready(m, "every autostart guest's startup scan has ended");
}

static int on_startup_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;
        char why[128];

        (void) snprintf(why, sizeof(why),
                        "startup_scan_timeout (%" PRIu64 " s) passed with %zu autostart guests still queued or "
                        "being scanned; they go on in the background",
                        m->settings->startup_scan_timeout, startup_pending(m));
        send_ready(m, why);
        return 0;
}

/*
 * READY=1 is what xendomains.service (ordered after us) waits for before
 * it starts the autostart guests: it is sent once their scans have ended,
 * so that they start hot, or after startup_scan_timeout. systemd's own
 * start timeout (TimeoutStartSec, 90 s by default) is extended to match
 * first. docs/design.md says why this and not a separate unit.
 */
static int startup_wait(Manager *m)
{
        uint64_t timeout = m->settings->startup_scan_timeout * USEC_PER_SEC;
        size_t n = startup_pending(m);
        int r;

        if (n == 0)
                return send_ready(m, "no autostart guest needs a scan"), 0;
        if (timeout == 0)
                return send_ready(m, "startup_scan_timeout is 0: the autostart guests are scanned in the background"),
                       0;
        /* The margin: what it takes to send READY=1 once the timer fires. */
        (void) sd_notifyf(false, "EXTEND_TIMEOUT_USEC=%" PRIu64 "\nSTATUS=Scanning %zu autostart guest%s before "
                          "xendomains starts them (at most %" PRIu64 " s)",
                          timeout + KP_DAEMON_STARTUP_MARGIN_USEC, n, n == 1 ? "" : "s",
                          m->settings->startup_scan_timeout);
        log_info("waiting for the scans of %zu autostart guest%s before READY=1 (at most %" PRIu64 " s)", n,
                 n == 1 ? "" : "s", m->settings->startup_scan_timeout);
        r = sd_event_add_time_relative(m->event, &m->startup_timer, CLOCK_MONOTONIC, timeout, USEC_PER_MSEC * 100,
                                       on_startup_timeout, m);
        if (r < 0) {
                send_ready(m, "cannot arm the startup_scan_timeout timer");
                return log_error_errno(r, "cannot arm the startup timer: %s", strerror(-r));
        }
        return 0;
}

int manager_startup(Manager *m)
{
        int r;

        r = bus_listen(m);
        if (r < 0)
                return r;
        r = watch_setup(m);
        if (r < 0)
                return r;
        r = registry_load(m);
        if (r < 0)
                return r;
        r = xen_watch_start(m);
        if (r < 0)
                return r;
        r = watch_refresh(m);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(m->event, &m->gc_timer, CLOCK_MONOTONIC, KP_DAEMON_GC_INTERVAL_USEC,
                                       USEC_PER_SEC * 60, on_gc_timer, m);
        if (r < 0)
                return log_error_errno(r, "cannot arm the GC timer: %s", strerror(-r));
        r = metrics_textfile_start(m);
        if (r < 0)
                return r;

        /*
         * Every guest whose plan is not fresh is scanned now, each in an
         * appliance of its own, scan_concurrency at once: the autostart
         * guests first, since xendomains (ordered after us) starts them next.
         */
        KP_LIST_FOREACH(guests, g, m->guests) {
                KpPrepared p = KP_PREPARED_INIT;
                KpPrepareOptions o = { .trust_foreign = m->settings->trust_foreign_plans,
                                       .vouched = disk_is_vouched(m, g->disk) };
                KpError error = {};

                r = kp_boot_prepare(m->cache, m->state, &g->disk->request, &o, &error, &p);
                if (r < 0 || p.outcome != KP_PREPARE_READY)
                        scheduler_enqueue(g->disk, g->autostart ? SCAN_PRIORITY_AUTOSTART : SCAN_PRIORITY_BACKGROUND);
                kp_prepared_done(&p);
        }

        /* Booted behind the scans above, at a lower priority: it serves the starts that come later. */
        pool_refill(m);
        manager_update_status(m);
        return startup_wait(m);
}

int manager_reload(Manager *m)
{
        _cleanup_(kp_settings_freep) KpSettings *c = NULL;
        _cleanup_(kp_cache_freep) KpCache *cache = NULL;
        _cleanup_(kp_state_store_freep) KpStateStore *state = NULL;
        int r;

        r = load_config(m->config_arg, &c);
        if (r < 0) {
                log_warning("keeping the configuration in force");
                return r;
        }
        if (!streq(c->socket_path, m->settings->socket_path))
                log_warning("socket_path changed to %s: takes effect at the next restart", c->socket_path);
        if (!streq(c->cache_dir, m->settings->cache_dir) || !streq(c->state_dir, m->settings->state_dir)) {
                r = open_stores(c, &cache, &state);
                if (r < 0) {
                        log_warning("keeping the configuration in force");
                        return r;
                }
                kp_cache_free(m->cache);
                kp_state_store_free(m->state);
                m->cache = TAKE_PTR(cache);
                m->state = TAKE_PTR(state);
        }
        kp_settings_free(m->settings);
        m->settings = TAKE_PTR(c);

        kp_log_internal(LOG_INFO, 0, KP_FIELDS(KP_MESSAGE_CONFIG_RELOADED), "configuration %s reloaded",
                        m->settings->path ? m->settings->path : "(defaults)");
        r = registry_load(m);
        if (r >= 0)
                r = watch_refresh(m);
        pool_reload(m);
        manager_update_status(m);
        metrics_textfile_write(m);
        return r;
}

void manager_stop(Manager *m)
{
        if (m->stopping)
                return;
        m->stopping = true;
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Stopping: abandoning running scans");
        log_info("stopping: %u scan%s running, abandoned (their state records stay as they were)", m->n_workers,
                 m->n_workers == 1 ? "" : "s");
        verify_stop(m);
        scheduler_stop_all(m);
        pool_stop_all(m);
        manager_exit_if_idle(m);
}

void manager_exit_if_idle(Manager *m)
{
        if (m->stopping && m->n_workers == 0 && m->n_pool == 0)
                (void) sd_event_exit(m->event, 0);
}

void manager_update_status(Manager *m)
{
        _cleanup_free_ char *text = NULL;
        size_t queued = scheduler_count(m, DISK_QUEUED), running = scheduler_count(m, DISK_RUNNING);
        size_t guests = 0;
        int r;

        if (m->stopping)
                return;
        KP_LIST_FOREACH(guests, g, m->guests)
                guests++;

        if (running == 0 && queued == 0) {
                unsigned ready = 0;

                KP_LIST_FOREACH(workers, w, m->pool)
                        ready += w->ready && !w->terminated;
                r = asprintf(&text, "Idle: %zu guest%s known, %" PRIu64 " scans done, %" PRIu64 " failed, %u of %u "
                             "pooled appliances ready", guests, guests == 1 ? "" : "s", m->scans_ok, m->scans_failed,
                             ready, m->pool_disabled ? 0 : m->settings->appliance_pool);
        }
        else {
                Disk *busy = NULL;
                for (Disk *d = m->disks; d && !busy; d = d->disks_next)
                        if (d->scan == DISK_RUNNING)
                                busy = d;
                /* One appliance per guest being scanned (docs/isolation.md). */
                r = asprintf(&text, "Scanning %zu guest%s, one appliance each (%s: %s), %zu queued", running,
                             running == 1 ? "" : "s", busy ? disk_display_name(m, busy) : "-",
                             busy && busy->step ? busy->step : "-", queued);
        }
        if (r < 0)
                return;
        if (m->status && streq(m->status, text))
                return;
        (void) sd_notifyf(false, "STATUS=%s", text);
        free(m->status);
        m->status = TAKE_PTR(text);
}
