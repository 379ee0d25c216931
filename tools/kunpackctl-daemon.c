/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kunpackctl's daemon verbs: status, list, show, rescan, gc, verify,
 * prepare. Each talks to kunpackd on its control socket (D-Bus, peer to
 * peer; lib/client/bus-api.h) and prints what it says, or its JSON with
 * --json.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/bus-api.h"
#include "client/client.h"
#include "kunpackctl.h"
#include "settings/settings.h"
#include "util/error.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/time-util.h"

/* A method that only reads answers at once; one that scans (rescan --wait) gets its own bound. */
#define KPCTL_CALL_TIMEOUT_USEC (30 * USEC_PER_SEC)
/* rescan --wait: a batch of many guests under emulation can take many minutes. */
#define KPCTL_RESCAN_WAIT_USEC (3600 * USEC_PER_SEC)
/* Show answers are one boot plan: kp_boot_plan_from_json's own bound. */
#define KPCTL_MAX_JSON (32 * 1024 * 1024)

static void sd_bus_flush_close_unrefp_(sd_bus **b)
{
        if (*b)
                sd_bus_flush_close_unref(*b);
}
#define _cleanup_bus_ _cleanup_(sd_bus_flush_close_unrefp_)

static int socket_path(char **ret)
{
        _cleanup_(kp_settings_freep) KpSettings *c = NULL;
        KpError error = {};
        bool explicit_path;
        const char *path;
        int r;

        if (arg_socket) {
                *ret = strdup(arg_socket);
                return *ret ? 0 : -ENOMEM;
        }
        path = kp_settings_choose_path(arg_config, &explicit_path);
        r = kp_settings_load(path, explicit_path, &error, &c);
        if (r < 0)
                return log_error_errno(r, "%s", kp_error_message(&error, r));
        *ret = strdup(c->socket_path);
        return *ret ? 0 : -ENOMEM;
}

/* Connects, or says why not and returns the exit code to use. */
static int connect_daemon(sd_bus **ret)
{
        _cleanup_free_ char *path = NULL;
        KpError error = {};
        int r;

        r = socket_path(&path);
        if (r < 0)
                return KPCTL_EXIT_USAGE;
        r = kp_client_connect(path, &error, ret);
        if (r == -ENOENT || r == -ECONNREFUSED)
                /* No socket, or one nobody listens on (a daemon that died). */
                log_error("kunpackd is not running (%s: %s)", path, strerror(-r));
        else if (r < 0)
                log_error("%s", kp_error_message(&error, r));
        return r < 0 ? KPCTL_EXIT_UNAVAILABLE : KPCTL_EXIT_OK;
}

static int call_failed(const char *method, int r, const sd_bus_error *e)
{
        if (sd_bus_error_is_set(e)) {
                log_error("%s", e->message ? e->message : e->name);
                return kp_client_error_to_errno(e) == -EACCES ? KPCTL_EXIT_UNAVAILABLE : KPCTL_EXIT_FAILURE;
        }
        log_error("%s: %s", method, strerror(-r));
        return KPCTL_EXIT_UNAVAILABLE;
}

static int call(sd_bus *bus, const char *method, uint64_t timeout, sd_bus_message **ret, const char *types, ...)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, NULL, KP_BUS_PATH, KP_BUS_INTERFACE, method);
        if (r >= 0 && types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
        }
        if (r >= 0)
                r = sd_bus_call(bus, m, timeout, &e, ret);
        if (r < 0) {
                r = call_failed(method, r, &e);
                sd_bus_error_free(&e);
                return r;
        }
        return KPCTL_EXIT_OK;
}

static void print_json_text(const char *text)
{
        fputs(text, stdout);
        fputc('\n', stdout);
}

static const char *json_str(yajl_val v, const char *key)
{
        const char *s = kp_json_get_string(v, key);
        return s ? s : "-";
}

static uint64_t json_uint(yajl_val v, const char *key)
{
        uint64_t u = 0;
        (void) kp_json_get_uint(v, key, &u);
        return u;
}

static void format_time(uint64_t usec, char buf[64])
{
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        if (usec == 0 || !localtime_r(&t, &tm) || strftime(buf, 64, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, 64, "-");
}

static int parse_no_options(int argc, char **argv, const char *usage)
{
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, 'j' },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        printf("Usage: kunpackctl %s\n", usage);
                        return 0;
                case 'j':
                        arg_json = true;
                        break;
                default:
                        return -EINVAL;
                }
        return 1;
}

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
        r = connect_daemon(&bus);
        if (r != KPCTL_EXIT_OK)
                return r;
        r = call(bus, "Status", KPCTL_CALL_TIMEOUT_USEC, &reply, NULL);
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
        return KPCTL_EXIT_OK;
}

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
        r = connect_daemon(&bus);
        if (r != KPCTL_EXIT_OK)
                return r;
        r = call(bus, "List", KPCTL_CALL_TIMEOUT_USEC, &reply, NULL);
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

static int show_json(sd_bus *bus, const char *guest, char **ret_text)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *text;
        int r;

        r = call(bus, "Show", KPCTL_CALL_TIMEOUT_USEC, &reply, "s", guest);
        if (r != KPCTL_EXIT_OK)
                return r;
        if (sd_bus_message_read(reply, "s", &text) < 0 || strlen(text) > KPCTL_MAX_JSON)
                return log_error("malformed answer"), KPCTL_EXIT_FAILURE;
        *ret_text = strdup(text);
        return *ret_text ? KPCTL_EXIT_OK : KPCTL_EXIT_FAILURE;
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

        r = parse_no_options(argc, argv, "show GUEST [--json]");
        if (r <= 0)
                return r < 0 ? KPCTL_EXIT_USAGE : KPCTL_EXIT_OK;
        if (optind + 1 != argc) {
                log_error("show takes one guest name");
                return KPCTL_EXIT_USAGE;
        }
        r = connect_daemon(&bus);
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
        printf("Status:   %s\n", json_str(v, "status"));
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
        }
        return KPCTL_EXIT_OK;
}

/* ---- rescan ------------------------------------------------------------------------------------- */

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

        r = connect_daemon(&bus);
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
        r = connect_daemon(&bus);
        if (r != KPCTL_EXIT_OK)
                return r;
        r = call(bus, "GC", KPCTL_CALL_TIMEOUT_USEC, &reply, "t", dry_run ? KP_GC_DRY_RUN : UINT64_C(0));
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
        r = connect_daemon(&bus);
        if (r != KPCTL_EXIT_OK)
                return r;
        /* Re-hashing a big cache takes a while. */
        r = call(bus, "Verify", KPCTL_RESCAN_WAIT_USEC, &reply, NULL);
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
