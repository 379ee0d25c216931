/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An LD_PRELOAD shim that makes the Nth write, fsync, rename or link of a
 * process fail, for tests/faults/: what the cache, the state store and
 * pvgrub mode (through tests/faults/fake-guestfs.c, whose guest files are
 * host files) do when the disk fills up or goes bad mid-operation.
 *
 *   KP_FAIL_OPS    which calls count: any of "write", "fsync", "rename",
 *                  "link", comma-separated (default: all four)
 *                    write   write, pwrite, writev, pwritev, copy_file_range,
 *                            sendfile, ftruncate, fallocate (and their *64 names)
 *                    fsync   fsync, fdatasync, syncfs
 *                    rename  rename, renameat, renameat2
 *                    link    link, linkat
 *   KP_FAIL_UNDER  count only calls on files under this directory (the
 *                  file an fd refers to, or the path named; an unnamed
 *                  O_TMPFILE counts where it was made)
 *   KP_FAIL_NTH    the call, counting from 1, that fails; 0 or unset: none
 *                  (count only). Several, comma-separated ("3,17,40"), fail
 *                  each of them; "N-" fails N and every call after it (a
 *                  disk that filled up and stays full)
 *   KP_FAIL_ERRNO  ENOSPC (default) or EIO
 *   KP_FAIL_LOG    a file each counted call is appended to: "N OP PATH"
 *
 * The failing call does nothing and returns -1 with that errno, as a full
 * or failing disk would make it; unless "N-" says otherwise, every call
 * after it goes through again (a transient fault: what recovers from it
 * is tested too). Calls glibc
 * makes internally (stdio's own writes) are not seen; kunpack writes with
 * write(2) and friends itself.
 */

/*
 * kunpack is built with _FILE_OFFSET_BITS=64, so it calls pwrite64(),
 * ftruncate64() and so on: both names of each are interposed here, which
 * needs them apart.
 */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* The project builds with -fvisibility=hidden; what this file defines must be seen to interpose. */
#pragma GCC visibility push(default)

enum { OP_WRITE = 1, OP_FSYNC = 2, OP_RENAME = 4, OP_LINK = 8 };

static atomic_uint counter;
/* The calls to fail, in KP_FAIL_NTH's order; fail_from: every call from then on (0: none). */
#define MAX_NTH 64
static unsigned nths[MAX_NTH], n_nths, fail_from;
static int ops = -1, fail_errno;
static const char *under, *log_path;

static void setup(void)
{
        const char *s;

        if (ops >= 0)
                return;
        s = getenv("KP_FAIL_OPS");
        if (!s || !*s)
                ops = OP_WRITE | OP_FSYNC | OP_RENAME | OP_LINK;
        else
                ops = (strstr(s, "write") ? OP_WRITE : 0) | (strstr(s, "fsync") ? OP_FSYNC : 0) |
                      (strstr(s, "rename") ? OP_RENAME : 0) | (strstr(s, "link") ? OP_LINK : 0);
        for (s = getenv("KP_FAIL_NTH"); s && *s;) {
                char *end;
                unsigned long v = strtoul(s, &end, 10);

                if (end == s)
                        break;
                if (*end == '-') {
                        fail_from = (unsigned) v;
                        end++;
                } else if (v > 0 && n_nths < MAX_NTH)
                        nths[n_nths++] = (unsigned) v;
                s = *end == ',' ? end + 1 : end;
        }
        s = getenv("KP_FAIL_ERRNO");
        fail_errno = s && strcmp(s, "EIO") == 0 ? EIO : ENOSPC;
        under = getenv("KP_FAIL_UNDER");
        log_path = getenv("KP_FAIL_LOG");
}

static bool path_under(const char *path)
{
        size_t n;

        if (!under || !*under)
                return true;
        n = strlen(under);
        return path && strncmp(path, under, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* The path of what fd refers to (an unnamed file reads "DIR/#INODE (deleted)"). */
static bool fd_under(int fd, char *buf, size_t size)
{
        char proc[64];
        ssize_t n;

        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        n = readlink(proc, buf, size - 1);
        if (n < 0)
                return false;
        buf[n] = '\0';
        return path_under(buf);
}

/* Absolute path of name relative to dirfd, good enough to compare against KP_FAIL_UNDER. */
static bool at_under(int dirfd, const char *name, char *buf, size_t size)
{
        char dir[4096];

        if (name[0] == '/')
                snprintf(buf, size, "%s", name);
        else if (dirfd == AT_FDCWD) {
                if (!getcwd(dir, sizeof(dir)))
                        return false;
                snprintf(buf, size, "%s/%s", dir, name);
        } else {
                if (!fd_under(dirfd, dir, sizeof(dir)) && under)
                        return false;
                snprintf(buf, size, "%s/%s", dir, name);
        }
        return path_under(buf);
}

/* Counts one call; true when it is the one to fail. */
static bool hit(int op, const char *name, const char *path)
{
        int saved = errno;
        unsigned n;

        setup();
        if (!(ops & op))
                return false;
        n = atomic_fetch_add(&counter, 1) + 1;
        if (log_path) {
                int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
                if (fd >= 0) {
                        dprintf(fd, "%u %s %s\n", n, name, path);
                        close(fd);
                }
        }
        errno = saved;
        if (fail_from > 0 && n >= fail_from)
                return true;
        for (unsigned i = 0; i < n_nths; i++)
                if (n == nths[i])
                        return true;
        return false;
}

#define REAL(ret, name, ...)                                                                               \
        static ret (*real)(__VA_ARGS__);                                                                  \
        if (!real)                                                                                         \
                real = (ret (*)(__VA_ARGS__)) dlsym(RTLD_NEXT, name)

#define FD_CALL(op, name, fd)                                                                              \
        char path_[4096];                                                                                  \
        setup();                                                                                           \
        if ((ops & (op)) && fd_under(fd, path_, sizeof(path_)) && hit(op, name, path_)) {                  \
                errno = fail_errno;                                                                        \
                return -1;                                                                                 \
        }

ssize_t write(int fd, const void *buf, size_t n)
{
        REAL(ssize_t, "write", int, const void *, size_t);
        FD_CALL(OP_WRITE, "write", fd);
        return real(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
        REAL(ssize_t, "pwrite", int, const void *, size_t, off_t);
        FD_CALL(OP_WRITE, "pwrite", fd);
        return real(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
        REAL(ssize_t, "pwrite64", int, const void *, size_t, off64_t);
        FD_CALL(OP_WRITE, "pwrite64", fd);
        return real(fd, buf, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
        REAL(ssize_t, "writev", int, const struct iovec *, int);
        FD_CALL(OP_WRITE, "writev", fd);
        return real(fd, iov, cnt);
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
        REAL(ssize_t, "pwritev", int, const struct iovec *, int, off_t);
        FD_CALL(OP_WRITE, "pwritev", fd);
        return real(fd, iov, cnt, off);
}

ssize_t copy_file_range(int in, off64_t *in_off, int out, off64_t *out_off, size_t n, unsigned flags)
{
        REAL(ssize_t, "copy_file_range", int, off64_t *, int, off64_t *, size_t, unsigned);
        FD_CALL(OP_WRITE, "copy_file_range", out);
        return real(in, in_off, out, out_off, n, flags);
}

ssize_t sendfile(int out, int in, off_t *off, size_t n)
{
        REAL(ssize_t, "sendfile", int, int, off_t *, size_t);
        FD_CALL(OP_WRITE, "sendfile", out);
        return real(out, in, off, n);
}

int ftruncate(int fd, off_t len)
{
        REAL(int, "ftruncate", int, off_t);
        FD_CALL(OP_WRITE, "ftruncate", fd);
        return real(fd, len);
}

int ftruncate64(int fd, off64_t len)
{
        REAL(int, "ftruncate64", int, off64_t);
        FD_CALL(OP_WRITE, "ftruncate64", fd);
        return real(fd, len);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
        REAL(int, "fallocate", int, int, off_t, off_t);
        FD_CALL(OP_WRITE, "fallocate", fd);
        return real(fd, mode, off, len);
}

int fallocate64(int fd, int mode, off64_t off, off64_t len)
{
        REAL(int, "fallocate64", int, int, off64_t, off64_t);
        FD_CALL(OP_WRITE, "fallocate64", fd);
        return real(fd, mode, off, len);
}

ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
        REAL(ssize_t, "pwritev64", int, const struct iovec *, int, off64_t);
        FD_CALL(OP_WRITE, "pwritev64", fd);
        return real(fd, iov, cnt, off);
}

ssize_t sendfile64(int out, int in, off64_t *off, size_t n)
{
        REAL(ssize_t, "sendfile64", int, int, off64_t *, size_t);
        FD_CALL(OP_WRITE, "sendfile64", out);
        return real(out, in, off, n);
}

int fsync(int fd)
{
        REAL(int, "fsync", int);
        FD_CALL(OP_FSYNC, "fsync", fd);
        return real(fd);
}

int fdatasync(int fd)
{
        REAL(int, "fdatasync", int);
        FD_CALL(OP_FSYNC, "fdatasync", fd);
        return real(fd);
}

int syncfs(int fd)
{
        REAL(int, "syncfs", int);
        FD_CALL(OP_FSYNC, "syncfs", fd);
        return real(fd);
}

#define AT_CALL(op, name, dirfd, path)                                                                     \
        char path_[8192];                                                                                  \
        setup();                                                                                           \
        if ((ops & (op)) && at_under(dirfd, path, path_, sizeof(path_)) && hit(op, name, path_)) {         \
                errno = fail_errno;                                                                        \
                return -1;                                                                                 \
        }

int rename(const char *from, const char *to)
{
        REAL(int, "rename", const char *, const char *);
        AT_CALL(OP_RENAME, "rename", AT_FDCWD, to);
        return real(from, to);
}

int renameat(int fromfd, const char *from, int tofd, const char *to)
{
        REAL(int, "renameat", int, const char *, int, const char *);
        AT_CALL(OP_RENAME, "renameat", tofd, to);
        return real(fromfd, from, tofd, to);
}

int renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned flags)
{
        REAL(int, "renameat2", int, const char *, int, const char *, unsigned);
        AT_CALL(OP_RENAME, "renameat2", tofd, to);
        return real(fromfd, from, tofd, to, flags);
}

int link(const char *from, const char *to)
{
        REAL(int, "link", const char *, const char *);
        AT_CALL(OP_LINK, "link", AT_FDCWD, to);
        return real(from, to);
}

int linkat(int fromfd, const char *from, int tofd, const char *to, int flags)
{
        REAL(int, "linkat", int, const char *, int, const char *, int);
        AT_CALL(OP_LINK, "linkat", tofd, to);
        return real(fromfd, from, tofd, to, flags);
}
