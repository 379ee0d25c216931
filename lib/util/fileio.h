/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Files that others read appear atomically: they are written to an unnamed
 * (O_TMPFILE) or hidden temporary file in the target directory, fsync'd, and
 * only then given their name, after which the directory is fsync'd too. A
 * crash or kill -9 at any point leaves either the old file or the new one,
 * never a partial one.
 */

#include <stdbool.h>
#include <sys/types.h>

#include "kunpack.h"
#include "util/macro.h"

typedef struct KpAtomicFile {
        int fd;            /* write the content here; -EBADF when closed */
        int dir_fd;        /* the target directory */
        char *name;        /* final name, relative to dir_fd */
        char *tmp_name;    /* named temporary (only when O_TMPFILE is unsupported) */
        mode_t mode;
} KpAtomicFile;

#define KP_ATOMIC_FILE_INIT { .fd = -EBADF, .dir_fd = -EBADF }

/* Prefix of the hidden temporary names; a cache or state scan skips and reaps them. */
#define KP_TMP_PREFIX ".#kp-"

/* Starts writing path (its directory must exist) with permissions mode. */
int kp_atomic_file_open(const char *path, mode_t mode, KpError *error, KpAtomicFile *ret);
int kp_atomic_file_openat(int dir_fd, const char *name, mode_t mode, KpError *error, KpAtomicFile *ret);

/*
 * Makes the content durable and gives it its name. With replace false an
 * existing file of that name is kept and -EEXIST returned (the temporary is
 * discarded). After this call, successful or not, only discard remains.
 */
int kp_atomic_file_commit(KpAtomicFile *f, bool replace, KpError *error);

/* Throws away an uncommitted file and releases everything. Safe to call twice. */
void kp_atomic_file_discard(KpAtomicFile *f);

/* Writes data as the whole content of path, atomically. */
int kp_write_file_atomic(const char *path, const void *data, size_t size, mode_t mode, KpError *error);

/*
 * Reads a whole regular file of at most max bytes into a NUL-terminated
 * buffer. Bigger files fail with -EFBIG, anything but a regular file with
 * -EBADFD.
 */
int kp_read_file(const char *path, size_t max, KpError *error, char **ret_data, size_t *ret_size);

/* Writes all of buf, retrying short writes and EINTR. */
int kp_loop_write(int fd, const void *buf, size_t size);
/* The same at offset, with pwrite(2): the file position does not move. */
int kp_loop_pwrite(int fd, const void *buf, size_t size, uint64_t offset);
/* Reads until size bytes or end of file; returns bytes read, or a negative errno. */
ssize_t kp_loop_read(int fd, void *buf, size_t size);

int kp_fsync_directory_of(const char *path);

/*
 * Gives the open regular file fd a new name in dir_fd: a hard link where
 * the filesystems allow it, otherwise a copy written atomically. The name is
 * "<prefix>.<random>" and is returned in ret_name. The new name refers to
 * the very inode fd was opened on, so what was verified through fd is what
 * gets published (no window for a swap between check and link).
 */
int kp_link_or_copy_fd(int fd, int dir_fd, const char *prefix, mode_t copy_mode, KpError *error, char **ret_name);

/*
 * The link half of kp_link_or_copy_fd(): a new name for the very inode of
 * fd, or an error. KP_LINK_CANNOT() says which errors mean "a link is not
 * possible here" (another filesystem, links not allowed or too many),
 * where a copy may still be.
 */
int kp_link_fd(int fd, int dir_fd, const char *prefix, KpError *error, char **ret_name);
#define KP_LINK_CANNOT(r) ((r) == -EXDEV || (r) == -EPERM || (r) == -EMLINK)

/* Copies all of in_fd (from offset 0) to out_fd, with copy_file_range where possible. */
int kp_copy_fd(int in_fd, int out_fd, uint64_t max, uint64_t *ret_size);

/*
 * Opens a new, unnamed regular file in dir (mode 0600) for scratch data
 * that must never be left behind: O_TMPFILE, or where the filesystem has
 * none, a hidden name removed at once. Returns the fd or a negative errno.
 */
int kp_open_unnamed(const char *dir);

/* Creates dir and its missing parents with mode (existing ones are left alone). */
int kp_mkdir_p(const char *dir, mode_t mode);

/*
 * Whether a file of from_dir can be hard-linked into to_dir, as
 * kp_link_or_copy_fd() links a cached kernel into libxl's output
 * directory: tried for real (an unnamed file, linked under a hidden name
 * in to_dir and removed at once), since only the kernel knows, and the
 * answer depends on the mounts the caller sees (two bind mounts of one
 * filesystem refuse links, EXDEV). 1 yes, 0 no (EXDEV, said in error), or
 * a negative errno when the test itself cannot be made.
 */
int kp_link_probe(const char *from_dir, const char *to_dir, KpError *error);
