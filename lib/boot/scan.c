/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "boot/fetch.h"
#include "boot/prepare.h"
#include "boot/scan.h"
#include "guest/direct.h"
#include "guest/inspect.h"
#include "util/error.h"
#include "util/time-util.h"
#include "xl/inuse.h"

/* What one guest needs while it is scanned. */
typedef struct ScanItem {
        size_t index;              /* in the caller's array */
        const KpScanGuest *guest;
        const KpBootRequest *req;  /* &guest->request */
        KpScanResult *result;
        char *key;                 /* the state record's request string */
        int lock;
        KpDiskState *prev;         /* the record before this scan (stale or not), or NULL */
        KpDiskIdentity identity;   /* taken before the inspection */
        char *in_use;              /* who used one of the guest's disks when the scan began, or NULL */
        bool pending;              /* still to inspect */
} ScanItem;

/* The guests still to inspect, handed out to the threads that run their appliances. */
typedef struct ScanQueue {
        KpCache *cache;
        KpStateStore *state;
        const KpScanOptions *options;
        uint64_t lock_deadline;
        ScanItem **pending;
        size_t n_pending;
        atomic_size_t next;
        atomic_uint launches;
        KpGuestSession *_Atomic pooled;  /* taken by the first guest that needs an appliance */
} ScanQueue;

void kp_scan_guest_done(KpScanGuest *g)
{
        kp_boot_request_done(&g->request);
        kp_disk_specs_free(g->more_disks, g->n_more_disks);
        g->more_disks = NULL;
        g->n_more_disks = 0;
}

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

/*
 * Who uses one of the guest's disks now (xl/inuse.h), as a string for the
 * record, or NULL when nobody does. When it cannot be told, that is the
 * answer: in doubt, provisional.
 */
static char *guest_in_use(const ScanItem *it)
{
        char user[256];

        for (size_t i = 0; i <= it->guest->n_more_disks; i++) {
                const char *disk = i == 0 ? it->req->disk : it->guest->more_disks[i - 1].path;
                char *who = NULL;

                if (kp_xl_disk_in_use(disk, user, sizeof(user)) == 0)
                        continue;
                if (asprintf(&who, "%s (%s)", user, disk) < 0)
                        who = strdup(user);
                /* Out of memory: say so rather than nothing, which would read as "unused". */
                return who ?: strdup("?");
        }
        return NULL;
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
        it->in_use = guest_in_use(it);
        it->pending = true;
}

static bool same_next_entry(const KpBootPlan *prev, const KpBootPlan *now)
{
        return prev && now && prev->reason == KP_SELECT_NEXT_ENTRY && now->reason == KP_SELECT_NEXT_ENTRY &&
               streq_ptr(prev->reason_detail, now->reason_detail);
}

/* Step 4 for one guest, in its session. */
static void inspect_one(KpCache *cache, KpStateStore *state, KpGuestSession *s, ScanItem *it,
                        const KpScanOptions *o, uint64_t lock_deadline)
{
        _cleanup_(kp_boot_plan_freep) KpBootPlan *plan = NULL;
        KpFetchOptions fetch = {
                .unpack = { .max_output = o->max_kernel_size },
                .max_guest_size = o->max_guest_size,
                .deadline_usec = lock_deadline,
        };
        KpDiskState *st;
        KpError e = {};
        int r;

        step(o, it, "inspecting");
        if (kp_boot_request_is_direct(it->req))
                r = kp_guest_session_inspect_direct(s, 0, it->req->kernel, it->req->ramdisk, &e, &plan);
        else {
                KpInspectOptions io = { .entry = it->req->entry, .selected_only = true };

                r = kp_guest_session_inspect(s, 0, &io, &e, &plan);
                if (r >= 0 && same_next_entry(it->prev ? it->prev->plan : NULL, plan)) {
                        io.parse_flags = KP_BOOTCFG_IGNORE_NEXT_ENTRY;
                        plan = kp_boot_plan_free(plan);
                        r = kp_guest_session_inspect(s, 0, &io, &e, &plan);
                        it->result->next_entry_consumed = r >= 0;
                }
        }
        if (r < 0) {
                fail(it, r, "%s", e.message);
                return;
        }

        step(o, it, "fetching");
        r = kp_boot_fetch_selected(cache, s, 0, plan, &fetch, &e, &it->result->fetched);
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
        /* A domain that started during the scan may have written what was read. */
        st->provisional = it->in_use ? strdup(it->in_use) : guest_in_use(it);
        if (!st->disk || !st->request || (it->in_use && !st->provisional)) {
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

typedef struct ProgressRelay {
        const KpScanOptions *options;
        size_t index;
} ProgressRelay;

static void relay_progress(KpGuestStage stage, unsigned percent, void *userdata)
{
        ProgressRelay *p = userdata;

        if (p->options->progress)
                p->options->progress(p->index, stage, percent, p->options->userdata);
}

/*
 * One guest in an appliance of its own: its disks only, first the one its
 * state record is keyed by. The appliance is the pooled one when this is
 * the first guest to need one and there is a pooled one, else a new one;
 * either way it is gone (or spent) when this returns.
 */
static void scan_in_own_appliance(ScanQueue *q, ScanItem *it)
{
        _cleanup_(kp_guest_session_freep) KpGuestSession *own = NULL;
        _cleanup_free_ KpDiskSpec *disks = NULL;
        const KpScanOptions *o = q->options;
        ProgressRelay relay = { .options = o, .index = it->index };
        KpGuestOptions go = {
                .deadline = o->deadline,
                .smp = o->smp,
                .memsize_mib = o->memsize_mib,
                .progress = relay_progress,
                .userdata = &relay,
        };
        KpGuestSession *pooled = atomic_exchange(&q->pooled, NULL), *s;
        size_t n = 1 + it->guest->n_more_disks;
        KpError e = {};
        int r;

        disks = calloc(n, sizeof(KpDiskSpec));
        if (!disks) {
                fail(it, -ENOMEM, "out of memory");
                return;
        }
        /* libxl hands the bootloader a raw view of the first disk: an image file, a block device, /dev/xvdX. */
        disks[0] = (KpDiskSpec) { .path = it->req->disk, .format = it->guest->format };
        for (size_t i = 1; i < n; i++)
                disks[i] = it->guest->more_disks[i - 1];

        if (pooled) {
                /* Booted before anyone knew this guest; from now on it is this guest's, under this scan's deadline. */
                s = pooled;
                kp_guest_session_set_deadline(s, o->deadline);
                r = kp_guest_session_attach_guest(s, disks, n, &e, NULL);
        } else {
                r = kp_guest_session_new(&go, &e, &own);
                s = own;
                if (r >= 0)
                        r = kp_guest_session_add_guest(s, disks, n, &e, NULL);
        }
        if (r < 0) {
                fail(it, r, "%s", e.message);
                return;
        }
        inspect_one(q->cache, q->state, s, it, o, q->lock_deadline);
        atomic_fetch_add(&q->launches, kp_guest_session_launches(s));
        /* The appliance goes before the lock does (the caller unlocks); a pooled one is the caller's to free. */
}

static void *scan_thread(void *userdata)
{
        ScanQueue *q = userdata;
        size_t i;

        while ((i = atomic_fetch_add(&q->next, 1)) < q->n_pending)
                scan_in_own_appliance(q, q->pending[i]);
        return NULL;
}

/*
 * Runs the pending guests' appliances, up to concurrency at once: each
 * thread takes the next guest when its previous one is done. Threads share
 * only the queue's counters, the cache and the state store (whose calls
 * work on files through their own descriptors), and write only their own
 * guest's result.
 */
static void run_appliances(ScanQueue *q, unsigned concurrency)
{
        pthread_t threads[KP_SCAN_MAX_CONCURRENCY];
        size_t n_threads = MIN(q->n_pending, (size_t) KP_SCAN_MAX_CONCURRENCY), started = 0;

        if (concurrency > 0)
                n_threads = MIN(n_threads, (size_t) concurrency);

        /* The calling thread is one of them. */
        for (size_t i = 1; i < n_threads; i++) {
                if (pthread_create(&threads[started], NULL, scan_thread, q) != 0)
                        break; /* fewer threads: the work is the same */
                started++;
        }
        (void) scan_thread(q);
        for (size_t i = 0; i < started; i++)
                (void) pthread_join(threads[i], NULL);
}

int kp_boot_scan(KpCache *cache, KpStateStore *state, const KpScanGuest *guests, size_t n,
                 const KpScanOptions *options, KpError *error, KpScanResult *results, unsigned *ret_launches)
{
        static const KpScanOptions defaults = {};
        _cleanup_free_ ScanItem *items = NULL;
        _cleanup_free_ ScanItem **order = NULL, **pending = NULL;
        const KpScanOptions *o = options ? options : &defaults;
        uint64_t lock_deadline = o->deadline ? o->deadline : UINT64_MAX;
        ScanQueue q = { .cache = cache, .state = state, .options = o, .lock_deadline = lock_deadline,
                        .pooled = o->pooled };
        size_t n_pending = 0;
        int r = 0;

        assert(cache && state && (guests || n == 0) && results);
        items = calloc(n + 1, sizeof(ScanItem));
        order = calloc(n + 1, sizeof(ScanItem *));
        pending = calloc(n + 1, sizeof(ScanItem *));
        if (!items || !order || !pending)
                return kp_error_set(error, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                results[i] = (KpScanResult) { .status = KP_SCAN_FAILED };
                items[i] = (ScanItem) {
                        .index = i,
                        .guest = &guests[i],
                        .req = &guests[i].request,
                        .result = &results[i],
                        .lock = -EBADF,
                };
                order[i] = &items[i];
                if (kp_boot_request_key(&guests[i].request, &items[i].key) < 0) {
                        r = kp_error_set(error, -ENOMEM, "out of memory");
                        goto finish;
                }
        }

        /* Locks are always taken in the same order, whoever scans. */
        qsort(order, n, sizeof(ScanItem *), item_cmp);
        for (size_t i = 0; i < n; i++) {
                begin(cache, state, order[i], o, lock_deadline);
                if (order[i]->pending)
                        pending[n_pending++] = order[i];
        }

        q.pending = pending;
        q.n_pending = n_pending;
        if (n_pending > 0)
                run_appliances(&q, o->concurrency);

finish:
        for (size_t i = 0; i < n; i++) {
                if (r >= 0)
                        step(o, &items[i], results[i].status == KP_SCAN_FAILED ? "failed" : "done");
                unlock(&items[i]);
                kp_disk_state_free(items[i].prev);
                free(items[i].key);
                free(items[i].in_use);
        }
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        kp_scan_result_done(&results[i]);
                return r;
        }
        if (ret_launches)
                *ret_launches = atomic_load(&q.launches);
        return 0;
}
