/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * libguestfs, loaded when the first guest session is created
 * (util/dlopen.h): kunpackctl maps its ~60 libraries only for the verbs
 * that open a guest (inspect, revert, show --changes), and every
 * libguestfs call in lib/guest/ goes through these sym_ pointers. Not for
 * use outside lib/guest/.
 */

#include <guestfs.h>

#include "kunpack.h"
#include "util/dlopen.h"

/* Every libguestfs function lib/guest/ calls. */
#define KP_GUESTFS_SYMBOLS(X)                                                                              \
        X(guestfs_add_drive_opts)                                                                          \
        X(guestfs_add_drive_scratch)                                                                       \
        X(guestfs_blkid)                                                                                   \
        X(guestfs_checksum)                                                                                \
        X(guestfs_chmod)                                                                                   \
        X(guestfs_close)                                                                                   \
        X(guestfs_config)                                                                                  \
        X(guestfs_create_flags)                                                                            \
        X(guestfs_disk_create)                                                                             \
        X(guestfs_download)                                                                                \
        X(guestfs_download_offset)                                                                         \
        X(guestfs_exists)                                                                                  \
        X(guestfs_free_lvm_pv_list)                                                                        \
        X(guestfs_free_statns)                                                                             \
        X(guestfs_free_statvfs)                                                                            \
        X(guestfs_free_xattr_list)                                                                         \
        X(guestfs_get_pid)                                                                                 \
        X(guestfs_is_symlink)                                                                              \
        X(guestfs_last_errno)                                                                              \
        X(guestfs_last_error)                                                                              \
        X(guestfs_launch)                                                                                  \
        X(guestfs_lchown)                                                                                  \
        X(guestfs_lgetxattrs)                                                                              \
        X(guestfs_list_devices)                                                                            \
        X(guestfs_list_disk_labels)                                                                        \
        X(guestfs_list_filesystems)                                                                        \
        X(guestfs_list_partitions)                                                                         \
        X(guestfs_ls)                                                                                      \
        X(guestfs_lsetxattr)                                                                               \
        X(guestfs_lstatns)                                                                                 \
        X(guestfs_lvm_scan)                                                                                \
        X(guestfs_lvs)                                                                                     \
        X(guestfs_mount)                                                                                   \
        X(guestfs_mount_options)                                                                           \
        X(guestfs_mount_ro)                                                                                \
        X(guestfs_parse_environment)                                                                       \
        X(guestfs_pread)                                                                                   \
        X(guestfs_pvs_full)                                                                                \
        X(guestfs_read_file)                                                                               \
        X(guestfs_realpath)                                                                                \
        X(guestfs_rename)                                                                                  \
        X(guestfs_rm)                                                                                      \
        X(guestfs_rm_f)                                                                                    \
        X(guestfs_set_autosync)                                                                            \
        X(guestfs_set_error_handler)                                                                       \
        X(guestfs_set_event_callback)                                                                      \
        X(guestfs_set_memsize)                                                                             \
        X(guestfs_set_smp)                                                                                 \
        X(guestfs_set_tmpdir)                                                                              \
        X(guestfs_statns)                                                                                  \
        X(guestfs_statvfs)                                                                                 \
        X(guestfs_sync)                                                                                    \
        X(guestfs_umount_all)                                                                              \
        X(guestfs_upload)                                                                                  \
        X(guestfs_user_cancel)                                                                             \
        X(guestfs_vgpvuuids)                                                                               \
        X(guestfs_vgs)                                                                                     \
        X(guestfs_write)

#define KP_GUESTFS_DECLARE(f) extern KP_DLSYM(f);
KP_GUESTFS_SYMBOLS(KP_GUESTFS_DECLARE)
#undef KP_GUESTFS_DECLARE

/*
 * Loads libguestfs (KP_SONAME_GUESTFS) and resolves every symbol above,
 * once per process. -ELIBACC, with "libguestfs: cannot load ..." in error,
 * when it is not installed.
 */
int kp_guestfs_dlopen(KpError *error);
