/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/error.h"
#include "util/macro.h"
#include "xl/attach.h"
#include "xl/inuse.h"
#include "xl/xen-dl.h"

/* What a backend's params may hold, at most: a path and a short prefix. */
#define KP_XL_MAX_PARAMS 4096

/* Whether params starts with "prefix:". */
static bool has_prefix(const char *params, size_t len, const char *prefix)
{
        return len == strlen(prefix) && strncmp(params, prefix, len) == 0;
}

int kp_xl_params_to_spec(const char *params, KpError *error, KpDiskSpec *ret)
{
        static const char *const unread[] = { "vhd", "qcow", "qed" };
        KpDiskFormat format = KP_DISK_FORMAT_RAW;
        const char *colon, *path;
        char *copy;

        if (!params || !*params)
                return kp_error_set(error, -EINVAL, "the backend names no disk");
        if (params[0] == '/')
                path = params;
        else {
                size_t len;

                colon = strchr(params, ':');
                if (!colon || colon[1] != '/')
                        return kp_error_set(error, -EINVAL, "the backend's params \"%.64s\" name no absolute path",
                                            params);
                path = colon + 1;
                len = (size_t) (colon - params);
                /* libxl writes "<format>:<path>" for qdisk, with "aio" for raw (libxl_disk.c). */
                if (has_prefix(params, len, "qcow2"))
                        format = KP_DISK_FORMAT_QCOW2;
                else if (!has_prefix(params, len, "aio") && !has_prefix(params, len, "raw")) {
                        for (size_t i = 0; i < ELEMENTSOF(unread); i++)
                                if (has_prefix(params, len, unread[i]))
                                        return kp_error_set(error, -EOPNOTSUPP,
                                                            "%s is a %s image, which kunpack does not read", path,
                                                            unread[i]);
                        return kp_error_set(error, -EINVAL, "the backend's params \"%.64s\" have an unknown format",
                                            params);
                }
        }
        copy = strdup(path);
        if (!copy)
                return kp_error_set(error, -ENOMEM, "out of memory");
        *ret = (KpDiskSpec) { .path = copy, .format = format };
        return 0;
}

/* "xvda" for "/dev/xvda"; NULL for anything not directly under /dev/. */
static const char *device_name(const char *device)
{
        const char *name;

        if (!device || !startswith_lit(device, "/dev/"))
                return NULL;
        name = device + STRLEN("/dev/");
        if (!*name || strchr(name, '/') || streq(name, ".") || streq(name, ".."))
                return NULL;
        return name;
}

ssize_t kp_xl_attach_find(const char *device, const KpXlAttach *attaches, size_t n)
{
        const char *name = device_name(device);

        if (!name)
                return -1;
        for (size_t i = 0; i < n; i++)
                if (attaches[i].dev && streq(attaches[i].dev, name))
                        return (ssize_t) i;
        return -1;
}

#if HAVE_XEN
/* A value of at most KP_XL_MAX_PARAMS bytes, or NULL. */
static char *xs_read_bounded(struct xs_handle *xs, const char *key)
{
        unsigned len = 0;
        char *v = sym_xs_read(xs, XBT_NULL, key, &len);

        if (v && len > KP_XL_MAX_PARAMS)
                v = mfree(v);
        return v;
}

/*
 * dom0's own attaches, /local/domain/0/backend/<type>/0/<devid>: the one
 * whose dev names device. 1 with its params in ret, 0 when none.
 */
static int find_attach(struct xs_handle *xs, const char *device, char **ret_params)
{
        static const char *const types[] = { "qdisk", "vbd", "vbd3" };
        size_t total = 0;

        for (size_t t = 0; t < ELEMENTSOF(types); t++) {
                _cleanup_free_ char **devs = NULL;
                unsigned n_devs = 0;
                char dir[128];

                (void) snprintf(dir, sizeof(dir), "/local/domain/0/backend/%s/0", types[t]);
                devs = sym_xs_directory(xs, XBT_NULL, dir, &n_devs);
                for (unsigned i = 0; devs && i < n_devs; i++) {
                        _cleanup_free_ char *dev = NULL;
                        char key[256];
                        KpXlAttach a = { .type = types[t] };

                        if (++total > KP_XL_MAX_ATTACHES)
                                return -E2BIG;
                        (void) snprintf(key, sizeof(key), "%s/%s/dev", dir, devs[i]);
                        dev = xs_read_bounded(xs, key);
                        a.dev = dev;
                        if (kp_xl_attach_find(device, &a, 1) < 0)
                                continue;
                        (void) snprintf(key, sizeof(key), "%s/%s/params", dir, devs[i]);
                        *ret_params = xs_read_bounded(xs, key);
                        return 1;
                }
        }
        return 0;
}
#endif

int kp_xl_local_attach_source(const char *device, KpError *error, KpDiskSpec *ret)
{
        struct stat st;

        if (!device_name(device) || stat(device, &st) < 0 || !S_ISBLK(st.st_mode) || !kp_xl_xen_running())
                return 0;
#if HAVE_XEN
        {
                _cleanup_free_ char *params = NULL;
                struct xs_handle *xs;
                int r;

                r = kp_xenstore_dlopen(error);
                if (r < 0)
                        return r;
                xs = sym_xs_open(XS_OPEN_READONLY);
                if (!xs)
                        return kp_error_set_errno(error, negative_errno(), "cannot open xenstore");
                r = find_attach(xs, device, &params);
                sym_xs_close(xs);
                if (r == -E2BIG)
                        return kp_error_set(error, r, "more than %d disk backends of dom0 in xenstore",
                                            KP_XL_MAX_ATTACHES);
                if (r <= 0)
                        return r;
                r = kp_xl_params_to_spec(params, error, ret);
                if (r < 0)
                        return kp_error_prefix(error, r, "%s: dom0's attach", device);
                return 1;
        }
#else
        return 0;
#endif
}

int kp_xl_domain_name(uint32_t domid, char **ret)
{
        *ret = NULL;
#if HAVE_XEN
        if (domid > 0 && kp_xl_xen_running() && kp_xenstore_dlopen(NULL) >= 0) {
                struct xs_handle *xs = sym_xs_open(XS_OPEN_READONLY);
                char key[64];

                if (!xs)
                        return 0;
                (void) snprintf(key, sizeof(key), "/local/domain/%" PRIu32 "/name", domid);
                *ret = xs_read_bounded(xs, key);
                sym_xs_close(xs);
        }
#endif
        return *ret ? 1 : 0;
}
