/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "guest/guest-bootfs.h"
#include "guest/inspect.h"
#include "util/error.h"
#include "util/strv.h"

/*
 * KpBootFs over one filesystem of the appliance: what the parsers read
 * besides the configuration itself (grubenv, BLS snippets, listings of
 * /boot for the fallback). Every read is looked up first (symlinks resolved
 * inside the guest, kept inside the boot area) and sized before a byte is
 * transferred.
 */

static int bootfs_read_file(void *userdata, const char *path, size_t max, char **ret_data, size_t *ret_size)
{
        KpGuestBootFs *b = userdata;
        _cleanup_free_ char *resolved = NULL;
        uint64_t size;
        int r;

        kp_error_clear(&b->error);
        r = kp_guest_mount(b->session, b->fs, &b->error);
        if (r < 0)
                return r;
        r = kp_guest_lookup(b->session, path, KP_GUEST_FILE_REGULAR, &b->error, &resolved, &size);
        if (r < 0)
                return r;
        /* Sized before a byte is transferred; max 0 asks only "exists, and is it empty?". */
        if (size > max)
                return kp_error_set(&b->error, -EFBIG, "%s is %" PRIu64 " bytes, more than the %zu allowed", path,
                                    size, max);
        return kp_guest_read_head(b->session, resolved, size, &b->error, ret_data, ret_size);
}

static int bootfs_list_dir(void *userdata, const char *path, char ***ret_names)
{
        KpGuestBootFs *b = userdata;
        _cleanup_free_ char *resolved = NULL;
        char **names;
        int r;

        kp_error_clear(&b->error);
        r = kp_guest_mount(b->session, b->fs, &b->error);
        if (r < 0)
                return r;
        r = kp_guest_lookup(b->session, path, KP_GUEST_FILE_DIRECTORY, &b->error, &resolved, NULL);
        if (r < 0)
                return r;

        names = sym_guestfs_ls(b->session->g, resolved);
        if (!names)
                return kp_guest_error(b->session, &b->error, "could not list %s", path);
        if (strv_length(names) > KP_GUEST_MAX_DIR_ENTRIES) {
                strv_free(names);
                return kp_error_set(&b->error, -E2BIG, "%s holds more than %d names", path,
                                    KP_GUEST_MAX_DIR_ENTRIES);
        }
        *ret_names = names;
        return 0;
}

int kp_guest_bootfs_init(KpGuestSession *s, size_t fs, KpGuestBootFs *b)
{
        KpGuestFs *f = &s->filesystems[fs];
        int r;

        *b = (KpGuestBootFs) {
                .session = s,
                .fs = fs,
                .ops = {
                        .userdata = b,
                        .read_file = bootfs_read_file,
                        .list_dir = bootfs_list_dir,
                },
        };

        /* The parsers use them to follow a search that names this filesystem. */
        r = kp_guest_fs_load_ids(s, fs, &b->error);
        if (r < 0)
                return r;
        b->ops.fs_uuid = f->uuid && *f->uuid ? f->uuid : NULL;
        b->ops.fs_label = f->label && *f->label ? f->label : NULL;
        return 0;
}
