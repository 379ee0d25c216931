/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Prometheus's text exposition format (version 0.0.4), what a scraper,
 * node_exporter's textfile collector and `promtool check metrics` read:
 * per metric family one "# HELP" and one "# TYPE" line, then its samples,
 * "name{label="value",...} value", one per line. Label values and help
 * texts are escaped as the format says (backslash, double quote, newline),
 * so a guest's or a path's name cannot break a line.
 *
 * Usage: kp_prom_new(), then per family kp_prom_family() and its
 * samples, then kp_prom_finish(). A failed allocation is remembered and
 * reported once, by kp_prom_finish().
 */

#include <stddef.h>
#include <stdint.h>

#include "util/macro.h"

typedef struct KpProm KpProm;

int kp_prom_new(KpProm **ret);
KpProm *kp_prom_free(KpProm *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(KpProm *, kp_prom_free);

/* Starts the family name: type is "counter", "gauge" or "histogram". */
void kp_prom_family(KpProm *p, const char *name, const char *type, const char *help);

/*
 * A sample of the current family; labels is NULL or a NULL-terminated
 * list of name, value pairs. _u64 for counts (exact up to 2^64), _double
 * for seconds and other measures.
 */
void kp_prom_sample_u64(KpProm *p, const char *const *labels, uint64_t value);
void kp_prom_sample_double(KpProm *p, const char *const *labels, double value);

/*
 * The samples of a histogram family: counts[i] observations at most
 * bounds[i] (not cumulative: each observation is counted in its own
 * bucket only), over_max above the last bound; sum of all observations.
 */
void kp_prom_histogram(KpProm *p, const double *bounds, const uint64_t *counts, size_t n, uint64_t over_max,
                       double sum);

/* The text, NUL-terminated; -ENOMEM if anything could not be added. */
int kp_prom_finish(KpProm *p, char **ret_text, size_t *ret_size);

#define KP_PROM_LABELS(...) ((const char *const[]){ __VA_ARGS__, NULL })
