/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "guest/diskspec.h"
#include "util/error.h"
#include "util/string-table.h"

static const char *const disk_format_table[_KP_DISK_FORMAT_MAX] = {
        [KP_DISK_FORMAT_RAW] = "raw",
        [KP_DISK_FORMAT_QCOW2] = "qcow2",
};

KP_DEFINE_STRING_TABLE_TO_STRING(kp_disk_format, KpDiskFormat, disk_format_table);

int kp_disk_format_from_string(const char *s, KpError *error, KpDiskFormat *ret)
{
        /* Formats xl accepts for disks that we deliberately do not read. */
        static const char *const unsupported[] = { "qcow", "vhd", "qed", "empty" };

        ssize_t f = kp_string_table_lookup(disk_format_table, ELEMENTSOF(disk_format_table), s);

        if (f >= 0) {
                *ret = (KpDiskFormat) f;
                return 0;
        }
        /* xl spells raw "aio" in its old tap:aio: syntax. */
        if (streq(s, "aio")) {
                *ret = KP_DISK_FORMAT_RAW;
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(unsupported); i++)
                if (streq(s, unsupported[i]))
                        return kp_error_set(error, -EOPNOTSUPP,
                                            "disk format \"%s\" is not supported (use raw or qcow2)", s);
        return kp_error_set(error, -EINVAL, "unknown disk format \"%s\" (use raw or qcow2)", s);
}

/* Keys of xl's disk syntax (xl-disk-configuration.5) that do not change which bytes we read. */
static bool key_is_ignored(const char *key, size_t len)
{
        static const char *const ignored[] = { "vdev", "access", "backendtype", "backend" };

        for (size_t i = 0; i < ELEMENTSOF(ignored); i++)
                if (strlen(ignored[i]) == len && strncmp(key, ignored[i], len) == 0)
                        return true;
        return false;
}

int kp_disk_spec_parse(const char *spec, KpError *error, KpDiskSpec *ret)
{
        _cleanup_free_ char *path = NULL;
        KpDiskFormat format = KP_DISK_FORMAT_RAW;
        const char *p = spec;
        int r;

        if (!spec || !*spec)
                return kp_error_set(error, -EINVAL, "empty disk spec");

        while (*p) {
                const char *comma, *eq;
                size_t len;

                if (startswith_lit(p, "target=")) {
                        /* As in xl: target= is last and takes everything, commas included. */
                        p += STRLEN("target=");
                        free(path);
                        path = strdup(p);
                        if (!path)
                                return -ENOMEM;
                        break;
                }

                comma = strchr(p, ',');
                len = comma ? (size_t) (comma - p) : strlen(p);
                eq = memchr(p, '=', len);

                if (!eq) {
                        /* A bare word is the path; only one is allowed. */
                        if (path)
                                return kp_error_set(error, -EINVAL,
                                                    "disk spec \"%s\": more than one path", spec);
                        path = strndup(p, len);
                        if (!path)
                                return -ENOMEM;
                } else if (eq - p == STRLEN("format") && startswith_lit(p, "format")) {
                        _cleanup_free_ char *value = strndup(eq + 1, len - (size_t) (eq + 1 - p));

                        if (!value)
                                return -ENOMEM;
                        r = kp_disk_format_from_string(value, error, &format);
                        if (r < 0)
                                return kp_error_prefix(error, r, "disk spec \"%s\"", spec);
                } else if (eq - p == STRLEN("devtype") && startswith_lit(p, "devtype")) {
                        if (len - STRLEN("devtype=") != STRLEN("disk") || !startswith_lit(eq + 1, "disk"))
                                return kp_error_set(error, -EINVAL,
                                                    "disk spec \"%s\": only devtype=disk can be inspected", spec);
                } else if (!key_is_ignored(p, (size_t) (eq - p)))
                        return kp_error_set(error, -EINVAL, "disk spec \"%s\": unsupported key \"%.*s\"", spec,
                                            (int) (eq - p), p);

                p += len;
                if (*p == ',')
                        p++;
        }

        if (!path || !*path)
                return kp_error_set(error, -EINVAL, "disk spec \"%s\" names no path", spec);

        *ret = (KpDiskSpec) {
                .path = TAKE_PTR(path),
                .format = format,
        };
        return 0;
}

void kp_disk_spec_done(KpDiskSpec *disk)
{
        if (!disk)
                return;
        free(disk->path);
        disk->path = NULL;
}

KpDiskSpec *kp_disk_specs_free(KpDiskSpec *disks, size_t n)
{
        for (size_t i = 0; disks && i < n; i++)
                kp_disk_spec_done(&disks[i]);
        free(disks);
        return NULL;
}
