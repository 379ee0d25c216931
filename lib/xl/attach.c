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

int kp_xl_params_to_spec(const char *params, KpError *error, KpDiskSpec *ret)
{
        static const char *const unread[] = { "vhd", "qcow", "qed" };
        KpDiskFormat format = KP_DISK_FORMAT_RAW;
        const char *path;
        size_t len;
        char *copy;

        if (!params || !*params)
                return kp_error_set(error, -EINVAL, "the backend names no disk");
        path = kp_xl_backend_params_path(params);
        if (!path)
                return kp_error_set(error, -EINVAL, "the backend's params \"%.64s\" name no absolute path", params);
        /* libxl writes "<format>:<path>" for qdisk, with "aio" for raw (libxl_disk.c); phy: the path alone. */
        len = path > params ? (size_t) (path - params) - 1 : 0;
        if (len > 0) {
                char prefix[16] = "";

                if (len < sizeof(prefix))
                        memcpy(prefix, params, len);
                if (streq(prefix, "qcow2"))
                        format = KP_DISK_FORMAT_QCOW2;
                else if (!streq(prefix, "aio") && !streq(prefix, "raw")) {
                        for (size_t i = 0; i < ELEMENTSOF(unread); i++)
                                if (streq(prefix, unread[i]))
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
typedef struct FindAttach {
        const char *device;
        char *params;
} FindAttach;

static int visit_attach(struct xs_handle *xs, const KpXlBackendNode *node, void *userdata)
{
        FindAttach *f = userdata;
        _cleanup_free_ char *dev = kp_xl_xs_read(xs, node->path, "dev");
        KpXlAttach a = { .type = node->type, .dev = dev };

        if (kp_xl_attach_find(f->device, &a, 1) < 0)
                return 0;
        f->params = kp_xl_xs_read(xs, node->path, "params");
        return 1;
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
                FindAttach f = { .device = device };
                struct xs_handle *xs;
                int r;

                r = kp_xenstore_dlopen(error);
                if (r < 0)
                        return r;
                xs = sym_xs_open(XS_OPEN_READONLY);
                if (!xs)
                        return kp_error_set_errno(error, negative_errno(), "cannot open xenstore");
                /* Only dom0's own attaches: libxl writes them, as root, before the bootloader runs. */
                r = kp_xl_walk_backends(xs, true, visit_attach, &f);
                params = f.params;
                sym_xs_close(xs);
                if (r == -E2BIG)
                        return kp_error_set(error, r, "more than %d disk backends of dom0 in xenstore",
                                            KP_XL_MAX_BACKENDS);
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
                char dir[64];

                if (!xs)
                        return 0;
                (void) snprintf(dir, sizeof(dir), "/local/domain/%" PRIu32, domid);
                *ret = kp_xl_xs_read(xs, dir, "name");
                sym_xs_close(xs);
        }
#endif
        return *ret ? 1 : 0;
}
