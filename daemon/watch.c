/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * inotify: the domain config directories (a guest added, changed or
 * removed is picked up without a reload) and the directories of the image
 * files the registry knows (an image written while no domain uses it is
 * rescanned once the writes stop). Directories, not files, are watched, so
 * an image replaced by rename is seen too.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "daemon/manager.h"
#include "daemon/registry.h"
#include "daemon/scheduler.h"
#include "daemon/watch.h"
#include "daemon/worker.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/time-util.h"

/* Config edits come in bursts (an editor's write, rename, chmod): reload once they stop for this long. */
#define KP_WATCH_CONFIG_SETTLE_USEC (500 * USEC_PER_MSEC)
/* An image being written (guestfish, qemu-img, a restore) is rescanned once it has been quiet this long. */
#define KP_WATCH_IMAGE_SETTLE_USEC (2 * USEC_PER_SEC)

#define CONFIG_MASK (IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_ATTRIB | IN_ONLYDIR)
#define IMAGE_MASK (IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ATTRIB | IN_ONLYDIR)

static int on_registry_settle(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;

        log_info("domain configs changed: reloading the guest registry");
        (void) registry_load(m);
        (void) watch_refresh(m);
        manager_update_status(m);
        return 0;
}

static int on_image_settle(sd_event_source *s, uint64_t usec, void *userdata)
{
        Disk *d = userdata;

        /* A disk a running domain uses is rescanned on the schedule, read-only; this is for idle images. */
        if (d->in_use == 0 && !d->manager->stopping)
                (void) scheduler_enqueue_if_stale(d, SCAN_PRIORITY_BACKGROUND);
        return 0;
}

static void arm(Manager *m, sd_event_source **s, uint64_t usec, sd_event_time_handler_t handler, void *userdata)
{
        if (*s) {
                (void) sd_event_source_set_time_relative(*s, usec);
                (void) sd_event_source_set_enabled(*s, SD_EVENT_ONESHOT);
                return;
        }
        if (sd_event_add_time_relative(m->event, s, CLOCK_MONOTONIC, usec, USEC_PER_MSEC * 50, handler, userdata) >= 0)
                (void) sd_event_source_set_enabled(*s, SD_EVENT_ONESHOT);
}

static void image_event(Manager *m, const char *dir, const char *name)
{
        size_t dl = strlen(dir);

        KP_LIST_FOREACH(disks, d, m->disks) {
                const char *p = d->request.disk;

                if (strncmp(p, dir, dl) != 0 || p[dl] != '/' || !streq(p + dl + 1, name))
                        continue;
                disk_mark_changed(d, "the image was written");
                arm(m, &d->settle, KP_WATCH_IMAGE_SETTLE_USEC, on_image_settle, d);
        }
}

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Manager *m = userdata;
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));

                if (n <= 0)
                        break;
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *e = (const struct inotify_event *) p;

                        p += sizeof(struct inotify_event) + e->len;
                        if (e->mask & IN_Q_OVERFLOW) {
                                /* Lost events: assume everything changed, let freshness sort it out. */
                                arm(m, &m->registry_settle, KP_WATCH_CONFIG_SETTLE_USEC, on_registry_settle, m);
                                KP_LIST_FOREACH(disks, d, m->disks)
                                        arm(m, &d->settle, KP_WATCH_IMAGE_SETTLE_USEC, on_image_settle, d);
                                continue;
                        }
                        for (size_t i = 0; i < m->n_watches; i++) {
                                if (m->watches[i].wd != e->wd)
                                        continue;
                                if (m->watches[i].config_dir)
                                        arm(m, &m->registry_settle, KP_WATCH_CONFIG_SETTLE_USEC, on_registry_settle, m);
                                if (m->watches[i].image_dir && e->len > 0)
                                        image_event(m, m->watches[i].path, e->name);
                        }
                }
        }
        return 0;
}

int watch_setup(Manager *m)
{
        int r;

        m->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (m->inotify_fd < 0)
                return log_error_errno(-errno, "cannot set up inotify: %m");
        r = sd_event_add_io(m->event, &m->inotify_source, m->inotify_fd, EPOLLIN, on_inotify, m);
        if (r < 0)
                return log_error_errno(r, "cannot watch inotify: %s", strerror(-r));
        return 0;
}

static int want(char ***config_dirs, char ***image_dirs, Manager *m)
{
        STRV_FOREACH(dir, m->settings->domain_config_dirs) {
                char *real = realpath(*dir, NULL);
                if (real && strv_consume(config_dirs, real) < 0)
                        return -ENOMEM;
        }
        KP_LIST_FOREACH(disks, d, m->disks) {
                char *slash;
                if (d->request.disk[0] != '/' || !strchr(d->request.disk + 1, '/'))
                        continue;
                if (strncmp(d->request.disk, "/dev/", 5) == 0)
                        continue;       /* block devices: no inotify, the lifecycle watcher covers them */
                char *dir = strdup(d->request.disk);
                if (!dir)
                        return -ENOMEM;
                slash = strrchr(dir, '/');
                *slash = '\0';
                if (strv_contains(*image_dirs, dir))
                        free(dir);
                else if (strv_consume(image_dirs, dir) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int watch_refresh(Manager *m)
{
        _cleanup_strv_free_ char **config_dirs = NULL, **image_dirs = NULL, **all = NULL;
        size_t n;

        if (want(&config_dirs, &image_dirs, m) < 0)
                return log_oom();
        STRV_FOREACH(d, config_dirs)
                if (!strv_contains(all, *d) && strv_extend(&all, *d) < 0)
                        return log_oom();
        STRV_FOREACH(d, image_dirs)
                if (!strv_contains(all, *d) && strv_extend(&all, *d) < 0)
                        return log_oom();

        /* Drop what is no longer wanted. */
        for (size_t i = 0; i < m->n_watches;) {
                if (!strv_contains(all, m->watches[i].path)) {
                        (void) inotify_rm_watch(m->inotify_fd, m->watches[i].wd);
                        free(m->watches[i].path);
                        m->watches[i] = m->watches[--m->n_watches];
                } else
                        i++;
        }

        n = strv_length(all);
        if (n > 0) {
                void *p = realloc(m->watches, n * sizeof(*m->watches));
                if (!p)
                        return log_oom();
                m->watches = p;
        }
        STRV_FOREACH(d, all) {
                bool config = strv_contains(config_dirs, *d), image = strv_contains(image_dirs, *d);
                size_t i;
                int wd;

                for (i = 0; i < m->n_watches; i++)
                        if (streq(m->watches[i].path, *d))
                                break;
                wd = inotify_add_watch(m->inotify_fd, *d, (config ? CONFIG_MASK : 0) | (image ? IMAGE_MASK : 0));
                if (wd < 0) {
                        log_warning_errno(-errno, "cannot watch %s: %m", *d);
                        continue;
                }
                if (i == m->n_watches) {
                        m->watches[i].path = strdup(*d);
                        if (!m->watches[i].path)
                                return log_oom();
                        m->n_watches++;
                }
                m->watches[i].wd = wd;
                m->watches[i].config_dir = config;
                m->watches[i].image_dir = image;
        }
        return 0;
}

void watch_close(Manager *m)
{
        for (size_t i = 0; i < m->n_watches; i++)
                free(m->watches[i].path);
        m->watches = mfree(m->watches);
        m->n_watches = 0;
        m->inotify_source = sd_event_source_disable_unref(m->inotify_source);
        m->inotify_fd = safe_close(m->inotify_fd);
}
