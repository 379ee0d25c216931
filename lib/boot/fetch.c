/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/fetch.h"
#include "guest/inspect.h"
#include "util/error.h"
#include "util/fileio.h"

/*
 * An unnamed file in the cache directory for a download: it never has a
 * name, so a crash leaves nothing behind, and it sits on the cache's
 * filesystem, where a full disk is the cache's own problem.
 */
static int open_download(KpCache *cache, KpError *error, int *ret)
{
        int fd = kp_open_unnamed(kp_cache_path(cache));

        if (fd < 0)
                return kp_error_set_errno(error, fd, "cannot create a download file in %s", kp_cache_path(cache));
        *ret = fd;
        return 0;
}

static int fetch_one(KpCache *cache, KpGuestSession *s, size_t guest, const KpFileInfo *f, bool kernel,
                     const KpUnpackParams *unpack, uint64_t deadline_usec, KpError *error, unsigned *fetched)
{
        _cleanup_close_ int lock = -EBADF, tmp = -EBADF, fd = -EBADF;
        const char *what = kernel ? "kernel" : "initrd";
        KpError e = {};
        int r;

        if (!f->have_info || !f->device)
                return kp_error_set(error, -EINVAL, "%s %s was not looked at by the inspection", what, f->path);

        r = kp_cache_lock(cache, f->sha256, deadline_usec, error, &lock);
        if (r < 0)
                return r;
        r = kernel ? kp_cache_open_kernel(cache, f->sha256, &e, &fd, NULL) :
                     kp_cache_open_initrd(cache, f->sha256, f->size, &e, &fd);
        if (r >= 0)
                return 0; /* cached (by us earlier, or by another scan while we waited) */
        if (r != -ENOENT && r != -EBADMSG)
                return kp_error_set(error, r, "%s", e.message);

        r = open_download(cache, error, &tmp);
        if (r < 0)
                return r;
        r = kp_guest_session_download(s, guest, f->device, f->path, tmp,
                                      kernel ? KP_MAX_INPUT_DEFAULT : KP_GUEST_MAX_INITRD, &e, NULL);
        if (r < 0)
                return kp_error_set(error, r, "cannot download %s %s: %s", what, f->path, e.message);
        r = kernel ? kp_cache_store_kernel(cache, f->sha256, tmp, unpack, &e, &fd, NULL) :
                     kp_cache_store_initrd(cache, f->sha256, tmp, KP_GUEST_MAX_INITRD, &e, &fd);
        if (r < 0)
                return kp_error_set(error, r, "%s %s: %s", what, f->path, e.message);
        (*fetched)++;
        return 0;
}

int kp_boot_fetch_selected(KpCache *cache, KpGuestSession *s, size_t guest, const KpBootPlan *plan,
                           const KpUnpackParams *unpack, uint64_t deadline_usec, KpError *error,
                           unsigned *ret_fetched)
{
        const KpBootEntry *e = kp_boot_plan_selected(plan);
        unsigned fetched = 0;
        int r;

        if (!e || !e->kernel.path)
                return kp_error_set(error, -ENOENT, "nothing bootable: the plan selects no Linux kernel");
        r = fetch_one(cache, s, guest, &e->kernel, true, unpack, deadline_usec, error, &fetched);
        for (size_t i = 0; r >= 0 && i < e->n_initrds; i++)
                r = fetch_one(cache, s, guest, &e->initrds[i], false, unpack, deadline_usec, error, &fetched);
        if (r < 0)
                return r;
        *ret_fetched = fetched;
        return 0;
}
