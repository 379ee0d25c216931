/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kunpackctl show GUEST: one guest in full, from kunpackd's Show method;
 * show GUEST --changes is verb_show_changes (kunpackctl-revert.c).
 */
#include <stdio.h>
#include <string.h>

#include "kunpackctl-bus.h"
#include "kunpackctl-revert.h"
#include "kunpackctl-show.h"
#include "kunpackctl.h"
#include "util/json.h"
#include "util/log.h"
#include "util/macro.h"

/* Show answers are one boot plan: kp_boot_plan_from_json's own bound. */
#define KPCTL_MAX_JSON (32 * 1024 * 1024)

static int show_json(sd_bus *bus, const char *guest, char **ret_text)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *text;
        int r;

        r = call_daemon(bus, "Show", KPCTL_CALL_TIMEOUT_USEC, &reply, "s", guest);
        if (r != KPCTL_EXIT_OK)
                return r;
        if (sd_bus_message_read(reply, "s", &text) < 0 || strlen(text) > KPCTL_MAX_JSON)
                return log_error("malformed answer"), KPCTL_EXIT_FAILURE;
        *ret_text = strdup(text);
        return *ret_text ? KPCTL_EXIT_OK : KPCTL_EXIT_FAILURE;
}

/* A fact the daemon may not know: "yes", "no", "unknown". */
static const char *fact(yajl_val v, const char *key)
{
        yajl_val f = kp_json_get(v, key);

        return f && YAJL_IS_TRUE(f) ? "yes" : f && YAJL_IS_FALSE(f) ? "no" : "unknown";
}

int verb_show(int argc, char **argv)
{
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_(yajl_tree_freep) yajl_val v = NULL;
        yajl_val disks, last, state, plan, sel;
        char when[64];
        int r;

        /* --changes reads the guest's own disk (kunpackctl-revert.c), not the daemon. */
        for (int i = 1; i < argc; i++)
                if (streq(argv[i], "--changes"))
                        return verb_show_changes(argc, argv);

        r = parse_no_options(argc, argv, "show GUEST [--changes] [--json]");
        if (r <= 0)
                return r < 0 ? KPCTL_EXIT_USAGE : KPCTL_EXIT_OK;
        if (optind + 1 != argc) {
                log_error("show takes one guest name");
                return KPCTL_EXIT_USAGE;
        }
        r = connect_daemon(NULL, &bus);
        if (r != KPCTL_EXIT_OK)
                return r;
        r = show_json(bus, argv[optind], &text);
        if (r != KPCTL_EXIT_OK)
                return r;
        if (arg_json) {
                print_json_text(text);
                return KPCTL_EXIT_OK;
        }
        if (kp_json_parse(text, NULL, &v) < 0)
                return log_error("malformed answer"), KPCTL_EXIT_FAILURE;

        printf("Guest:    %s (%s%s)\n", json_str(v, "name"), json_str(v, "origin"),
               kp_json_get(v, "autostart") && YAJL_IS_TRUE(kp_json_get(v, "autostart")) ? ", autostart" : "");
        if (kp_json_get_string(v, "config_file"))
                printf("Config:   %s\n", json_str(v, "config_file"));
        disks = kp_json_get(v, "disks");
        for (size_t i = 0; disks && YAJL_IS_ARRAY(disks) && i < disks->u.array.len; i++)
                printf("Disk %zu:   %s (%s)\n", i, json_str(disks->u.array.values[i], "path"),
                       json_str(disks->u.array.values[i], "format"));
        if (kp_json_get_string(v, "entry"))
                printf("Entry:    %s (bootloader_args)\n", json_str(v, "entry"));
        printf("Status:   %s%s%s\n", json_str(v, "status"), kp_json_get_string(v, "reason") ? ": " : "",
               kp_json_get_string(v, "reason") ?: "");
        last = kp_json_get(v, "last_scan");
        if (last && YAJL_IS_OBJECT(last)) {
                format_time(json_uint(last, "usec"), when);
                printf("Scanned:  %s by this daemon%s%s\n", when, kp_json_get_string(last, "message") ? ": " : "",
                       kp_json_get_string(last, "message") ? json_str(last, "message") : "");
        }
        state = kp_json_get(v, "state");
        if (!state || !YAJL_IS_OBJECT(state)) {
                printf("Plan:     none (never scanned)\n");
                return KPCTL_EXIT_OK;
        }
        format_time(json_uint(state, "scanned_usec"), when);
        plan = kp_json_get(state, "plan");
        sel = plan ? kp_json_get(plan, "selected") : NULL;
        printf("Plan:     scanned %s, %s\n", when, plan ? json_str(plan, "reason") : "-");
        if (sel && YAJL_IS_OBJECT(sel)) {
                yajl_val initrds = kp_json_get(sel, "initrds");
                printf("Boots:    %s\n", json_str(sel, "title"));
                printf("Kernel:   %s (%s, sha256 %s)\n", json_str(sel, "kernel"), json_str(sel, "format"),
                       json_str(sel, "sha256"));
                for (size_t i = 0; initrds && YAJL_IS_ARRAY(initrds) && i < initrds->u.array.len; i++)
                        printf("Initrd:   %s\n", YAJL_GET_STRING(initrds->u.array.values[i]) ?: "-");
                printf("Cmdline:  %s\n", json_str(sel, "cmdline"));
                printf("Release:  %s; pvgrub2 can load it as it is: %s; ready for PVH: %s\n",
                       json_str(v, "kernel_version"), fact(v, "pvgrub_loadable"), fact(v, "pvh_ready"));
        }
        return KPCTL_EXIT_OK;
}
