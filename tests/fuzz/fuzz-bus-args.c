/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzzes the daemon's method arguments (daemon/bus-args.c) without a bus:
 * the input is the values a call carries, as sd-bus hands them over once
 * their types are checked. Layout: one byte, the number of disks (0-255:
 * past KP_DOMAIN_MAX_DISKS on purpose); then NUL-separated strings, a path
 * and a format per disk, then entry, mode, kernel, ramdisk, args and the
 * output directory (missing ones are ""); the last 20 bytes, when there
 * are that many after the strings, are the timeout, the flags and the
 * domain id.
 *
 * Whatever the values, a call is refused with a message or gives a
 * request that holds what the daemon relies on: one to KP_DOMAIN_MAX_DISKS
 * disks with absolute paths and known formats, direct mode, an absolute
 * output directory unless it is a dry run, a timeout within boot_timeout,
 * a domain id below Xen's reserved ones, and (for the request's key)
 * escaping that reads back.
 */
#include <stdio.h>
#include <string.h>

#include "boot/request.h"
#include "client/bus-api.h"
#include "daemon/bus-args.h"
#include "util/error.h"
#include "xl/domain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What kunpack.conf's boot_timeout allows at most (119 s): the daemon's max_timeout_usec. */
#define MAX_TIMEOUT_USEC (UINT64_C(119) * 1000000)

/* The next NUL-terminated string of the input, or "" once it is used up. */
static const char *next_string(char **p, char *end)
{
        char *s = *p, *nul;

        if (s >= end)
                return "";
        nul = memchr(s, '\0', (size_t) (end - s));
        *p = nul ? nul + 1 : end;
        return s;
}

/* Reads back a value kp_boot_request_key() escaped, up to an unescaped ';' or the end. */
static const char *unescape(const char *s, char *out)
{
        for (; *s && *s != ';'; s++) {
                if (*s == '\\' && s[1])
                        s++;
                *out++ = *s;
        }
        *out = '\0';
        return s;
}

static void check_key(const PrepareRequest *r)
{
        KpBootRequest req = {
                .disk = r->specs[0].path,
                .entry = r->kernel ? NULL : (char *) r->entry,
                .kernel = (char *) r->kernel,
                .ramdisk = r->kernel ? (char *) r->ramdisk : NULL,
        };
        _cleanup_free_ char *key = NULL, *a = NULL, *b = NULL;
        const char *p;

        if (kp_boot_request_key(&req, &key) < 0)
                return;
        a = calloc(strlen(key) + 1, 1);
        b = calloc(strlen(key) + 1, 1);
        if (!a || !b)
                abort();
        /* Two requests with one key would share a state record: the key must read back to its fields. */
        if (req.kernel) {
                if (strncmp(key, "kernel=", 7) != 0)
                        abort();
                p = unescape(key + 7, a);
                if (!streq(a, req.kernel) || strncmp(p, ";ramdisk=", 9) != 0)
                        abort();
                p = unescape(p + 9, b);
                if (*p || !streq(b, req.ramdisk ?: ""))
                        abort();
        } else if (req.entry) {
                if (strncmp(key, "entry=", 6) != 0)
                        abort();
                p = unescape(key + 6, a);
                if (*p || !streq(a, req.entry))
                        abort();
        } else if (*key)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(prepare_request_done) PrepareRequest r = {};
        _cleanup_free_ const char **paths = NULL, **formats = NULL;
        _cleanup_free_ char *copy = NULL;
        PrepareArgs a = {};
        char *p, *end;
        KpError e = {};
        size_t n;
        int k;

        if (size < 1 || size > 65536)
                return 0;
        n = data[0];
        copy = malloc(size);
        paths = calloc(n + 1, sizeof(char *));
        formats = calloc(n + 1, sizeof(char *));
        if (!copy || !paths || !formats)
                return 0;
        memcpy(copy, data + 1, size - 1);
        end = copy + size - 1;
        if (end - copy >= 20) {
                end -= 20;
                memcpy(&a.timeout_usec, end, 8);
                memcpy(&a.flags, end + 8, 8);
                memcpy(&a.domid, end + 16, 4);
        }
        p = copy;
        /* The strings end where the numbers begin: their last byte becomes a NUL, so every string ends. */
        if (end > copy)
                end[-1] = '\0';
        for (size_t i = 0; i < n; i++) {
                paths[i] = next_string(&p, end);
                formats[i] = next_string(&p, end);
        }
        a.paths = paths;
        a.formats = formats;
        a.n_disks = n;
        a.entry = next_string(&p, end);
        a.mode = next_string(&p, end);
        a.kernel = next_string(&p, end);
        a.ramdisk = next_string(&p, end);
        a.args = next_string(&p, end);
        a.output_directory = next_string(&p, end);

        k = prepare_args_parse(&a, MAX_TIMEOUT_USEC, &e, &r);
        if (k < 0) {
                if (!e.message[0] || r.specs || r.args || r.output_directory)
                        abort(); /* refusals say why and leave nothing behind */
                return 0;
        }
        if (r.n_specs < 1 || r.n_specs > KP_DOMAIN_MAX_DISKS || r.n_specs != n)
                abort();
        for (size_t i = 0; i < r.n_specs; i++)
                if (r.specs[i].path[0] != '/' || !streq(r.specs[i].path, paths[i]) ||
                    !kp_disk_format_to_string(r.specs[i].format))
                        abort();
        if (*a.mode && !streq(a.mode, "direct"))
                abort();
        if (r.dry_run != !!(a.flags & KP_PREPARE_DRY_RUN) || (!r.dry_run && r.output_directory[0] != '/') ||
            (r.dry_run && r.output_directory))
                abort();
        if (r.timeout_usec == 0 || r.timeout_usec > MAX_TIMEOUT_USEC)
                abort();
        if (r.domid != a.domid || r.domid >= 0x7FF0)
                abort();
        if ((r.args != NULL) != (*a.args != '\0') || (r.entry != NULL) != (*a.entry != '\0'))
                abort();
        check_key(&r);

        if (rescan_args_check(n * 1000, a.flags, &e) < 0 && n * 1000 <= KP_RESCAN_MAX_NAMES)
                abort();
        return 0;
}
