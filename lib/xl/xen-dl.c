/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "util/error.h"
#include "xl/xen-dl.h"

static void *xenlight_dl, *xlutil_dl;

#define KP_XL_DEFINE(f) KP_DLSYM(f) = NULL;
KP_XLUTIL_SYMBOLS(KP_XL_DEFINE)
KP_XENLIGHT_SYMBOLS(KP_XL_DEFINE)
#if HAVE_XEN
KP_XENSTORE_SYMBOLS(KP_XL_DEFINE)
#endif
#undef KP_XL_DEFINE

#define KP_XL_ARG(f) KP_DLSYM_ARG(f),

int kp_xenlight_dlopen(KpError *error)
{
        int r = kp_dlopen_many(&xenlight_dl, KP_SONAME_XENLIGHT, error, KP_XENLIGHT_SYMBOLS(KP_XL_ARG) NULL);

        if (r < 0)
                return kp_error_prefix(error, r, "libxenlight");
        return 0;
}

int kp_xlutil_dlopen(KpError *error)
{
        int r;

        r = kp_xenlight_dlopen(error);
        if (r < 0)
                return r;
        r = kp_dlopen_many(&xlutil_dl, KP_SONAME_XLUTIL, error, KP_XLUTIL_SYMBOLS(KP_XL_ARG) NULL);
        if (r < 0)
                return kp_error_prefix(error, r, "libxlutil");
        return 0;
}

#if HAVE_XEN
static void *xenstore_dl;

int kp_xenstore_dlopen(KpError *error)
{
        int r = kp_dlopen_many(&xenstore_dl, KP_SONAME_XENSTORE, error, KP_XENSTORE_SYMBOLS(KP_XL_ARG) NULL);

        if (r < 0)
                return kp_error_prefix(error, r, "libxenstore");
        return 0;
}
#endif
