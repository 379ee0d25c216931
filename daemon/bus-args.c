/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "client/bus-api.h"
#include "daemon/bus-args.h"
#include "util/error.h"
#include "util/grow.h"
#include "xl/domain.h"

void prepare_request_done(PrepareRequest *r)
{
        kp_disk_specs_free(r->specs, r->n_specs);
        free(r->args);
        free(r->output_directory);
        *r = (PrepareRequest) {};
}

int prepare_args_parse(const PrepareArgs *a, uint64_t max_timeout_usec, KpError *error, PrepareRequest *ret)
{
        _cleanup_(prepare_request_done) PrepareRequest r = {};
        int k;

        /* Xen's domain ids stop below DOMID_FIRST_RESERVED (0x7FF0); above, nothing to look up. */
        if (a->domid >= 0x7FF0)
                return kp_error_set(error, -EINVAL, "domain id %" PRIu32 " is not a domain's", a->domid);
        for (size_t i = 0; i < a->n_disks; i++) {
                KpDiskSpec *grown;
                KpDiskFormat f;

                /* Said at the first disk too many, as the disks before it are checked in order. */
                if (i >= KP_DOMAIN_MAX_DISKS)
                        return kp_error_set(error, -E2BIG, "too many disks");
                k = kp_disk_format_from_string(*a->formats[i] ? a->formats[i] : "raw", error, &f);
                if (k < 0)
                        return k;
                if (a->paths[i][0] != '/')
                        return kp_error_set(error, -EINVAL, "disk paths must be absolute");
                grown = kp_grow(r.specs, r.n_specs, sizeof(KpDiskSpec));
                if (!grown)
                        return kp_error_set(error, -ENOMEM, "out of memory");
                r.specs = grown;
                r.specs[r.n_specs] = (KpDiskSpec) { .format = f, .path = strdup(a->paths[i]) };
                if (!r.specs[r.n_specs++].path)
                        return kp_error_set(error, -ENOMEM, "out of memory");
        }
        if (r.n_specs == 0)
                return kp_error_set(error, -EINVAL, "no disk given");
        if (*a->mode && !streq(a->mode, "direct"))
                return kp_error_set(error, -EOPNOTSUPP, "kunpackd serves direct mode only");
        r.dry_run = a->flags & KP_PREPARE_DRY_RUN;
        if (!r.dry_run && a->output_directory[0] != '/')
                return kp_error_set(error, -EINVAL, "the output directory must be an absolute path");

        r.entry = *a->entry ? a->entry : NULL;
        r.kernel = *a->kernel ? a->kernel : NULL;
        r.ramdisk = *a->ramdisk ? a->ramdisk : NULL;
        if (*a->args && !(r.args = strdup(a->args)))
                return kp_error_set(error, -ENOMEM, "out of memory");
        if (!r.dry_run && !(r.output_directory = strdup(a->output_directory)))
                return kp_error_set(error, -ENOMEM, "out of memory");
        /* The caller's deadline, never beyond boot_timeout: libxl kills kunpack-boot at 120 s. */
        r.timeout_usec = a->timeout_usec > 0 ? MIN(a->timeout_usec, max_timeout_usec) : max_timeout_usec;
        r.domid = a->domid;

        *ret = r;
        r = (PrepareRequest) {};
        return 0;
}

int rescan_args_check(size_t n_names, uint64_t flags, KpError *error)
{
        if (n_names > KP_RESCAN_MAX_NAMES)
                return kp_error_set(error, -E2BIG, "too many guests named");
        return 0;
}
