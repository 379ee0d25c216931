/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

#include "util/error.h"
#include "util/fileio.h"
#include "util/strv.h"
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

bool kp_xl_capabilities_say_control(const char *path)
{
        _cleanup_close_ int fd = -EBADF;
        char caps[256];
        ssize_t n;

        /*
         * xenfs reports a size of 0 for it, as procfs does for its files:
         * read what is there, not what fstat() says (kp_read_file() would
         * take the first byte for a file that grew, and a real dom0 for a
         * host without Xen).
         */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return false;
        n = kp_loop_read(fd, caps, sizeof(caps) - 1);
        if (n <= 0)
                return false;
        caps[n] = '\0';
        return memmem(caps, (size_t) n, "control_d", STRLEN("control_d")) != NULL;
}

bool kp_xl_xen_running(void)
{
        /* A domU or a host without Xen has no control_d there. */
        return kp_xl_capabilities_say_control("/proc/xen/capabilities");
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

/* ---- who uses a disk now --------------------------------------------------------- */

const char *kp_xl_backend_params_path(const char *params)
{
        const char *p = params;

        /* "tapdisk:aio:/img" has two prefixes; a path never starts after more than a few. */
        for (unsigned i = 0; p && i < 4; i++) {
                const char *colon;

                if (*p == '/')
                        return p;
                colon = strchr(p, ':');
                p = colon ? colon + 1 : NULL;
        }
        return p && *p == '/' ? p : NULL;
}

/* "fd:3", hex as the block hotplug script writes it: the device number, or 0. */
static dev_t parse_physical_device(const char *s)
{
        unsigned long major, minor;
        char *end;

        if (!s || !*s)
                return 0;
        errno = 0;
        major = strtoul(s, &end, 16);
        if (errno || *end != ':' || end == s)
                return 0;
        s = end + 1;
        minor = strtoul(s, &end, 16);
        if (errno || *end || end == s || major > UINT32_MAX || minor > UINT32_MAX)
                return 0;
        return makedev(major, minor);
}

/* disk as stat() and realpath() see it, or as named when it is gone. */
typedef struct DiskId {
        const char *name;
        struct stat st;         /* st_mode 0: could not be stat()ed */
        char *canonical;
} DiskId;

static void disk_id_init(DiskId *d, const char *disk)
{
        d->name = disk;
        d->canonical = realpath(disk, NULL);
        if (stat(disk, &d->st) < 0)
                d->st = (struct stat) { .st_mode = 0 };
}

static bool refers_to(const DiskId *d, const char *path)
{
        if (d->st.st_mode != 0)
                return same_disk(&d->st, d->canonical, path);
        {
                _cleanup_free_ char *other = realpath(path, NULL);
                return streq(other ?: path, d->canonical ?: d->name);
        }
}

static bool backend_refers_to(const DiskId *d, const KpXlBackend *b)
{
        const char *path = kp_xl_backend_params_path(b->params ?: "");
        dev_t rdev = parse_physical_device(b->physical_device);

        if (path && refers_to(d, path))
                return true;
        return rdev != 0 && S_ISBLK(d->st.st_mode) && d->st.st_rdev == rdev;
}

ssize_t kp_xl_backends_find(const char *disk, const KpXlBackend *backends, size_t n)
{
        DiskId d;
        ssize_t found = -1;

        disk_id_init(&d, disk);
        for (size_t i = 0; i < n && found < 0; i++)
                if (backend_refers_to(&d, &backends[i]))
                        found = (ssize_t) i;
        free(d.canonical);
        return found;
}

static int loop_find(const DiskId *d, const char *sys_block, char *ret_loop, size_t size)
{
        DIR *dir = opendir(sys_block);
        struct dirent *de;
        unsigned seen = 0;
        int r = 0;

        if (!dir)
                return errno == ENOENT ? 0 : negative_errno();
        while (r == 0 && (de = readdir(dir)) && seen < KP_XL_MAX_LOOPS) {
                _cleanup_free_ char *path = NULL, *backing = NULL;
                size_t n = 0;
                char *deleted;

                if (!startswith_lit(de->d_name, "loop"))
                        continue;
                seen++;
                if (asprintf(&path, "%s/%s/loop/backing_file", sys_block, de->d_name) < 0) {
                        path = NULL;
                        r = -ENOMEM;
                        break;
                }
                /* Absent for a loop device bound to nothing. */
                if (kp_read_file(path, PATH_MAX + 64, NULL, &backing, &n) < 0)
                        continue;
                backing[strcspn(backing, "\n")] = '\0';
                /* The kernel's mark for a backing file that was unlinked: nobody else can name it. */
                deleted = strstr(backing, " (deleted)");
                if (deleted && deleted[STRLEN(" (deleted)")] == '\0')
                        continue;
                if (backing[0] == '/' && refers_to(d, backing)) {
                        (void) snprintf(ret_loop, size, "%s", de->d_name);
                        r = 1;
                }
        }
        closedir(dir);
        return r;
}

int kp_xl_loop_find(const char *disk, const char *sys_block, char *ret_loop, size_t size)
{
        DiskId d;
        int r;

        disk_id_init(&d, disk);
        r = loop_find(&d, sys_block, ret_loop, size);
        free(d.canonical);
        return r;
}

#if HAVE_XEN
/* What a backend's key may hold, at most: a path and a short prefix. */
#define KP_XL_MAX_VALUE 4096

int kp_xl_walk_backends(struct xs_handle *xs, bool dom0_only,
                        int (*visit)(struct xs_handle *xs, const KpXlBackendNode *b, void *userdata), void *userdata)
{
        static const char *const types[] = { "vbd", "qdisk", "vbd3" };
        size_t total = 0;
        int r;

        for (size_t t = 0; t < ELEMENTSOF(types); t++) {
                _cleanup_free_ char **listed = NULL;
                char *const dom0[] = { (char *) "0" };
                char *const *frontends = dom0;
                unsigned n_frontends = 1;
                char dir[128];

                (void) snprintf(dir, sizeof(dir), "/local/domain/0/backend/%s", types[t]);
                if (!dom0_only)
                        frontends = listed = sym_xs_directory(xs, XBT_NULL, dir, &n_frontends);
                for (unsigned f = 0; frontends && f < n_frontends && f < KP_XL_MAX_DOMAINS; f++) {
                        _cleanup_free_ char **devs = NULL;
                        unsigned n_devs = 0;
                        char fdir[192];

                        (void) snprintf(fdir, sizeof(fdir), "%s/%s", dir, frontends[f]);
                        devs = sym_xs_directory(xs, XBT_NULL, fdir, &n_devs);
                        for (unsigned i = 0; devs && i < n_devs; i++) {
                                char path[320];
                                KpXlBackendNode node = {
                                        .type = types[t],
                                        .frontend = (uint32_t) strtoul(frontends[f], NULL, 10),
                                        .devid = (uint32_t) strtoul(devs[i], NULL, 10),
                                        .path = path,
                                };

                                if (++total > KP_XL_MAX_BACKENDS)
                                        return -E2BIG;
                                (void) snprintf(path, sizeof(path), "%s/%s", fdir, devs[i]);
                                r = visit(xs, &node, userdata);
                                if (r != 0)
                                        return r;
                        }
                }
        }
        return 0;
}

char *kp_xl_xs_read(struct xs_handle *xs, const char *dir, const char *key)
{
        char path[400];
        unsigned len = 0;
        char *v;

        (void) snprintf(path, sizeof(path), "%s/%s", dir, key);
        v = sym_xs_read(xs, XBT_NULL, path, &len);
        if (v && len > KP_XL_MAX_VALUE)
                v = mfree(v);
        return v;
}

typedef struct FindUser {
        const DiskId *disk;
        char *user;
        size_t size;
} FindUser;

static int visit_user(struct xs_handle *xs, const KpXlBackendNode *node, void *userdata)
{
        FindUser *u = userdata;
        _cleanup_free_ char *params = kp_xl_xs_read(xs, node->path, "params");
        _cleanup_free_ char *physical = kp_xl_xs_read(xs, node->path, "physical-device");
        KpXlBackend b = {
                .type = node->type,
                .frontend = node->frontend,
                .devid = node->devid,
                .params = params,
                .physical_device = physical,
        };

        if (!backend_refers_to(u->disk, &b))
                return 0;
        if (b.frontend == 0)
                (void) snprintf(u->user, u->size, "dom0's own %s %u (a bootloader's attach)", b.type, b.devid);
        else
                (void) snprintf(u->user, u->size, "domain %u's %s %u", b.frontend, b.type, b.devid);
        return 1;
}

/* Every disk backend dom0 serves; 1 with the user when one refers to d. */
static int xenstore_find(struct xs_handle *xs, const DiskId *d, char *ret_user, size_t size)
{
        FindUser u = { .disk = d, .user = ret_user, .size = size };

        return kp_xl_walk_backends(xs, false, visit_user, &u);
}
#endif

int kp_xl_disk_in_use(const char *disk, char *ret_user, size_t size)
{
        char loop[64];
        DiskId d;
        int r;

        disk_id_init(&d, disk);
        r = loop_find(&d, "/sys/block", loop, sizeof(loop));
        if (r > 0)
                (void) snprintf(ret_user, size, "loop device /dev/%s", loop);
        else if (r < 0)
                (void) snprintf(ret_user, size, "cannot read /sys/block: %s", strerror(-r));
        else if (kp_xl_xen_running()) {
#if HAVE_XEN
                struct xs_handle *xs = NULL;

                if (kp_xenstore_dlopen(NULL) >= 0)
                        xs = sym_xs_open(XS_OPEN_READONLY);
                if (!xs) {
                        r = -EHOSTDOWN;
                        (void) snprintf(ret_user, size, "Xen runs here but xenstore cannot be read");
                } else {
                        r = xenstore_find(xs, &d, ret_user, size);
                        if (r == -E2BIG)
                                (void) snprintf(ret_user, size, "more than %d disk backends in xenstore",
                                                KP_XL_MAX_BACKENDS);
                        sym_xs_close(xs);
                }
#else
                r = -EHOSTDOWN;
                (void) snprintf(ret_user, size, "Xen runs here but kunpack was built without xenstore");
#endif
        }
        free(d.canonical);
        return r;
}
