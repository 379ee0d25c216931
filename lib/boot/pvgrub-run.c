/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "boot/pvgrub-mode.h"
#include "guest/inspect.h"
#include "guest/write.h"
#include "util/error.h"
#include "util/time-util.h"
#include "xl/inuse.h"

/* A session holding disk alone, launched; writable or not. */
static int open_session(const KpDiskSpec *disk, const KpPvgrubRunOptions *o, bool writable, KpError *error,
                        KpGuestSession **ret)
{
        _cleanup_(kp_guest_session_freep) KpGuestSession *s = NULL;
        KpGuestOptions go = {
                .deadline = o->deadline,
                .smp = o->smp,
                .writable = writable,
                .progress = o->progress,
                .userdata = o->userdata,
        };
        int r;

        r = kp_guest_session_new(&go, error, &s);
        if (r >= 0)
                r = kp_guest_session_add_guest(s, disk, 1, error, NULL);
        if (r >= 0)
                r = kp_guest_session_launch(s, error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

/* The state lock for the pvgrub record of disk, when there is a store. */
static int lock_record(KpStateStore *state, const char *canonical, const KpPvgrubRunOptions *o,
                       KpError *error, int *ret_fd)
{
        *ret_fd = -EBADF;
        if (!state)
                return 0;
        return kp_state_lock(state, canonical, KP_PVGRUB_REQUEST, o->deadline ?: UINT64_MAX, error, ret_fd);
}

int kp_boot_pvgrub_run(KpStateStore *state, const KpDiskSpec *disk, const KpPvgrubRunOptions *o,
                       KpError *error, KpPvgrubReport *ret_report, bool *ret_fresh)
{
        _cleanup_(kp_guest_session_freep) KpGuestSession *s = NULL;
        _cleanup_(kp_boot_plan_freep) KpBootPlan *plan = NULL;
        _cleanup_(kp_disk_state_freep) KpDiskState *st = NULL;
        _cleanup_free_ char *canonical = NULL;
        _cleanup_close_ int lock = -EBADF;
        KpInspectOptions io = { .selected_only = false };
        KpPvgrubOptions po = {
                .tmp_dir = o->tmp_dir,
                .tmp_min_free = o->tmp_min_free,
                .unpack = { .max_output = o->max_kernel_size },
        };
        KpDiskSpec spec;
        KpPvgrubReport rep = {};
        KpError e = {};
        int r;

        canonical = realpath(disk->path, NULL);
        if (!canonical)
                return kp_error_set_errno(error, negative_errno(), "cannot open the disk");
        spec = (KpDiskSpec) { .path = canonical, .format = disk->format };

        r = lock_record(state, canonical, o, error, &lock);
        if (r < 0)
                return r;
        if (state && !o->force) {
                r = kp_boot_pvgrub_fresh(state, canonical, o->trust_foreign, error, NULL);
                if (r < 0)
                        return r;
                if (r > 0) {
                        *ret_report = rep;
                        (void) snprintf(ret_report->message, sizeof(ret_report->message),
                                        "in pvgrub mode since the last look, and unchanged");
                        *ret_fresh = true;
                        return 0;
                }
        }

        /* In doubt (Xen runs and libxl cannot tell), nothing is written. */
        r = kp_xl_check_disk_unused(canonical, o->exclude_domid, error);
        if (r < 0)
                return r;

        r = open_session(&spec, o, true, error, &s);
        if (r < 0)
                return r;
        r = kp_guest_session_inspect(s, 0, &io, &e, &plan);
        if (r < 0)
                return kp_error_set(error, r, "%s", e.message);
        r = kp_pvgrub_apply(s, 0, plan, &po, error, &rep);
        if (r < 0)
                return r;
        /* The appliance shuts down (and flushes) before the disk's identity is taken. */
        s = kp_guest_session_free(s);

        if (state) {
                st = calloc(1, sizeof(*st));
                if (!st)
                        return -ENOMEM;
                st->disk = strdup(canonical);
                st->request = strdup(KP_PVGRUB_REQUEST);
                if (!st->disk || !st->request)
                        return -ENOMEM;
                r = kp_disk_identity_read(canonical, error, &st->identity);
                if (r < 0)
                        return r;
                st->scanned_usec = kp_now_usec(CLOCK_REALTIME);
                st->plan = TAKE_PTR(plan);
                r = kp_state_save(state, st, error);
                if (r < 0)
                        return r;
        }
        *ret_report = rep;
        *ret_fresh = false;
        return 0;
}

int kp_boot_pvgrub_revert(KpStateStore *state, const KpDiskSpec *disk, const KpPvgrubRunOptions *o,
                          KpError *error, KpPvgrubReport *ret_report)
{
        _cleanup_(kp_guest_session_freep) KpGuestSession *s = NULL;
        _cleanup_free_ char *canonical = NULL;
        _cleanup_close_ int lock = -EBADF;
        KpDiskSpec spec;
        KpPvgrubReport rep = {};
        int r;

        canonical = realpath(disk->path, NULL);
        if (!canonical)
                return kp_error_set_errno(error, negative_errno(), "cannot open the disk");
        spec = (KpDiskSpec) { .path = canonical, .format = disk->format };

        r = lock_record(state, canonical, o, error, &lock);
        if (r < 0)
                return r;
        r = kp_xl_check_disk_unused(canonical, o->exclude_domid, error);
        if (r < 0)
                return r;
        /* Whatever happens below, the next start looks at the disk again. */
        if (state) {
                r = kp_state_remove(state, canonical, KP_PVGRUB_REQUEST, error);
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        r = open_session(&spec, o, true, error, &s);
        if (r < 0)
                return r;
        r = kp_pvgrub_revert(s, 0, error, &rep);
        if (r == -ENOENT) {
                /* Nothing to undo is not a failure: say so. */
                rep = (KpPvgrubReport) {};
                (void) snprintf(rep.message, sizeof(rep.message), "%s", error ? error->message : "");
                kp_error_clear(error);
                *ret_report = rep;
                return 0;
        }
        if (r < 0)
                return r;
        s = kp_guest_session_free(s);
        *ret_report = rep;
        return 0;
}

int kp_boot_pvgrub_show(const KpDiskSpec *disk, const KpPvgrubRunOptions *o, KpError *error,
                        char **ret_device, char **ret_manifest_path, KpPvgrubManifest **ret_manifest)
{
        _cleanup_(kp_guest_session_freep) KpGuestSession *s = NULL;
        int r;

        r = open_session(disk, o, false, error, &s);
        if (r < 0)
                return r;
        return kp_pvgrub_find(s, 0, error, ret_device, ret_manifest_path, ret_manifest);
}
