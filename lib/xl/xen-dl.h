/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The Xen toolstack's libraries, loaded when first needed (util/dlopen.h):
 * libxlutil (with the libxenlight types it fills) when the first xl
 * domain config is parsed, libxenlight when the running domains are
 * asked about. A program that reads no domain config maps none of
 * libxlutil's twenty Xen libraries. Not for use outside lib/xl/.
 */

#include <libxl.h>
#include <libxl_utils.h>
#include <libxlutil.h>

#include "kunpack.h"
#include "util/dlopen.h"

/* What domain.c calls: libxlutil's parser, and libxenlight's disk type it fills. */
#define KP_XLUTIL_SYMBOLS(X)                                                                               \
        X(xlu_cfg_init)                                                                                    \
        X(xlu_cfg_readdata)                                                                                \
        X(xlu_cfg_destroy)                                                                                 \
        X(xlu_cfg_get_string)                                                                              \
        X(xlu_cfg_get_list)                                                                                \
        X(xlu_cfg_get_listitem)                                                                            \
        X(xlu_disk_parse)

#define KP_XENLIGHT_SYMBOLS(X)                                                                             \
        X(libxl_device_disk_init)                                                                          \
        X(libxl_device_disk_dispose)                                                                       \
        X(libxl_disk_format_to_string)                                                                     \
        X(libxl_ctx_alloc)                                                                                 \
        X(libxl_ctx_free)                                                                                  \
        X(libxl_list_domain)                                                                               \
        X(libxl_dominfo_list_free)                                                                         \
        X(libxl_device_disk_list)                                                                          \
        X(libxl_device_disk_list_free)                                                                     \
        X(libxl_domid_to_name)

#define KP_XL_DECLARE(f) extern KP_DLSYM(f);
KP_XLUTIL_SYMBOLS(KP_XL_DECLARE)
KP_XENLIGHT_SYMBOLS(KP_XL_DECLARE)

#if HAVE_XEN
#include <xenstore.h>

/* What inuse.c reads of xenstore: the disk backends dom0 serves. */
#define KP_XENSTORE_SYMBOLS(X)                                                                             \
        X(xs_open)                                                                                         \
        X(xs_close)                                                                                        \
        X(xs_directory)                                                                                    \
        X(xs_read)

KP_XENSTORE_SYMBOLS(KP_XL_DECLARE)

/* Loads libxenstore (KP_SONAME_XENSTORE); -ELIBACC, naming it, when it cannot be loaded. */
int kp_xenstore_dlopen(KpError *error);

/* One disk backend dom0 serves: /local/domain/0/backend/<type>/<frontend>/<devid>. */
typedef struct KpXlBackendNode {
        const char *type;  /* "vbd", "qdisk", "vbd3" */
        uint32_t frontend; /* the domain using it; 0 for dom0's own attach */
        uint32_t devid;
        const char *path;  /* its directory in xenstore */
} KpXlBackendNode;

/*
 * Calls visit for every disk backend dom0 serves (only dom0's own
 * attaches, frontend 0, when dom0_only) until visit returns non-zero,
 * which is returned; 0 when all were visited. -E2BIG past
 * KP_XL_MAX_BACKENDS: a bound on what xenstore can make us read. (inuse.c)
 */
int kp_xl_walk_backends(struct xs_handle *xs, bool dom0_only,
                        int (*visit)(struct xs_handle *xs, const KpXlBackendNode *b, void *userdata), void *userdata);

/* The value of dir/key, at most 4096 bytes (a path and a short prefix), or NULL. (inuse.c) */
char *kp_xl_xs_read(struct xs_handle *xs, const char *dir, const char *key);
#endif
#undef KP_XL_DECLARE

/*
 * Loads libxenlight (KP_SONAME_XENLIGHT) and resolves its symbols above;
 * -ELIBACC, naming the library, when it cannot be loaded.
 */
int kp_xenlight_dlopen(KpError *error);

/* Loads libxlutil (KP_SONAME_XLUTIL) and libxenlight, as kp_xenlight_dlopen() does. */
int kp_xlutil_dlopen(KpError *error);
