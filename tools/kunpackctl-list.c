/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kunpackctl list: the fleet view, from kunpackd's List method. One row
 * per guest: whether its next start is served from the cache (and why
 * not), what it boots, and what that kernel allows.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "kunpackctl-bus.h"
#include "kunpackctl-list.h"
#include "kunpackctl.h"
#include "util/json.h"
#include "util/log.h"
#include "util/macro.h"

/* daemon/bus-methods.c: name, disk, origin, autostart, status, reason, kernel, kernel_version, format,
 * pvgrub_loadable, pvh_ready, last_scan_usec. */
#define LIST_ROW "(sssbsssssiit)"

/* Guests one answer may hold: far more than any host; a bigger answer is not kunpackd's. */
#define KPCTL_LIST_MAX_GUESTS 65536

typedef struct Row {
        const char *name, *disk, *origin, *status, *reason, *kernel, *version, *format;
        int autostart, pvgrub, pvh;
        uint64_t last_scan;
        char when[64];
} Row;

static bool arg_stale, arg_failed;

static int parse_argv(int argc, char **argv)
{
        enum { ARG_STALE = 0x100, ARG_FAILED };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, 'j' },
                { "stale", no_argument, NULL, ARG_STALE },
                { "failed", no_argument, NULL, ARG_FAILED },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        printf("Usage: kunpackctl list [--stale] [--failed] [--json]\n\n"
                               "The guests kunpackd knows: whether each one's next start is served from the\n"
                               "cache, what it boots, whether pvgrub2 could load that kernel as it is and\n"
                               "whether it could boot as PVH.\n\n"
                               "     --stale    Only guests whose next start would wait for a scan\n"
                               "                (stale, queued, scanning, failed)\n"
                               "     --failed   Only guests whose last scan failed\n"
                               "     --json     Print JSON\n");
                        return 0;
                case 'j':
                        arg_json = true;
                        break;
                case ARG_STALE:
                        arg_stale = true;
                        break;
                case ARG_FAILED:
                        arg_failed = true;
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                log_error("list takes no guest names (see kunpackctl show)");
                return -EINVAL;
        }
        return 1;
}

/* With both filters, a guest matching either is shown. */
static bool wanted(const Row *r)
{
        if (!arg_stale && !arg_failed)
                return true;
        if (arg_failed && streq(r->status, "failed"))
                return true;
        return arg_stale && !streq(r->status, "fresh");
}

static const char *fact(int f)
{
        return f > 0 ? "yes" : f == 0 ? "no" : "-";
}

static void json_fact(yajl_gen g, const char *key, int f)
{
        kp_json_key(g, key);
        if (f < 0)
                kp_json_null(g);
        else
                kp_json_bool(g, f > 0);
}

static int print_json(const Row *rows, size_t n)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        _cleanup_free_ char *text = NULL;

        if (kp_json_gen_new(true, &g) < 0)
                return KPCTL_EXIT_FAILURE;
        yajl_gen_array_open(g);
        for (size_t i = 0; i < n; i++) {
                const Row *r = &rows[i];

                yajl_gen_map_open(g);
                kp_json_kv_string(g, "name", r->name);
                kp_json_kv_string(g, "disk", r->disk);
                kp_json_kv_string(g, "origin", r->origin);
                kp_json_kv_bool(g, "autostart", r->autostart);
                kp_json_kv_string(g, "status", r->status);
                kp_json_kv_string(g, "reason", *r->reason ? r->reason : NULL);
                kp_json_kv_string(g, "kernel", *r->kernel ? r->kernel : NULL);
                kp_json_kv_string(g, "kernel_version", *r->version ? r->version : NULL);
                kp_json_kv_string(g, "format", *r->format ? r->format : NULL);
                json_fact(g, "pvgrub_loadable", r->pvgrub);
                json_fact(g, "pvh_ready", r->pvh);
                kp_json_key(g, "last_scan_usec");
                if (r->last_scan)
                        kp_json_uint(g, r->last_scan);
                else
                        kp_json_null(g);
                yajl_gen_map_close(g);
        }
        yajl_gen_array_close(g);
        if (kp_json_gen_finish(g, &text, NULL) < 0)
                return KPCTL_EXIT_FAILURE;
        fputs(text, stdout);
        return KPCTL_EXIT_OK;
}

/* One line per guest, columns as wide as their widest cell; then why each guest that is not fresh is not. */
static void print_table(const Row *rows, size_t n)
{
        enum { NAME, STATUS, VERSION, FORMAT, PVGRUB, PVH, SCANNED, AUTO, ORIGIN, DISK, _COLS };
        static const char *const head[_COLS] = { "GUEST", "STATUS", "VERSION", "FORMAT", "PVGRUB",
                                                 "PVH", "LAST SCAN", "AUTO", "ORIGIN", "DISK" };
        size_t w[_COLS];
        bool reasons = false;

        for (size_t c = 0; c < _COLS; c++)
                w[c] = strlen(head[c]);
        for (size_t i = 0; i < n; i++) {
                const Row *r = &rows[i];
                const char *cell[_COLS] = { r->name, r->status, *r->version ? r->version : "-",
                                            *r->format ? r->format : "-", fact(r->pvgrub), fact(r->pvh),
                                            r->when, r->autostart ? "yes" : "no", r->origin, r->disk };
                for (size_t c = 0; c < _COLS; c++)
                        w[c] = MAX(w[c], strlen(cell[c]));
                reasons = reasons || *r->reason;
        }

        for (size_t c = 0; c < _COLS; c++)
                printf(c + 1 < _COLS ? "%-*s  " : "%-*s\n", c + 1 < _COLS ? (int) w[c] : 0, head[c]);
        for (size_t i = 0; i < n; i++) {
                const Row *r = &rows[i];
                const char *cell[_COLS] = { r->name, r->status, *r->version ? r->version : "-",
                                            *r->format ? r->format : "-", fact(r->pvgrub), fact(r->pvh),
                                            r->when, r->autostart ? "yes" : "no", r->origin, r->disk };
                for (size_t c = 0; c < _COLS; c++)
                        printf(c + 1 < _COLS ? "%-*s  " : "%-*s\n", c + 1 < _COLS ? (int) w[c] : 0, cell[c]);
        }
        if (reasons) {
                putchar('\n');
                for (size_t i = 0; i < n; i++)
                        if (*rows[i].reason)
                                printf("%s: %s: %s\n", rows[i].name, rows[i].status, rows[i].reason);
        }
}

int verb_list(int argc, char **argv)
{
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ Row *rows = NULL;
        size_t n = 0, allocated = 0;
        Row row = {};
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? KPCTL_EXIT_USAGE : KPCTL_EXIT_OK;
        r = connect_daemon(NULL, &bus);
        if (r != KPCTL_EXIT_OK)
                return r;
        r = call_daemon(bus, "List", KPCTL_CALL_TIMEOUT_USEC, &reply, NULL);
        if (r != KPCTL_EXIT_OK)
                return r;
        if (sd_bus_message_enter_container(reply, 'a', LIST_ROW) < 0)
                return log_error("malformed answer"), KPCTL_EXIT_FAILURE;

        while ((r = sd_bus_message_read(reply, LIST_ROW, &row.name, &row.disk, &row.origin, &row.autostart,
                                        &row.status, &row.reason, &row.kernel, &row.version, &row.format,
                                        &row.pvgrub, &row.pvh, &row.last_scan)) > 0) {
                if (!wanted(&row))
                        continue;
                if (n >= KPCTL_LIST_MAX_GUESTS)
                        return log_error("malformed answer: more than %d guests", KPCTL_LIST_MAX_GUESTS),
                               KPCTL_EXIT_FAILURE;
                if (n == allocated) {
                        Row *p = reallocarray(rows, allocated ? allocated * 2 : 16, sizeof(Row));
                        if (!p)
                                return log_error_errno(-ENOMEM, "out of memory"), KPCTL_EXIT_FAILURE;
                        rows = p;
                        allocated = allocated ? allocated * 2 : 16;
                }
                format_time(row.last_scan, row.when);
                rows[n++] = row;
        }
        if (r < 0)
                return log_error("malformed answer"), KPCTL_EXIT_FAILURE;

        if (arg_json)
                return print_json(rows, n);
        print_table(rows, n);
        return KPCTL_EXIT_OK;
}
