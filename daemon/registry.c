/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guest registry: every guest whose xl config in domain_config_dirs
 * names kunpack-boot as its bootloader, every disk a Prepare call named,
 * and (with Xen) the running domains' disks. Guests point at scan targets
 * (Disk: a disk and a request); guests booting the same disk the same way
 * share one.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/manager.h"
#include "daemon/registry.h"
#include "daemon/scheduler.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/messages.h"
#include "util/strv.h"
#include "xl/domain.h"

static void closedirp(DIR **d)
{
        if (*d)
                (void) closedir(*d);
}

/* Files in a config directory looked at, at most: /etc/xen of a big host holds hundreds of guests. */
#define KP_REGISTRY_MAX_FILES 16384

Guest *registry_find_guest(Manager *m, const char *name)
{
        KP_LIST_FOREACH(guests, g, m->guests)
                if (streq(g->name, name))
                        return g;
        return NULL;
}

Disk *registry_find_disk(Manager *m, const char *path, const char *request_key)
{
        KP_LIST_FOREACH(disks, d, m->disks)
                if (streq(d->request.disk, path) && streq(d->request_key, request_key))
                        return d;
        return NULL;
}

Guest *registry_guest_for_disk(Manager *m, Disk *d)
{
        KP_LIST_FOREACH(guests, g, m->guests)
                if (g->disk == d)
                        return g;
        return NULL;
}

const char *disk_display_name(Manager *m, Disk *d)
{
        Guest *g = registry_guest_for_disk(m, d);
        return g ? g->name : d->request.disk;
}

bool disk_is_vouched(Manager *m, Disk *d)
{
        /* Only a daemon that has followed every domain start since the scan can say "nobody wrote it". */
        return d && d->vouched && !d->changed && d->in_use == 0 && manager_xen_running(m);
}

static Disk *disk_free(Disk *d)
{
        if (!d)
                return NULL;
        sd_event_source_disable_unref(d->settle);
        sd_event_source_disable_unref(d->periodic);
        kp_boot_request_done(&d->request);
        free(d->request_key);
        kp_disk_specs_free(d->specs, d->n_specs);
        free(d->step);
        free(d->last_message);
        free(d);
        return NULL;
}

static Guest *guest_free(Guest *g)
{
        if (!g)
                return NULL;
        free(g->name);
        free(g->config_file);
        free(g->entry);
        free(g->mode);
        free(g);
        return NULL;
}

static bool specs_equal(const KpDiskSpec *a, size_t na, const KpDiskSpec *b, size_t nb)
{
        if (na != nb)
                return false;
        for (size_t i = 0; i < na; i++)
                if (!streq(a[i].path, b[i].path) || a[i].format != b[i].format)
                        return false;
        return true;
}

static int copy_specs(const KpDiskSpec *specs, size_t n, KpDiskSpec **ret)
{
        KpDiskSpec *c = calloc(n, sizeof(KpDiskSpec));

        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                c[i].format = specs[i].format;
                c[i].path = strdup(specs[i].path);
                if (!c[i].path) {
                        kp_disk_specs_free(c, n);
                        return -ENOMEM;
                }
        }
        *ret = c;
        return 0;
}

int registry_disk_for_request(Manager *m, const KpDiskSpec *specs, size_t n_specs, const char *entry,
                              const char *kernel, const char *ramdisk, KpError *error, Disk **ret)
{
        _cleanup_(kp_boot_request_done) KpBootRequest req = {};
        _cleanup_free_ char *key = NULL;
        KpDiskSpec *copy = NULL;
        Disk *d;
        int r;

        if (n_specs == 0)
                return kp_error_set(error, -EINVAL, "no disk given");
        r = kp_boot_request_init(specs[0].path, entry, kernel, ramdisk, error, &req);
        if (r < 0)
                return r;
        r = kp_boot_request_key(&req, &key);
        if (r < 0)
                return kp_error_set(error, r, "out of memory");

        d = registry_find_disk(m, req.disk, key);
        if (d) {
                /* The same disk named with other companions (another guest config): the newest wins. */
                if (!specs_equal(d->specs, d->n_specs, specs, n_specs) && d->scan != DISK_RUNNING) {
                        r = copy_specs(specs, n_specs, &copy);
                        if (r < 0)
                                return kp_error_set(error, r, "out of memory");
                        kp_disk_specs_free(d->specs, d->n_specs);
                        d->specs = copy;
                        d->n_specs = n_specs;
                }
                *ret = d;
                return 0;
        }

        d = calloc(1, sizeof(Disk));
        if (!d)
                return kp_error_set(error, -ENOMEM, "out of memory");
        d->manager = m;
        d->request = req;
        req = (KpBootRequest){};
        d->request_key = TAKE_PTR(key);
        r = copy_specs(specs, n_specs, &d->specs);
        if (r < 0) {
                disk_free(d);
                return kp_error_set(error, r, "out of memory");
        }
        d->n_specs = n_specs;
        KP_LIST_PREPEND(disks, m->disks, d);
        *ret = d;
        return 0;
}

/* Disks no guest names any more, with nothing running or waiting, are forgotten (their state stays on disk). */
static void registry_prune_disks(Manager *m)
{
        KP_LIST_FOREACH_SAFE(disks, d, n, m->disks)
                if (d->scan == DISK_IDLE && !d->waiters && !registry_guest_for_disk(m, d)) {
                        KP_LIST_REMOVE(disks, m->disks, d);
                        disk_free(d);
                }
}

void registry_free(Manager *m)
{
        KP_LIST_FOREACH_SAFE(guests, g, n, m->guests) {
                KP_LIST_REMOVE(guests, m->guests, g);
                guest_free(g);
        }
        KP_LIST_FOREACH_SAFE(disks, d, n, m->disks) {
                KP_LIST_REMOVE(disks, m->disks, d);
                KP_LIST_FOREACH_SAFE(waiters, w, wn, d->waiters) {
                        KP_LIST_REMOVE(waiters, d->waiters, w);
                        waiter_free(w);
                }
                disk_free(d);
        }
}

static bool is_autostart_dir(const char *dir)
{
        const char *slash = strrchr(dir, '/');
        const char *base = slash ? slash + 1 : dir;

        /* xendomains starts what /etc/xen/auto holds; a trailing slash in the config is tolerated. */
        if (!*base && slash && slash > dir) {
                const char *prev = slash - 1;
                while (prev > dir && *prev != '/')
                        prev--;
                return strncmp(prev + (*prev == '/'), "auto/", 5) == 0;
        }
        return streq(base, "auto");
}

static int register_config(Manager *m, const KpDomainConfig *c, bool autostart, bool at_startup)
{
        Guest *g = registry_find_guest(m, c->name);
        KpError error = {};
        bool added = false;
        Disk *d;
        int r;

        if (g && g->seen) {
                /* The same guest twice: /etc/xen/auto/NAME is usually a link to /etc/xen/NAME.cfg. */
                g->autostart = g->autostart || autostart;
                return 0;
        }

        /*
         * A qcow2 image is registered like a raw one: its plan is keyed by
         * the image, scanned as qcow2 while no domain uses it. At a start
         * libxl passes kunpack-boot /dev/xvdX (a local attach), which
         * Prepare maps back to the image (docs/qcow2.md).
         */
        r = registry_disk_for_request(m, c->disks, c->n_disks, c->entry, NULL, NULL, &error, &d);
        if (r < 0) {
                kp_log_internal(LOG_WARNING, r, NULL, "%s: guest %s: %s", c->path, c->name,
                                kp_error_message(&error, r));
                return 0;
        }

        if (!g) {
                g = calloc(1, sizeof(Guest));
                if (!g || !(g->name = strdup(c->name))) {
                        free(g);
                        return log_oom();
                }
                KP_LIST_PREPEND(guests, m->guests, g);
                added = true;
        } else if (g->disk != d && !at_startup)
                (void) scheduler_enqueue_if_stale(d, SCAN_PRIORITY_BACKGROUND);

        g->origin = GUEST_ORIGIN_CONFIG;
        g->seen = true;
        g->autostart = autostart;
        g->disk = d;
        free(g->config_file);
        free(g->entry);
        free(g->mode);
        g->config_file = strdup(c->path);
        g->entry = c->entry ? strdup(c->entry) : NULL;
        g->mode = c->mode ? strdup(c->mode) : NULL;
        if (!g->config_file || (c->entry && !g->entry) || (c->mode && !g->mode))
                return log_oom();
        if (added) {
                log_disk_event(LOG_INFO, 0, KP_MESSAGE_GUEST_ADDED, m, d, NULL, "guest %s added from %s", c->name,
                               c->path);
                /*
                 * At startup every stale guest is queued at once, autostart
                 * first (manager_startup). Later, a guest whose disk is fresh
                 * already (another guest's, or a config put back) needs no scan.
                 */
                if (!at_startup)
                        (void) scheduler_enqueue_if_stale(d, SCAN_PRIORITY_BACKGROUND);
        }
        return 0;
}

static int load_dir(Manager *m, const char *dir, bool at_startup)
{
        _cleanup_(closedirp) DIR *d = NULL;
        bool autostart = is_autostart_dir(dir);
        unsigned files = 0;
        struct dirent *de;

        d = opendir(dir);
        if (!d) {
                if (errno != ENOENT)
                        log_warning_errno(-errno, "cannot read domain config directory %s: %m", dir);
                return 0;
        }

        while ((de = readdir(d))) {
                _cleanup_(kp_domain_config_freep) KpDomainConfig *c = NULL;
                _cleanup_free_ char *path = NULL, *text = NULL;
                KpError error = {};
                struct stat st;
                size_t size = 0;
                int r;

                if (kp_domain_config_name_ignored(de->d_name))
                        continue;
                if (++files > KP_REGISTRY_MAX_FILES) {
                        log_warning("%s: more than %d files, the rest are ignored", dir, KP_REGISTRY_MAX_FILES);
                        break;
                }
                if (asprintf(&path, "%s/%s", dir, de->d_name) < 0)
                        return log_oom();
                /* Follows symlinks: /etc/xen/auto holds links to the configs. */
                if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > KP_DOMAIN_CONFIG_MAX_SIZE)
                        continue;
                r = kp_read_file(path, KP_DOMAIN_CONFIG_MAX_SIZE, &error, &text, &size);
                if (r < 0)
                        continue;
                r = kp_domain_config_parse(path, text, size, &error, &c);
                if (r < 0) {
                        /* /etc/xen holds scripts and other files too: complain only about what looks like ours. */
                        kp_log_internal(strstr(text, "kunpack-boot") ? LOG_WARNING : LOG_DEBUG, r, NULL, "%s",
                                        kp_error_message(&error, r));
                        continue;
                }
                if (!c->kunpack)
                        continue;
                r = register_config(m, c, autostart, at_startup);
                if (r < 0)
                        return r;
        }
        return 0;
}

int registry_load(Manager *m)
{
        bool at_startup = !m->guests && !m->disks && m->scans_ok + m->scans_failed == 0;
        int r;

        KP_LIST_FOREACH(guests, g, m->guests)
                g->seen = g->origin != GUEST_ORIGIN_CONFIG;

        STRV_FOREACH(dir, m->settings->domain_config_dirs) {
                r = load_dir(m, *dir, at_startup);
                if (r < 0)
                        return r;
        }

        KP_LIST_FOREACH_SAFE(guests, g, n, m->guests)
                if (!g->seen) {
                        log_disk_event(LOG_INFO, 0, KP_MESSAGE_GUEST_REMOVED, m, NULL, NULL,
                                       "guest %s removed (%s is gone or no longer names kunpack-boot)", g->name,
                                       g->config_file);
                        KP_LIST_REMOVE(guests, m->guests, g);
                        guest_free(g);
                }
        registry_prune_disks(m);
        return 0;
}

int registry_add_prepare_guest(Manager *m, Disk *d, const char *domain_name)
{
        _cleanup_free_ char *name = NULL;
        const char *base;
        Guest *g;

        if (registry_guest_for_disk(m, d))
                return 0;

        /* Without the domain's name (xenstore, through its id), the image's file name stands in for it. */
        if (domain_name && !registry_find_guest(m, domain_name))
                base = domain_name;
        else {
                base = strrchr(d->request.disk, '/');
                base = base ? base + 1 : d->request.disk;
        }
        name = strdup(registry_find_guest(m, base) ? d->request.disk : base);
        g = calloc(1, sizeof(Guest));
        if (!name || !g) {
                free(g);
                return log_oom();
        }
        g->name = TAKE_PTR(name);
        g->origin = GUEST_ORIGIN_PREPARE;
        g->seen = true;
        g->disk = d;
        KP_LIST_PREPEND(guests, m->guests, g);
        return 0;
}
