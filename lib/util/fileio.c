/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "util/error.h"
#include "util/fileio.h"

static int split_path(const char *path, char **ret_dir, char **ret_base)
{
        _cleanup_free_ char *dir = NULL, *base = NULL;
        const char *slash = strrchr(path, '/');

        if (!*path || (slash && !slash[1]))
                return -EINVAL;
        if (slash) {
                dir = slash == path ? strdup("/") : strndup(path, (size_t) (slash - path));
                base = strdup(slash + 1);
        } else {
                dir = strdup(".");
                base = strdup(path);
        }
        if (!dir || !base)
                return -ENOMEM;
        *ret_dir = TAKE_PTR(dir);
        *ret_base = TAKE_PTR(base);
        return 0;
}

static int make_tmp_name(const char *name, char **ret)
{
        uint64_t r;
        char *s;

        if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
                r = (uint64_t) getpid() << 32 ^ (uint64_t) (uintptr_t) &r;
        if (asprintf(&s, KP_TMP_PREFIX "%.64s.%016" PRIx64, name, r) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int kp_open_unnamed(const char *dir)
{
        _cleanup_free_ char *name = NULL, *path = NULL;
        int fd, r;

        fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd >= 0)
                return fd;
        if (errno != EOPNOTSUPP && errno != EISDIR)
                return negative_errno();

        /* No O_TMPFILE here (some network and old filesystems): a hidden name, removed at once. */
        r = make_tmp_name("scratch", &name);
        if (r < 0)
                return r;
        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        fd = open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return negative_errno();
        (void) unlink(path);
        return fd;
}

int kp_atomic_file_openat(int dir_fd, const char *name, mode_t mode, KpError *error, KpAtomicFile *ret)
{
        KpAtomicFile f = KP_ATOMIC_FILE_INIT;
        int r;

        if (!name || !*name || strchr(name, '/'))
                return kp_error_set(error, -EINVAL, "invalid file name \"%s\"", name ? name : "");

        f.mode = mode;
        f.dir_fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
        if (f.dir_fd < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot duplicate directory fd");
        f.name = strdup(name);
        if (!f.name) {
                kp_atomic_file_discard(&f);
                return kp_error_set(error, -ENOMEM, "out of memory");
        }

        f.fd = openat(f.dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
        if (f.fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == ENOENT)) {
                /* No O_TMPFILE here (some network and old filesystems): use a hidden name. */
                r = make_tmp_name(name, &f.tmp_name);
                if (r < 0) {
                        kp_atomic_file_discard(&f);
                        return kp_error_set(error, r, "out of memory");
                }
                f.fd = openat(f.dir_fd, f.tmp_name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, mode);
        }
        if (f.fd < 0) {
                r = negative_errno();
                kp_atomic_file_discard(&f);
                return kp_error_set_errno(error, r, "cannot create a file in the directory of %s", name);
        }
        /* The umask must not weaken or widen what the caller asked for. */
        if (fchmod(f.fd, mode) < 0) {
                r = negative_errno();
                kp_atomic_file_discard(&f);
                return kp_error_set_errno(error, r, "cannot set the mode of %s", name);
        }

        *ret = f;
        return 0;
}

int kp_atomic_file_open(const char *path, mode_t mode, KpError *error, KpAtomicFile *ret)
{
        _cleanup_free_ char *dir = NULL, *base = NULL;
        _cleanup_close_ int dir_fd = -EBADF;
        int r;

        r = split_path(path, &dir, &base);
        if (r < 0)
                return kp_error_set(error, r, "invalid output path \"%s\"", path);
        dir_fd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dir_fd < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot open directory %s", dir);
        r = kp_atomic_file_openat(dir_fd, base, mode, error, ret);
        if (r < 0)
                return kp_error_prefix(error, r, "%s", path);
        return 0;
}

int kp_atomic_file_commit(KpAtomicFile *f, bool replace, KpError *error)
{
        char proc[64];
        int r;

        if (f->fd < 0)
                return kp_error_set(error, -EBADF, "%s: file already committed or discarded", f->name);

        if (fsync(f->fd) < 0) {
                r = negative_errno();
                kp_atomic_file_discard(f);
                return kp_error_set_errno(error, r, "cannot write %s to disk", f->name);
        }

        if (!f->tmp_name) {
                /* Give the unnamed file a hidden name first, so it can then be renamed over. */
                r = make_tmp_name(f->name, &f->tmp_name);
                if (r < 0) {
                        kp_atomic_file_discard(f);
                        return kp_error_set(error, r, "out of memory");
                }
                (void) snprintf(proc, sizeof(proc), "/proc/self/fd/%i", f->fd);
                if (linkat(AT_FDCWD, proc, f->dir_fd, f->tmp_name, AT_SYMLINK_FOLLOW) < 0) {
                        r = negative_errno();
                        free(f->tmp_name);
                        f->tmp_name = NULL;
                        kp_atomic_file_discard(f);
                        return kp_error_set_errno(error, r, "cannot link %s into place", f->name);
                }
        }

        if (replace)
                r = renameat(f->dir_fd, f->tmp_name, f->dir_fd, f->name);
        else
                r = renameat2(f->dir_fd, f->tmp_name, f->dir_fd, f->name, RENAME_NOREPLACE);
        if (r < 0) {
                r = negative_errno();
                kp_atomic_file_discard(f);
                if (r == -EEXIST)
                        return kp_error_set(error, r, "%s already exists", f->name);
                return kp_error_set_errno(error, r, "cannot rename %s into place", f->name);
        }
        free(f->tmp_name);
        f->tmp_name = NULL;

        if (fsync(f->dir_fd) < 0) {
                r = negative_errno();
                kp_atomic_file_discard(f);
                return kp_error_set_errno(error, r, "cannot write the directory of %s to disk", f->name);
        }

        kp_atomic_file_discard(f);
        return 0;
}

void kp_atomic_file_discard(KpAtomicFile *f)
{
        if (!f)
                return;
        if (f->tmp_name && f->dir_fd >= 0)
                (void) unlinkat(f->dir_fd, f->tmp_name, 0);
        free(f->tmp_name);
        f->tmp_name = NULL;
        free(f->name);
        f->name = NULL;
        f->fd = safe_close(f->fd);
        f->dir_fd = safe_close(f->dir_fd);
}

int kp_loop_write(int fd, const void *buf, size_t size)
{
        const uint8_t *p = buf;

        while (size > 0) {
                ssize_t n = write(fd, p, MIN(size, (size_t) SSIZE_MAX));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        return -EIO;
                p += n;
                size -= (size_t) n;
        }
        return 0;
}

int kp_loop_pwrite(int fd, const void *buf, size_t size, uint64_t offset)
{
        const uint8_t *p = buf;

        while (size > 0) {
                ssize_t n;

                if (offset > (uint64_t) INT64_MAX)
                        return -EFBIG;
                n = pwrite(fd, p, MIN(size, (size_t) SSIZE_MAX), (off_t) offset);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        return -EIO;
                p += n;
                size -= (size_t) n;
                offset += (uint64_t) n;
        }
        return 0;
}

ssize_t kp_loop_read(int fd, void *buf, size_t size)
{
        uint8_t *p = buf;
        size_t done = 0;

        while (done < size) {
                ssize_t n = read(fd, p + done, MIN(size - done, (size_t) SSIZE_MAX));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                done += (size_t) n;
        }
        return (ssize_t) done;
}

int kp_write_file_atomic(const char *path, const void *data, size_t size, mode_t mode, KpError *error)
{
        _cleanup_(kp_atomic_file_discard) KpAtomicFile f = KP_ATOMIC_FILE_INIT;
        int r;

        r = kp_atomic_file_open(path, mode, error, &f);
        if (r < 0)
                return r;
        r = kp_loop_write(f.fd, data, size);
        if (r < 0)
                return kp_error_set_errno(error, r, "cannot write %s", path);
        return kp_atomic_file_commit(&f, true, error);
}

int kp_read_file(const char *path, size_t max, KpError *error, char **ret_data, size_t *ret_size)
{
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        ssize_t n;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot open %s", path);
        if (fstat(fd, &st) < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot stat %s", path);
        if (!S_ISREG(st.st_mode))
                return kp_error_set(error, -EBADFD, "%s is not a regular file", path);
        if ((uint64_t) st.st_size > max)
                return kp_error_set(error, -EFBIG, "%s is %jd bytes, more than the limit of %zu", path,
                                    (intmax_t) st.st_size, max);

        size_t cap = (size_t) st.st_size;
        buf = malloc(cap + 2);
        if (!buf)
                return kp_error_set(error, -ENOMEM, "out of memory");
        /* Read one byte more than expected, to notice a file that grew since fstat(). */
        n = kp_loop_read(fd, buf, cap + 1);
        if (n < 0)
                return kp_error_set_errno(error, (int) n, "cannot read %s", path);
        if ((size_t) n > cap)
                return kp_error_set(error, -EAGAIN, "%s changed while it was read", path);
        buf[n] = '\0';

        *ret_data = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = (size_t) n;
        return 0;
}

int kp_fsync_directory_of(const char *path)
{
        _cleanup_free_ char *dir = NULL, *base = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = split_path(path, &dir, &base);
        if (r < 0)
                return r;
        fd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        return fsync(fd) < 0 ? negative_errno() : 0;
}

int kp_mkdir_p(const char *dir, mode_t mode)
{
        _cleanup_free_ char *p = strdup(dir);
        char *s;

        if (!p)
                return -ENOMEM;
        for (s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return negative_errno();
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

int kp_copy_fd(int in_fd, int out_fd, uint64_t max, uint64_t *ret_size)
{
        _cleanup_free_ uint8_t *buf = NULL;
        uint64_t done = 0;
        loff_t in_off = 0;

        /* The kernel copies in place where it can (reflinks on xfs/btrfs). */
        for (;;) {
                ssize_t n = copy_file_range(in_fd, &in_off, out_fd, NULL, 16 * 1024 * 1024, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (done == 0 && (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS))
                                break; /* not supported here: fall back to read/write */
                        return negative_errno();
                }
                if (n == 0) {
                        if (ret_size)
                                *ret_size = done;
                        return 0;
                }
                done += (uint64_t) n;
                if (done > max)
                        return -EFBIG;
        }

        buf = malloc(1024 * 1024);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = pread(in_fd, buf, 1024 * 1024, (off_t) done);
                int r;
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                done += (uint64_t) n;
                if (done > max)
                        return -EFBIG;
                r = kp_loop_write(out_fd, buf, (size_t) n);
                if (r < 0)
                        return r;
        }
        if (ret_size)
                *ret_size = done;
        return 0;
}

/* "<prefix>.<16 hex digits>": unpredictable, so no one can prepare the name. */
static int random_name(const char *prefix, KpError *error, char **ret)
{
        uint64_t r64;

        if (getrandom(&r64, sizeof(r64), GRND_NONBLOCK) != sizeof(r64))
                r64 = (uint64_t) getpid() << 32 ^ (uint64_t) (uintptr_t) &r64;
        if (asprintf(ret, "%s.%016" PRIx64, prefix, r64) < 0)
                return kp_error_set(error, -ENOMEM, "out of memory");
        return 0;
}

int kp_link_fd(int fd, int dir_fd, const char *prefix, KpError *error, char **ret_name)
{
        _cleanup_free_ char *name = NULL;
        char proc[64];
        int r;

        r = random_name(prefix, error, &name);
        if (r < 0)
                return r;
        (void) snprintf(proc, sizeof(proc), "/proc/self/fd/%i", fd);
        if (linkat(AT_FDCWD, proc, dir_fd, name, AT_SYMLINK_FOLLOW) < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot link %s into the output directory", name);
        *ret_name = TAKE_PTR(name);
        return 0;
}

int kp_link_or_copy_fd(int fd, int dir_fd, const char *prefix, mode_t copy_mode, KpError *error, char **ret_name)
{
        _cleanup_(kp_atomic_file_discard) KpAtomicFile f = KP_ATOMIC_FILE_INIT;
        _cleanup_free_ char *name = NULL;
        int r;

        r = kp_link_fd(fd, dir_fd, prefix, error, ret_name);
        if (r >= 0 || !KP_LINK_CANNOT(r))
                return r;
        kp_error_clear(error);

        /* Another filesystem (or links not allowed): copy, atomically. */
        r = random_name(prefix, error, &name);
        if (r < 0)
                return r;
        r = kp_atomic_file_openat(dir_fd, name, copy_mode, error, &f);
        if (r < 0)
                return r;
        r = kp_copy_fd(fd, f.fd, UINT64_MAX, NULL);
        if (r < 0)
                return kp_error_set_errno(error, r, "cannot copy %s into the output directory", name);
        r = kp_atomic_file_commit(&f, false, error);
        if (r < 0)
                return r;
        *ret_name = TAKE_PTR(name);
        return 0;
}

int kp_link_probe(const char *from_dir, const char *to_dir, KpError *error)
{
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *name = NULL;
        char proc[64];
        uint64_t r64;

        fd = open(from_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot create a file in %s", from_dir);
        if (getrandom(&r64, sizeof(r64), GRND_NONBLOCK) != sizeof(r64))
                r64 = (uint64_t) getpid() << 32 ^ (uint64_t) (uintptr_t) &r64;
        if (asprintf(&name, "%s/" KP_TMP_PREFIX "link-probe.%016" PRIx64, to_dir, r64) < 0)
                return kp_error_set(error, -ENOMEM, "out of memory");
        (void) snprintf(proc, sizeof(proc), "/proc/self/fd/%i", fd);
        if (linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW) >= 0) {
                (void) unlink(name);
                return 1;
        }
        if (errno == EXDEV)
                return kp_error_set(error, 0, "%s and %s are on different mounts: a link is refused (EXDEV)",
                                    from_dir, to_dir), 0;
        return kp_error_set_errno(error, negative_errno(), "cannot link from %s into %s", from_dir, to_dir);
}
