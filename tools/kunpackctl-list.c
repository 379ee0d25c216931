/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kunpackctl list: the guests kunpackd knows, from its List method.
 */
#include <stdio.h>

#include "kunpackctl-bus.h"
#include "kunpackctl-list.h"
#include "kunpackctl.h"
#include "util/json.h"
#include "util/log.h"

int verb_list(int argc, char **argv)
{
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        const char *name, *disk, *origin, *status, *kernel;
        int autostart, r;

        r = parse_no_options(argc, argv, "list [--json]");
        if (r <= 0)
                return r < 0 ? KPCTL_EXIT_USAGE : KPCTL_EXIT_OK;
        r = connect_daemon(NULL, &bus);
        if (r != KPCTL_EXIT_OK)
                return r;
        r = call_daemon(bus, "List", KPCTL_CALL_TIMEOUT_USEC, &reply, NULL);
        if (r != KPCTL_EXIT_OK)
                return r;
        if (sd_bus_message_enter_container(reply, 'a', "(sssbss)") < 0)
                return log_error("malformed answer"), KPCTL_EXIT_FAILURE;

        if (arg_json) {
                if (kp_json_gen_new(true, &g) < 0)
                        return KPCTL_EXIT_FAILURE;
                yajl_gen_array_open(g);
        } else
                printf("%-20s %-8s %-4s %-24s %-32s %s\n", "GUEST", "ORIGIN", "AUTO", "STATUS", "KERNEL", "DISK");

        while ((r = sd_bus_message_read(reply, "(sssbss)", &name, &disk, &origin, &autostart, &status, &kernel)) > 0) {
                if (arg_json) {
                        yajl_gen_map_open(g);
                        kp_json_kv_string(g, "name", name);
                        kp_json_kv_string(g, "disk", disk);
                        kp_json_kv_string(g, "origin", origin);
                        kp_json_kv_bool(g, "autostart", autostart);
                        kp_json_kv_string(g, "status", status);
                        kp_json_kv_string(g, "kernel", *kernel ? kernel : NULL);
                        yajl_gen_map_close(g);
                } else
                        printf("%-20s %-8s %-4s %-24s %-32s %s\n", name, origin, autostart ? "yes" : "no", status,
                               *kernel ? kernel : "-", disk);
        }
        if (r < 0)
                return log_error("malformed answer"), KPCTL_EXIT_FAILURE;
        if (arg_json) {
                _cleanup_free_ char *text = NULL;
                yajl_gen_array_close(g);
                if (kp_json_gen_finish(g, &text, NULL) < 0)
                        return KPCTL_EXIT_FAILURE;
                fputs(text, stdout);
        }
        return KPCTL_EXIT_OK;
}
