/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "boot/fallback.h"
#include "util/error.h"
#include "util/fileio.h"

/*
 * A staged copy's mtime, set before it gets its name and never again: a
 * write to it by any means moves the mtime, and such a copy is not linked
 * (the cache seals its entries the same way, lib/store/cache.c).
 */
static const struct timespec staged_mtime = { .tv_sec = 1, .tv_nsec = 0 };

static int open_image(const char *pvgrub_path, KpError *error, int *ret_fd, struct stat *ret_st)
{
        _cleanup_close_ int fd = -EBADF;

        if (!pvgrub_path || pvgrub_path[0] != '/')
                return kp_error_set(error, -EINVAL, "pvgrub_path \"%s\" is not an absolute path",
                                    pvgrub_path ? pvgrub_path : "");
        fd = open(pvgrub_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot open pvgrub image %s", pvgrub_path);
        if (fstat(fd, ret_st) < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot stat pvgrub image %s", pvgrub_path);
        if (!S_ISREG(ret_st->st_mode) || ret_st->st_size == 0 || ret_st->st_size > KP_FALLBACK_MAX_SIZE)
                return kp_error_set(error, -EMEDIUMTYPE, "pvgrub image %s is not a regular file of 1 to %d bytes",
                                    pvgrub_path, KP_FALLBACK_MAX_SIZE);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* The staged copy's name: the image's identity, so that a new image never finds an old copy. */
static void staged_name(const struct stat *st, char ret[128])
{
        (void) snprintf(ret, 128, "%" PRIx64 "-%" PRIx64 "-%" PRIx64 "-%" PRIx64 ".%09ld", (uint64_t) st->st_dev,
                        (uint64_t) st->st_ino, (uint64_t) st->st_size, (uint64_t) st->st_mtim.tv_sec,
                        st->st_mtim.tv_nsec);
}

static int open_stage_dir(const char *stage_dir, bool create, int *ret_fd)
{
        _cleanup_close_ int dfd = -EBADF;
        int fd;

        dfd = open(stage_dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dfd < 0)
                return negative_errno();
        if (create && mkdirat(dfd, KP_FALLBACK_STAGE_SUBDIR, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        fd = openat(dfd, KP_FALLBACK_STAGE_SUBDIR, O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        *ret_fd = fd;
        return 0;
}

/* The staged copy of the image st describes, when it is there and intact; -ENOENT otherwise. */
static int open_staged(const char *stage_dir, const struct stat *image, int *ret_fd)
{
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        char name[128];
        struct stat st;
        int r;

        r = open_stage_dir(stage_dir, false, &dfd);
        if (r < 0)
                return r;
        staged_name(image, name);
        fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        /* Root's own copy, of the image's size, unwritten since it was staged. */
        if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0022) || st.st_size != image->st_size ||
            st.st_mtim.tv_sec != staged_mtime.tv_sec || st.st_mtim.tv_nsec != staged_mtime.tv_nsec)
                return -ENOENT;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int kp_boot_fallback_answer(const char *pvgrub_path, const char *stage_dir, const KpOutputDir *dir,
                            const char *extra_args, KpError *error, KpAnswer *ret,
                            KpFallbackPublished *ret_published)
{
        _cleanup_(kp_answer_done) KpAnswer a = {};
        _cleanup_close_ int fd = -EBADF, staged = -EBADF;
        _cleanup_free_ char *name = NULL;
        KpFallbackPublished how = KP_FALLBACK_LINKED;
        struct stat st;
        int r;

        r = open_image(pvgrub_path, error, &fd, &st);
        if (r < 0)
                return r;
        r = kp_answer_join_args(NULL, extra_args, error, &a.args);
        if (r < 0)
                return r;

        /* A link costs no space: the image itself, else its staged copy; a copy only when neither links. */
        r = kp_link_fd(fd, dir->fd, "kernel", error, &name);
        if (r < 0 && KP_LINK_CANNOT(r) && stage_dir && open_staged(stage_dir, &st, &staged) >= 0) {
                kp_error_clear(error);
                r = kp_link_fd(staged, dir->fd, "kernel", error, &name);
                how = KP_FALLBACK_LINKED_STAGED;
        }
        if (r < 0 && KP_LINK_CANNOT(r)) {
                kp_error_clear(error);
                r = kp_link_or_copy_fd(fd, dir->fd, "kernel", 0600, error, &name);
                how = KP_FALLBACK_COPIED;
        }
        if (r < 0)
                return kp_error_prefix(error, r, "%s", dir->path);
        if (asprintf(&a.kernel, "%s/%s", dir->path, name) < 0)
                return kp_error_set(error, -ENOMEM, "out of memory");

        if (ret_published)
                *ret_published = how;
        *ret = a;
        a = (KpAnswer) {};
        return 0;
}

/* Removes every staged copy but keep. */
static void remove_others(int dfd, const char *keep)
{
        _cleanup_close_ int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        struct dirent *de;
        DIR *d;

        if (fd < 0)
                return;
        d = fdopendir(fd);
        if (!d)
                return;
        TAKE_FD(fd);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.' && !streq(de->d_name, keep))
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        closedir(d);
}

int kp_boot_fallback_stage(const char *pvgrub_path, const char *stage_dir, KpError *error)
{
        _cleanup_(kp_atomic_file_discard) KpAtomicFile f = KP_ATOMIC_FILE_INIT;
        _cleanup_close_ int fd = -EBADF, staged = -EBADF, dfd = -EBADF;
        const struct timespec seal[2] = { { .tv_nsec = UTIME_NOW }, staged_mtime };
        char name[128];
        struct stat st;
        int r;

        r = open_image(pvgrub_path, error, &fd, &st);
        if (r < 0)
                return r;
        if (open_staged(stage_dir, &st, &staged) >= 0)
                return 0;
        r = open_stage_dir(stage_dir, true, &dfd);
        if (r < 0)
                return kp_error_set_errno(error, r, "cannot open %s/%s", stage_dir, KP_FALLBACK_STAGE_SUBDIR);
        staged_name(&st, name);
        r = kp_atomic_file_openat(dfd, name, 0600, error, &f);
        if (r < 0)
                return r;
        r = kp_copy_fd(fd, f.fd, KP_FALLBACK_MAX_SIZE, NULL);
        if (r < 0)
                return kp_error_set_errno(error, r, "cannot copy %s into %s/%s", pvgrub_path, stage_dir,
                                          KP_FALLBACK_STAGE_SUBDIR);
        if (futimens(f.fd, seal) < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot seal the copy of %s", pvgrub_path);
        /* A copy that another start staged meanwhile is as good: replace it. */
        r = kp_atomic_file_commit(&f, true, error);
        if (r < 0)
                return r;
        remove_others(dfd, name);
        return 1;
}
