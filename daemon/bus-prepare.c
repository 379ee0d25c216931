/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Prepare: what kunpack-boot asks at a domain start. The hot path is
 * lib/boot's (fresh state, cache entries that check out); the daemon then
 * publishes the kernel and ramdisk into libxl's output directory itself
 * (it is root, like kunpack-boot) and returns their paths. Otherwise the
 * call waits, within its deadline, for a scan that goes before every other
 * (the cold path), and is answered when it is done.
 */
#include <stdio.h>
#include <string.h>

#include "boot/answer.h"
#include "client/bus-api.h"
#include "daemon/bus-args.h"
#include "daemon/bus-prepare.h"
#include "daemon/bus.h"
#include "daemon/manager.h"
#include "daemon/registry.h"
#include "daemon/scheduler.h"
#include "daemon/worker.h"
#include "util/error.h"
#include "util/grow.h"
#include "util/log.h"
#include "util/messages.h"
#include "util/time-util.h"
#include "xl/attach.h"
#include "xl/domain.h"

/* A start is not worth more scans than this: an image rewritten during every scan is not going to settle. */
#define KP_PREPARE_MAX_SCANS 3

static int reply_answer(Waiter *w, KpPrepared *p, bool hot)
{
        Disk *d = w->disk;
        Manager *m = d->manager;
        KpOutputDir dir = KP_OUTPUT_DIR_INIT;
        const char *name;
        _cleanup_free_ char *kernel = NULL, *ramdisk = NULL, *args = NULL;
        KpError error = {};
        int r;

        r = kp_answer_join_args(p->cmdline, w->args, &error, &args);
        if (r >= 0)
                r = kp_output_dir_open(w->output_directory, &error, &dir);
        if (r >= 0)
                r = kp_answer_publish(&dir, "kernel", p->kernel_fd, &error, &kernel);
        if (r >= 0 && p->n_initrds > 0)
                r = kp_answer_publish_initrds(&dir, "ramdisk", p->initrd_fds, p->n_initrds, &error, &ramdisk);
        if (r < 0 && kernel)
                (void) unlinkat(dir.fd, strrchr(kernel, '/') + 1, 0);
        kp_output_dir_done(&dir);
        if (r < 0) {
                metrics_prepare_failed(m);
                log_disk_event(LOG_ERR, r, KP_MESSAGE_PREPARE_FAILED, m, d, p->kernel_sha256,
                               "cannot answer the start of %s: %s", disk_display_name(m, d),
                               kp_error_message(&error, r));
                return bus_reply_errno(w->call, r, kp_error_message(&error, r));
        }

        if (hot)
                m->prepares_hot++;
        else
                m->prepares_cold++;
        /* The guest's name and its disk's path: the admin reading it knows one or the other. */
        name = disk_display_name(m, d);
        log_disk_event(LOG_INFO, 0, hot ? KP_MESSAGE_PREPARE_HOT : KP_MESSAGE_PREPARE_COLD, m, d, p->kernel_sha256,
                       "start of %s%s%s%s served %s: %s (%s)", name, streq(name, d->request.disk) ? "" : " (",
                       streq(name, d->request.disk) ? "" : d->request.disk, streq(name, d->request.disk) ? "" : ")",
                       hot ? "from a fresh plan" : "after a scan", p->kernel_path, p->title ? p->title : "");
        return sd_bus_reply_method_return(w->call, "sssbsss", kernel, ramdisk ? ramdisk : "", args ? args : "", hot,
                                          p->kernel_path, p->kernel_sha256, p->title ? p->title : "");
}

/* A dry run: what the next start would boot, and whether it would be hot. Publishes and scans nothing. */
static int reply_dry_run(Waiter *w, KpPrepared *p)
{
        Manager *m = w->disk->manager;
        _cleanup_(kp_disk_state_freep) KpDiskState *st = NULL;
        _cleanup_free_ char *kernel = NULL, *args = NULL;
        const KpBootEntry *e = NULL;

        if (p->outcome == KP_PREPARE_READY) {
                if (asprintf(&kernel, "%s/kernels/%s.elf", kp_cache_path(m->cache), p->kernel_sha256) < 0 ||
                    kp_answer_join_args(p->cmdline, w->args, NULL, &args) < 0)
                        return bus_reply_errno(w->call, -ENOMEM, "out of memory");
                return sd_bus_reply_method_return(w->call, "sssbsss", kernel, "", args ? args : "", true,
                                                  p->kernel_path, p->kernel_sha256, p->title ? p->title : "");
        }

        /* Cold: what the last scan said, if anything, and why it cannot be served as it is. */
        if (kp_state_load(m->state, w->disk->request.disk, w->disk->request_key, NULL, &st) >= 0)
                e = kp_boot_plan_selected(st->plan);
        if (e && (kp_answer_join_args(e->cmdline, w->args, NULL, &args) < 0))
                return bus_reply_errno(w->call, -ENOMEM, "out of memory");
        return sd_bus_reply_method_return(w->call, "sssbsss", "", "", args ? args : "", false,
                                          e && e->kernel.path ? e->kernel.path : "",
                                          e && e->kernel.have_info ? e->kernel.sha256 : "", p->why);
}

/* The disk's plan as the hot path sees it (lib/boot/prepare.h); a damaged record or entry it removed is logged. */
static int look_up(Disk *d, bool after_scan, KpError *error, KpPrepared *ret)
{
        Manager *m = d->manager;
        KpPrepareOptions o = {
                .trust_foreign = m->settings->trust_foreign_plans,
                /*
                 * Right after a scan that ran for this caller, the daemon
                 * vouches for the disk as kunpack-boot's own cold path would:
                 * the record's identity was taken before that scan began.
                 */
                .vouched = disk_is_vouched(m, d) || (after_scan && d->last_error == 0),
        };
        int r;

        r = kp_boot_prepare(m->cache, m->state, &d->request, &o, error, ret);
        if (r >= 0 && ret->damaged)
                log_disk_event(LOG_WARNING, 0, NULL, m, d, NULL, "%s: %s", disk_display_name(m, d), ret->why);
        return r;
}

int prepare_try_answer(Waiter *w, bool after_scan)
{
        Disk *d = w->disk;
        Manager *m = d->manager;
        KpPrepared p = KP_PREPARED_INIT;
        KpError error = {};
        int r;

        if (after_scan && d->last_error < 0) {
                metrics_prepare_failed(m);
                log_disk_event(LOG_ERR, d->last_error, KP_MESSAGE_PREPARE_FAILED, m, d, NULL,
                               "start of %s not served: the scan failed: %s", disk_display_name(m, d),
                               d->last_message ? d->last_message : strerror(-d->last_error));
                /*
                 * ScanFailed, but for the host's own failures (a timeout, an
                 * appliance that did not launch, a full disk): their errno,
                 * which kunpack-boot's on_failure = "last-good" goes by.
                 */
                return bus_reply_errno(w->call,
                                       d->last_error == -ESHUTDOWN || kp_boot_failure_is_host_side(d->last_error)
                                               ? d->last_error
                                               : -EIO,
                                       d->last_message ? d->last_message : strerror(-d->last_error)),
                       1;
        }

        r = look_up(d, after_scan, &error, &p);
        if (r < 0) {
                metrics_prepare_failed(m);
                log_disk_event(LOG_ERR, r, KP_MESSAGE_PREPARE_FAILED, m, d, NULL, "start of %s not served: %s",
                               disk_display_name(m, d), kp_error_message(&error, r));
                return bus_reply_errno(w->call, r, kp_error_message(&error, r)), 1;
        }

        if (w->kind == WAITER_PREPARE && !w->output_directory) {
                /* Nothing is scanned for a dry run, but what it found damaged is: the next start is hot again. */
                if (p.damaged)
                        (void) scheduler_enqueue_damaged(d, p.why);
                r = reply_dry_run(w, &p);
                kp_prepared_done(&p);
                return 1;
        }

        if (p.outcome == KP_PREPARE_READY) {
                (void) reply_answer(w, &p, !after_scan);
                kp_prepared_done(&p);
                return 1;
        }
        kp_prepared_done(&p);

        if (kp_usec_left(w->deadline_usec) == 0 || ++w->scans > KP_PREPARE_MAX_SCANS) {
                metrics_prepare_failed(m);
                log_disk_event(LOG_ERR, -ETIMEDOUT, KP_MESSAGE_PREPARE_FAILED, m, d, NULL,
                               "start of %s not served: still no fresh plan (%s)", disk_display_name(m, d), p.why);
                return bus_reply_errno(w->call, -ETIMEDOUT, p.why), 1;
        }
        log_disk_event(LOG_INFO, 0, NULL, m, d, NULL, "start of %s waits for a scan: %s", disk_display_name(m, d),
                       p.why);
        /*
         * The caller (kunpack-boot) is told now, not after the 10-30 s of
         * the scan: it says so in bootloader.<domid>.log, where libxl's
         * admin looks while xl create waits. To its connection only.
         */
        if (w->scans == 1)
                (void) sd_bus_emit_signal(sd_bus_message_get_bus(w->call), KP_BUS_PATH, KP_BUS_INTERFACE,
                                          "PrepareWaiting", "ss", d->request.disk, p.why);
        scheduler_enqueue(d, SCAN_PRIORITY_BOOT);
        return 0;
}

/*
 * A qcow2 guest's start: libxl attached the image to dom0 and passed
 * /dev/xvdX, which is new at every start. The Disk its plan is kept under
 * is the image's (lib/xl/attach.h): the guest's own when the domain's
 * name is a registered guest whose first disk is that image (so its other
 * disks and entry come along), else the image alone. 1 with it in *ret,
 * 0 when the request is not such a start.
 */
static int attached_image_disk(Manager *m, const PrepareRequest *req, Disk **ret, char **ret_domain)
{
        _cleanup_free_ char *name = NULL, *real = NULL;
        KpDiskSpec image = {};
        KpError error = {};
        Guest *g;
        int r;

        if (req->domid == 0 || req->dry_run || req->kernel || req->n_specs != 1 ||
            req->specs[0].format != KP_DISK_FORMAT_RAW)
                return 0;
        r = kp_xl_local_attach_source(req->specs[0].path, &error, &image);
        if (r < 0)
                log_warning("start of domain %" PRIu32 ": %s: %s; served as the device libxl passed",
                            req->domid, req->specs[0].path, kp_error_message(&error, r));
        if (r <= 0)
                return 0;

        (void) kp_xl_domain_name(req->domid, &name);
        g = name ? registry_find_guest(m, name) : NULL;
        real = realpath(image.path, NULL);
        if (g && g->disk && real && streq(g->disk->request.disk, real) && g->disk->n_specs > 0 &&
            g->disk->specs[0].format == image.format)
                r = registry_disk_for_request(m, g->disk->specs, g->disk->n_specs, req->entry, NULL, NULL, &error,
                                              ret);
        else
                r = registry_disk_for_request(m, &image, 1, req->entry, NULL, NULL, &error, ret);
        kp_disk_spec_done(&image);
        if (r < 0) {
                log_warning("start of domain %" PRIu32 ": %s: %s; served as the device libxl passed", req->domid,
                            req->specs[0].path, kp_error_message(&error, r));
                return 0;
        }
        *ret_domain = TAKE_PTR(name);
        return 1;
}

/*
 * The image's plan, if it is fresh: the start is answered from it (1).
 * Otherwise (0) nothing was answered and *ret_why says why; the start
 * goes on as a request for the device, scanned as libxl attached it.
 */
static int try_attached_image(Waiter *w, char **ret_why)
{
        KpPrepared p = KP_PREPARED_INIT;
        KpError error = {};
        int r;

        r = look_up(w->disk, false, &error, &p);
        if (r < 0) {
                *ret_why = strdup(kp_error_message(&error, r));
                return 0;
        }
        /* The cold path scans the device, not the image: the image is rescanned for its next start. */
        if (p.damaged)
                (void) scheduler_enqueue_damaged(w->disk, p.why);
        if (p.outcome == KP_PREPARE_READY) {
                (void) reply_answer(w, &p, true);
                kp_prepared_done(&p);
                return 1;
        }
        *ret_why = strdup(p.why);
        kp_prepared_done(&p);
        return 0;
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
        Waiter *w = userdata;
        Disk *d = w->disk;
        Manager *m = d->manager;

        metrics_prepare_failed(m);
        log_disk_event(LOG_ERR, -ETIMEDOUT, KP_MESSAGE_PREPARE_FAILED, m, d, NULL,
                       "start of %s not served: its deadline passed while the disk was %s", disk_display_name(m, d),
                       d->scan == DISK_RUNNING ? "being scanned" : "queued");
        (void) bus_reply_errno(w->call, -ETIMEDOUT, "the deadline passed before a scan of the disk finished");
        disk_remove_waiter(d, w);
        waiter_free(w);
        return 0;
}

int method_prepare(sd_bus_message *call, void *userdata, sd_bus_error *ret_error)
{
        Manager *m = userdata;
        _cleanup_(prepare_request_done) PrepareRequest req = {};
        /* One more than the limit, so that prepare_args_parse() sees the call had too many. */
        const char *paths[KP_DOMAIN_MAX_DISKS + 1], *formats[KP_DOMAIN_MAX_DISKS + 1];
        PrepareArgs a = { .paths = paths, .formats = formats };
        _cleanup_free_ char *domain = NULL;
        Disk *d, *image = NULL;
        KpError error = {};
        Waiter *w;
        int r;

        if (m->stopping)
                return bus_reply_errno(call, -ESHUTDOWN, "kunpackd is stopping");

        /* sd-bus checks the types; bus-args.c what the values mean. */
        r = sd_bus_message_enter_container(call, 'a', "(ss)");
        if (r < 0)
                return r;
        while (a.n_disks <= KP_DOMAIN_MAX_DISKS &&
               (r = sd_bus_message_read(call, "(ss)", &paths[a.n_disks], &formats[a.n_disks])) > 0)
                a.n_disks++;
        if (a.n_disks <= KP_DOMAIN_MAX_DISKS) {
                if (r >= 0)
                        r = sd_bus_message_exit_container(call);
                if (r >= 0)
                        r = sd_bus_message_read(call, "ssssssttu", &a.entry, &a.mode, &a.kernel, &a.ramdisk, &a.args,
                                                &a.output_directory, &a.timeout_usec, &a.flags, &a.domid);
                if (r < 0)
                        return r;
        } else
                a.entry = a.mode = a.kernel = a.ramdisk = a.args = a.output_directory = "";
        r = prepare_args_parse(&a, m->settings->boot_timeout * USEC_PER_SEC, &error, &req);
        if (r < 0)
                return bus_reply_errno(call, r, kp_error_message(&error, r));

        if (attached_image_disk(m, &req, &image, &domain) > 0) {
                _cleanup_free_ char *why = NULL;
                Waiter hot = {
                        .disk = image,
                        .kind = WAITER_PREPARE,
                        .call = call,
                        .args = req.args,
                        .output_directory = req.output_directory,
                };

                r = registry_add_prepare_guest(m, image, domain);
                if (r < 0)
                        return r;
                if (try_attached_image(&hot, &why) > 0)
                        return 1;
                log_disk_event(LOG_INFO, 0, NULL, m, image, NULL,
                               "start of %s (domain %" PRIu32 "): the plan of %s cannot be served (%s): scanning %s "
                               "as libxl attached it",
                               disk_display_name(m, image), req.domid, image->request.disk, why ?: "no plan",
                               req.specs[0].path);
        }

        r = registry_disk_for_request(m, req.specs, req.n_specs, req.entry, req.kernel, req.ramdisk, &error, &d);
        if (r < 0)
                return bus_reply_errno(call, r, kp_error_message(&error, r));
        /* A device libxl attached for one start is no guest of its own: the image is. */
        if (!image) {
                r = registry_add_prepare_guest(m, d, NULL);
                if (r < 0)
                        return r;
        }

        w = calloc(1, sizeof(Waiter));
        if (!w)
                return -ENOMEM;
        w->disk = d;
        w->kind = WAITER_PREPARE;
        w->call = sd_bus_message_ref(call);
        w->args = TAKE_PTR(req.args);
        w->output_directory = TAKE_PTR(req.output_directory);
        w->deadline_usec = kp_now_usec(CLOCK_MONOTONIC) + req.timeout_usec;

        if (prepare_try_answer(w, false) != 0 || req.dry_run) {
                waiter_free(w);
                return 1;
        }

        r = sd_event_add_time(m->event, &w->timer, CLOCK_MONOTONIC, w->deadline_usec, USEC_PER_MSEC * 10,
                              on_deadline, w);
        if (r < 0) {
                waiter_free(w);
                return r;
        }
        disk_add_waiter(d, w);
        return 1;
}
