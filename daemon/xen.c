/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Domain lifecycle, where a Xen hypervisor runs: xenstore's
 * @introduceDomain and @releaseDomain watches say that some domain came or
 * went, libxl says which domains run and which disks each has. A disk
 * whose last domain stopped is rescanned at once (the guest may have
 * installed a kernel); a disk a domain uses is possibly changing (a block
 * device is never vouched for while it is in use) and is rescanned every
 * scan_interval, with jitter, read-only. Running domains booted by
 * kunpack-boot that no config names join the registry.
 *
 * Without a hypervisor (a development machine, a container) this watcher
 * is absent and the daemon says so once.
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "daemon/xen.h"
#include "daemon/manager.h"
#include "daemon/scheduler.h"
#include "daemon/registry.h"
#include "util/messages.h"
#include "daemon/worker.h"
#include "util/log.h"
#include "util/time-util.h"

#if HAVE_XEN
#include <libxl.h>
#include <libxl_utils.h>
#include <xenstore.h>

#include "xl/domain.h"

/* Domains on one host: Xen's own limit is 32752 (DOMID_FIRST_RESERVED); one pass looks at no more. */
#define KP_XEN_MAX_DOMAINS 32752

struct XenWatch {
        struct xs_handle *xs;
        libxl_ctx *ctx;
        xentoollog_logger *logger;
        sd_event_source *source;
};

static void xen_watch_free(XenWatch *x)
{
        if (!x)
                return;
        sd_event_source_disable_unref(x->source);
        if (x->ctx)
                libxl_ctx_free(x->ctx);
        xtl_logger_destroy(x->logger);
        if (x->xs)
                xs_close(x->xs);
        free(x);
}

/* scan_interval ± 10 %, so that hundreds of running guests do not all come due at once. */
static uint64_t jittered_interval(Manager *m)
{
        uint64_t base = m->settings->scan_interval * USEC_PER_SEC, j = 0;

        if (getrandom(&j, sizeof(j), GRND_NONBLOCK) != (ssize_t) sizeof(j))
                j = (uint64_t) kp_now_usec(CLOCK_MONOTONIC);
        return base - base / 10 + (base / 5 ? j % (base / 5) : 0);
}

static int on_periodic(sd_event_source *s, uint64_t usec, void *userdata)
{
        Disk *d = userdata;

        if (d->in_use > 0 && !d->manager->stopping) {
                scheduler_enqueue(d, SCAN_PRIORITY_BACKGROUND);
                (void) sd_event_source_set_time_relative(s, jittered_interval(d->manager));
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }
        return 0;
}

static Disk *find_disk_by_path(Manager *m, const char *path)
{
        _cleanup_free_ char *real = realpath(path, NULL);

        if (!real)
                return NULL;
        KP_LIST_FOREACH(disks, d, m->disks)
                if (streq(d->request.disk, real))
                        return d;
        return NULL;
}

/* Running domains booted by kunpack-boot that no config file names: known from libxl alone. */
static void register_running(Manager *m, XenWatch *x, uint32_t domid, const char *name)
{
        libxl_domain_config cfg;
        KpDiskSpec specs[KP_DOMAIN_MAX_DISKS];
        size_t n = 0;
        KpError error = {};
        Disk *d;

        if (!name || registry_find_guest(m, name))
                return;
        libxl_domain_config_init(&cfg);
        if (libxl_retrieve_domain_configuration(x->ctx, domid, &cfg, NULL) != 0 ||
            cfg.b_info.type != LIBXL_DOMAIN_TYPE_PV ||
            !kp_domain_bootloader_is_kunpack(cfg.b_info.u.pv.bootloader)) {
                libxl_domain_config_dispose(&cfg);
                return;
        }
        for (int i = 0; i < cfg.num_disks && n < KP_DOMAIN_MAX_DISKS; i++) {
                if (cfg.disks[i].is_cdrom || !cfg.disks[i].pdev_path)
                        continue;
                specs[n].path = cfg.disks[i].pdev_path;
                specs[n].format = cfg.disks[i].format == LIBXL_DISK_FORMAT_QCOW2 ? KP_DISK_FORMAT_QCOW2 : KP_DISK_FORMAT_RAW;
                n++;
        }
        if (n > 0 && registry_disk_for_request(m, specs, n, NULL, NULL, NULL, &error, &d) >= 0) {
                Guest *g = calloc(1, sizeof(Guest));
                if (g && (g->name = strdup(name))) {
                        g->origin = GUEST_ORIGIN_XEN;
                        g->seen = true;
                        g->disk = d;
                        KP_LIST_PREPEND(guests, m->guests, g);
                        log_disk_event(LOG_INFO, 0, KP_MESSAGE_GUEST_ADDED, m, d, NULL,
                                       "guest %s (domain %u) added from libxl", name, domid);
                } else
                        free(g);
        }
        libxl_domain_config_dispose(&cfg);
}

/* Counts, for every known disk, the running domains (other than dom0) that have it. */
static void xen_refresh(Manager *m)
{
        XenWatch *x = m->xen;
        libxl_dominfo *doms;
        int n_doms = 0;
        unsigned *count;
        size_t n_disks = 0, i;

        doms = libxl_list_domain(x->ctx, &n_doms);
        if (!doms) {
                log_warning("libxl cannot list the domains");
                return;
        }
        for (int k = 0; k < n_doms && k < KP_XEN_MAX_DOMAINS; k++) {
                char *name;
                if (doms[k].domid == 0)
                        continue;
                name = libxl_domid_to_name(x->ctx, doms[k].domid);
                register_running(m, x, doms[k].domid, name);
                free(name);
        }

        KP_LIST_FOREACH(disks, d, m->disks)
                n_disks++;
        count = calloc(n_disks ? n_disks : 1, sizeof(unsigned));
        if (!count) {
                libxl_dominfo_list_free(doms, n_doms);
                return;
        }
        for (int k = 0; k < n_doms && k < KP_XEN_MAX_DOMAINS; k++) {
                libxl_device_disk *disks;
                int num = 0;

                if (doms[k].domid == 0)
                        continue;
                disks = libxl_device_disk_list(x->ctx, doms[k].domid, &num);
                for (int j = 0; disks && j < num; j++) {
                        Disk *d = disks[j].pdev_path ? find_disk_by_path(m, disks[j].pdev_path) : NULL;
                        i = 0;
                        for (Disk *e = m->disks; e && d; e = e->disks_next, i++)
                                if (e == d) {
                                        count[i]++;
                                        break;
                                }
                }
                if (disks)
                        libxl_device_disk_list_free(disks, num);
        }
        libxl_dominfo_list_free(doms, n_doms);

        i = 0;
        for (Disk *d = m->disks; d; d = d->disks_next, i++) {
                if (count[i] > 0 && d->in_use == 0) {
                        log_disk_event(LOG_INFO, 0, KP_MESSAGE_DOMAIN_EVENT, m, d, NULL,
                                       "%s is in use by a running domain: possibly changing until it stops",
                                       disk_display_name(m, d));
                        d->in_use = count[i];
                        disk_mark_changed(d, "a domain uses it");
                        if (!d->periodic &&
                            sd_event_add_time_relative(m->event, &d->periodic, CLOCK_MONOTONIC, jittered_interval(m),
                                                       USEC_PER_SEC, on_periodic, d) >= 0)
                                (void) sd_event_source_set_enabled(d->periodic, SD_EVENT_ONESHOT);
                        else if (d->periodic) {
                                (void) sd_event_source_set_time_relative(d->periodic, jittered_interval(m));
                                (void) sd_event_source_set_enabled(d->periodic, SD_EVENT_ONESHOT);
                        }
                } else if (count[i] == 0 && d->in_use > 0) {
                        d->in_use = 0;
                        (void) sd_event_source_set_enabled(d->periodic, SD_EVENT_OFF);
                        log_disk_event(LOG_INFO, 0, KP_MESSAGE_DOMAIN_EVENT, m, d, NULL,
                                       "the domain of %s stopped: rescanning it now", disk_display_name(m, d));
                        disk_mark_changed(d, "its domain stopped");
                        scheduler_enqueue(d, SCAN_PRIORITY_BACKGROUND);
                } else
                        d->in_use = count[i];
        }
        free(count);
        manager_update_status(m);
}

static int on_xenstore(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Manager *m = userdata;
        bool any = false;
        char **vec;

        while ((vec = xs_check_watch(m->xen->xs))) {
                any = true;
                free(vec);
        }
        if (any)
                xen_refresh(m);
        return 0;
}

static bool hypervisor_present(void)
{
        FILE *f = fopen("/proc/xen/capabilities", "re");
        char line[64] = "";

        if (!f)
                return false;
        /* "control_d" in dom0; a domU has the file but no toolstack to follow. */
        if (!fgets(line, sizeof(line), f))
                line[0] = '\0';
        fclose(f);
        return strstr(line, "control_d") != NULL;
}

int xen_watch_start(Manager *m)
{
        XenWatch *x;
        int r;

        if (!hypervisor_present()) {
                kp_log_internal(LOG_NOTICE, 0, KP_FIELDS(KP_MESSAGE_XEN_ABSENT),
                                "no Xen control domain here (/proc/xen/capabilities): domain lifecycle not followed");
                return 0;
        }
        x = calloc(1, sizeof(XenWatch));
        if (!x)
                return log_oom();
        x->xs = xs_open(0);
        if (!x->xs || !xs_watch(x->xs, "@introduceDomain", "introduce") ||
            !xs_watch(x->xs, "@releaseDomain", "release")) {
                kp_log_internal(LOG_WARNING, -errno, KP_FIELDS(KP_MESSAGE_XEN_ABSENT),
                                "xenstored does not answer: domain lifecycle not followed");
                xen_watch_free(x);
                return 0;
        }
        x->logger = (xentoollog_logger *) xtl_createlogger_stdiostream(stderr, XTL_ERROR, 0);
        if (libxl_ctx_alloc(&x->ctx, LIBXL_VERSION, 0, x->logger) != 0) {
                log_warning("libxl is not usable: domain lifecycle not followed");
                xen_watch_free(x);
                return 0;
        }
        r = sd_event_add_io(m->event, &x->source, xs_fileno(x->xs), EPOLLIN, on_xenstore, m);
        if (r < 0) {
                xen_watch_free(x);
                return log_error_errno(r, "cannot watch xenstore: %s", strerror(-r));
        }
        m->xen = x;
        log_info("following domain starts and stops through xenstore");
        xen_refresh(m);
        return 0;
}

void xen_watch_stop(Manager *m)
{
        xen_watch_free(m->xen);
        m->xen = NULL;
}

bool manager_xen_running(const Manager *m)
{
        return m->xen != NULL;
}

#else

int xen_watch_start(Manager *m)
{
        kp_log_internal(LOG_NOTICE, 0, KP_FIELDS(KP_MESSAGE_XEN_ABSENT),
                        "built without Xen support: domain lifecycle not followed");
        return 0;
}

void xen_watch_stop(Manager *m)
{
}

bool manager_xen_running(const Manager *m)
{
        return false;
}

#endif
