/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "util/error.h"
#include "util/fileio.h"
#include "util/macro.h"
#include "xl/inuse.h"
#include "xl/xen-dl.h"

static bool same_disk(const struct stat *a, const char *a_canonical, const char *path)
{
        _cleanup_free_ char *canonical = NULL;
        struct stat b;

        if (stat(path, &b) == 0) {
                if (S_ISBLK(a->st_mode) || S_ISBLK(b.st_mode))
                        return S_ISBLK(a->st_mode) && S_ISBLK(b.st_mode) && a->st_rdev == b.st_rdev;
                return a->st_dev == b.st_dev && a->st_ino == b.st_ino;
        }
        canonical = realpath(path, NULL);
        return a_canonical && streq(canonical ?: path, a_canonical);
}

ssize_t kp_xl_disk_find_user(const char *disk, const KpXlDomainDisk *disks, size_t n_disks,
                             uint32_t exclude_domid)
{
        _cleanup_free_ char *canonical = realpath(disk, NULL);
        struct stat st;

        if (stat(disk, &st) < 0)
                st = (struct stat) { .st_mode = 0, .st_ino = 0 };
        for (size_t i = 0; i < n_disks; i++) {
                if (disks[i].domid == exclude_domid || !disks[i].path || !disks[i].path[0])
                        continue;
                if (st.st_mode != 0 && same_disk(&st, canonical, disks[i].path))
                        return (ssize_t) i;
                if (st.st_mode == 0) {
                        /* Nothing to stat: the names, as far as they resolve. */
                        _cleanup_free_ char *other = realpath(disks[i].path, NULL);
                        if (streq(other ?: disks[i].path, canonical ?: disk))
                                return (ssize_t) i;
                }
        }
        return -1;
}

bool kp_xl_xen_running(void)
{
        _cleanup_free_ char *caps = NULL;
        size_t size;

        /* Read by xenfs; a domU or a host without Xen has no control_d there. */
        if (kp_read_file("/proc/xen/capabilities", 4096, NULL, &caps, &size) < 0)
                return false;
        return strstr(caps, "control_d") != NULL;
}

/* libxl talks to its logger; kunpack reports the one failure that matters in its own words. */
static void quiet_vmessage(struct xentoollog_logger *logger, xentoollog_level level, int errnoval,
                           const char *context, const char *format, va_list al)
{
}

static void quiet_destroy(struct xentoollog_logger *logger)
{
}

int kp_xl_check_disk_unused(const char *disk, uint32_t exclude_domid, KpError *error)
{
        xentoollog_logger quiet = { .vmessage = quiet_vmessage, .destroy = quiet_destroy };
        libxl_ctx *ctx = NULL;
        libxl_dominfo *doms;
        int n_doms = 0, r = 0;

        if (!kp_xl_xen_running())
                return 0;
        r = kp_xenlight_dlopen(error);
        if (r < 0)
                return r;
        if (sym_libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, &quiet) != 0)
                return kp_error_set(
                        error, -EHOSTDOWN,
                        "Xen runs here but libxl cannot be asked which domains use %s; nothing written",
                        disk);
        doms = sym_libxl_list_domain(ctx, &n_doms);
        if (!doms) {
                sym_libxl_ctx_free(ctx);
                return kp_error_set(error, -EHOSTDOWN,
                                    "libxl cannot list the domains; nothing written to %s", disk);
        }
        for (int i = 0; i < n_doms && i < KP_XL_MAX_DOMAINS && r == 0; i++) {
                libxl_device_disk *list;
                int n = 0;

                if (doms[i].domid == 0 || doms[i].domid == exclude_domid)
                        continue;
                list = sym_libxl_device_disk_list(ctx, doms[i].domid, &n);
                for (int j = 0; list && j < n && r == 0; j++) {
                        KpXlDomainDisk d = { .domid = doms[i].domid, .path = list[j].pdev_path };

                        if (kp_xl_disk_find_user(disk, &d, 1, exclude_domid) >= 0) {
                                _cleanup_free_ char *name = sym_libxl_domid_to_name(ctx, doms[i].domid);

                                r = kp_error_set(error, -EBUSY,
                                                 "%s is in use by domain %u (%s); nothing written", disk,
                                                 doms[i].domid, name ?: "?");
                        }
                }
                if (list)
                        sym_libxl_device_disk_list_free(list, n);
        }
        sym_libxl_dominfo_list_free(doms, n_doms);
        sym_libxl_ctx_free(ctx);
        return r;
}
