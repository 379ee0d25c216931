/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Writing into a guest's filesystem, for pvgrub mode (lib/pvgrub/): only
 * in a session opened with KpGuestOptions.writable, only on one of that
 * guest's own filesystems, and only through the appliance: dom0 never
 * mounts a guest filesystem. Every path here is absolute within the
 * mounted filesystem and is taken as it is: symlinks are never followed
 * (a path that is a symlink reads as "not a regular file"), so a guest
 * cannot steer a write anywhere but to the name kunpack chose.
 *
 * Files appear atomically inside the guest: written under a temporary name
 * in the same directory, synced, then renamed over the target. The
 * temporary file gets its metadata (mode, owner, group, every extended
 * attribute: security.selinux, ACLs, user.*) before its first byte, so a
 * 0600 file's content is never readable by others, not even under the
 * temporary name a crash would leave.
 */

#include <stdbool.h>
#include <stdint.h>

#include "guest/session.h"
#include "kunpack.h"

/* Suffix of the temporary name a file is written under before its rename. */
#define KP_GUEST_TMP_SUFFIX ".kunpack-tmp"

/*
 * Mounts the filesystem of guest that plans call device ("/dev/sda1", as
 * KpBootPlan.config_device) read-write at "/". -EROFS when the session is
 * not writable; the mount's own failure (a dirty journal that cannot be
 * replayed, an unknown filesystem) otherwise. Nothing is retried
 * read-only: a filesystem that cannot be mounted for writing is left alone.
 */
int kp_guest_mount_writable(KpGuestSession *s, size_t guest, const char *device, KpError *error);

/*
 * Mounts the filesystem of guest called device read-only at "/", in any
 * session: what pvgrub mode reads before it knows it must write, so that a
 * run with nothing to do leaves even the filesystem's superblock (mount
 * count, mount time) as it was.
 */
int kp_guest_mount_readonly(KpGuestSession *s, size_t guest, const char *device, KpError *error);

/* The names plans use for every filesystem of guest (logical volumes too), in the inspection's order. */
int kp_guest_list_filesystems(KpGuestSession *s, size_t guest, KpError *error, char ***ret_names);

/* Bytes an unprivileged writer may still use on the mounted filesystem (statvfs f_bavail * f_frsize). */
int kp_guest_free_bytes(KpGuestSession *s, const char *path, KpError *error, uint64_t *ret_bytes);

/*
 * 1 when path is a regular file (not a symlink), 0 when nothing is there;
 * -EEXIST when something else is there (a directory, a symlink, a device).
 */
int kp_guest_regular_file(KpGuestSession *s, const char *path, KpError *error, uint64_t *ret_size);

/* sha256 of a regular file, computed in the appliance. -ENOENT: absent; -EBADFD: not a regular file. */
int kp_guest_sha256(KpGuestSession *s, const char *path, KpError *error, char ret_hex[65]);

/* A whole regular file of at most max bytes (max ≤ KP_GUEST_PREAD_MAX), NUL-terminated. -EFBIG past max. */
int kp_guest_read_regular(KpGuestSession *s, const char *path, uint64_t max, KpError *error, char **ret_data,
                          size_t *ret_size);

/*
 * Up to size bytes (at most KP_GUEST_PREAD_MAX) of the regular file path
 * from offset into buf; fewer at its end (*ret_got says how many).
 */
int kp_guest_read_at(KpGuestSession *s, const char *path, uint64_t offset, size_t size, KpError *error, void *buf,
                     size_t *ret_got);

/*
 * The regular file at path gets the content of fd (read from offset 0 to
 * its end), atomically, and the metadata of the regular file like: its
 * mode, owner, group and extended attributes. like NULL: path's own when
 * it exists (a file replaced keeps what it had), libguestfs's defaults
 * (0644, root) for a new file. A like that is not a regular file (a
 * symlink) gives nothing. A metadata the appliance cannot read or set
 * fails the write before anything is renamed.
 */
int kp_guest_write_fd(KpGuestSession *s, const char *path, int fd, const char *like, KpError *error);
/* The same from memory. */
int kp_guest_write_data(KpGuestSession *s, const char *path, const void *data, size_t size, const char *like,
                        KpError *error);

/*
 * Renames the regular file from over the regular file to: to becomes from
 * with its bytes and all its metadata, atomically (revert's restore of a
 * backup that kp_guest_write_data() made with the original's metadata).
 */
int kp_guest_replace(KpGuestSession *s, const char *from, const char *to, KpError *error);

/* Removes a regular file; 0 also when it is not there. -EBADFD for anything but a regular file. */
int kp_guest_remove(KpGuestSession *s, const char *path, KpError *error);

/*
 * Removes what a writer killed between its write and its rename left in
 * dir: regular files named ".NAME" KP_GUEST_TMP_SUFFIX, the names only
 * kunpack writes under (never a symlink, never anything else). Returns
 * how many it removed; -ENOENT when dir is not there.
 */
int kp_guest_remove_leftovers(KpGuestSession *s, const char *dir, KpError *error);

/* Flushes everything written to the guest's disks (guestfs_sync): to be checked before claiming success. */
int kp_guest_sync(KpGuestSession *s, KpError *error);

/* Whether the session was opened for writing. */
bool kp_guest_session_writable(const KpGuestSession *s);
