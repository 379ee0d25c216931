/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * kunpackd's metrics: what it counts since it started (starts by path,
 * scans and their failures by reason, scan durations) and what it can
 * read at any time (guests by status, the cache, the scan queue), in
 * Prometheus's text format (lib/util/prometheus.h), for the Metrics
 * method (kunpackctl metrics) and the metrics_textfile setting. Names,
 * labels and meanings are documented in kunpackd(8), "METRICS".
 */

#include <stdbool.h>
#include <stdint.h>

/* Scan durations, seconds: an appliance launch under emulation takes 10-30 s (docs/isolation.md). */
#define METRICS_SCAN_BUCKETS 10
/* Scan failures are counted by errno name; errnos above this (none that a scan gives) count as the last. */
#define METRICS_MAX_ERRNO 160

typedef struct Manager Manager;
typedef struct Disk Disk;

typedef struct Metrics {
        uint64_t starts_fallback;      /* Prepare failed under on_failure = "pvgrub": kunpack-boot answers pvgrub */
        uint64_t starts_failed;        /* Prepare failed under on_failure = "fail": the start fails */
        uint64_t scan_failures[METRICS_MAX_ERRNO + 1];
        uint64_t scan_durations[METRICS_SCAN_BUCKETS];
        uint64_t scan_durations_over;  /* above the last bucket */
        uint64_t scans_timed;          /* scans with a duration (a scan program ran) */
        double scan_seconds;           /* their sum */
        bool textfile_failed;          /* the last write of metrics_textfile failed (said once) */
} Metrics;

/* A Prepare call kunpackd could not answer: counted by what kunpack-boot does next (on_failure). */
void metrics_prepare_failed(Manager *m);
/* A disk's scan ended (not when abandoned because kunpackd stops). */
void metrics_scan_finished(Manager *m, Disk *d, int error);

/* Everything, as Prometheus's text format. */
int metrics_format(Manager *m, char **ret_text, size_t *ret_size);

/* metrics_textfile: written now and every 30 s while kunpackd runs (a no-op when not set). */
int metrics_textfile_start(Manager *m);
/* Written now (after a reload, which may have set or moved it). */
void metrics_textfile_write(Manager *m);
