/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "bootcfg/bootplan.h"
#include "guest/guest-internal.h"
#include "guest/inspect.h"
#include "guest/write.h"
#include "util/error.h"
#include "util/strv.h"

DEFINE_TRIVIAL_CLEANUP_FUNC_VOID(struct guestfs_statns *, sym_guestfs_free_statns);
DEFINE_TRIVIAL_CLEANUP_FUNC_VOID(struct guestfs_statvfs *, sym_guestfs_free_statvfs);

bool kp_guest_session_writable(const KpGuestSession *s)
{
        return s->options.writable;
}

/* Paths kunpack writes are its own constructions from a plan's paths: absolute, bounded, printable. */
static int check_path(const char *path, KpError *error)
{
        if (!path || path[0] != '/' || strlen(path) > KP_BOOTCFG_MAX_PATH)
                return kp_error_set(error, -EINVAL, "invalid guest path");
        for (const char *p = path; *p; p++)
                if ((unsigned char) *p < ' ' || *p == 0x7f)
                        return kp_error_set(error, -EINVAL, "guest path holds control characters");
        if (strstr(path, "/../") || (strlen(path) >= 3 && streq(path + strlen(path) - 3, "/..")))
                return kp_error_set(error, -EINVAL, "guest path holds \"..\"");
        if (kp_guest_path_is_device(path))
                return kp_error_set(error, -EPERM, "%s is under /dev, where libguestfs writes devices of the "
                                    "appliance, not files of the guest: refused", path);
        return 0;
}

/* -EEXIST from kp_guest_regular_file() as the readers say it; the message stays. */
static int not_regular(KpError *error)
{
        if (error)
                error->code = -EBADFD;
        return -EBADFD;
}

/* The index of guest's filesystem called device, listing logical volumes only when needed. */
static int find_fs(KpGuestSession *s, size_t guest, const char *device, KpError *error, size_t *ret)
{
        int r;

        if (guest >= s->n_guests)
                return kp_error_set(error, -EINVAL, "no guest %zu in this session", guest);
        r = kp_guest_scan_filesystems(s, error);
        if (r < 0)
                return r;
        for (int pass = 0; pass < 2; pass++) {
                if (pass == 1) {
                        r = kp_guest_scan_lvm(s, error);
                        if (r < 0)
                                return r;
                }
                /* By the guest-relative name only: the appliance's names are ambiguous in a batch. */
                for (size_t i = 0; i < s->n_filesystems; i++)
                        if (s->filesystems[i].guest == guest && streq(s->filesystems[i].name, device)) {
                                *ret = i;
                                return 0;
                        }
        }
        return kp_error_set(error, -ENODEV, "%s is not a filesystem of this guest", device);
}

int kp_guest_mount_writable(KpGuestSession *s, size_t guest, const char *device, KpError *error)
{
        size_t fs;
        int r;

        kp_guest_enter(s);
        if (!s->options.writable)
                return kp_error_set(error, -EROFS, "the session was opened read-only");
        r = find_fs(s, guest, device, error, &fs);
        if (r < 0)
                return r;
        r = kp_guest_check_cancelled(s, error);
        if (r < 0)
                return r;
        /* Whatever was mounted (read-only, by the inspection) goes first. */
        if (sym_guestfs_umount_all(s->g) < 0)
                return kp_guest_error(s, error, "could not unmount the guest's filesystems");
        s->mounted = -1;
        if (sym_guestfs_mount(s->g, s->filesystems[fs].mountable, "/") < 0)
                return kp_guest_error(s, error, "could not mount %s (%s) for writing", device,
                                      s->filesystems[fs].vfs_type);
        /*
         * Later lookups of the same filesystem (kp_guest_mount(), downloads)
         * find it mounted and read it as it is now.
         */
        s->mounted = (ssize_t) fs;
        s->filesystems[fs].mount_state = 1;
        return 0;
}

int kp_guest_mount_readonly(KpGuestSession *s, size_t guest, const char *device, KpError *error)
{
        size_t fs;
        int r;

        kp_guest_enter(s);
        r = find_fs(s, guest, device, error, &fs);
        if (r < 0)
                return r;
        return kp_guest_mount(s, fs, error);
}

int kp_guest_list_filesystems(KpGuestSession *s, size_t guest, KpError *error, char ***ret_names)
{
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;
        int r;

        kp_guest_enter(s);
        if (guest >= s->n_guests)
                return kp_error_set(error, -EINVAL, "no guest %zu in this session", guest);
        r = kp_guest_scan_filesystems(s, error);
        if (r >= 0)
                r = kp_guest_scan_lvm(s, error);
        if (r < 0)
                return r;
        names = calloc(s->n_filesystems + 1, sizeof(char *));
        if (!names)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_filesystems; i++)
                if (s->filesystems[i].guest == guest && !(names[n++] = strdup(s->filesystems[i].name)))
                        return -ENOMEM;
        *ret_names = TAKE_PTR(names);
        return 0;
}

int kp_guest_free_bytes(KpGuestSession *s, const char *path, KpError *error, uint64_t *ret_bytes)
{
        _cleanup_(sym_guestfs_free_statvfsp) struct guestfs_statvfs *st = NULL;
        int r;

        kp_guest_enter(s);
        r = check_path(path, error);
        if (r < 0)
                return r;
        st = sym_guestfs_statvfs(s->g, path);
        if (!st)
                return kp_guest_error(s, error, "statvfs %s", path);
        if (st->bavail < 0 || st->frsize <= 0)
                return kp_error_set(error, -EIO, "statvfs %s: nonsense from the appliance", path);
        *ret_bytes = (uint64_t) st->bavail * (uint64_t) st->frsize;
        return 0;
}

int kp_guest_regular_file(KpGuestSession *s, const char *path, KpError *error, uint64_t *ret_size)
{
        _cleanup_(sym_guestfs_free_statnsp) struct guestfs_statns *st = NULL;
        int r;

        kp_guest_enter(s);
        r = check_path(path, error);
        if (r < 0)
                return r;
        r = sym_guestfs_exists(s->g, path);
        if (r < 0)
                return kp_guest_error(s, error, "%s", path);
        if (r == 0) {
                /* exists() follows symlinks: a dangling one is still something there. */
                r = sym_guestfs_is_symlink(s->g, path);
                if (r < 0)
                        return kp_guest_error(s, error, "%s", path);
                if (r == 0)
                        return 0;
                return kp_error_set(error, -EEXIST, "%s is a symlink, not a file kunpack writes", path);
        }
        st = sym_guestfs_lstatns(s->g, path);
        if (!st)
                return kp_guest_error(s, error, "lstat %s", path);
        if (!S_ISREG((mode_t) st->st_mode))
                return kp_error_set(error, -EEXIST, "%s is not a regular file", path);
        if (ret_size)
                *ret_size = (uint64_t) st->st_size;
        return 1;
}

int kp_guest_sha256(KpGuestSession *s, const char *path, KpError *error, char ret_hex[65])
{
        _cleanup_free_ char *sum = NULL;
        int r;

        r = kp_guest_regular_file(s, path, error, NULL);
        if (r == -EEXIST)
                return not_regular(error);
        if (r < 0)
                return r;
        if (r == 0)
                return kp_error_set(error, -ENOENT, "%s: no such file", path);
        sum = sym_guestfs_checksum(s->g, "sha256", path);
        if (!sum)
                return kp_guest_error(s, error, "sha256 of %s", path);
        if (strlen(sum) != 64 || strspn(sum, "0123456789abcdef") != 64)
                return kp_error_set(error, -EIO, "sha256 of %s: not a sha256 from the appliance", path);
        memcpy(ret_hex, sum, 65);
        return 0;
}

int kp_guest_read_regular(KpGuestSession *s, const char *path, uint64_t max, KpError *error, char **ret_data,
                          size_t *ret_size)
{
        uint64_t size;
        int r;

        if (max > KP_GUEST_PREAD_MAX)
                return kp_error_set(error, -EINVAL, "reads are limited to %d bytes", KP_GUEST_PREAD_MAX);
        r = kp_guest_regular_file(s, path, error, &size);
        if (r == -EEXIST)
                return not_regular(error);
        if (r < 0)
                return r;
        if (r == 0)
                return kp_error_set(error, -ENOENT, "%s: no such file", path);
        if (size > max)
                return kp_error_set(error, -EFBIG,
                                    "%s is %" PRIu64 " bytes, more than the %" PRIu64 " allowed", path, size,
                                    max);
        return kp_guest_read_head(s, path, size, error, ret_data, ret_size);
}

int kp_guest_read_at(KpGuestSession *s, const char *path, uint64_t offset, size_t size, KpError *error, void *buf,
                     size_t *ret_got)
{
        _cleanup_free_ char *data = NULL;
        size_t n = 0;
        int r;

        kp_guest_enter(s);
        if (size > KP_GUEST_PREAD_MAX || offset > INT64_MAX)
                return kp_error_set(error, -EINVAL, "%s: a read of %zu bytes at %" PRIu64 " is out of bounds", path,
                                    size, offset);
        r = kp_guest_regular_file(s, path, error, NULL);
        if (r == -EEXIST)
                return not_regular(error);
        if (r < 0)
                return r;
        if (r == 0)
                return kp_error_set(error, -ENOENT, "%s: no such file", path);
        data = sym_guestfs_pread(s->g, path, (int) size, (int64_t) offset, &n);
        if (!data)
                return kp_guest_error(s, error, "could not read %s", path);
        if (n > size)
                return kp_error_set(error, -EIO, "%s: the appliance returned more than asked", path);
        memcpy(buf, data, n);
        *ret_got = n;
        return 0;
}

/* "<dir>/.<name>.kunpack-tmp" */
static int tmp_name(const char *path, char **ret)
{
        const char *slash = strrchr(path, '/');

        if (asprintf(ret, "%.*s/.%s" KP_GUEST_TMP_SUFFIX, (int) (slash - path), path, slash + 1) < 0)
                return -ENOMEM;
        return 0;
}

/* What a file kunpack writes takes from the one it replaces or copies. */
typedef struct Meta {
        bool have;                       /* false: libguestfs's defaults */
        int64_t mode, uid, gid;
        struct guestfs_xattr_list *xattrs;
} Meta;

static void meta_done(Meta *m)
{
        if (m->xattrs)
                sym_guestfs_free_xattr_list(m->xattrs);
        *m = (Meta) {};
}

/* like's metadata, when like is a regular file; nothing (have false) otherwise. */
static int read_meta(KpGuestSession *s, const char *like, KpError *error, Meta *ret)
{
        _cleanup_(sym_guestfs_free_statnsp) struct guestfs_statns *st = NULL;
        int r;

        *ret = (Meta) {};
        r = kp_guest_regular_file(s, like, error, NULL);
        if (r == -EEXIST) {
                kp_error_clear(error);
                return 0; /* a symlink or directory: its metadata is not a file's */
        }
        if (r <= 0)
                return r;
        st = sym_guestfs_lstatns(s->g, like);
        if (!st)
                return kp_guest_error(s, error, "lstat %s", like);
        ret->xattrs = sym_guestfs_lgetxattrs(s->g, like);
        if (!ret->xattrs)
                return kp_guest_error(s, error, "cannot read the extended attributes of %s", like);
        ret->mode = st->st_mode & 07777;
        ret->uid = st->st_uid;
        ret->gid = st->st_gid;
        ret->have = true;
        return 0;
}

/*
 * Gives path (a new, empty file) m's metadata: owner first (a chown clears
 * the set-id bits), then the mode, then the extended attributes (an ACL
 * among them agrees with that mode, as it did on the original).
 */
static int apply_meta(KpGuestSession *s, const char *path, const Meta *m, KpError *error)
{
        if (!m->have)
                return 0;
        if (m->uid > INT_MAX || m->gid > INT_MAX || m->uid < 0 || m->gid < 0)
                return kp_error_set(error, -EOVERFLOW, "%s: owner %" PRIi64 ":%" PRIi64 " out of range", path,
                                    m->uid, m->gid);
        if (sym_guestfs_lchown(s->g, (int) m->uid, (int) m->gid, path) < 0)
                return kp_guest_error(s, error, "cannot give %s its owner", path);
        if (sym_guestfs_chmod(s->g, (int) m->mode, path) < 0)
                return kp_guest_error(s, error, "cannot give %s its mode", path);
        for (uint32_t i = 0; i < m->xattrs->len; i++) {
                const struct guestfs_xattr *x = &m->xattrs->val[i];

                if (x->attrval_len > INT_MAX)
                        return kp_error_set(error, -EOVERFLOW, "%s: extended attribute %s too long", path,
                                            x->attrname);
                if (sym_guestfs_lsetxattr(s->g, x->attrname, x->attrval, (int) x->attrval_len, path) < 0)
                        return kp_guest_error(s, error, "cannot give %s the extended attribute %s", path,
                                              x->attrname);
        }
        return 0;
}

/* Moves tmp over path once its bytes are on the disk. */
static int commit(KpGuestSession *s, const char *tmp, const char *path, KpError *error)
{
        int r;

        /* A symlink or directory at the target is the guest's, not ours to replace. */
        r = kp_guest_regular_file(s, path, error, NULL);
        if (r < 0)
                return r;
        if (sym_guestfs_sync(s->g) < 0)
                return kp_guest_error(s, error, "sync before renaming to %s", path);
        if (sym_guestfs_rename(s->g, tmp, path) < 0)
                return kp_guest_error(s, error, "rename to %s", path);
        return 0;
}

/* Removes a leftover temporary file of an earlier, interrupted run. */
static int clear_tmp(KpGuestSession *s, const char *tmp, KpError *error)
{
        return kp_guest_remove(s, tmp, error);
}

/*
 * The temporary file for path, empty, with the metadata it will have
 * (like's, or path's own): its content is written only once it is no more
 * readable than it will be.
 */
static int begin_write(KpGuestSession *s, const char *path, const char *like, KpError *error, char **ret_tmp)
{
        _cleanup_(meta_done) Meta m = {};
        _cleanup_free_ char *tmp = NULL;
        int r;

        if (!s->options.writable)
                return kp_error_set(error, -EROFS, "the session was opened read-only");
        r = check_path(path, error);
        if (r >= 0 && like)
                r = check_path(like, error);
        if (r < 0)
                return r;
        if (tmp_name(path, &tmp) < 0)
                return -ENOMEM;
        r = read_meta(s, like ?: path, error, &m);
        if (r < 0)
                return r;
        r = clear_tmp(s, tmp, error);
        if (r < 0)
                return r;
        if (sym_guestfs_write(s->g, tmp, "", 0) < 0) {
                r = kp_guest_error(s, error, "could not create %s", tmp);
                (void) sym_guestfs_rm_f(s->g, tmp);
                return r;
        }
        r = apply_meta(s, tmp, &m, error);
        if (r < 0) {
                (void) sym_guestfs_rm_f(s->g, tmp);
                return r;
        }
        *ret_tmp = TAKE_PTR(tmp);
        return 0;
}

int kp_guest_write_fd(KpGuestSession *s, const char *path, int fd, const char *like, KpError *error)
{
        _cleanup_free_ char *tmp = NULL;
        char source[64];
        int r;

        kp_guest_enter(s);
        r = begin_write(s, path, like, error, &tmp);
        if (r < 0)
                return r;
        /* libguestfs reopens "/dev/fd/N": a regular file is read from its start. The upload truncates the
         * temporary file, keeping its metadata. */
        (void) snprintf(source, sizeof(source), "/dev/fd/%d", fd);
        if (sym_guestfs_upload(s->g, source, tmp) < 0) {
                r = kp_guest_error(s, error, "could not write %s", path);
                (void) sym_guestfs_rm_f(s->g, tmp);
                return r;
        }
        r = commit(s, tmp, path, error);
        if (r < 0)
                (void) sym_guestfs_rm_f(s->g, tmp);
        return r;
}

int kp_guest_write_data(KpGuestSession *s, const char *path, const void *data, size_t size, const char *like,
                        KpError *error)
{
        _cleanup_free_ char *tmp = NULL;
        int r;

        kp_guest_enter(s);
        if (size > KP_GUEST_PREAD_MAX)
                return kp_error_set(error, -EFBIG, "%s: %zu bytes is more than one write takes", path, size);
        r = begin_write(s, path, like, error, &tmp);
        if (r < 0)
                return r;
        if (sym_guestfs_write(s->g, tmp, data, size) < 0) {
                r = kp_guest_error(s, error, "could not write %s", path);
                (void) sym_guestfs_rm_f(s->g, tmp);
                return r;
        }
        r = commit(s, tmp, path, error);
        if (r < 0)
                (void) sym_guestfs_rm_f(s->g, tmp);
        return r;
}

int kp_guest_replace(KpGuestSession *s, const char *from, const char *to, KpError *error)
{
        int r;

        kp_guest_enter(s);
        if (!s->options.writable)
                return kp_error_set(error, -EROFS, "the session was opened read-only");
        r = kp_guest_regular_file(s, from, error, NULL);
        if (r == -EEXIST)
                return not_regular(error);
        if (r < 0)
                return r;
        if (r == 0)
                return kp_error_set(error, -ENOENT, "%s: no such file", from);
        return commit(s, from, to, error);
}

int kp_guest_remove(KpGuestSession *s, const char *path, KpError *error)
{
        int r;

        kp_guest_enter(s);
        if (!s->options.writable)
                return kp_error_set(error, -EROFS, "the session was opened read-only");
        r = kp_guest_regular_file(s, path, error, NULL);
        if (r == -EEXIST)
                return not_regular(error);
        if (r <= 0)
                return r;
        if (sym_guestfs_rm(s->g, path) < 0)
                return kp_guest_error(s, error, "could not remove %s", path);
        return 0;
}

int kp_guest_remove_leftovers(KpGuestSession *s, const char *dir, KpError *error)
{
        _cleanup_(sym_guestfs_free_statnsp) struct guestfs_statns *st = NULL;
        _cleanup_strv_free_ char **names = NULL;
        size_t n, suffix = STRLEN(KP_GUEST_TMP_SUFFIX);
        int removed = 0, r;

        kp_guest_enter(s);
        if (!s->options.writable)
                return kp_error_set(error, -EROFS, "the session was opened read-only");
        if (!dir || dir[0] != '/')
                return kp_error_set(error, -EINVAL, "%s: not an absolute directory", dir ?: "(null)");
        /* lstat: a directory the guest made a symlink is not where kunpack wrote. */
        st = sym_guestfs_lstatns(s->g, dir);
        if (!st || !S_ISDIR(st->st_mode))
                return kp_error_set(error, -ENOENT, "%s: no such directory", dir);
        names = sym_guestfs_ls(s->g, dir);
        if (!names)
                return kp_guest_error(s, error, "could not list %s", dir);
        n = strv_length(names);
        if (n > KP_GUEST_MAX_DIR_ENTRIES)
                return kp_error_set(error, -E2BIG, "%s holds more than %d names", dir, KP_GUEST_MAX_DIR_ENTRIES);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL;
                size_t len = strlen(names[i]);

                /* ".NAME.kunpack-tmp", NAME not empty: tmp_name()'s shape and nothing else. */
                if (names[i][0] != '.' || len <= suffix + 1 || !streq(names[i] + len - suffix, KP_GUEST_TMP_SUFFIX))
                        continue;
                if (asprintf(&path, "%s%s%s", dir, streq(dir, "/") ? "" : "/", names[i]) < 0)
                        return kp_error_set(error, -ENOMEM, "out of memory");
                r = kp_guest_regular_file(s, path, error, NULL);
                if (r == -EEXIST) {
                        kp_error_clear(error);
                        continue; /* a directory or symlink by that name is not ours */
                }
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                if (sym_guestfs_rm(s->g, path) < 0)
                        return kp_guest_error(s, error, "could not remove %s", path);
                removed++;
        }
        return removed;
}

int kp_guest_sync(KpGuestSession *s, KpError *error)
{
        kp_guest_enter(s);
        if (sym_guestfs_sync(s->g) < 0)
                return kp_guest_error(s, error, "sync of the guest's disks");
        return 0;
}
