/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "boot/prepare.h"
#include "util/error.h"

void kp_prepared_done(KpPrepared *p)
{
        p->kernel_fd = safe_close(p->kernel_fd);
        for (size_t i = 0; i < p->n_initrds; i++)
                p->initrd_fds[i] = safe_close(p->initrd_fds[i]);
        p->n_initrds = 0;
        p->cmdline = mfree(p->cmdline);
        p->title = mfree(p->title);
        p->kernel_path = mfree(p->kernel_path);
}

static int needs_scan(KpPrepared *p, bool damaged, const char *format, ...) _printf_(3, 4);
static int needs_scan(KpPrepared *p, bool damaged, const char *format, ...)
{
        va_list ap;

        kp_prepared_done(p);
        p->outcome = KP_PREPARE_NEEDS_SCAN;
        p->damaged = damaged;
        va_start(ap, format);
        (void) vsnprintf(p->why, sizeof(p->why), format, ap);
        va_end(ap);
        return 1;
}

int kp_boot_open_cached(KpCache *cache, const KpBootPlan *plan, KpError *error, KpPrepared *ret)
{
        const KpBootEntry *e = kp_boot_plan_selected(plan);
        KpError e2 = {};
        int r;

        if (!e || !e->kernel.path)
                return needs_scan(ret, false, "the last scan found nothing to boot");
        if (!e->kernel.have_info || !kp_sha256_hex_valid(e->kernel.sha256))
                return needs_scan(ret, false, "the last scan did not look at kernel %s", e->kernel.path);
        if (e->n_initrds > KP_BOOTCFG_MAX_INITRDS)
                return kp_error_set(error, -E2BIG, "entry has %zu initrds, more than %d", e->n_initrds,
                                    KP_BOOTCFG_MAX_INITRDS);

        r = kp_cache_open_kernel(cache, e->kernel.sha256, &e2, &ret->kernel_fd, NULL);
        if (r == -ENOENT)
                return needs_scan(ret, false, "kernel %s (sha256 %s) is not in the cache", e->kernel.path,
                                  e->kernel.sha256);
        if (r == -EBADMSG)
                return needs_scan(ret, true, "%s", e2.message);
        if (r < 0)
                return kp_error_set(error, r, "%s", e2.message);

        for (size_t i = 0; i < e->n_initrds; i++) {
                const KpFileInfo *f = &e->initrds[i];

                if (!f->have_info || !kp_sha256_hex_valid(f->sha256))
                        return needs_scan(ret, false, "the last scan did not look at initrd %s", f->path);
                ret->initrd_fds[i] = -EBADF;
                r = kp_cache_open_initrd(cache, f->sha256, f->size, &e2, &ret->initrd_fds[i]);
                if (r == -ENOENT)
                        return needs_scan(ret, false, "initrd %s (sha256 %s) is not in the cache", f->path,
                                          f->sha256);
                if (r == -EBADMSG)
                        return needs_scan(ret, true, "%s", e2.message);
                if (r < 0) {
                        kp_prepared_done(ret);
                        return kp_error_set(error, r, "%s", e2.message);
                }
                ret->n_initrds = i + 1;
        }
        memcpy(ret->kernel_sha256, e->kernel.sha256, sizeof(ret->kernel_sha256));
        return 0;
}

static int fill_ready(const KpDiskState *st, KpError *error, KpPrepared *ret);

bool kp_boot_failure_is_host_side(int error)
{
        switch (error) {
        case -ETIMEDOUT:
        case -EHOSTDOWN:
        case -ENOSPC:
        case -EDQUOT:
        case -ENOMEM:
        case -EROFS:
        case -EBUSY:
        case -ELIBACC:
                return true;
        default:
                return false;
        }
}

int kp_boot_prepare(KpCache *cache, KpStateStore *state, const KpBootRequest *req, const KpPrepareOptions *options,
                    KpError *error, KpPrepared *ret)
{
        static const KpPrepareOptions defaults = {};
        _cleanup_(kp_disk_state_freep) KpDiskState *st = NULL;
        _cleanup_free_ char *key = NULL, *stale = NULL;
        KpDiskIdentity now;
        KpFreshness fresh;
        KpError e2 = {};
        int r;

        if (!options)
                options = &defaults;
        *ret = (KpPrepared) KP_PREPARED_INIT;

        /* What the disk looks like now comes first: a failure here is one no scan can fix. */
        r = kp_disk_identity_read(req->disk, error, &now);
        if (r < 0)
                return r;

        r = kp_boot_request_key(req, &key);
        if (r < 0)
                return kp_error_set(error, r, "out of memory");
        r = kp_state_load(state, req->disk, key, &e2, &st);
        if (r == -ENOENT)
                return needs_scan(ret, false, "%s has not been scanned yet", req->disk), 0;
        if (r == -EBADMSG)
                return needs_scan(ret, true, "%s", e2.message), 0;
        if (r < 0)
                return kp_error_set(error, r, "%s", e2.message);

        fresh = kp_disk_state_freshness(st, &now, options->trust_foreign, options->vouched, &stale);
        if (fresh != KP_FRESH)
                return needs_scan(ret, false, "%s", stale ? stale : kp_freshness_to_string(fresh)), 0;

        r = kp_boot_open_cached(cache, st->plan, error, ret);
        if (r < 0)
                return r;
        if (r > 0)
                return 0;
        return fill_ready(st, error, ret);
}

int kp_boot_prepare_last_good(KpCache *cache, KpStateStore *state, const KpBootRequest *req, KpError *error,
                              KpPrepared *ret)
{
        _cleanup_(kp_disk_state_freep) KpDiskState *st = NULL;
        _cleanup_free_ char *key = NULL;
        KpError e2 = {};
        int r;

        *ret = (KpPrepared) KP_PREPARED_INIT;
        r = kp_boot_request_key(req, &key);
        if (r < 0)
                return kp_error_set(error, r, "out of memory");
        r = kp_state_load(state, req->disk, key, &e2, &st);
        if (r == -ENOENT)
                return kp_error_set(error, r, "no earlier scan of %s", req->disk);
        if (r < 0)
                return kp_error_set(error, r, "%s", e2.message);
        /* Freshness is not asked: that the disk changed since is what makes this plan stale. */
        r = kp_boot_open_cached(cache, st->plan, error, ret);
        if (r < 0) {
                kp_prepared_done(ret);
                *ret = (KpPrepared) KP_PREPARED_INIT;
                return r;
        }
        if (r > 0) {
                r = kp_error_set(error, -ENOENT, "%s", ret->why);
                kp_prepared_done(ret);
                *ret = (KpPrepared) KP_PREPARED_INIT;
                return r;
        }
        return fill_ready(st, error, ret);
}

/* The files are open: the rest of a READY answer from the record. */
static int fill_ready(const KpDiskState *st, KpError *error, KpPrepared *ret)
{
        const KpBootEntry *e;

        e = kp_boot_plan_selected(st->plan);
        ret->cmdline = strdup(e->cmdline ? e->cmdline : "");
        ret->kernel_path = strdup(e->kernel.path);
        if (e->menu_path || e->title)
                ret->title = strdup(e->menu_path ? e->menu_path : e->title);
        if (!ret->cmdline || !ret->kernel_path || ((e->menu_path || e->title) && !ret->title)) {
                kp_prepared_done(ret);
                return kp_error_set(error, -ENOMEM, "out of memory");
        }
        ret->reason = st->plan->reason;
        ret->scanned_usec = st->scanned_usec;
        ret->outcome = KP_PREPARE_READY;
        return 0;
}
