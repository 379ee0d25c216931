/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "boot/fetch.h"
#include "boot/prepare.h"
#include "boot/scan.h"
#include "guest/direct.h"
#include "guest/inspect.h"
#include "util/error.h"
#include "util/time-util.h"

/* What one request needs while it is scanned. */
typedef struct ScanItem {
        size_t index;              /* in the caller's array */
        const KpBootRequest *req;
        KpScanResult *result;
        char *key;                 /* the state record's request string */
        int lock;
        KpDiskState *prev;         /* the record before this scan (stale or not), or NULL */
        KpDiskIdentity identity;   /* taken before the inspection */
        bool pending;              /* still to inspect */
        size_t guest;              /* its index in the session */
} ScanItem;

static void step(const KpScanOptions *o, const ScanItem *it, const char *what)
{
        if (o->on_step)
                o->on_step(it->index, what, o->userdata);
}

static int fail(ScanItem *it, int r, const char *format, ...) _printf_(3, 4);
static int fail(ScanItem *it, int r, const char *format, ...)
{
        va_list ap;

        it->pending = false;
        it->result->status = KP_SCAN_FAILED;
        it->result->error = r;
        va_start(ap, format);
        (void) vsnprintf(it->result->message, sizeof(it->result->message), format, ap);
        va_end(ap);
        return r;
}

static int item_cmp(const void *a, const void *b)
{
        const ScanItem *x = *(const ScanItem *const *) a, *y = *(const ScanItem *const *) b;
        int c = strcmp(x->req->disk, y->req->disk);

        return c != 0 ? c : strcmp(x->key, y->key);
}

static void unlock(ScanItem *it)
{
        it->lock = safe_close(it->lock);
}

/* Steps 1-3: the lock, the freshness check, the identity. */
static void begin(KpCache *cache, KpStateStore *state, ScanItem *it, const KpScanOptions *o, uint64_t lock_deadline)
{
        KpPrepared cached = KP_PREPARED_INIT;
        KpError e = {};
        int r;

        step(o, it, "waiting");
        r = kp_state_lock(state, it->req->disk, it->key, lock_deadline, &e, &it->lock);
        if (r < 0) {
                fail(it, r, "%s", e.message);
                return;
        }

        r = kp_state_load(state, it->req->disk, it->key, &e, &it->prev);
        if (r < 0 && r != -ENOENT && r != -EBADMSG) {
                fail(it, r, "%s", e.message);
                return;
        }

        r = kp_disk_identity_read(it->req->disk, &e, &it->identity);
        if (r < 0) {
                fail(it, r, "%s", e.message);
                return;
        }

        if (!o->force && it->prev &&
            kp_disk_state_freshness(it->prev, &it->identity, o->trust_foreign, false, NULL) == KP_FRESH) {
                r = kp_boot_open_cached(cache, it->prev->plan, &e, &cached);
                kp_prepared_done(&cached);
                if (r == 0) {
                        it->result->status = KP_SCAN_FRESH;
                        it->result->state = TAKE_PTR(it->prev);
                        it->pending = false;
                        unlock(it);
                        return;
                }
        }
        it->pending = true;
}

static bool same_next_entry(const KpBootPlan *prev, const KpBootPlan *now)
{
        return prev && now && prev->reason == KP_SELECT_NEXT_ENTRY && now->reason == KP_SELECT_NEXT_ENTRY &&
               streq_ptr(prev->reason_detail, now->reason_detail);
}

/* Step 4 for one request, in the session. */
static void inspect_one(KpCache *cache, KpStateStore *state, KpGuestSession *s, ScanItem *it,
                        const KpScanOptions *o, uint64_t lock_deadline)
{
        _cleanup_(kp_boot_plan_freep) KpBootPlan *plan = NULL;
        KpUnpackOptions unpack = { .max_output = o->max_kernel_size };
        KpDiskState *st;
        KpError e = {};
        int r;

        step(o, it, "inspecting");
        if (kp_boot_request_is_direct(it->req))
                r = kp_guest_session_inspect_direct(s, it->guest, it->req->kernel, it->req->ramdisk, &e, &plan);
        else {
                KpInspectOptions io = { .entry = it->req->entry, .selected_only = true };

                r = kp_guest_session_inspect(s, it->guest, &io, &e, &plan);
                if (r >= 0 && same_next_entry(it->prev ? it->prev->plan : NULL, plan)) {
                        io.parse_flags = KP_BOOTCFG_IGNORE_NEXT_ENTRY;
                        plan = kp_boot_plan_free(plan);
                        r = kp_guest_session_inspect(s, it->guest, &io, &e, &plan);
                        it->result->next_entry_consumed = r >= 0;
                }
        }
        if (r < 0) {
                fail(it, r, "%s", e.message);
                return;
        }

        step(o, it, "fetching");
        r = kp_boot_fetch_selected(cache, s, it->guest, plan, &unpack, lock_deadline, &e, &it->result->fetched);
        if (r < 0) {
                fail(it, r, "%s", e.message);
                return;
        }

        st = calloc(1, sizeof(KpDiskState));
        if (!st) {
                fail(it, -ENOMEM, "out of memory");
                return;
        }
        it->result->state = st;
        st->disk = strdup(it->req->disk);
        st->request = strdup(it->key);
        st->identity = it->identity;
        st->scanned_usec = kp_now_usec(CLOCK_REALTIME);
        st->plan = TAKE_PTR(plan);
        if (!st->disk || !st->request) {
                fail(it, -ENOMEM, "out of memory");
                return;
        }
        r = kp_state_save(state, st, &e);
        if (r < 0) {
                fail(it, r, "%s", e.message);
                return;
        }
        it->result->status = KP_SCAN_SCANNED;
        it->pending = false;
}

int kp_boot_scan(KpCache *cache, KpStateStore *state, const KpBootRequest *requests, size_t n,
                 const KpScanOptions *options, KpError *error, KpScanResult *results, unsigned *ret_launches)
{
        static const KpScanOptions defaults = {};
        _cleanup_(kp_guest_session_freep) KpGuestSession *s = NULL;
        _cleanup_free_ ScanItem *items = NULL;
        _cleanup_free_ ScanItem **order = NULL;
        const KpScanOptions *o = options ? options : &defaults;
        uint64_t lock_deadline = o->deadline ? o->deadline : UINT64_MAX;
        KpGuestOptions go = { .deadline = o->deadline, .smp = o->smp, .progress = o->progress,
                              .userdata = o->userdata };
        unsigned launches = 0;
        size_t n_pending = 0;
        int r = 0;

        items = calloc(n + 1, sizeof(ScanItem));
        order = calloc(n + 1, sizeof(ScanItem *));
        if (!items || !order)
                return kp_error_set(error, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                results[i] = (KpScanResult) { .status = KP_SCAN_FAILED };
                items[i] = (ScanItem) { .index = i, .req = &requests[i], .result = &results[i], .lock = -EBADF };
                order[i] = &items[i];
                if (kp_boot_request_key(&requests[i], &items[i].key) < 0) {
                        r = kp_error_set(error, -ENOMEM, "out of memory");
                        goto finish;
                }
        }

        /* Locks are always taken in the same order, whoever scans. */
        qsort(order, n, sizeof(ScanItem *), item_cmp);
        for (size_t i = 0; i < n; i++) {
                begin(cache, state, order[i], o, lock_deadline);
                if (order[i]->pending)
                        n_pending++;
        }

        if (n_pending > 0) {
                KpError e = {};

                r = kp_guest_session_new(&go, &e, &s);
                for (size_t i = 0; r >= 0 && i < n; i++) {
                        KpDiskSpec spec = { .path = items[i].req->disk, .format = KP_DISK_FORMAT_RAW };

                        if (!items[i].pending)
                                continue;
                        /* libxl hands the bootloader a raw view: an image file, a block device, /dev/xvdX. */
                        r = kp_guest_session_add_guest(s, &spec, 1, &e, &items[i].guest);
                        if (r < 0)
                                fail(&items[i], r, "%s", e.message);
                }
                if (r < 0) {
                        for (size_t i = 0; i < n; i++)
                                if (items[i].pending)
                                        fail(&items[i], r, "%s", e.message);
                } else
                        for (size_t i = 0; i < n; i++)
                                if (items[i].pending)
                                        inspect_one(cache, state, s, &items[i], o, lock_deadline);
                r = 0;
                if (s)
                        launches = kp_guest_session_launches(s);
                /* The appliance goes before the locks do. */
                s = kp_guest_session_free(s);
        }

finish:
        for (size_t i = 0; i < n; i++) {
                if (r >= 0)
                        step(o, &items[i], results[i].status == KP_SCAN_FAILED ? "failed" : "done");
                unlock(&items[i]);
                kp_disk_state_free(items[i].prev);
                free(items[i].key);
        }
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        kp_scan_result_done(&results[i]);
                return r;
        }
        if (ret_launches)
                *ret_launches = launches;
        return 0;
}
