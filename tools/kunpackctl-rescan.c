/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kunpackctl rescan: kunpackd's Rescan method, and with --wait its
 * ScanProgress and ScanFinished signals until every scan asked for is done.
 */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "client/bus-api.h"
#include "kunpackctl-bus.h"
#include "kunpackctl-rescan.h"
#include "kunpackctl.h"
#include "util/json.h"
#include "util/log.h"

typedef struct RescanWait {
        sd_bus_message *reply;
        sd_bus_error error;
        bool done, tty;
        bool line_open;
} RescanWait;

static int on_rescan_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        RescanWait *w = userdata;

        w->done = true;
        if (sd_bus_message_is_method_error(m, NULL))
                (void) sd_bus_error_copy(&w->error, sd_bus_message_get_error(m));
        else
                w->reply = sd_bus_message_ref(m);
        return 1;
}

static int on_progress(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        RescanWait *w = userdata;
        const char *guest, *disk, *step;
        uint32_t percent, left;

        if (sd_bus_message_read(m, "sssuu", &guest, &disk, &step, &percent, &left) < 0)
                return 0;
        if (w->tty) {
                printf("\r\033[K%s: %s%s%.0u%s (%u left)", guest, step, percent ? " " : "", percent,
                       percent ? "%" : "", left);
                fflush(stdout);
                w->line_open = true;
        } else if (arg_verbose)
                fprintf(stderr, "%s: %s %u%% (%u left)\n", guest, step, percent, left);
        return 0;
}

static int on_finished(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        RescanWait *w = userdata;
        const char *guest, *disk, *message;
        int32_t error;

        if (sd_bus_message_read(m, "ssis", &guest, &disk, &error, &message) < 0)
                return 0;
        if (w->tty) {
                printf("\r\033[K%s: %s%s%s\n", guest, error < 0 ? "failed" : "scanned", *message ? ": " : "",
                       message);
                w->line_open = false;
        }
        return 0;
}

int verb_rescan(int argc, char **argv)
{
        enum { ARG_ALL = 0x100, ARG_WAIT, ARG_JSON };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "all", no_argument, NULL, ARG_ALL },
                { "wait", no_argument, NULL, ARG_WAIT },
                { "json", no_argument, NULL, ARG_JSON },
                {}
        };
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        RescanWait w = { .error = SD_BUS_ERROR_NULL };
        bool all = false, wait = false;
        const char *guest, *disk, *message;
        int32_t error;
        int c, r, ret = KPCTL_EXIT_OK;
        size_t failed = 0, total = 0;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        printf("Usage: kunpackctl rescan GUEST...|--all [--wait] [--json]\n");
                        return KPCTL_EXIT_OK;
                case ARG_ALL:
                        all = true;
                        break;
                case ARG_WAIT:
                        wait = true;
                        break;
                case ARG_JSON:
                        arg_json = true;
                        break;
                default:
                        return KPCTL_EXIT_USAGE;
                }
        if (all == (optind < argc)) {
                log_error("rescan takes guest names or --all");
                return KPCTL_EXIT_USAGE;
        }

        r = connect_daemon(NULL, &bus);
        if (r != KPCTL_EXIT_OK)
                return r;
        w.tty = wait && isatty(STDOUT_FILENO) && !arg_json;

        r = sd_bus_match_signal(bus, NULL, NULL, KP_BUS_PATH, KP_BUS_INTERFACE, "ScanProgress", on_progress, &w);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, NULL, KP_BUS_PATH, KP_BUS_INTERFACE, "ScanFinished", on_finished,
                                        &w);
        if (r >= 0)
                r = sd_bus_message_new_method_call(bus, &m, NULL, KP_BUS_PATH, KP_BUS_INTERFACE, "Rescan");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, all ? NULL : argv + optind);
        if (r >= 0)
                r = sd_bus_message_append(m, "t", (all ? KP_RESCAN_ALL : 0) | (wait ? KP_RESCAN_WAIT : 0));
        if (r >= 0)
                r = sd_bus_call_async(bus, NULL, m, on_rescan_reply, &w,
                                      wait ? KPCTL_RESCAN_WAIT_USEC : KPCTL_CALL_TIMEOUT_USEC);
        if (r < 0) {
                log_error("cannot call Rescan: %s", strerror(-r));
                return KPCTL_EXIT_UNAVAILABLE;
        }

        while (!w.done) {
                r = sd_bus_process(bus, NULL);
                if (r < 0) {
                        log_error("lost kunpackd: %s", strerror(-r));
                        return KPCTL_EXIT_UNAVAILABLE;
                }
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0 && r != -EINTR) {
                        log_error("lost kunpackd: %s", strerror(-r));
                        return KPCTL_EXIT_UNAVAILABLE;
                }
        }
        if (w.line_open)
                printf("\r\033[K");
        if (sd_bus_error_is_set(&w.error)) {
                r = call_failed("Rescan", -EIO, &w.error);
                sd_bus_error_free(&w.error);
                return r;
        }

        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        if (arg_json) {
                if (kp_json_gen_new(true, &g) < 0)
                        return KPCTL_EXIT_FAILURE;
                yajl_gen_array_open(g);
        }
        r = sd_bus_message_enter_container(w.reply, 'a', "(ssis)");
        while (r >= 0 && (r = sd_bus_message_read(w.reply, "(ssis)", &guest, &disk, &error, &message)) > 0) {
                total++;
                if (error < 0)
                        failed++;
                if (arg_json) {
                        yajl_gen_map_open(g);
                        kp_json_kv_string(g, "guest", guest);
                        kp_json_kv_string(g, "disk", disk);
                        kp_json_kv_string(g, "result", !wait ? message : error < 0 ? "failed" : "scanned");
                        kp_json_kv_string(g, "error", error < 0 ? message : NULL);
                        yajl_gen_map_close(g);
                } else if (!wait)
                        printf("%s: %s\n", guest, message);
                else if (error < 0)
                        fprintf(stderr, "%s: failed: %s\n", guest, message);
                else if (!w.tty)
                        printf("%s: scanned%s%s\n", guest, *message ? ": " : "", message);
        }
        sd_bus_message_unref(w.reply);
        if (r < 0)
                return log_error("malformed answer"), KPCTL_EXIT_FAILURE;
        if (arg_json) {
                _cleanup_free_ char *text = NULL;
                yajl_gen_array_close(g);
                if (kp_json_gen_finish(g, &text, NULL) < 0)
                        return KPCTL_EXIT_FAILURE;
                fputs(text, stdout);
        } else if (wait && w.tty)
                printf("%zu guest%s scanned, %zu failed\n", total - failed, total - failed == 1 ? "" : "s", failed);
        if (failed > 0)
                ret = KPCTL_EXIT_FAILURE;
        return ret;
}
