/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/request.h"
#include "util/error.h"

bool kp_string_is_printable(const char *s)
{
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < ' ' || *p == 0x7f)
                        return false;
        return true;
}

static int check_value(const char *what, const char *value, bool guest_path, KpError *error)
{
        if (!*value)
                return kp_error_set(error, -EINVAL, "%s is empty", what);
        if (!kp_string_is_printable(value))
                return kp_error_set(error, -EINVAL, "%s contains a control character", what);
        if (strlen(value) >= PATH_MAX)
                return kp_error_set(error, -EINVAL, "%s is longer than %d bytes", what, PATH_MAX - 1);
        if (guest_path && value[0] != '/')
                return kp_error_set(error, -EINVAL, "%s \"%s\" is not an absolute path in the guest", what, value);
        return 0;
}

int kp_boot_request_check_options(const char *entry, const char *kernel, const char *ramdisk, KpError *error)
{
        int k;

        if (kernel) {
                k = check_value("--kernel", kernel, true, error);
                if (k < 0)
                        return k;
                if (ramdisk) {
                        k = check_value("--ramdisk", ramdisk, true, error);
                        if (k < 0)
                                return k;
                }
        } else if (entry) {
                k = check_value("--entry", entry, false, error);
                if (k < 0)
                        return k;
        }
        return 0;
}

int kp_boot_request_init(const char *disk, const char *entry, const char *kernel, const char *ramdisk,
                         KpError *error, KpBootRequest *ret)
{
        KpBootRequest r = {};
        int k;

        if (!disk)
                return kp_error_set(error, -EINVAL, "no disk given");
        k = check_value("the disk path", disk, false, error);
        if (k < 0)
                return k;
        k = kp_boot_request_check_options(entry, kernel, ramdisk, error);
        if (k < 0)
                return k;

        /* The state is keyed by the file itself, however libxl or the admin spelt its path. */
        r.disk = realpath(disk, NULL);
        if (!r.disk)
                return kp_error_set_errno(error, negative_errno(), "cannot open disk %s", disk);
        if ((kernel && !(r.kernel = strdup(kernel))) || (kernel && ramdisk && !(r.ramdisk = strdup(ramdisk))) ||
            (!kernel && entry && !(r.entry = strdup(entry)))) {
                kp_boot_request_done(&r);
                return kp_error_set(error, -ENOMEM, "out of memory");
        }
        *ret = r;
        return 0;
}

void kp_boot_request_done(KpBootRequest *r)
{
        r->disk = mfree(r->disk);
        r->entry = mfree(r->entry);
        r->kernel = mfree(r->kernel);
        r->ramdisk = mfree(r->ramdisk);
}

bool kp_boot_request_is_direct(const KpBootRequest *r)
{
        return r->kernel != NULL;
}

static void put_escaped(FILE *f, const char *s)
{
        for (; *s; s++) {
                if (*s == '\\' || *s == ';')
                        fputc('\\', f);
                fputc(*s, f);
        }
}

int kp_boot_request_key(const KpBootRequest *r, char **ret)
{
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        if (r->kernel) {
                fputs("kernel=", f);
                put_escaped(f, r->kernel);
                fputs(";ramdisk=", f);
                if (r->ramdisk)
                        put_escaped(f, r->ramdisk);
        } else if (r->entry) {
                fputs("entry=", f);
                put_escaped(f, r->entry);
        }
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}
