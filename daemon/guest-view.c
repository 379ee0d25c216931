/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "bootcfg/version.h"
#include "daemon/guest-view.h"
#include "daemon/registry.h"
#include "daemon/scheduler.h"
#include "util/error.h"

const char *guest_fact_to_string(GuestFact f)
{
        return f == GUEST_FACT_YES ? "yes" : f == GUEST_FACT_NO ? "no" : NULL;
}

void guest_view_done(GuestView *v)
{
        v->reason = mfree(v->reason);
        v->kernel = mfree(v->kernel);
        v->kernel_sha256 = mfree(v->kernel_sha256);
        v->state = kp_disk_state_free(v->state);
}

/* The kernel of the record's selected entry, and what the appliance and the cache know of it. */
static int view_kernel(Manager *m, GuestView *v)
{
        const KpBootEntry *e = v->state ? kp_boot_plan_selected(v->state->plan) : NULL;
        KpCacheKernel meta;

        if (!e || !e->kernel.path)
                return 0;
        v->kernel = strdup(e->kernel.path);
        if (!v->kernel)
                return -ENOMEM;
        v->kernel_version = kp_kernel_version_from_path(v->kernel);
        if (!e->kernel.have_info)
                return 0;
        v->format = e->kernel.format;
        if (v->format != KP_FORMAT_UNKNOWN)
                v->pvgrub_loadable = kp_format_pvgrub_can_load(v->format) ? GUEST_FACT_YES : GUEST_FACT_NO;
        v->kernel_sha256 = strdup(e->kernel.sha256);
        if (!v->kernel_sha256)
                return -ENOMEM;
        /* The ELF's notes were recorded when it was stored; an entry gone since leaves it unknown. */
        if (kp_cache_read_kernel_meta(m->cache, e->kernel.sha256, NULL, &meta) >= 0) {
                v->pvh_ready = GUEST_FACT_NO;
                for (size_t i = 0; i < meta.elf.n_xen_notes; i++)
                        if (meta.elf.xen_notes[i].type == KP_XEN_ELFNOTE_PHYS32_ENTRY)
                                v->pvh_ready = GUEST_FACT_YES;
        }
        return 0;
}

int guest_view(Manager *m, Guest *g, GuestView *ret)
{
        _cleanup_(guest_view_done) GuestView v = GUEST_VIEW_INIT;
        Disk *d = g->disk;
        KpPrepared p = KP_PREPARED_INIT;
        KpPrepareOptions o = { .trust_foreign = m->settings->trust_foreign_plans, .vouched = disk_is_vouched(m, d) };
        KpError error = {};
        int r;

        if (kp_state_load(m->state, d->request.disk, d->request_key, NULL, &v.state) < 0)
                v.state = NULL;
        r = view_kernel(m, &v);
        if (r < 0)
                return r;
        v.last_scan_usec = MAX(d->last_scan_usec, v.state ? v.state->scanned_usec : 0);

        if (d->scan == DISK_RUNNING) {
                v.status = "scanning";
                v.reason = strdup(d->step ? d->step : "starting");
        } else if (d->scan == DISK_QUEUED)
                v.status = "queued";
        else {
                /* What the next start would find: the hot path's own check, without serving anything. */
                r = kp_boot_prepare(m->cache, m->state, &d->request, &o, &error, &p);
                if (r < 0) {
                        v.status = "failed";
                        v.reason = strdup(kp_error_message(&error, r));
                } else if (p.outcome == KP_PREPARE_READY)
                        v.status = "fresh";
                else if (p.damaged && scheduler_enqueue_damaged(d, p.why) > 0) {
                        /* Found damaged (and removed) by this very look: rescanned, as a start would have it. */
                        v.status = "queued";
                        v.reason = strdup(p.why);
                } else if (d->last_error < 0) {
                        v.status = "failed";
                        v.reason = strdup(d->last_message ? d->last_message : strerror(-d->last_error));
                } else {
                        v.status = "stale";
                        v.reason = strdup(p.why[0] ? p.why : "no usable record");
                }
                kp_prepared_done(&p);
        }
        if (!streq(v.status, "fresh") && !streq(v.status, "queued") && !v.reason)
                return -ENOMEM;

        *ret = v;
        v = (GuestView) GUEST_VIEW_INIT;
        return 0;
}
