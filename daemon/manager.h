/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * kunpackd's state in memory: the configuration, the cache and state
 * stores, the guest registry, the scan queue and its workers, the control
 * socket's connections and the watchers. Everything runs in one sd-event
 * loop on one thread; scans run in child processes (kunpack-scan), so a
 * hung appliance, a crash in libguestfs or its memory never stay here.
 *
 * What is on disk (the state records, the cache) is the truth; what is
 * here is only what the daemon has followed since it started (which disks
 * changed, which domains run), so a restart loses nothing but that.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "boot/prepare.h"
#include "boot/request.h"
#include "guest/diskspec.h"
#include "store/cache.h"
#include "store/state.h"
#include "util/log.h"
#include "util/list.h"
#include "util/macro.h"
#include "settings/settings.h"
#include "daemon/metrics.h"

typedef struct Manager Manager;
typedef struct Guest Guest;
typedef struct Disk Disk;
typedef struct Worker Worker;
typedef struct Waiter Waiter;
typedef struct RescanCall RescanCall;
typedef struct Connection Connection;
typedef struct XenWatch XenWatch;
typedef struct VerifyRun VerifyRun;

/* Who asked for a scan; higher goes first. A start waiting in kunpack-boot always goes first. */
typedef enum ScanPriority {
        SCAN_PRIORITY_BACKGROUND = 0,  /* a changed image, a stopped domain, the periodic rescan */
        SCAN_PRIORITY_AUTOSTART,       /* at daemon start: guests xendomains is about to start */
        SCAN_PRIORITY_ADMIN,           /* kunpackctl rescan */
        SCAN_PRIORITY_BOOT,            /* Prepare on the cold path: a domain start is waiting */
} ScanPriority;

typedef enum DiskScanState {
        DISK_IDLE,
        DISK_QUEUED,
        DISK_RUNNING,
} DiskScanState;

typedef enum GuestOrigin {
        GUEST_ORIGIN_CONFIG,           /* an xl config in domain_config_dirs */
        GUEST_ORIGIN_PREPARE,          /* a disk some Prepare call named */
        GUEST_ORIGIN_XEN,              /* a running domain libxl told us about */
        _GUEST_ORIGIN_MAX,
} GuestOrigin;

const char *guest_origin_to_string(GuestOrigin o);

/*
 * One scan target: a disk and a request (the guest config's own choice,
 * an --entry, or a direct --kernel=), exactly what one state record and
 * one state lock cover. Several guests may share it.
 */
struct Disk {
        Manager *manager;
        KpBootRequest request;         /* request.disk is the canonical path */
        char *request_key;             /* kp_boot_request_key(): "" for the config's own choice */
        KpDiskSpec *specs;             /* every disk of the guest, this one first, for the appliance */
        size_t n_specs;

        DiskScanState scan;
        ScanPriority priority;         /* while queued */
        uint64_t queued_seq;           /* FIFO within a priority */
        Worker *worker;                /* while running */
        char *step;                    /* what the running scan does: "queued", "launch", "inspect", ... */
        unsigned percent;
        uint64_t scan_started_usec;    /* CLOCK_MONOTONIC, of the running (or last) scan */

        int last_error;                /* of the last scan: 0 or a negative errno */
        char *last_message;
        uint64_t last_scan_usec;       /* CLOCK_REALTIME */

        bool changed;                  /* written (inotify) or used by a domain since the last scan began */
        bool rescan_after;             /* a change came while a scan was running: scan again after it */
        unsigned in_use;               /* running domains that have this disk (Xen) */
        bool vouched;                  /* scanned while every domain start was followed, none used it since */

        Waiter *waiters;
        sd_event_source *settle;       /* inotify debounce: rescan once writes stop */
        sd_event_source *periodic;     /* running guests: rescan every scan_interval */
        KP_LIST_FIELDS(Disk, disks);
};

struct Guest {
        char *name;                    /* xl's name */
        GuestOrigin origin;
        char *config_file;             /* GUEST_ORIGIN_CONFIG */
        bool autostart;                /* found in an .../auto directory */
        char *entry;                   /* --entry= from bootloader_args */
        char *mode;                    /* --mode= from bootloader_args */
        Disk *disk;
        bool seen;                     /* mark for a registry reload */
        KP_LIST_FIELDS(Guest, guests);
};

typedef enum WaiterKind {
        WAITER_PREPARE,
        WAITER_RESCAN,
} WaiterKind;

/* A caller waiting for a disk's scan: a Prepare on the cold path, or a Rescan with --wait. */
struct Waiter {
        Disk *disk;
        WaiterKind kind;
        sd_bus_message *call;          /* PREPARE: the method call to answer */
        char *output_directory;        /* PREPARE */
        char *args;                    /* PREPARE: libxl's --args */
        uint64_t deadline_usec;        /* PREPARE: CLOCK_MONOTONIC */
        sd_event_source *timer;        /* PREPARE: the deadline */
        unsigned scans;                /* PREPARE: scans it has waited for */
        RescanCall *rescan;            /* RESCAN */
        size_t index;                  /* RESCAN: slot in rescan->results */
        KP_LIST_FIELDS(Waiter, waiters);
};

struct RescanCall {
        sd_bus_message *call;
        size_t n, pending;
        struct {
                char *guest;
                char *disk;
                int error;
                char *message;
        } *results;
};

struct Worker {
        Manager *manager;
        pid_t pid;
        int pidfd;
        sd_event_source *child;
        int out_fd;                    /* the scan program's JSON summary */
        sd_event_source *out_source;
        char *out;
        size_t out_size;
        int progress_fd;               /* its progress lines */
        sd_event_source *progress_source;
        char *progress;
        size_t progress_size;
        Disk **disks;
        size_t n_disks;
        uint64_t started_usec;         /* CLOCK_MONOTONIC */
        bool terminated;               /* we asked it to stop */
        bool requeue;                  /* stopped to make room: its disks go back to the queue */
        sd_event_source *timer;        /* its deadline (pooled: its boot's, then pool_max_age), then the SIGKILL */

        /* A pooled run (pool.c): in m->pool, not m->workers, until a scan takes it. */
        bool pooled;
        bool ready;                    /* its appliance is up: it said so on control_fd */
        uint64_t ready_usec;           /* CLOCK_MONOTONIC */
        int control_fd;                /* its standard input, a SOCK_SEQPACKET socket (boot/pool-protocol.h) */
        sd_event_source *control_source;
        KP_LIST_FIELDS(Worker, workers); /* in m->workers, or in m->pool */
};

struct Connection {
        Manager *manager;
        sd_bus *bus;
        uid_t uid;
        pid_t pid;
        KP_LIST_FIELDS(Connection, connections);
};

struct Manager {
        sd_event *event;
        const char *config_arg;        /* --config, or NULL */
        KpSettings *settings;
        KpCache *cache;
        KpStateStore *state;
        char *scan_program;            /* kunpack-scan */
        char *socket_path;

        int listen_fd;
        bool listen_bound;             /* we bound it ourselves (no socket activation): unlink at exit */
        sd_event_source *listen_source;
        Connection *connections;
        sd_id128_t server_id;

        Guest *guests;
        Disk *disks;

        Worker *workers;
        unsigned n_workers;

        /* Pre-booted appliances (pool.c, docs/pool.md), booting or ready, no guest yet. */
        Worker *pool;
        unsigned n_pool;
        unsigned pool_failures;        /* pooled launches failed in a row: refills back off */
        sd_event_source *pool_retry;   /* the next refill after a failure */
        char *pool_disabled;           /* why there is no pool until the next reload, or NULL */
        uint64_t pool_taken, pool_recycled, pool_died;
        uint64_t queue_seq;
        sd_event_source *dispatch;

        int inotify_fd;
        sd_event_source *inotify_source;
        sd_event_source *registry_settle;
        struct {
                int wd;
                char *path;            /* a directory */
                bool config_dir;       /* holds domain configs */
                bool image_dir;        /* holds image files of known disks */
        } *watches;
        size_t n_watches;

        XenWatch *xen;
        sd_event_source *gc_timer;
        VerifyRun *verify;             /* a cache verify in its thread (daemon/verify.h) */
        bool ready_sent;               /* READY=1: after the autostart guests' scans at startup (manager.c) */
        sd_event_source *startup_timer; /* startup_scan_timeout: READY=1 then, scans or not */
        uint64_t startup_usec;         /* CLOCK_MONOTONIC, for the time to READY=1 */

        bool stopping;
        uint64_t started_usec;         /* CLOCK_REALTIME */
        uint64_t scans_ok, scans_failed, appliance_runs, prepares_hot, prepares_cold, prepares_failed;
        Metrics metrics;               /* the rest of what kunpackctl metrics reports (daemon/metrics.h) */
        sd_event_source *metrics_timer; /* metrics_textfile */
        char *status;                  /* the last STATUS= sent */
};

#define log_oom() log_error_errno(-ENOMEM, "out of memory")

/* manager.c */
int manager_new(const char *config_arg, const char *scan_program, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);
int manager_gc(Manager *m, bool dry_run, KpCacheGcStats *ret);
int manager_startup(Manager *m);
int manager_reload(Manager *m);
void manager_stop(Manager *m);
/* Ends the event loop once kunpackd stops and no scan or pooled appliance is left. */
void manager_exit_if_idle(Manager *m);
void manager_update_status(Manager *m);
/* A scan ended or went back to the queue: READY=1 once no autostart guest's startup scan is left. */
void manager_startup_check(Manager *m);
bool manager_xen_running(const Manager *m);

/* journal fields: "GUEST=x" etc. built at run time */
void log_disk_event(int level, int error, const char *message_id, Manager *m, Disk *d, const char *sha256,
                    const char *format, ...) _printf_(7, 8);
