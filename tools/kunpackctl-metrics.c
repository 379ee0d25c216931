/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "kunpackctl-bus.h"
#include "kunpackctl-metrics.h"
#include "kunpackctl.h"
#include "util/log.h"

/* A few hundred lines; a bigger answer is not kunpackd's. */
#define KPCTL_MAX_METRICS (4 * 1024 * 1024)

int verb_metrics(int argc, char **argv)
{
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *text;
        int r;

        r = parse_no_options(argc, argv, "metrics\n\n"
                                         "kunpackd's metrics in Prometheus's text format (see kunpackd(8), METRICS).");
        if (r <= 0)
                return r < 0 ? KPCTL_EXIT_USAGE : KPCTL_EXIT_OK;
        if (optind < argc) {
                log_error("metrics takes no arguments");
                return KPCTL_EXIT_USAGE;
        }
        if (arg_json) {
                log_error("metrics prints Prometheus's text format only, not JSON");
                return KPCTL_EXIT_USAGE;
        }
        r = connect_daemon(NULL, &bus);
        if (r != KPCTL_EXIT_OK)
                return r;
        r = call_daemon(bus, "Metrics", KPCTL_CALL_TIMEOUT_USEC, &reply, NULL);
        if (r != KPCTL_EXIT_OK)
                return r;
        if (sd_bus_message_read(reply, "s", &text) < 0 || strlen(text) > KPCTL_MAX_METRICS)
                return log_error("malformed answer"), KPCTL_EXIT_FAILURE;
        fputs(text, stdout);
        return KPCTL_EXIT_OK;
}
