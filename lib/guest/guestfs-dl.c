/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "guest/guestfs-dl.h"
#include "util/error.h"

static void *guestfs_dl;

#define KP_GUESTFS_DEFINE(f) KP_DLSYM(f) = NULL;
KP_GUESTFS_SYMBOLS(KP_GUESTFS_DEFINE)
#undef KP_GUESTFS_DEFINE

int kp_guestfs_dlopen(KpError *error)
{
#define KP_GUESTFS_ARG(f) KP_DLSYM_ARG(f),
        int r = kp_dlopen_many(&guestfs_dl, KP_SONAME_GUESTFS, error, KP_GUESTFS_SYMBOLS(KP_GUESTFS_ARG) NULL);
#undef KP_GUESTFS_ARG

        if (r < 0)
                return kp_error_prefix(error, r, "libguestfs");
        return 0;
}
