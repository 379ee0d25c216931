/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "guest/direct.h"
#include "guest/guest-facts.h"
#include "guest/guest-internal.h"
#include "util/error.h"

static bool is_stop(int r)
{
        return r == -ECANCELED || r == -ETIMEDOUT || r == -ENOMEM;
}

/* The first of the guest's filesystems (partitions, then logical volumes) that holds kernel. */
static int find_kernel(KpGuestSession *s, size_t guest, const char *kernel, KpError *error, size_t *ret_fs,
                       const KpGuestFileFacts **ret_facts)
{
        KpError last = {};
        size_t looked = 0;
        int r;

        for (int pass = 0; pass < 2; pass++) {
                if (pass == 1) {
                        r = kp_guest_scan_lvm(s, error);
                        if (r < 0)
                                return r;
                }
                for (size_t i = 0; i < s->n_filesystems; i++) {
                        KpError e = {};

                        if (s->filesystems[i].guest != guest || (pass == 1 && !s->filesystems[i].lvm))
                                continue;
                        looked++;
                        r = kp_guest_file_facts(s, i, kernel, true, &e, ret_facts);
                        if (r >= 0) {
                                *ret_fs = i;
                                return 0;
                        }
                        if (is_stop(r))
                                return kp_error_set(error, r, "%s", e.message);
                        /* Something is there but unusable (not a kernel, too big, a link out of /boot...). */
                        if (r == -EMEDIUMTYPE || r == -EFBIG || r == -EPERM || r == -EISDIR || r == -EBADFD)
                                return kp_error_set(error, r, "kernel %s on %s: %s", kernel, s->filesystems[i].name,
                                                    e.message);
                        /* Absent here, or the filesystem does not mount: try the next one. */
                        last = e;
                }
        }
        if (looked == 0)
                return kp_error_set(error, -ENOENT, "nothing bootable: no filesystem on the guest's disks");
        return kp_error_set(error, -ENOENT, "kernel %s is on none of the guest's %zu filesystems%s%s", kernel, looked,
                            last.message[0] ? " (last: " : "", last.message[0] ? last.message : "");
}

int kp_guest_session_inspect_direct(KpGuestSession *s, size_t guest, const char *kernel, const char *ramdisk,
                                    KpError *error, KpBootPlan **ret_plan)
{
        _cleanup_(kp_boot_plan_freep) KpBootPlan *plan = NULL;
        const KpGuestFileFacts *f = NULL;
        size_t fs = 0;
        int r;

        if (guest >= s->n_guests)
                return kp_error_set(error, -EINVAL, "no guest %zu in this session", guest);
        r = kp_boot_plan_new_direct(kernel, ramdisk, NULL, &plan);
        if (r < 0)
                return kp_error_set(error, r, "cannot make a plan for kernel %s", kernel);
        /* The names come from the admin's xl config, but they go back into the appliance: same rules. */
        r = kp_boot_plan_validate(plan, error);
        if (r < 0)
                return kp_error_prefix(error, r, "direct request refused");

        r = kp_guest_session_launch(s, error);
        if (r < 0)
                return r;
        r = kp_guest_scan_filesystems(s, error);
        if (r < 0)
                return r;
        kp_guest_progress(s, KP_GUEST_STAGE_FILES, 0);

        r = find_kernel(s, guest, kernel, error, &fs, &f);
        if (r < 0)
                return r;
        r = kp_guest_file_info_fill(s, fs, f, &plan->entries[0].kernel);
        if (r < 0)
                return kp_error_set(error, r, "out of memory");
        plan->config_device = strdup(s->filesystems[fs].name);
        if (!plan->config_device)
                return kp_error_set(error, -ENOMEM, "out of memory");

        if (ramdisk) {
                KpError e = {};

                r = kp_guest_file_facts(s, fs, ramdisk, false, &e, &f);
                if (r < 0)
                        return kp_error_set(error, r, "ramdisk %s on %s: %s", ramdisk, s->filesystems[fs].name,
                                            e.message);
                r = kp_guest_file_info_fill(s, fs, f, &plan->entries[0].initrds[0]);
                if (r < 0)
                        return kp_error_set(error, r, "out of memory");
        }

        r = kp_boot_plan_validate(plan, error);
        if (r < 0)
                return kp_error_prefix(error, r, "direct request refused");
        *ret_plan = TAKE_PTR(plan);
        return 0;
}
