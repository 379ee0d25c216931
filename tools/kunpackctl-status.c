/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kunpackctl status: what kunpackd is doing, from its Status method.
 */
#include <stdio.h>

#include "kunpackctl-bus.h"
#include "kunpackctl-status.h"
#include "kunpackctl.h"
#include "util/json.h"
#include "util/log.h"

int verb_status(int argc, char **argv)
{
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(yajl_tree_freep) yajl_val v = NULL;
        const char *text;
        char started[64];
        int r;

        r = parse_no_options(argc, argv, "status [--json]");
        if (r <= 0)
                return r < 0 ? KPCTL_EXIT_USAGE : KPCTL_EXIT_OK;
        r = connect_daemon(NULL, &bus);
        if (r != KPCTL_EXIT_OK)
                return r;
        r = call_daemon(bus, "Status", KPCTL_CALL_TIMEOUT_USEC, &reply, NULL);
        if (r != KPCTL_EXIT_OK)
                return r;
        if (sd_bus_message_read(reply, "s", &text) < 0)
                return log_error("malformed answer"), KPCTL_EXIT_FAILURE;
        if (arg_json) {
                print_json_text(text);
                return KPCTL_EXIT_OK;
        }
        if (kp_json_parse(text, NULL, &v) < 0)
                return log_error("malformed answer"), KPCTL_EXIT_FAILURE;

        format_time(json_uint(v, "started_usec"), started);
        printf("kunpackd %s, pid %" PRIu64 ", running since %s\n", json_str(v, "version"), json_uint(v, "pid"),
               started);
        printf("  %s\n", json_str(v, "status"));
        printf("  config:     %s\n", json_str(v, "config"));
        printf("  socket:     %s\n", json_str(v, "socket"));
        printf("  cache:      %s\n", json_str(v, "cache_dir"));
        printf("  state:      %s\n", json_str(v, "state_dir"));
        {
                bool xen = false;
                (void) kp_json_get_bool(v, "xen", &xen);
                printf("  xen:        %s\n", xen ? "following domain starts and stops" : "no hypervisor: not followed");
        }
        printf("  guests:     %" PRIu64 "\n", json_uint(v, "guests"));
        printf("  scans:      %" PRIu64 " done, %" PRIu64 " failed, %" PRIu64 " running, %" PRIu64
               " queued, %" PRIu64 " appliance launches\n",
               json_uint(v, "scans_done"), json_uint(v, "scans_failed"), json_uint(v, "scanning"),
               json_uint(v, "queued"), json_uint(v, "appliance_launches"));
        printf("  starts:     %" PRIu64 " hot, %" PRIu64 " cold, %" PRIu64 " failed\n", json_uint(v, "prepares_hot"),
               json_uint(v, "prepares_cold"), json_uint(v, "prepares_failed"));
        {
                yajl_val pool = kp_json_get(v, "appliance_pool");
                const char *off = pool ? kp_json_get_string(pool, "disabled") : NULL;

                if (!pool || json_uint(pool, "size") == 0)
                        printf("  pool:       off (appliance_pool = 0): every scan launches its appliance\n");
                else if (off)
                        printf("  pool:       off until reload: %s\n", off);
                else
                        printf("  pool:       %" PRIu64 " ready, %" PRIu64 " booting, of %" PRIu64 " (%" PRIu64
                               " scans served, %" PRIu64 " replaced for age, %" PRIu64 " died)\n",
                               json_uint(pool, "ready"), json_uint(pool, "booting"), json_uint(pool, "size"),
                               json_uint(pool, "taken"), json_uint(pool, "recycled"), json_uint(pool, "died"));
        }
        return KPCTL_EXIT_OK;
}
