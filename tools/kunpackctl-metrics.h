/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * kunpackctl metrics: kunpackd's metrics in Prometheus's text format,
 * from its Metrics method (daemon/metrics.h; kunpackd(8), "METRICS").
 */

/* Returns a KPCTL_EXIT_* code. */
int verb_metrics(int argc, char **argv);
