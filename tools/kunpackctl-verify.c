/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kunpackctl verify: kunpackd's Verify method.
 */
#include <stdio.h>

#include "kunpackctl-bus.h"
#include "kunpackctl-verify.h"
#include "kunpackctl.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strv.h"

int verb_verify(int argc, char **argv)
{
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **report = NULL;
        uint64_t checked, damaged;
        int r;

        r = parse_no_options(argc, argv, "verify [--json]");
        if (r <= 0)
                return r < 0 ? KPCTL_EXIT_USAGE : KPCTL_EXIT_OK;
        r = connect_daemon(NULL, &bus);
        if (r != KPCTL_EXIT_OK)
                return r;
        /* Re-hashing a big cache takes a while. */
        r = call_daemon(bus, "Verify", KPCTL_RESCAN_WAIT_USEC, &reply, NULL);
        if (r != KPCTL_EXIT_OK)
                return r;
        if (sd_bus_message_read(reply, "tt", &checked, &damaged) < 0 || sd_bus_message_read_strv(reply, &report) < 0)
                return log_error("malformed answer"), KPCTL_EXIT_FAILURE;
        if (arg_json) {
                _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
                _cleanup_free_ char *text = NULL;
                if (kp_json_gen_new(true, &g) < 0)
                        return KPCTL_EXIT_FAILURE;
                yajl_gen_map_open(g);
                kp_json_kv_uint(g, "checked", checked);
                kp_json_kv_uint(g, "damaged", damaged);
                kp_json_key(g, "report");
                yajl_gen_array_open(g);
                STRV_FOREACH(l, report)
                        kp_json_string(g, *l);
                yajl_gen_array_close(g);
                yajl_gen_map_close(g);
                if (kp_json_gen_finish(g, &text, NULL) < 0)
                        return KPCTL_EXIT_FAILURE;
                fputs(text, stdout);
        } else {
                STRV_FOREACH(l, report)
                        printf("%s\n", *l);
                printf("%" PRIu64 " cache entries checked, %" PRIu64 " damaged and removed\n", checked, damaged);
        }
        return damaged > 0 ? KPCTL_EXIT_FAILURE : KPCTL_EXIT_OK;
}
