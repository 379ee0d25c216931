/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kunpackctl gc: kunpackd's GC method.
 */
#include <getopt.h>
#include <stdio.h>

#include "client/bus-api.h"
#include "kunpackctl-bus.h"
#include "kunpackctl-gc.h"
#include "kunpackctl.h"
#include "util/log.h"

int verb_gc(int argc, char **argv)
{
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "dry-run", no_argument, NULL, 'n' },
                { "json", no_argument, NULL, 'j' },
                {}
        };
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        uint64_t removed, removed_bytes, kept, kept_bytes;
        bool dry_run = false;
        int c, r;

        while ((c = getopt_long(argc, argv, "hn", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        printf("Usage: kunpackctl gc [--dry-run] [--json]\n");
                        return KPCTL_EXIT_OK;
                case 'n':
                        dry_run = true;
                        break;
                case 'j':
                        arg_json = true;
                        break;
                default:
                        return KPCTL_EXIT_USAGE;
                }
        r = connect_daemon(NULL, &bus);
        if (r != KPCTL_EXIT_OK)
                return r;
        r = call_daemon(bus, "GC", KPCTL_CALL_TIMEOUT_USEC, &reply, "t", dry_run ? KP_GC_DRY_RUN : UINT64_C(0));
        if (r != KPCTL_EXIT_OK)
                return r;
        if (sd_bus_message_read(reply, "tttt", &removed, &removed_bytes, &kept, &kept_bytes) < 0)
                return log_error("malformed answer"), KPCTL_EXIT_FAILURE;
        if (arg_json)
                printf("{\"dry_run\": %s, \"removed\": %" PRIu64 ", \"removed_bytes\": %" PRIu64 ", \"kept\": %" PRIu64
                       ", \"kept_bytes\": %" PRIu64 "}\n",
                       dry_run ? "true" : "false", removed, removed_bytes, kept, kept_bytes);
        else
                printf("%s %" PRIu64 " cache entries (%" PRIu64 " bytes), kept %" PRIu64 " (%" PRIu64 " bytes)\n",
                       dry_run ? "would remove" : "removed", removed, removed_bytes, kept, kept_bytes);
        return KPCTL_EXIT_OK;
}
