/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * kunpack.conf: the one configuration file of every kunpack program, in
 * the xl.cfg syntax Xen admins already write. It is read by
 * lib/settings/xlcfg.c, which accepts and refuses what libxlutil (the
 * parser xl itself uses) does, without linking it. conf/kunpack.conf
 * documents every key.
 *
 * Loading is strict: an unknown key, a value of the wrong type or out of
 * range, or a syntax error fails with "FILE:LINE: reason", so a typo never
 * silently turns into a default.
 */

#include <stdbool.h>
#include <stdint.h>

#include "kunpack.h"
#include "util/macro.h"

/*
 * The appliance's memory (appliance_memsize). libguestfs's default is 1280
 * MiB of guest RAM, a large share of a dom0's 1-4 GiB when several guests
 * are scanned at once; kunpack's appliance only mounts filesystems
 * read-only and streams files. docs/isolation.md gives the measurement
 * behind this figure.
 */
#define KP_APPLIANCE_DEFAULT_MEMSIZE_MIB 512

/*
 * Pre-booted appliances kunpackd keeps ready (appliance_pool), each taken
 * by one guest's scan and then gone (docs/pool.md); and how long an idle
 * one lives before it is replaced (pool_max_age), so that updates of
 * qemu, libguestfs or dom0's kernel reach the pool.
 */
#define KP_APPLIANCE_POOL_DEFAULT 1
#define KP_APPLIANCE_POOL_MAX 16
#define KP_POOL_MAX_AGE_DEFAULT 3600

typedef enum KpOnFailure {
        KP_ON_FAILURE_PVGRUB = 0, /* answer libxl with pvgrub: the guest boots as it did before kunpack */
        KP_ON_FAILURE_FAIL,       /* exit non-zero with one clear line: the start fails */
        /*
         * For a failure on the host's side (a timeout, an appliance that
         * does not launch, a full disk in dom0): the plan of the disk's last
         * good scan, stale, said loudly; anything else as PVGRUB.
         */
        KP_ON_FAILURE_LAST_GOOD,
        _KP_ON_FAILURE_MAX,
} KpOnFailure;

/* "pvgrub", "fail" (kunpack.conf's spelling). */
const char *kp_on_failure_to_string(KpOnFailure f);
int kp_on_failure_from_string(const char *s, KpOnFailure *ret);

typedef struct KpSettings {
        char *path;                    /* the file read; NULL when only defaults apply */
        char *cache_dir;               /* decompressed kernels, content-addressed */
        char *state_dir;               /* per-disk boot plans */
        char *socket_path;             /* kunpackd's control socket */
        char *pvgrub_path;             /* pvgrub2 image: the fallback kernel, and pvgrub mode's kernel */
        char *metrics_textfile;        /* kunpackd writes its metrics here (Prometheus text); NULL: nowhere */
        KpOnFailure on_failure;
        uint64_t max_kernel_size;      /* cap on a decompressed kernel, bytes (≤ Xen's 1 GiB) */
        uint64_t cache_max_size;       /* the garbage collector keeps the cache below this, bytes */
        uint64_t cache_max_age;        /* unreferenced entries unused this long are collected, seconds */
        uint64_t cache_min_free;       /* nothing new is stored while the cache's filesystem has less free, bytes */
        uint64_t cache_max_guest_size; /* the cache space one guest's boot files may take, bytes */
        uint64_t boot_timeout;         /* kunpack-boot answers within this, seconds (< libxl's 120) */
        uint64_t scan_interval;        /* running guests are rescanned this often, seconds */
        /*
         * kunpackd's READY=1 waits at most this long for the autostart
         * guests' scans at its start (xendomains starts them next), seconds;
         * 0: READY=1 at once.
         */
        uint64_t startup_scan_timeout;
        unsigned scan_concurrency;     /* libguestfs appliances at once, one guest each */
        uint64_t appliance_memsize;    /* memory of one appliance, bytes (whole MiB) */
        unsigned appliance_pool;       /* kunpackd's pre-booted single-use appliances; 0: none */
        uint64_t pool_max_age;         /* an idle pooled appliance is replaced after this, seconds */
        /*
         * drives_per_appliance batched several guests into one appliance;
         * each guest has its own now (docs/isolation.md). Old files keep
         * working: the value is still checked, then ignored, with a note.
         */
        unsigned obsolete_drives_per_appliance;
        char **notes;                  /* "FILE:LINE: ..." about settings without effect, for programs to log */
        char **domain_config_dirs;     /* where xl domain configs are looked for */
        bool trust_foreign_plans;      /* accept plans whose disk identity cannot be re-checked here */
} KpSettings;

/*
 * Which file to read: explicit (a --config option) if set, else
 * $KUNPACK_CONFIG if set, else KP_SETTINGS_FILE. ret_explicit says whether the
 * admin named it (then a missing file is an error, not "use defaults").
 */
const char *kp_settings_choose_path(const char *explicit_path, bool *ret_explicit);

/* A config holding only the defaults. */
int kp_settings_new_default(KpSettings **ret);

/*
 * Loads path over the defaults. When path is missing and must_exist is
 * false, the defaults are returned with ret->path NULL.
 */
int kp_settings_load(const char *path, bool must_exist, KpError *error, KpSettings **ret);

/* Reads text (size bytes) as the contents of the file path, over the defaults. */
int kp_settings_parse(const char *path, const char *text, size_t size, KpError *error, KpSettings **ret);

KpSettings *kp_settings_free(KpSettings *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(KpSettings *, kp_settings_free);
