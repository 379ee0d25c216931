/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "daemon/guest-view.h"
#include "daemon/manager.h"
#include "daemon/metrics.h"
#include "daemon/scheduler.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/prometheus.h"
#include "util/time-util.h"

/* node_exporter scrapes every 15-60 s; its textfile is read at each scrape. */
#define METRICS_TEXTFILE_INTERVAL_USEC (30 * USEC_PER_SEC)

static const double scan_bounds[METRICS_SCAN_BUCKETS] = { 1, 2, 5, 10, 15, 20, 30, 60, 120, 300 };

void metrics_prepare_failed(Manager *m)
{
        m->prepares_failed++;
        if (m->settings->on_failure == KP_ON_FAILURE_FAIL)
                m->metrics.starts_failed++;
        else
                m->metrics.starts_fallback++;
}

void metrics_scan_finished(Manager *m, Disk *d, int error)
{
        Metrics *x = &m->metrics;

        if (error < 0 && m->stopping)
                return;
        if (error < 0)
                x->scan_failures[MIN((unsigned) -error, (unsigned) METRICS_MAX_ERRNO)]++;
        /* A scan that never started (the program could not be run) has no duration. */
        if (d->worker) {
                double s = (double) (kp_now_usec(CLOCK_MONOTONIC) - d->worker->started_usec) / USEC_PER_SEC;
                size_t i = 0;

                while (i < METRICS_SCAN_BUCKETS && s > scan_bounds[i])
                        i++;
                if (i < METRICS_SCAN_BUCKETS)
                        x->scan_durations[i]++;
                else
                        x->scan_durations_over++;
                x->scans_timed++;
                x->scan_seconds += s;
        }
}

/* "ETIMEDOUT": what kunpack-scan(8) and the journal's ERRNO= name a failure by. */
static const char *errno_label(unsigned e, char buf[32])
{
        const char *name = e < METRICS_MAX_ERRNO ? strerrorname_np((int) e) : NULL;

        if (name)
                return name;
        (void) snprintf(buf, 32, "errno%u", e);
        return buf;
}

static void format_guests(Manager *m, KpProm *p)
{
        static const char *const statuses[] = { "fresh", "stale", "queued", "scanning", "failed" };
        uint64_t n[ELEMENTSOF(statuses)] = {};

        KP_LIST_FOREACH(guests, g, m->guests) {
                _cleanup_(guest_view_done) GuestView v = GUEST_VIEW_INIT;

                if (guest_view(m, g, &v) < 0)
                        continue;
                for (size_t i = 0; i < ELEMENTSOF(statuses); i++)
                        if (streq(v.status, statuses[i]))
                                n[i]++;
        }
        kp_prom_family(p, "kunpack_guests", "gauge",
                       "Guests kunpackd knows, by whether their next start is served from the cache (fresh) or "
                       "waits for a scan.");
        for (size_t i = 0; i < ELEMENTSOF(statuses); i++)
                kp_prom_sample_u64(p, KP_PROM_LABELS("status", statuses[i]), n[i]);
}

static void format_cache(Manager *m, KpProm *p)
{
        _cleanup_free_ KpCacheEntry *entries = NULL;
        uint64_t bytes[2] = {}, count[2] = {};
        size_t n = 0;

        /* A cache that cannot be listed has no samples: an absent series, not a false zero. */
        if (kp_cache_list(m->cache, NULL, &entries, &n) < 0)
                n = 0;
        for (size_t i = 0; i < n; i++) {
                size_t k = entries[i].kind == KP_CACHE_KERNEL ? 0 : 1;
                bytes[k] += entries[i].size;
                count[k]++;
        }
        kp_prom_family(p, "kunpack_cache_bytes", "gauge", "Bytes in kunpack's cache: decompressed kernels, initrds.");
        if (entries) {
                kp_prom_sample_u64(p, KP_PROM_LABELS("kind", "kernel"), bytes[0]);
                kp_prom_sample_u64(p, KP_PROM_LABELS("kind", "initrd"), bytes[1]);
        }
        kp_prom_family(p, "kunpack_cache_entries", "gauge", "Entries in kunpack's cache.");
        if (entries) {
                kp_prom_sample_u64(p, KP_PROM_LABELS("kind", "kernel"), count[0]);
                kp_prom_sample_u64(p, KP_PROM_LABELS("kind", "initrd"), count[1]);
        }
}

int metrics_format(Manager *m, char **ret_text, size_t *ret_size)
{
        _cleanup_(kp_prom_freep) KpProm *p = NULL;
        const Metrics *x = &m->metrics;
        char buf[32];
        int r;

        r = kp_prom_new(&p);
        if (r < 0)
                return r;

        kp_prom_family(p, "kunpack_build_info", "gauge", "kunpackd's version.");
        kp_prom_sample_u64(p, KP_PROM_LABELS("version", PACKAGE_VERSION), 1);
        kp_prom_family(p, "kunpack_start_time_seconds", "gauge", "When kunpackd started, seconds since the epoch.");
        kp_prom_sample_u64(p, NULL, m->started_usec / USEC_PER_SEC);

        kp_prom_family(p, "kunpack_starts_total", "counter",
                       "Domain starts kunpackd was asked to serve: hot (from a fresh plan), cold (after a scan), "
                       "fallback (it failed; kunpack-boot answers pvgrub), failed (it failed under "
                       "on_failure=fail). Starts kunpack-boot served without kunpackd are not counted.");
        kp_prom_sample_u64(p, KP_PROM_LABELS("path", "hot"), m->prepares_hot);
        kp_prom_sample_u64(p, KP_PROM_LABELS("path", "cold"), m->prepares_cold);
        kp_prom_sample_u64(p, KP_PROM_LABELS("path", "fallback"), x->starts_fallback);
        kp_prom_sample_u64(p, KP_PROM_LABELS("path", "failed"), x->starts_failed);

        kp_prom_family(p, "kunpack_scans_total", "counter", "Scans of a guest's disks that finished, ok or not.");
        kp_prom_sample_u64(p, NULL, m->scans_ok + m->scans_failed);
        kp_prom_family(p, "kunpack_scan_failures_total", "counter",
                       "Scans that failed, by the errno of the failure (kunpack-scan(8)).");
        for (unsigned e = 0; e <= METRICS_MAX_ERRNO; e++)
                if (x->scan_failures[e] > 0)
                        kp_prom_sample_u64(p, KP_PROM_LABELS("reason", errno_label(e, buf)), x->scan_failures[e]);
        kp_prom_family(p, "kunpack_scan_duration_seconds", "histogram",
                       "How long scans took, from the scan program's start (the appliance launch included).");
        kp_prom_histogram(p, scan_bounds, x->scan_durations, METRICS_SCAN_BUCKETS, x->scan_durations_over,
                          x->scan_seconds);
        kp_prom_family(p, "kunpack_appliance_launches_total", "counter", "libguestfs appliances launched by scans.");
        kp_prom_sample_u64(p, NULL, m->appliance_runs);

        kp_prom_family(p, "kunpack_scans_queued", "gauge", "Disks waiting for a scan.");
        kp_prom_sample_u64(p, NULL, scheduler_count(m, DISK_QUEUED));
        kp_prom_family(p, "kunpack_scans_running", "gauge", "Disks being scanned now, one appliance each.");
        kp_prom_sample_u64(p, NULL, scheduler_count(m, DISK_RUNNING));
        kp_prom_family(p, "kunpack_scan_concurrency", "gauge", "Appliances kunpackd runs at once (scan_concurrency).");
        kp_prom_sample_u64(p, NULL, m->settings->scan_concurrency);

        /*
         * The appliance pool's state (issue 12: pre-booted appliances that
         * take a guest's disk when needed) belongs here, as kunpack_pool_*
         * families: appliances ready, booting, and launches served from
         * the pool. kunpackd has no pool yet.
         */

        format_guests(m, p);
        format_cache(m, p);

        return kp_prom_finish(p, ret_text, ret_size);
}

void metrics_textfile_write(Manager *m)
{
        _cleanup_free_ char *text = NULL;
        const char *path = m->settings->metrics_textfile;
        KpError error = {};
        size_t size;
        int r;

        if (!path)
                return;
        r = metrics_format(m, &text, &size);
        if (r >= 0)
                /* Whatever the service's UMask=: node_exporter reads it as another user. */
                r = kp_write_file_atomic(path, text, size, 0644, &error);
        if (r < 0 && !m->metrics.textfile_failed)
                log_warning_errno(r, "cannot write the metrics to %s: %s (said once; kunpackd goes on)", path,
                                  kp_error_message(&error, r));
        else if (r >= 0 && m->metrics.textfile_failed)
                log_info("metrics written to %s again", path);
        m->metrics.textfile_failed = r < 0;
}

static int on_textfile_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;

        metrics_textfile_write(m);
        (void) sd_event_source_set_time_relative(s, METRICS_TEXTFILE_INTERVAL_USEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

int metrics_textfile_start(Manager *m)
{
        int r;

        /* Always armed: a SIGHUP may set metrics_textfile later. */
        metrics_textfile_write(m);
        r = sd_event_add_time_relative(m->event, &m->metrics_timer, CLOCK_MONOTONIC, METRICS_TEXTFILE_INTERVAL_USEC,
                                       USEC_PER_SEC, on_textfile_timer, m);
        if (r < 0)
                return log_error_errno(r, "cannot arm the metrics timer: %s", strerror(-r));
        return 0;
}
