/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <sys/stat.h>

#include "bootcfg/bootplan.h"
#include "bootcfg/guest-path.h"
#include "guest/guest-internal.h"
#include "util/error.h"

DEFINE_TRIVIAL_CLEANUP_FUNC_VOID(struct guestfs_statns *, sym_guestfs_free_statns);

static bool path_is_clean(const char *path)
{
        for (const char *p = path; *p; p++)
                if ((unsigned char) *p < ' ' || *p == 0x7f)
                        return false;
        return true;
}

bool kp_guest_path_is_device(const char *path)
{
        return streq(path, "/dev") || startswith_lit(path, "/dev/");
}

/* The directory part of an absolute, normalised path, as a length: "/boot/x" -> 5, "/x" -> 1. */
static size_t dir_length(const char *path)
{
        const char *slash = strrchr(path, '/');

        return slash == path ? 1 : (size_t) (slash - path);
}

/*
 * Where a symlink may lead. Distributions link kernels and initrds within
 * /boot (/boot/vmlinuz -> vmlinuz-6.1.0-13-amd64), from the top of the
 * root filesystem into /boot (/vmlinuz -> boot/vmlinuz-...), or within one
 * directory of a separate /boot or of the EFI partition (grubenv on
 * Fedora: /boot/grub2/grubenv -> ../efi/EFI/fedora/grubenv). Nothing
 * legitimate sends GRUB to /etc or /home.
 */
static bool link_target_allowed(const char *requested, const char *resolved)
{
        size_t n = dir_length(requested);

        if (dir_length(resolved) == n && strncmp(requested, resolved, n) == 0)
                return true;
        if (streq(resolved, "/boot") || startswith_lit(resolved, "/boot/"))
                return true;
        /* A file at the top of the filesystem: "/vmlinuz-6.1.0-13-amd64" on a separate /boot. */
        return strchr(resolved + 1, '/') == NULL;
}

int kp_guest_lookup(KpGuestSession *s, const char *path, KpGuestFileType type, KpError *error,
                    char **ret_resolved, uint64_t *ret_size)
{
        _cleanup_(sym_guestfs_free_statnsp) struct guestfs_statns *st = NULL;
        _cleanup_free_ char *normal = NULL, *resolved = NULL;
        int r;

        if (!path || path[0] != '/')
                return kp_error_set(error, -EINVAL, "path \"%s\" is not absolute", path ? path : "(null)");
        if (strlen(path) > KP_BOOTCFG_MAX_PATH)
                return kp_error_set(error, -EINVAL, "path longer than %d bytes", KP_BOOTCFG_MAX_PATH);
        if (!path_is_clean(path))
                return kp_error_set(error, -EINVAL, "path holds control characters");
        if (kp_guest_path_has_dotdot(path))
                return kp_error_set(error, -EINVAL, "path \"%s\" has a \"..\" component", path);
        r = kp_guest_path_resolve(NULL, path, &normal);
        if (r < 0)
                return kp_error_set(error, r, "path \"%s\" cannot be normalised", path);
        if (kp_guest_path_is_device(normal))
                return kp_error_set(error, -EPERM, "%s is under /dev, where libguestfs reads devices of the "
                                    "appliance, not files of the guest: refused", normal);

        r = kp_guest_check_cancelled(s, error);
        if (r < 0)
                return r;

        /*
         * realpath runs chrooted into the filesystem mounted at "/" inside
         * the appliance: every link, absolute or relative, resolves within
         * the guest's filesystem, never on the host and never in the
         * appliance's own files.
         */
        resolved = sym_guestfs_realpath(s->g, normal);
        if (!resolved) {
                int e = sym_guestfs_last_errno(s->g);

                if (e == ENOENT || e == ENOTDIR || e == ELOOP)
                        return kp_error_set(error, -e, "%s: %s", normal,
                                            e == ELOOP ? "too many levels of symbolic links" : "not found");
                return kp_guest_error(s, error, "%s", normal);
        }
        if (kp_guest_path_is_device(resolved))
                return kp_error_set(error, -EPERM, "%s is a symbolic link to %s, under /dev, where libguestfs reads "
                                    "devices of the appliance, not files of the guest: refused", normal,
                                    path_is_clean(resolved) ? resolved : "(unprintable)");
        if (!streq(resolved, normal) && !link_target_allowed(normal, resolved))
                return kp_error_set(error, -EPERM, "%s is a symbolic link to %s, outside /boot: refused",
                                    normal, path_is_clean(resolved) ? resolved : "(unprintable)");

        st = sym_guestfs_lstatns(s->g, resolved);
        if (!st)
                return kp_guest_error(s, error, "%s", resolved);
        switch (type) {
        case KP_GUEST_FILE_REGULAR:
                if (S_ISDIR(st->st_mode))
                        return kp_error_set(error, -EISDIR, "%s is a directory", normal);
                if (!S_ISREG(st->st_mode))
                        return kp_error_set(error, -EBADFD, "%s is not a regular file", normal);
                break;
        case KP_GUEST_FILE_DIRECTORY:
                if (!S_ISDIR(st->st_mode))
                        return kp_error_set(error, -ENOTDIR, "%s is not a directory", normal);
                break;
        }
        if (st->st_size < 0)
                return kp_error_set(error, -EBADMSG, "%s has a negative size", normal);

        if (ret_resolved)
                *ret_resolved = TAKE_PTR(resolved);
        if (ret_size)
                *ret_size = (uint64_t) st->st_size;
        return 0;
}

int kp_guest_read_head(KpGuestSession *s, const char *resolved, uint64_t size, KpError *error, char **ret_data,
                       size_t *ret_size)
{
        _cleanup_free_ char *buf = NULL, *copy = NULL;
        size_t n = 0;

        if (size > KP_GUEST_PREAD_MAX)
                return kp_error_set(error, -EFBIG, "%s: %" PRIu64 " bytes is more than one read", resolved, size);
        if (size > 0) {
                buf = sym_guestfs_pread(s->g, resolved, (int) size, 0, &n);
                if (!buf)
                        return kp_guest_error(s, error, "could not read %s", resolved);
                if (n > size)
                        return kp_error_set(error, -EIO, "%s: the appliance returned more than asked", resolved);
        }
        copy = malloc(n + 1);
        if (!copy)
                return -ENOMEM;
        if (n > 0)
                memcpy(copy, buf, n);
        copy[n] = '\0';
        *ret_data = TAKE_PTR(copy);
        *ret_size = n;
        return 0;
}
