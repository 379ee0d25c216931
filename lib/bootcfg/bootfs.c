/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bootcfg/bootfs.h"
#include "bootcfg/text.h"
#include "util/error.h"
#include "util/strv.h"

/* Counts one request against KP_BOOTCFG_MAX_FS_REQUESTS. */
static int count_request(KpBootFsReader *r, const char *path, KpError *error)
{
        _cleanup_free_ char *shown = NULL;

        if (r->requests < KP_BOOTCFG_MAX_FS_REQUESTS) {
                r->requests++;
                return 0;
        }
        shown = kp_text_escape_short(path);
        return kp_error_set(error, -E2BIG,
                            "%s: request budget of %d file reads, looks and listings for one configuration exceeded",
                            shown ?: "?", KP_BOOTCFG_MAX_FS_REQUESTS);
}

int kp_boot_fs_read(KpBootFsReader *r, const char *path, KpError *error, char **ret_data, size_t *ret_size)
{
        _cleanup_free_ char *shown = NULL, *data = NULL;
        size_t size = 0;
        int k;

        if (!r || !r->fs || !r->fs->read_file)
                return -ENOENT;
        k = count_request(r, path, error);
        if (k < 0)
                return k;
        k = r->fs->read_file(r->fs->userdata, path, KP_BOOTCFG_MAX_SIZE, &data, &size);
        if (k == -ENOENT)
                return k;
        shown = kp_text_escape_short(path);
        if (k == -EFBIG)
                return kp_error_set(error, -EFBIG, "%s: bigger than the limit of %d bytes", shown ?: "?",
                                    KP_BOOTCFG_MAX_SIZE);
        if (k < 0)
                return kp_error_set_errno(error, k, "%s: cannot read", shown ?: "?");
        if (size > KP_BOOTCFG_MAX_SIZE)
                return kp_error_set(error, -EFBIG, "%s: bigger than the limit of %d bytes", shown ?: "?",
                                    KP_BOOTCFG_MAX_SIZE);
        if (r->bytes_read + size > (size_t) KP_BOOTCFG_MAX_READ_TOTAL)
                return kp_error_set(error, -E2BIG, "%s: reading it would exceed the limit of %d bytes read for one configuration",
                                    shown ?: "?", KP_BOOTCFG_MAX_READ_TOTAL);
        r->bytes_read += size;
        *ret_data = TAKE_PTR(data);
        *ret_size = size;
        return 0;
}

int kp_boot_fs_probe(KpBootFsReader *r, const char *path, KpError *error, KpFileKind *ret)
{
        _cleanup_free_ char *data = NULL;
        size_t size = 0;
        int k;

        if (!r || !r->fs || !r->fs->read_file)
                return -ENODEV;
        k = count_request(r, path, error);
        if (k < 0)
                return k;
        k = r->fs->read_file(r->fs->userdata, path, 0, &data, &size);
        switch (k) {
        case 0:
                *ret = size == 0 ? KP_FILE_EMPTY : KP_FILE_NON_EMPTY;
                return 0;
        case -EFBIG:
                *ret = KP_FILE_NON_EMPTY;
                return 0;
        case -ENOENT:
                *ret = KP_FILE_MISSING;
                return 0;
        case -EISDIR:
                *ret = KP_FILE_DIRECTORY;
                return 0;
        default:
                return k < 0 ? k : -EIO;
        }
}

int kp_boot_fs_list(KpBootFsReader *r, const char *path, KpError *error, char ***ret_names)
{
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ char *shown = NULL;
        int k;

        if (!r || !r->fs || !r->fs->list_dir)
                return -ENOENT;
        k = count_request(r, path, error);
        if (k < 0)
                return k;
        k = r->fs->list_dir(r->fs->userdata, path, &names);
        if (k == -ENOENT || k == -ENOTDIR)
                return k;
        shown = kp_text_escape_short(path);
        if (k < 0)
                return kp_error_set_errno(error, k, "%s: cannot list", shown ?: "?");
        if (strv_length(names) > KP_BOOTCFG_MAX_ENTRIES)
                return kp_error_set(error, -E2BIG, "%s: more than %d names", shown ?: "?", KP_BOOTCFG_MAX_ENTRIES);
        *ret_names = TAKE_PTR(names);
        return 0;
}
