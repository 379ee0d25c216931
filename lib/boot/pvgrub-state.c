/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "boot/pvgrub-mode.h"
#include "util/error.h"

int kp_boot_pvgrub_fresh(KpStateStore *state, const char *disk, bool trust_foreign, KpError *error,
                         char **ret_reason)
{
        _cleanup_(kp_disk_state_freep) KpDiskState *st = NULL;
        _cleanup_free_ char *canonical = NULL;
        KpDiskIdentity now;
        KpError e = {};
        int r;

        canonical = realpath(disk, NULL);
        if (!canonical)
                return kp_error_set_errno(error, negative_errno(), "cannot open the disk");
        r = kp_state_load(state, canonical, KP_PVGRUB_REQUEST, &e, &st);
        if (r == -ENOENT || r == -EBADMSG) {
                if (ret_reason)
                        *ret_reason = strdup(r == -ENOENT ? "no pvgrub-mode record" : e.message);
                return 0;
        }
        if (r < 0)
                return kp_error_set(error, r, "%s", e.message);
        r = kp_disk_identity_read(canonical, error, &now);
        if (r < 0)
                return r;
        return kp_disk_state_freshness(st, &now, trust_foreign, false, ret_reason) == KP_FRESH;
}
