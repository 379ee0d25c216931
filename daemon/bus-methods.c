/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.kunpack.Manager1: the methods besides Prepare (bus-prepare.c). Read
 * methods that describe much (Show, Status) answer JSON, the form
 * `kunpackctl --json` prints; List answers a typed array for busctl;
 * Metrics answers Prometheus's text format (daemon/metrics.h).
 */
#include <stdio.h>
#include <string.h>

#include "bootcfg/bootplan-json.h"
#include "client/bus-api.h"
#include "daemon/bus-args.h"
#include "daemon/bus-methods.h"
#include "daemon/bus-prepare.h"
#include "daemon/bus.h"
#include "daemon/guest-view.h"
#include "daemon/metrics.h"
#include "daemon/pool.h"
#include "daemon/registry.h"
#include "daemon/scheduler.h"
#include "daemon/verify.h"
#include "daemon/worker.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/time-util.h"

static RescanCall *rescan_call_free(RescanCall *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n; i++) {
                free(c->results[i].guest);
                free(c->results[i].disk);
                free(c->results[i].message);
        }
        free(c->results);
        sd_bus_message_unref(c->call);
        free(c);
        return NULL;
}

static int rescan_call_reply(RescanCall *c)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(c->call, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssis)");
        for (size_t i = 0; r >= 0 && i < c->n; i++)
                r = sd_bus_message_append(reply, "(ssis)", c->results[i].guest, c->results[i].disk,
                                          c->results[i].error, c->results[i].message ? c->results[i].message : "");
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        return r;
}

void rescan_call_result(RescanCall *c, size_t index, int error, const char *message)
{
        if (!c || index >= c->n)
                return;
        c->results[index].error = error;
        free(c->results[index].message);
        c->results[index].message = message ? strdup(message) : NULL;
        if (--c->pending == 0) {
                (void) rescan_call_reply(c);
                rescan_call_free(c);
        }
}

static int method_rescan(sd_bus_message *call, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ Guest **guests = NULL;
        RescanCall *c;
        uint64_t flags;
        KpError e = {};
        size_t n = 0;
        int r;

        if (m->stopping)
                return bus_reply_errno(call, -ESHUTDOWN, "kunpackd is stopping");
        r = sd_bus_message_read_strv(call, &names);
        if (r >= 0)
                r = sd_bus_message_read(call, "t", &flags);
        if (r < 0)
                return r;
        r = rescan_args_check(strv_length(names), flags, &e);
        if (r < 0)
                return bus_reply_errno(call, r, kp_error_message(&e, r));

        if (flags & KP_RESCAN_ALL) {
                KP_LIST_FOREACH(guests, g, m->guests)
                        n++;
                guests = calloc(n ? n : 1, sizeof(Guest *));
                if (!guests)
                        return -ENOMEM;
                n = 0;
                KP_LIST_FOREACH(guests, g, m->guests)
                        guests[n++] = g;
        } else {
                guests = calloc(strv_length(names) + 1, sizeof(Guest *));
                if (!guests)
                        return -ENOMEM;
                STRV_FOREACH(name, names) {
                        Guest *g = registry_find_guest(m, *name);
                        if (!g)
                                return sd_bus_reply_method_errorf(call, KP_BUS_ERROR_NO_SUCH_GUEST,
                                                                  "no guest named \"%s\"", *name);
                        guests[n++] = g;
                }
        }

        c = calloc(1, sizeof(RescanCall));
        if (!c || !(c->results = calloc(n ? n : 1, sizeof(*c->results)))) {
                free(c);
                return -ENOMEM;
        }
        c->call = sd_bus_message_ref(call);
        c->n = n;
        for (size_t i = 0; i < n; i++) {
                c->results[i].guest = strdup(guests[i]->name);
                c->results[i].disk = strdup(guests[i]->disk->request.disk);
                if (!c->results[i].guest || !c->results[i].disk) {
                        rescan_call_free(c);
                        return -ENOMEM;
                }
        }

        /* Queue every disk first, so they are ordered by priority together; then wait (or not). */
        for (size_t i = 0; i < n; i++)
                scheduler_enqueue(guests[i]->disk, SCAN_PRIORITY_ADMIN);

        if (!(flags & KP_RESCAN_WAIT) || n == 0) {
                for (size_t i = 0; i < n; i++)
                        c->results[i].message = strdup(guests[i]->disk->scan == DISK_RUNNING ? "running" : "queued");
                r = rescan_call_reply(c);
                rescan_call_free(c);
                return r < 0 ? r : 1;
        }

        c->pending = n;
        for (size_t i = 0; i < n; i++) {
                Waiter *w = calloc(1, sizeof(Waiter));
                if (!w) {
                        /* What is attached already answers later; this slot answers now. */
                        rescan_call_result(c, i, -ENOMEM, "out of memory");
                        continue;
                }
                w->kind = WAITER_RESCAN;
                w->rescan = c;
                w->index = i;
                disk_add_waiter(guests[i]->disk, w);
        }
        return 1;
}

/*
 * One row per guest: name, disk, origin, autostart, status, reason, kernel,
 * kernel_version, format, pvgrub_loadable, pvh_ready, last_scan_usec
 * (daemon/guest-view.h; the two facts are 1, 0, or -1 when not known).
 */
#define LIST_ROW "(sssbsssssiit)"

static int method_list(sd_bus_message *call, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', LIST_ROW);
        for (Guest *g = m->guests; r >= 0 && g; g = g->guests_next) {
                _cleanup_(guest_view_done) GuestView v = GUEST_VIEW_INIT;

                r = guest_view(m, g, &v);
                if (r < 0)
                        break;
                r = sd_bus_message_append(reply, LIST_ROW, g->name, g->disk->request.disk,
                                          guest_origin_to_string(g->origin), g->autostart, v.status,
                                          v.reason ?: "", v.kernel ?: "", v.kernel_version ?: "",
                                          v.format != KP_FORMAT_UNKNOWN ? kp_format_to_string(v.format) : "",
                                          (int32_t) v.pvgrub_loadable, (int32_t) v.pvh_ready, v.last_scan_usec);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* A fact that may not be known: true, false or null. */
static void json_fact(yajl_gen g, GuestFact f)
{
        if (f == GUEST_FACT_UNKNOWN)
                kp_json_null(g);
        else
                kp_json_bool(g, f == GUEST_FACT_YES);
}

static int reply_json(sd_bus_message *call, yajl_gen g)
{
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        r = kp_json_gen_finish(g, &text, &size);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(call, "s", text);
}

static int method_show(sd_bus_message *call, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        _cleanup_(guest_view_done) GuestView v = GUEST_VIEW_INIT;
        const char *name;
        Guest *guest;
        Disk *d;
        int r;

        r = sd_bus_message_read(call, "s", &name);
        if (r < 0)
                return r;
        guest = registry_find_guest(m, name);
        if (!guest)
                return sd_bus_reply_method_errorf(call, KP_BUS_ERROR_NO_SUCH_GUEST, "no guest named \"%s\"", name);
        d = guest->disk;
        r = guest_view(m, guest, &v);
        if (r < 0)
                return r;

        r = kp_json_gen_new(false, &g);
        if (r < 0)
                return r;
        yajl_gen_map_open(g);
        kp_json_kv_string(g, "name", guest->name);
        kp_json_kv_string(g, "origin", guest_origin_to_string(guest->origin));
        kp_json_kv_string(g, "config_file", guest->config_file);
        kp_json_kv_bool(g, "autostart", guest->autostart);
        kp_json_kv_string(g, "entry", guest->entry);
        kp_json_kv_string(g, "mode", guest->mode);
        kp_json_key(g, "disks");
        yajl_gen_array_open(g);
        for (size_t i = 0; i < d->n_specs; i++) {
                yajl_gen_map_open(g);
                kp_json_kv_string(g, "path", d->specs[i].path);
                kp_json_kv_string(g, "format", kp_disk_format_to_string(d->specs[i].format));
                yajl_gen_map_close(g);
        }
        yajl_gen_array_close(g);
        kp_json_kv_string(g, "disk", d->request.disk);
        kp_json_kv_string(g, "request", d->request_key);
        kp_json_kv_string(g, "status", v.status);
        kp_json_kv_string(g, "reason", v.reason);
        kp_json_kv_string(g, "step", d->scan == DISK_RUNNING ? d->step : NULL);
        kp_json_kv_string(g, "kernel", v.kernel);
        kp_json_kv_string(g, "kernel_version", v.kernel_version);
        kp_json_kv_string(g, "format", v.format != KP_FORMAT_UNKNOWN ? kp_format_to_string(v.format) : NULL);
        kp_json_key(g, "pvgrub_loadable");
        json_fact(g, v.pvgrub_loadable);
        kp_json_key(g, "pvh_ready");
        json_fact(g, v.pvh_ready);
        kp_json_key(g, "last_scan_usec");
        if (v.last_scan_usec)
                kp_json_uint(g, v.last_scan_usec);
        else
                kp_json_null(g);
        kp_json_kv_bool(g, "in_use", d->in_use > 0);
        kp_json_kv_bool(g, "vouched", disk_is_vouched(m, d));
        kp_json_key(g, "last_scan");
        if (d->last_scan_usec) {
                yajl_gen_map_open(g);
                kp_json_kv_uint(g, "usec", d->last_scan_usec);
                kp_json_key(g, "errno");
                if (d->last_error < 0)
                        kp_json_int(g, -d->last_error);
                else
                        kp_json_null(g);
                kp_json_kv_string(g, "message", d->last_message);
                yajl_gen_map_close(g);
        } else
                kp_json_null(g);
        kp_json_key(g, "state");
        if (v.state) {
                yajl_gen_map_open(g);
                kp_json_kv_uint(g, "scanned_usec", v.state->scanned_usec);
                kp_json_key(g, "plan");
                r = kp_boot_plan_to_json(v.state->plan, g);
                if (r < 0)
                        return r;
                yajl_gen_map_close(g);
        } else
                kp_json_null(g);
        yajl_gen_map_close(g);
        return reply_json(call, g);
}

static int method_status(sd_bus_message *call, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        size_t guests = 0;
        int r;

        KP_LIST_FOREACH(guests, x, m->guests)
                guests++;
        r = kp_json_gen_new(false, &g);
        if (r < 0)
                return r;
        yajl_gen_map_open(g);
        kp_json_kv_string(g, "version", PACKAGE_VERSION);
        kp_json_kv_uint(g, "pid", (uint64_t) getpid());
        kp_json_kv_uint(g, "started_usec", m->started_usec);
        kp_json_kv_string(g, "config", m->settings->path);
        kp_json_kv_string(g, "socket", m->socket_path);
        kp_json_kv_string(g, "cache_dir", m->settings->cache_dir);
        kp_json_kv_string(g, "state_dir", m->settings->state_dir);
        kp_json_kv_string(g, "scan_program", m->scan_program);
        kp_json_kv_bool(g, "xen", manager_xen_running(m));
        kp_json_kv_uint(g, "guests", guests);
        kp_json_kv_uint(g, "queued", scheduler_count(m, DISK_QUEUED));
        kp_json_kv_uint(g, "scanning", scheduler_count(m, DISK_RUNNING));
        kp_json_kv_uint(g, "appliances", m->n_workers);
        kp_json_kv_uint(g, "scan_concurrency", m->settings->scan_concurrency);
        kp_json_kv_uint(g, "appliance_memsize", m->settings->appliance_memsize);
        pool_status_json(m, g);
        kp_json_kv_uint(g, "scans_done", m->scans_ok);
        kp_json_kv_uint(g, "scans_failed", m->scans_failed);
        kp_json_kv_uint(g, "appliance_launches", m->appliance_runs);
        kp_json_kv_uint(g, "prepares_hot", m->prepares_hot);
        kp_json_kv_uint(g, "prepares_cold", m->prepares_cold);
        kp_json_kv_uint(g, "prepares_failed", m->prepares_failed);
        kp_json_kv_string(g, "status", m->status);
        /*
         * Whether a start this daemon serves gets a hard link or a copy of
         * the kernel: tried in its own mount namespace, where its sandbox
         * may have made the cache and libxl's directory mounts of their own.
         */
        kp_json_key(g, "links_to_libxl");
        if (access(KP_LIBXL_LIB_DIR, F_OK) < 0)
                kp_json_null(g);
        else
                kp_json_bool(g, kp_link_probe(m->settings->cache_dir, KP_LIBXL_LIB_DIR, NULL) > 0);
        kp_json_key(g, "workers");
        yajl_gen_array_open(g);
        KP_LIST_FOREACH(workers, w, m->workers) {
                yajl_gen_map_open(g);
                kp_json_kv_uint(g, "pid", (uint64_t) w->pid);
                kp_json_kv_uint(g, "seconds", (kp_now_usec(CLOCK_MONOTONIC) - w->started_usec) / USEC_PER_SEC);
                kp_json_key(g, "guests");
                yajl_gen_array_open(g);
                for (size_t i = 0; i < w->n_disks; i++)
                        if (w->disks[i])
                                kp_json_string(g, disk_display_name(m, w->disks[i]));
                yajl_gen_array_close(g);
                yajl_gen_map_close(g);
        }
        yajl_gen_array_close(g);
        yajl_gen_map_close(g);
        return reply_json(call, g);
}

static int method_metrics(sd_bus_message *call, void *userdata, sd_bus_error *error)
{
        _cleanup_free_ char *text = NULL;
        int r;

        r = metrics_format(userdata, &text, NULL);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(call, "s", text);
}

static int method_gc(sd_bus_message *call, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        KpCacheGcStats stats = {};
        uint64_t flags;
        int r;

        r = sd_bus_message_read(call, "t", &flags);
        if (r < 0)
                return r;
        r = manager_gc(m, flags & KP_GC_DRY_RUN, &stats);
        if (r < 0)
                return bus_reply_errno(call, r, "garbage collection failed (see the journal)");
        return sd_bus_reply_method_return(call, "tttt", (uint64_t) stats.removed, stats.removed_bytes,
                                          (uint64_t) stats.kept, stats.kept_bytes);
}

static int method_verify(sd_bus_message *call, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;

        if (m->stopping)
                return bus_reply_errno(call, -ESHUTDOWN, "kunpackd is stopping");
        /* Off the event loop: Prepare is answered while gigabytes are hashed (daemon/verify.h). */
        return verify_start(m, call);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_NAMES("Prepare", "a(ss)ssssssttu",
                                 SD_BUS_PARAM(disks) SD_BUS_PARAM(entry) SD_BUS_PARAM(mode) SD_BUS_PARAM(kernel)
                                 SD_BUS_PARAM(ramdisk) SD_BUS_PARAM(args) SD_BUS_PARAM(output_directory)
                                 SD_BUS_PARAM(timeout_usec) SD_BUS_PARAM(flags) SD_BUS_PARAM(domid),
                                 "sssbsss",
                                 SD_BUS_PARAM(kernel) SD_BUS_PARAM(ramdisk) SD_BUS_PARAM(args) SD_BUS_PARAM(hot)
                                 SD_BUS_PARAM(guest_kernel) SD_BUS_PARAM(kernel_sha256) SD_BUS_PARAM(detail),
                                 method_prepare, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Rescan", "ast", SD_BUS_PARAM(guests) SD_BUS_PARAM(flags), "a(ssis)",
                                 SD_BUS_PARAM(results), method_rescan, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("List", "", "", "a" LIST_ROW, SD_BUS_PARAM(guests), method_list,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Show", "s", SD_BUS_PARAM(guest), "s", SD_BUS_PARAM(json), method_show,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GC", "t", SD_BUS_PARAM(flags), "tttt",
                                 SD_BUS_PARAM(removed) SD_BUS_PARAM(removed_bytes) SD_BUS_PARAM(kept)
                                 SD_BUS_PARAM(kept_bytes),
                                 method_gc, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Verify", "", "", "ttas",
                                 SD_BUS_PARAM(checked) SD_BUS_PARAM(damaged) SD_BUS_PARAM(report), method_verify,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Status", "", "", "s", SD_BUS_PARAM(json), method_status,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Metrics", "", "", "s", SD_BUS_PARAM(text), method_metrics,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_NAMES("ScanProgress", "sssuu",
                                 SD_BUS_PARAM(guest) SD_BUS_PARAM(disk) SD_BUS_PARAM(step) SD_BUS_PARAM(percent)
                                 SD_BUS_PARAM(left),
                                 0),
        SD_BUS_SIGNAL_WITH_NAMES("ScanFinished", "ssis",
                                 SD_BUS_PARAM(guest) SD_BUS_PARAM(disk) SD_BUS_PARAM(errno) SD_BUS_PARAM(message), 0),
        SD_BUS_SIGNAL_WITH_NAMES("PrepareWaiting", "ss", SD_BUS_PARAM(disk) SD_BUS_PARAM(why), 0),
        SD_BUS_VTABLE_END,
};

/*
 * busctl (and other clients that believe they talk to a bus) first say
 * Hello to org.freedesktop.DBus and wait for their unique name. There is
 * no bus here; answering keeps `busctl --address=unix:path=... introspect`
 * working. The name is made up and means nothing.
 */
static int method_hello(sd_bus_message *call, void *userdata, sd_bus_error *error)
{
        return sd_bus_reply_method_return(call, "s", ":1.1");
}

static const sd_bus_vtable hello_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Hello", "", "s", method_hello, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int bus_add_manager_object(Manager *m, sd_bus *bus)
{
        int r;

        r = sd_bus_add_object_vtable(bus, NULL, "/org/freedesktop/DBus", "org.freedesktop.DBus", hello_vtable, m);
        if (r < 0)
                return r;
        return sd_bus_add_object_vtable(bus, NULL, KP_BUS_PATH, KP_BUS_INTERFACE, manager_vtable, m);
}
