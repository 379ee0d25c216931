/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/answer.h"
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

/* What the selected entry's files take, cached or not, and what must still come. */
typedef struct Needs {
        uint64_t initrds;       /* their sizes, as the cache stores them */
        uint64_t ramdisk;       /* as one file for libxl: padded as GRUB loads them */
        bool kernel_cached;
        uint64_t kernel_elf;    /* the ELF's size, when cached */
        uint64_t download;      /* bytes the downloads and stores of what is missing take at once, at least */
} Needs;

static int size_up(KpCache *cache, const KpBootEntry *e, KpError *error, Needs *ret)
{
        _cleanup_close_ int fd = -EBADF;
        KpCacheKernel meta;
        Needs n = {};
        KpError e2 = {};
        int r;

        for (size_t i = 0; i < e->n_initrds; i++) {
                const KpFileInfo *f = &e->initrds[i];
                _cleanup_close_ int ifd = -EBADF;
                uint64_t padded = f->size;

                if (i + 1 < e->n_initrds && padded % KP_ANSWER_INITRD_ALIGN)
                        padded += KP_ANSWER_INITRD_ALIGN - padded % KP_ANSWER_INITRD_ALIGN;
                if (ADD_OVERFLOW(n.initrds, f->size, &n.initrds) || ADD_OVERFLOW(n.ramdisk, padded, &n.ramdisk))
                        n.initrds = n.ramdisk = UINT64_MAX;
                if (!f->have_info)
                        continue;
                r = kp_cache_open_initrd(cache, f->sha256, f->size, &e2, &ifd);
                if (r >= 0)
                        continue;
                if (r != -ENOENT && r != -EBADMSG)
                        return kp_error_set(error, r, "%s", e2.message);
                /* Downloaded into the cache's directory, then copied into the cache: twice, for a while. */
                if (ADD_OVERFLOW(n.download, 2 * f->size, &n.download))
                        n.download = UINT64_MAX;
        }

        if (e->kernel.have_info) {
                r = kp_cache_open_kernel(cache, e->kernel.sha256, &e2, &fd, &meta);
                if (r >= 0) {
                        n.kernel_cached = true;
                        n.kernel_elf = meta.output_size;
                } else if (r != -ENOENT && r != -EBADMSG)
                        return kp_error_set(error, r, "%s", e2.message);
                else if (ADD_OVERFLOW(n.download, e->kernel.size, &n.download))
                        n.download = UINT64_MAX;
        }
        *ret = n;
        return 0;
}

int kp_boot_fetch_selected(KpCache *cache, KpGuestSession *s, size_t guest, const KpBootPlan *plan,
                           const KpFetchOptions *o, KpError *error, unsigned *ret_fetched)
{
        const KpBootEntry *e = kp_boot_plan_selected(plan);
        KpUnpackParams unpack = o->unpack;
        uint64_t charge, room, kernel_share = UINT64_MAX;
        bool by_share = false;
        unsigned fetched = 0;
        Needs n;
        int r;

        if (!e || !e->kernel.path)
                return kp_error_set(error, -ENOENT, "nothing bootable: the plan selects no Linux kernel");

        /* Everything the guest may take is known before a byte of it is downloaded. */
        r = size_up(cache, e, error, &n);
        if (r < 0)
                return r;
        if (n.ramdisk > KP_ANSWER_MAX_FILE)
                return kp_error_set(error, -EFBIG,
                                    "the entry's %zu initrds take %" PRIu64 " bytes as one ramdisk, more than the %"
                                    PRIu64 " libxl is handed (Xen's limit); nothing downloaded",
                                    e->n_initrds, n.ramdisk, KP_ANSWER_MAX_FILE);
        charge = n.initrds + (n.kernel_cached ? n.kernel_elf : 0);
        if (o->max_guest_size > 0) {
                if (charge > o->max_guest_size)
                        return kp_error_set(error, -EDQUOT,
                                            "the guest's boot files take %" PRIu64
                                            " bytes of cache, more than cache_max_guest_size (%" PRIu64
                                            "); nothing downloaded",
                                            charge, o->max_guest_size);
                kernel_share = o->max_guest_size - charge;
        }
        r = kp_cache_room(cache, error, &room);
        if (r < 0)
                return r;
        if (n.download > room)
                return kp_error_set(error, -ENOSPC,
                                    "what the guest boots needs %" PRIu64 " bytes in the cache, whose filesystem has %"
                                    PRIu64 " above cache_min_free; nothing downloaded",
                                    n.download, room);

        /* A kernel not cached yet: its ELF's size is known once decompressed, and stops at the share. */
        if (!n.kernel_cached && kernel_share != UINT64_MAX) {
                uint64_t limit = unpack.max_output ? MIN(unpack.max_output, KP_MAX_OUTPUT_DEFAULT)
                                                   : KP_MAX_OUTPUT_DEFAULT;
                if (kernel_share < limit) {
                        unpack.max_output = MAX(kernel_share, UINT64_C(1));
                        by_share = true;
                }
        }

        r = fetch_one(cache, s, guest, &e->kernel, true, &unpack, o->deadline_usec, error, &fetched);
        if (r == -EFBIG && by_share)
                return kp_error_set(error, -EDQUOT,
                                    "kernel %s decompresses to more than the %" PRIu64
                                    " bytes left of cache_max_guest_size (%" PRIu64 ") beside its initrds",
                                    e->kernel.path, kernel_share, o->max_guest_size);
        for (size_t i = 0; r >= 0 && i < e->n_initrds; i++)
                r = fetch_one(cache, s, guest, &e->initrds[i], false, &unpack, o->deadline_usec, error, &fetched);
        if (r < 0)
                return r;
        *ret_fetched = fetched;
        return 0;
}
