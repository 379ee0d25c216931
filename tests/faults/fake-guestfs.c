/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A stand-in for libguestfs (built as libguestfs.so.0 in its own directory,
 * loaded through LD_LIBRARY_PATH by lib/guest/guestfs-dl.c) for the fault
 * tests and the soak of tests/faults/ only: no appliance, every guest
 * filesystem a host directory, every guest write a host system call. It
 * reaches what a real appliance cannot show: a write, fsync or rename of
 * the guest's files failing at a chosen point (tests/faults/fail-nth.c),
 * and the writing process killed at any instant between two of them. It
 * is never installed and nothing a user runs loads it.
 *
 * A "disk" is a text file:
 *
 *   kunpack-fake-disk
 *   part TYPE UUID LABEL DIRECTORY     a partition (/dev/sdX1, 2, ... in order)
 *   whole TYPE UUID LABEL DIRECTORY    or a filesystem on the whole disk
 *
 * (LABEL "-" for none). Guest paths resolve inside DIRECTORY, symlinks
 * included, as in the appliance's chroot. Writes through the fake bump
 * the disk file's mtime, as a real guest write changes the image's.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <guestfs.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "guest/guestfs-dl.h"
#include "util/sha256.h"

#define PUBLIC __attribute__((visibility("default")))
#define MAX_DISKS 16
#define MAX_PARTS 64

typedef struct Part {
        char device[32];
        char type[32], uuid[64], label[64];
        char dir[PATH_MAX];
        int disk;
} Part;

struct guestfs_h {
        char *disks[MAX_DISKS];
        bool disk_ro[MAX_DISKS];
        size_t n_disks;
        Part parts[MAX_PARTS];
        size_t n_parts;
        bool launched;
        const Part *mounted;
        bool mounted_ro;
        int last_errno;
        char last_error[1024];
};

static void *fail_ptr(guestfs_h *g, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void *fail_ptr(guestfs_h *g, int e, const char *fmt, ...)
{
        va_list ap;

        g->last_errno = e;
        va_start(ap, fmt);
        vsnprintf(g->last_error, sizeof(g->last_error), fmt, ap);
        va_end(ap);
        return NULL;
}

#define FAIL(g, e, ...) (fail_ptr((g), (e), __VA_ARGS__), -1)

static char **strv_new(size_t n)
{
        return calloc(n + 1, sizeof(char *));
}

/* ---- handle ------------------------------------------------------------------------------------ */

PUBLIC guestfs_h *guestfs_create_flags(unsigned flags, ...)
{
        return calloc(1, sizeof(guestfs_h));
}

PUBLIC void guestfs_close(guestfs_h *g)
{
        if (!g)
                return;
        for (size_t i = 0; i < g->n_disks; i++)
                free(g->disks[i]);
        free(g);
}

PUBLIC void guestfs_set_error_handler(guestfs_h *g, guestfs_error_handler_cb cb, void *opaque) {}
PUBLIC int guestfs_parse_environment(guestfs_h *g) { return 0; }
PUBLIC int guestfs_set_autosync(guestfs_h *g, int autosync) { return 0; }
PUBLIC int guestfs_set_memsize(guestfs_h *g, int memsize) { return 0; }
PUBLIC int guestfs_set_smp(guestfs_h *g, int smp) { return 0; }
PUBLIC int guestfs_set_tmpdir(guestfs_h *g, const char *tmpdir) { return 0; }
PUBLIC int guestfs_user_cancel(guestfs_h *g) { return 0; }
PUBLIC int guestfs_last_errno(guestfs_h *g) { return g->last_errno; }
PUBLIC const char *guestfs_last_error(guestfs_h *g) { return g->last_error[0] ? g->last_error : NULL; }

PUBLIC int guestfs_set_event_callback(guestfs_h *g, guestfs_event_callback cb, uint64_t event_bitmask, int flags,
                                      void *opaque)
{
        return 0;
}

PUBLIC int guestfs_get_pid(guestfs_h *g)
{
        /* No appliance process: nothing for the session's watchdog to kill. */
        return FAIL(g, ESRCH, "fake appliance: no process");
}

/*
 * Every function lib/guest/ loads (guest/guestfs-dl.h) must exist here, or
 * the rig fails when the first session opens the fake: taking each one's
 * address turns a missing one into a link error (meson links shared
 * libraries with --no-undefined), not 16 failed checks at run time.
 */
#define KP_FAKE_EXPORT(f) (void *) f,
static void *const fake_exports[] __attribute__((used)) = { KP_GUESTFS_SYMBOLS(KP_FAKE_EXPORT) };
#undef KP_FAKE_EXPORT

/*
 * The appliance pool's calls (lib/guest/hotplug.c): a pooled appliance
 * needs a real qemu to hot-add disks into, so the fake refuses them and
 * the fault rig runs with appliance_pool = 0.
 */
PUBLIC int guestfs_config(guestfs_h *g, const char *hvparam, const char *hvvalue)
{
        return FAIL(g, ENOTSUP, "fake appliance: no qemu to configure");
}

PUBLIC int guestfs_add_drive_scratch(guestfs_h *g, int64_t size, ...)
{
        return FAIL(g, ENOTSUP, "fake appliance: no scratch drive");
}

PUBLIC int guestfs_disk_create(guestfs_h *g, const char *filename, const char *format, int64_t size, ...)
{
        return FAIL(g, ENOTSUP, "fake appliance: no disk images");
}

PUBLIC char **guestfs_list_disk_labels(guestfs_h *g)
{
        return fail_ptr(g, ENOTSUP, "fake appliance: no disk labels");
}

PUBLIC int guestfs_add_drive_opts(guestfs_h *g, const char *filename, ...)
{
        bool ro = false;
        va_list ap;
        int opt;

        if (g->n_disks >= MAX_DISKS)
                return FAIL(g, ENOSPC, "fake appliance: too many disks");
        va_start(ap, filename);
        while ((opt = va_arg(ap, int)) >= 0)
                switch (opt) {
                case GUESTFS_ADD_DRIVE_OPTS_READONLY:
                        ro = va_arg(ap, int);
                        break;
                case GUESTFS_ADD_DRIVE_OPTS_FORMAT:
                        (void) va_arg(ap, const char *);
                        break;
                default:
                        va_end(ap);
                        return FAIL(g, EINVAL, "fake appliance: drive option %d not known", opt);
                }
        va_end(ap);
        g->disks[g->n_disks] = strdup(filename);
        g->disk_ro[g->n_disks++] = ro;
        return 0;
}

PUBLIC int guestfs_launch(guestfs_h *g)
{
        for (size_t d = 0; d < g->n_disks; d++) {
                FILE *f = fopen(g->disks[d], "re");
                char line[PATH_MAX + 256], kind[16];
                unsigned n = 0;

                if (!f)
                        return FAIL(g, errno, "fake appliance: %s: %s", g->disks[d], strerror(errno));
                if (!fgets(line, sizeof(line), f) || strcmp(line, "kunpack-fake-disk\n") != 0) {
                        fclose(f);
                        return FAIL(g, EINVAL, "fake appliance: %s is not a fake disk", g->disks[d]);
                }
                while (fgets(line, sizeof(line), f) && g->n_parts < MAX_PARTS) {
                        Part *p = &g->parts[g->n_parts];

                        if (sscanf(line, "%15s %31s %63s %63s %4095s", kind, p->type, p->uuid, p->label, p->dir) != 5)
                                continue;
                        if (strcmp(p->label, "-") == 0)
                                p->label[0] = '\0';
                        p->disk = (int) d;
                        if (strcmp(kind, "whole") == 0)
                                snprintf(p->device, sizeof(p->device), "/dev/sd%c", 'a' + (int) d);
                        else
                                snprintf(p->device, sizeof(p->device), "/dev/sd%c%u", 'a' + (int) d, ++n);
                        g->n_parts++;
                }
                fclose(f);
        }
        g->launched = true;
        return 0;
}

/* ---- devices, filesystems, LVM (none) ---------------------------------------------------------- */

PUBLIC char **guestfs_list_devices(guestfs_h *g)
{
        char **l = strv_new(g->n_disks);

        for (size_t d = 0; l && d < g->n_disks; d++) {
                char name[16];

                snprintf(name, sizeof(name), "/dev/sd%c", 'a' + (int) d);
                l[d] = strdup(name);
        }
        return l;
}

PUBLIC char **guestfs_list_partitions(guestfs_h *g)
{
        char **l = strv_new(g->n_parts);
        size_t n = 0;

        for (size_t i = 0; l && i < g->n_parts; i++)
                if (strlen(g->parts[i].device) > 8)
                        l[n++] = strdup(g->parts[i].device);
        return l;
}

static const Part *find_part(guestfs_h *g, const char *device)
{
        for (size_t i = 0; i < g->n_parts; i++)
                if (strcmp(g->parts[i].device, device) == 0)
                        return &g->parts[i];
        return NULL;
}

PUBLIC char **guestfs_blkid(guestfs_h *g, const char *device)
{
        const Part *p = find_part(g, device);
        char **l;

        if (!p)
                return fail_ptr(g, EINVAL, "blkid: %s: nothing recognised", device);
        l = strv_new(6);
        if (!l)
                return NULL;
        l[0] = strdup("TYPE");
        l[1] = strdup(p->type);
        l[2] = strdup("UUID");
        l[3] = strdup(p->uuid);
        l[4] = strdup("LABEL");
        l[5] = strdup(p->label);
        return l;
}

PUBLIC char **guestfs_list_filesystems(guestfs_h *g)
{
        char **l = strv_new(2 * g->n_parts);

        for (size_t i = 0; l && i < g->n_parts; i++) {
                l[2 * i] = strdup(g->parts[i].device);
                l[2 * i + 1] = strdup(g->parts[i].type);
        }
        return l;
}

PUBLIC int guestfs_lvm_scan(guestfs_h *g, int activate) { return 0; }
PUBLIC char **guestfs_lvs(guestfs_h *g) { return strv_new(0); }
PUBLIC char **guestfs_vgs(guestfs_h *g) { return strv_new(0); }
PUBLIC char **guestfs_vgpvuuids(guestfs_h *g, const char *vgname) { return strv_new(0); }

PUBLIC struct guestfs_lvm_pv_list *guestfs_pvs_full(guestfs_h *g)
{
        return calloc(1, sizeof(struct guestfs_lvm_pv_list));
}

PUBLIC void guestfs_free_lvm_pv_list(struct guestfs_lvm_pv_list *l)
{
        free(l);
}

/* ---- mounts -------------------------------------------------------------------------------------- */

static int do_mount(guestfs_h *g, const char *mountable, const char *mountpoint, bool ro)
{
        const Part *p = find_part(g, mountable);

        if (strcmp(mountpoint, "/") != 0)
                return FAIL(g, EINVAL, "fake appliance: mounts on / only");
        if (!p)
                return FAIL(g, ENOENT, "mount: %s: no such filesystem", mountable);
        if (g->mounted)
                return FAIL(g, EBUSY, "mount: / is busy");
        g->mounted = p;
        g->mounted_ro = ro || g->disk_ro[p->disk];
        return 0;
}

PUBLIC int guestfs_mount(guestfs_h *g, const char *mountable, const char *mountpoint)
{
        return do_mount(g, mountable, mountpoint, false);
}

PUBLIC int guestfs_mount_ro(guestfs_h *g, const char *mountable, const char *mountpoint)
{
        return do_mount(g, mountable, mountpoint, true);
}

PUBLIC int guestfs_mount_options(guestfs_h *g, const char *options, const char *mountable, const char *mountpoint)
{
        return do_mount(g, mountable, mountpoint, strstr(options, "ro") != NULL);
}

PUBLIC int guestfs_umount_all(guestfs_h *g)
{
        g->mounted = NULL;
        return 0;
}

/* ---- paths ---------------------------------------------------------------------------------------- */

/* The host path of a guest path, as written (no symlink followed); -1 when nothing is mounted. */
static int host_path(guestfs_h *g, const char *path, char *out, size_t size)
{
        if (!g->mounted)
                return FAIL(g, EINVAL, "%s: no filesystem mounted", path);
        if (path[0] != '/')
                return FAIL(g, EINVAL, "%s: not an absolute path", path);
        snprintf(out, size, "%s%s", g->mounted->dir, path);
        return 0;
}

/* A guest path with every symlink resolved inside the mounted filesystem, as the appliance's chroot would. */
static int resolve(guestfs_h *g, const char *path, char *out, size_t size)
{
        char todo[PATH_MAX * 2], cur[PATH_MAX] = "", host[PATH_MAX * 2];
        unsigned hops = 0;

        if (!g->mounted)
                return FAIL(g, EINVAL, "%s: no filesystem mounted", path);
        snprintf(todo, sizeof(todo), "%s", path);
        while (todo[0]) {
                char *comp = todo, *next;
                struct stat st;

                while (*comp == '/')
                        comp++;
                if (!*comp)
                        break;
                next = strchr(comp, '/');
                if (next)
                        *next++ = '\0';
                if (strcmp(comp, ".") == 0) {
                } else if (strcmp(comp, "..") == 0) {
                        char *s = strrchr(cur, '/');
                        if (s)
                                *s = '\0';
                } else {
                        size_t n = strlen(cur);

                        snprintf(cur + n, sizeof(cur) - n, "/%s", comp);
                        snprintf(host, sizeof(host), "%s%s", g->mounted->dir, cur);
                        if (lstat(host, &st) < 0) {
                                if (errno == ENOENT && (!next || !*next))
                                        return FAIL(g, ENOENT, "%s: No such file or directory", path);
                                return FAIL(g, errno, "%s: %s", path, strerror(errno));
                        }
                        if (S_ISLNK(st.st_mode)) {
                                char target[PATH_MAX], rest[PATH_MAX * 2];
                                ssize_t t = readlink(host, target, sizeof(target) - 1);

                                if (t < 0 || ++hops > 40)
                                        return FAIL(g, ELOOP, "%s: Too many levels of symbolic links", path);
                                target[t] = '\0';
                                cur[n] = '\0';
                                if (target[0] == '/')
                                        cur[0] = '\0';
                                snprintf(rest, sizeof(rest), "%s/%s", target, next ? next : "");
                                snprintf(todo, sizeof(todo), "%s", rest);
                                continue;
                        }
                }
                if (!next)
                        break;
                memmove(todo, next, strlen(next) + 1);
        }
        snprintf(out, size, "%s", cur[0] ? cur : "/");
        return 0;
}

static void touch_disk(guestfs_h *g)
{
        (void) utimensat(AT_FDCWD, g->disks[g->mounted->disk], NULL, 0);
}

static int writable(guestfs_h *g, const char *what)
{
        if (!g->mounted)
                return FAIL(g, EINVAL, "%s: no filesystem mounted", what);
        if (g->mounted_ro)
                return FAIL(g, EROFS, "%s: Read-only file system", what);
        return 0;
}

PUBLIC char *guestfs_realpath(guestfs_h *g, const char *path)
{
        char out[PATH_MAX];

        if (resolve(g, path, out, sizeof(out)) < 0)
                return NULL;
        return strdup(out);
}

static struct guestfs_statns *statns_of(guestfs_h *g, const char *path, bool follow)
{
        char host[PATH_MAX * 2], resolved[PATH_MAX];
        struct guestfs_statns *s;
        struct stat st;

        if (follow ? resolve(g, path, resolved, sizeof(resolved)) : (snprintf(resolved, sizeof(resolved), "%s", path), 0))
                return NULL;
        if (host_path(g, resolved, host, sizeof(host)) < 0)
                return NULL;
        if (lstat(host, &st) < 0)
                return fail_ptr(g, errno, "%s: %s", path, strerror(errno));
        s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        *s = (struct guestfs_statns) {
                .st_dev = (int64_t) st.st_dev, .st_ino = (int64_t) st.st_ino, .st_mode = st.st_mode,
                .st_nlink = (int64_t) st.st_nlink, .st_uid = st.st_uid, .st_gid = st.st_gid,
                .st_rdev = (int64_t) st.st_rdev, .st_size = st.st_size, .st_blksize = st.st_blksize,
                .st_blocks = st.st_blocks, .st_atime_sec = st.st_atim.tv_sec, .st_atime_nsec = st.st_atim.tv_nsec,
                .st_mtime_sec = st.st_mtim.tv_sec, .st_mtime_nsec = st.st_mtim.tv_nsec,
                .st_ctime_sec = st.st_ctim.tv_sec, .st_ctime_nsec = st.st_ctim.tv_nsec,
        };
        return s;
}

PUBLIC struct guestfs_statns *guestfs_lstatns(guestfs_h *g, const char *path) { return statns_of(g, path, false); }
PUBLIC struct guestfs_statns *guestfs_statns(guestfs_h *g, const char *path) { return statns_of(g, path, true); }
PUBLIC void guestfs_free_statns(struct guestfs_statns *s) { free(s); }

PUBLIC int guestfs_exists(guestfs_h *g, const char *path)
{
        char resolved[PATH_MAX];

        if (resolve(g, path, resolved, sizeof(resolved)) < 0)
                return g->last_errno == ENOENT || g->last_errno == ELOOP ? 0 : -1;
        return 1;
}

PUBLIC int guestfs_is_symlink(guestfs_h *g, const char *path)
{
        char host[PATH_MAX * 2];
        struct stat st;

        if (host_path(g, path, host, sizeof(host)) < 0)
                return -1;
        /* As guestfsd's is_symlink: nothing there is "no". */
        if (lstat(host, &st) < 0)
                return errno == ENOENT || errno == ENOTDIR ? 0 : FAIL(g, errno, "%s: %s", path, strerror(errno));
        return S_ISLNK(st.st_mode);
}

PUBLIC char **guestfs_ls(guestfs_h *g, const char *directory)
{
        char host[PATH_MAX * 2], resolved[PATH_MAX];
        struct dirent **names = NULL;
        char **l;
        int n;

        if (resolve(g, directory, resolved, sizeof(resolved)) < 0 || host_path(g, resolved, host, sizeof(host)) < 0)
                return NULL;
        n = scandir(host, &names, NULL, alphasort);
        if (n < 0)
                return fail_ptr(g, errno, "ls %s: %s", directory, strerror(errno));
        l = strv_new((size_t) n);
        for (int i = 0, k = 0; i < n; i++) {
                if (l && strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, ".."))
                        l[k++] = strdup(names[i]->d_name);
                free(names[i]);
        }
        free(names);
        return l;
}

/* ---- reading -------------------------------------------------------------------------------------- */

static int open_guest(guestfs_h *g, const char *path, int flags, mode_t mode)
{
        char host[PATH_MAX * 2], resolved[PATH_MAX];
        int fd;

        if (flags & O_CREAT) {
                if (host_path(g, path, host, sizeof(host)) < 0)
                        return -1;
        } else if (resolve(g, path, resolved, sizeof(resolved)) < 0 || host_path(g, resolved, host, sizeof(host)) < 0)
                return -1;
        fd = open(host, flags | O_CLOEXEC | O_NOCTTY, mode);
        if (fd < 0)
                return FAIL(g, errno, "%s: %s", path, strerror(errno));
        return fd;
}

PUBLIC char *guestfs_pread(guestfs_h *g, const char *path, int count, int64_t offset, size_t *size_r)
{
        int fd = open_guest(g, path, O_RDONLY, 0);
        char *buf;
        ssize_t n;

        if (fd < 0)
                return NULL;
        buf = malloc(count > 0 ? (size_t) count : 1);
        n = buf ? pread(fd, buf, (size_t) count, offset) : -1;
        close(fd);
        if (n < 0) {
                free(buf);
                return fail_ptr(g, EIO, "pread %s failed", path);
        }
        *size_r = (size_t) n;
        return buf;
}

PUBLIC char *guestfs_read_file(guestfs_h *g, const char *path, size_t *size_r)
{
        int fd = open_guest(g, path, O_RDONLY, 0);
        struct stat st;
        char *buf;

        if (fd < 0)
                return NULL;
        if (fstat(fd, &st) < 0 || !(buf = malloc((size_t) st.st_size + 1))) {
                close(fd);
                return fail_ptr(g, EIO, "read_file %s failed", path);
        }
        *size_r = (size_t) pread(fd, buf, (size_t) st.st_size, 0);
        close(fd);
        return buf;
}

PUBLIC char *guestfs_checksum(guestfs_h *g, const char *csumtype, const char *path)
{
        char hex[KP_SHA256_HEX_SIZE];
        int fd, r;

        if (strcmp(csumtype, "sha256") != 0)
                return fail_ptr(g, EINVAL, "checksum: %s not supported", csumtype);
        fd = open_guest(g, path, O_RDONLY, 0);
        if (fd < 0)
                return NULL;
        r = kp_sha256_fd(fd, UINT64_MAX, hex, NULL);
        close(fd);
        if (r < 0)
                return fail_ptr(g, -r, "checksum %s: %s", path, strerror(-r));
        return strdup(hex);
}

/* Copies up to size bytes (all of in when size is -1) from in at offset to out. */
static int copy(guestfs_h *g, int in, int out, int64_t offset, int64_t size, const char *what)
{
        char buf[1 << 16];

        while (size != 0) {
                size_t want = size < 0 || size > (int64_t) sizeof(buf) ? sizeof(buf) : (size_t) size;
                ssize_t n = pread(in, buf, want, offset), w = 0;

                if (n < 0)
                        return FAIL(g, errno, "%s: %s", what, strerror(errno));
                if (n == 0)
                        break;
                while (w < n) {
                        ssize_t k = write(out, buf + w, (size_t) (n - w));
                        if (k < 0)
                                return FAIL(g, errno, "%s: %s", what, strerror(errno));
                        w += k;
                }
                offset += n;
                if (size > 0)
                        size -= n;
        }
        return 0;
}

PUBLIC int guestfs_download_offset(guestfs_h *g, const char *remotefilename, const char *filename, int64_t offset,
                                   int64_t size)
{
        int in = open_guest(g, remotefilename, O_RDONLY, 0), out, r;

        if (in < 0)
                return -1;
        out = open(filename, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0666);
        if (out < 0) {
                close(in);
                return FAIL(g, errno, "download: %s: %s", filename, strerror(errno));
        }
        r = copy(g, in, out, offset, size, remotefilename);
        close(in);
        close(out);
        return r;
}

PUBLIC int guestfs_download(guestfs_h *g, const char *remotefilename, const char *filename)
{
        return guestfs_download_offset(g, remotefilename, filename, 0, -1);
}

/* ---- writing ---------------------------------------------------------------------------------------- */

PUBLIC int guestfs_upload(guestfs_h *g, const char *filename, const char *remotefilename)
{
        int in, out, r;

        if (writable(g, remotefilename) < 0)
                return -1;
        in = open(filename, O_RDONLY | O_CLOEXEC);
        if (in < 0)
                return FAIL(g, errno, "upload: %s: %s", filename, strerror(errno));
        out = open_guest(g, remotefilename, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        if (out < 0) {
                close(in);
                return -1;
        }
        r = copy(g, in, out, 0, -1, remotefilename);
        close(in);
        close(out);
        touch_disk(g);
        return r;
}

PUBLIC int guestfs_write(guestfs_h *g, const char *path, const char *content, size_t content_size)
{
        size_t w = 0;
        int fd;

        if (writable(g, path) < 0)
                return -1;
        fd = open_guest(g, path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        if (fd < 0)
                return -1;
        while (w < content_size) {
                ssize_t k = write(fd, content + w, content_size - w);
                if (k < 0) {
                        int e = errno;
                        close(fd);
                        return FAIL(g, e, "write %s: %s", path, strerror(e));
                }
                w += (size_t) k;
        }
        close(fd);
        touch_disk(g);
        return 0;
}

PUBLIC int guestfs_rename(guestfs_h *g, const char *oldpath, const char *newpath)
{
        char a[PATH_MAX * 2], b[PATH_MAX * 2];

        if (writable(g, newpath) < 0 || host_path(g, oldpath, a, sizeof(a)) < 0 ||
            host_path(g, newpath, b, sizeof(b)) < 0)
                return -1;
        if (rename(a, b) < 0)
                return FAIL(g, errno, "rename %s: %s", newpath, strerror(errno));
        touch_disk(g);
        return 0;
}

static int remove_file(guestfs_h *g, const char *path, bool force)
{
        char host[PATH_MAX * 2];
        struct stat st;

        if (writable(g, path) < 0 || host_path(g, path, host, sizeof(host)) < 0)
                return -1;
        if (lstat(host, &st) == 0 && S_ISDIR(st.st_mode))
                return FAIL(g, EISDIR, "rm %s: Is a directory", path);
        if (unlink(host) < 0 && !(force && errno == ENOENT))
                return FAIL(g, errno, "rm %s: %s", path, strerror(errno));
        touch_disk(g);
        return 0;
}

PUBLIC int guestfs_rm(guestfs_h *g, const char *path) { return remove_file(g, path, false); }
PUBLIC int guestfs_rm_f(guestfs_h *g, const char *path) { return remove_file(g, path, true); }

PUBLIC int guestfs_sync(guestfs_h *g)
{
        int fd, r;

        if (!g->mounted)
                return 0;
        fd = open(g->mounted->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return FAIL(g, errno, "sync: %s", strerror(errno));
        r = syncfs(fd);
        close(fd);
        if (r < 0)
                return FAIL(g, errno, "sync: %s", strerror(errno));
        return 0;
}

PUBLIC struct guestfs_statvfs *guestfs_statvfs(guestfs_h *g, const char *path)
{
        char host[PATH_MAX * 2];
        struct guestfs_statvfs *s;
        struct statvfs sv;

        if (host_path(g, path, host, sizeof(host)) < 0)
                return NULL;
        if (statvfs(host, &sv) < 0)
                return fail_ptr(g, errno, "statvfs %s: %s", path, strerror(errno));
        s = calloc(1, sizeof(*s));
        if (s)
                *s = (struct guestfs_statvfs) {
                        .bsize = (int64_t) sv.f_bsize, .frsize = (int64_t) sv.f_frsize, .blocks = (int64_t) sv.f_blocks,
                        .bfree = (int64_t) sv.f_bfree, .bavail = (int64_t) sv.f_bavail, .files = (int64_t) sv.f_files,
                        .ffree = (int64_t) sv.f_ffree, .favail = (int64_t) sv.f_favail, .fsid = (int64_t) sv.f_fsid,
                        .flag = (int64_t) sv.f_flag, .namemax = (int64_t) sv.f_namemax,
                };
        return s;
}

PUBLIC void guestfs_free_statvfs(struct guestfs_statvfs *s) { free(s); }

PUBLIC int guestfs_chmod(guestfs_h *g, int mode, const char *path)
{
        char host[PATH_MAX * 2];

        if (writable(g, path) < 0 || host_path(g, path, host, sizeof(host)) < 0)
                return -1;
        if (chmod(host, (mode_t) mode) < 0)
                return FAIL(g, errno, "chmod %s: %s", path, strerror(errno));
        touch_disk(g);
        return 0;
}

PUBLIC int guestfs_lchown(guestfs_h *g, int owner, int group, const char *path)
{
        char host[PATH_MAX * 2];

        if (writable(g, path) < 0 || host_path(g, path, host, sizeof(host)) < 0)
                return -1;
        if (lchown(host, (uid_t) owner, (gid_t) group) < 0)
                return FAIL(g, errno, "lchown %s: %s", path, strerror(errno));
        touch_disk(g);
        return 0;
}

PUBLIC struct guestfs_xattr_list *guestfs_lgetxattrs(guestfs_h *g, const char *path)
{
        char host[PATH_MAX * 2], names[65536];
        struct guestfs_xattr_list *l;
        ssize_t n;
        size_t count = 0;

        if (host_path(g, path, host, sizeof(host)) < 0)
                return NULL;
        n = llistxattr(host, names, sizeof(names));
        if (n < 0)
                return fail_ptr(g, errno, "lgetxattrs %s: %s", path, strerror(errno));
        for (ssize_t i = 0; i < n; i += (ssize_t) strlen(names + i) + 1)
                count++;
        l = calloc(1, sizeof(*l));
        if (!l || !(l->val = calloc(count + 1, sizeof(struct guestfs_xattr))))
                return fail_ptr(g, ENOMEM, "out of memory");
        for (ssize_t i = 0; i < n; i += (ssize_t) strlen(names + i) + 1) {
                struct guestfs_xattr *x = &l->val[l->len];
                ssize_t v = lgetxattr(host, names + i, NULL, 0);

                if (v < 0)
                        continue;
                x->attrname = strdup(names + i);
                x->attrval = malloc((size_t) v + 1);
                if (!x->attrname || !x->attrval)
                        return fail_ptr(g, ENOMEM, "out of memory");
                v = lgetxattr(host, names + i, x->attrval, (size_t) v);
                if (v < 0)
                        return fail_ptr(g, errno, "lgetxattrs %s: %s", path, strerror(errno));
                x->attrval_len = (uint32_t) v;
                l->len++;
        }
        return l;
}

PUBLIC void guestfs_free_xattr_list(struct guestfs_xattr_list *l)
{
        if (!l)
                return;
        for (uint32_t i = 0; i < l->len; i++) {
                free(l->val[i].attrname);
                free(l->val[i].attrval);
        }
        free(l->val);
        free(l);
}

PUBLIC int guestfs_lsetxattr(guestfs_h *g, const char *xattr, const char *val, int vallen, const char *path)
{
        char host[PATH_MAX * 2];

        if (writable(g, path) < 0 || host_path(g, path, host, sizeof(host)) < 0)
                return -1;
        if (lsetxattr(host, xattr, val, (size_t) vallen, 0) < 0)
                return FAIL(g, errno, "lsetxattr %s %s: %s", xattr, path, strerror(errno));
        touch_disk(g);
        return 0;
}
