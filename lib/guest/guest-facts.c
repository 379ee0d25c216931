/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "guest/guest-internal.h"
#include "guest/guest-facts.h"
#include "guest/inspect.h"
#include "kernel/bzimage.h"
#include "kernel/format.h"
#include "util/error.h"
#include "util/grow.h"
#include "util/sha256.h"

/*
 * Facts about a guest's kernels and initrds, all computed inside the
 * appliance: the cache is keyed by the sha256 of the compressed file, so a
 * kernel whose sha256 is already known never crosses into dom0 again.
 */

/* Bytes read at the payload offset to name its format (every magic is shorter). */
#define KP_GUEST_MAGIC_READ 8

static int read_range(KpGuestSession *s, const char *path, size_t count, uint64_t offset, KpError *error,
                      char **ret, size_t *ret_size)
{
        char *buf;
        size_t n;

        if (offset > INT64_MAX)
                return kp_error_set(error, -EBADMSG, "%s: offset %" PRIu64 " out of range", path, offset);
        buf = sym_guestfs_pread(s->g, path, (int) count, (int64_t) offset, &n);
        if (!buf)
                return kp_guest_error(s, error, "could not read %s", path);
        *ret = buf;
        *ret_size = n;
        return 0;
}

/* The payload format from the header only: 1 KiB at 0, then a few bytes at the payload. */
static int kernel_format(KpGuestSession *s, const char *resolved, const char *path, uint64_t size, KpError *error,
                         KpFormat *ret)
{
        _cleanup_free_ char *head = NULL, *magic = NULL;
        KpBzImageHeader hdr;
        size_t n = 0, m = 0;
        KpFormat f;
        int r;

        r = read_range(s, resolved, KP_BZIMAGE_HEADER_READ, 0, error, &head, &n);
        if (r < 0)
                return r;

        /* An ELF is passed through as it is (a kernel already decompressed, or a Xen-ready one). */
        f = kp_format_sniff((const uint8_t *) head, n);
        if (f == KP_FORMAT_ELF) {
                *ret = f;
                return 0;
        }

        r = kp_bzimage_parse_header((const uint8_t *) head, n, size, error, &hdr);
        if (r < 0)
                return kp_error_prefix(error, r, "%s", path);

        r = read_range(s, resolved, KP_GUEST_MAGIC_READ, hdr.payload_offset, error, &magic, &m);
        if (r < 0)
                return r;
        f = kp_format_sniff((const uint8_t *) magic, m);
        if (f == KP_FORMAT_UNKNOWN || f == KP_FORMAT_ELF)
                return kp_error_set(error, -EMEDIUMTYPE, "%s: payload at offset %" PRIu64 " is in no known format",
                                    path, hdr.payload_offset);
        *ret = f;
        return 0;
}

static int compute(KpGuestSession *s, KpGuestFileFacts *f, KpError *error)
{
        _cleanup_free_ char *resolved = NULL, *sum = NULL;
        uint64_t max = f->kernel ? KP_MAX_INPUT_DEFAULT : KP_GUEST_MAX_INITRD;
        int r;

        r = kp_guest_mount(s, f->fs, error);
        if (r < 0)
                return r;
        r = kp_guest_lookup(s, f->path, KP_GUEST_FILE_REGULAR, error, &resolved, &f->size);
        if (r < 0)
                return r;
        if (f->size > max)
                return kp_error_set(error, -EFBIG, "%s is %" PRIu64 " bytes, more than the %" PRIu64 " allowed for %s",
                                    f->path, f->size, max, f->kernel ? "a kernel" : "an initrd");

        sum = sym_guestfs_checksum(s->g, "sha256", resolved);
        if (!sum)
                return kp_guest_error(s, error, "could not checksum %s", f->path);
        if (!kp_sha256_hex_valid(sum))
                return kp_error_set(error, -EBADMSG, "the appliance returned a malformed sha256 for %s", f->path);
        memcpy(f->sha256, sum, sizeof(f->sha256));

        f->format = KP_FORMAT_UNKNOWN;
        if (f->kernel) {
                r = kernel_format(s, resolved, f->path, f->size, error, &f->format);
                if (r < 0)
                        return r;
        }
        return 0;
}

int kp_guest_file_facts(KpGuestSession *s, size_t fs, const char *path, bool kernel, KpError *error,
                        const KpGuestFileFacts **ret)
{
        KpGuestFileFacts *list, *f;
        KpError e = {};
        int r;

        for (size_t i = 0; i < s->n_facts; i++) {
                f = &s->facts[i];
                if (f->fs == fs && f->kernel == kernel && streq(f->path, path))
                        goto done;
        }

        list = kp_grow(s->facts, s->n_facts, sizeof(KpGuestFileFacts));
        if (!list)
                return -ENOMEM;
        s->facts = list;
        f = &s->facts[s->n_facts];
        *f = (KpGuestFileFacts) {
                .fs = fs,
                .path = strdup(path),
                .kernel = kernel,
        };
        if (!f->path)
                return -ENOMEM;
        s->n_facts++;

        r = compute(s, f, &e);
        if (r == -ECANCELED || r == -ETIMEDOUT || r == -ENOMEM) {
                /* Not a fact about the file: do not remember it. */
                free(f->path);
                s->n_facts--;
                return kp_error_set(error, r, "%s", e.message);
        }
        if (r < 0) {
                f->error = r;
                f->error_message = strdup(kp_error_message(&e, r));
        }

done:
        if (f->error < 0)
                return kp_error_set(error, f->error, "%s", f->error_message ? f->error_message : strerror(-f->error));
        *ret = f;
        return 0;
}

int kp_guest_session_download(KpGuestSession *s, size_t guest, const char *device, const char *path, int fd,
                              uint64_t max_size, KpError *error, uint64_t *ret_size)
{
        _cleanup_free_ char *resolved = NULL;
        char target[64];
        struct stat st;
        uint64_t size;
        ssize_t fs = -1;
        int r;

        kp_guest_enter(s);
        if (guest >= s->n_guests)
                return kp_error_set(error, -EINVAL, "no guest %zu in this session", guest);
        if (fd < 0)
                return kp_error_set(error, -EBADF, "invalid file descriptor");
        r = kp_guest_scan_filesystems(s, error);
        if (r < 0)
                return r;
        /* Only the guest's own filesystems: a device name never reaches another guest's disk. */
        for (int pass = 0; fs < 0 && pass < 2; pass++) {
                if (pass == 1) {
                        r = kp_guest_scan_lvm(s, error);
                        if (r < 0)
                                return r;
                }
                for (size_t i = 0; i < s->n_filesystems; i++)
                        /* By the guest-relative name only: the appliance's names are ambiguous in a batch. */
                        if (s->filesystems[i].guest == guest && streq(s->filesystems[i].name, device))
                                fs = (ssize_t) i;
        }
        if (fs < 0)
                return kp_error_set(error, -ENODEV, "%s is not a filesystem of this guest", device);

        r = kp_guest_mount(s, (size_t) fs, error);
        if (r < 0)
                return r;
        r = kp_guest_lookup(s, path, KP_GUEST_FILE_REGULAR, error, &resolved, &size);
        if (r < 0)
                return r;
        if (size > max_size)
                return kp_error_set(error, -EFBIG, "%s is %" PRIu64 " bytes, more than the %" PRIu64 " allowed",
                                    path, size, max_size);

        /*
         * Exactly the announced size: a file that grew since it was
         * measured, or anything else behind the name, cannot send more.
         * Like guestfs_download(), download_offset takes a Dev_or_Path
         * (guestfsd's is_device_parameter(): names under /dev/ are the
         * appliance's devices), which is why kp_guest_lookup() refused
         * every name under /dev, asked or resolved.
         */
        (void) snprintf(target, sizeof(target), "/dev/fd/%d", fd);
        if (sym_guestfs_download_offset(s->g, resolved, target, 0, (int64_t) size) < 0)
                return kp_guest_error(s, error, "could not download %s", path);

        if (fstat(fd, &st) < 0)
                return kp_error_set_errno(error, negative_errno(), "fstat of the download target");
        if (S_ISREG(st.st_mode) && (uint64_t) st.st_size != size)
                return kp_error_set(error, -EIO, "%s: %" PRIu64 " bytes announced, %" PRIu64 " arrived", path, size,
                                    (uint64_t) st.st_size);
        if (ret_size)
                *ret_size = size;
        return 0;
}

int kp_guest_file_info_fill(KpGuestSession *s, size_t fs, const KpGuestFileFacts *f, KpFileInfo *info)
{
        char *device = strdup(s->filesystems[fs].name);

        if (!device)
                return -ENOMEM;
        free(info->device);
        info->device = device;
        info->size = f->size;
        memcpy(info->sha256, f->sha256, sizeof(info->sha256));
        info->format = f->format;
        info->have_info = true;
        return 0;
}
