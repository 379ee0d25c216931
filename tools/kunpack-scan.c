/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kunpack-scan DISK...: the cold path, in a process of its own. Scans
 * guests' disks, each guest in a libguestfs appliance of its own, brings
 * the kernel cache up to date for what each boots, and records it in the
 * state store, so that the next start of each guest is answered by
 * kunpack-boot's hot path.
 *
 * kunpack-boot runs it (with --deadline and --json) when a disk's record
 * is stale; kunpackd runs it for its scans; an admin or a test rig runs it
 * to prepare disks ahead of their start. See kunpack-scan(8).
 */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "boot/fallback.h"
#include "boot/gc.h"
#include "boot/pool-protocol.h"
#include "boot/pvgrub-mode.h"
#include "boot/scan.h"
#include "settings/settings.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/messages.h"
#include "util/strv.h"
#include "util/time-util.h"
#include "util/tty-progress.h"
#include "xl/domain.h"

/* Exit codes (kunpack-scan(8)). */
#define EXIT_SCAN_FAILED 1   /* at least one disk failed; the others were done */
#define EXIT_USAGE 2         /* invalid arguments or configuration: nothing was done */

/*
 * Without --timeout or --deadline a scan still ends: an appliance launch
 * takes 10-25 s under emulation, a busy host may take several times that;
 * five minutes is the e2e suite's own bound for its prepare step.
 */
#define KP_SCAN_DEFAULT_TIMEOUT_SEC 300
/* --timeout: at most a day. */
#define KP_SCAN_MAX_TIMEOUT_SEC (24 * 3600)
/* Guests of one scan (DISK arguments and --domain-config files together). */
#define KP_SCAN_MAX_GUESTS 256
/* A pooled appliance that is not up after this long will not be (kunpack-scan's own default deadline). */
#define KP_POOL_LAUNCH_TIMEOUT_SEC KP_SCAN_DEFAULT_TIMEOUT_SEC

static const char *arg_config;
static const char *arg_entry;
static const char *arg_kernel;
static const char *arg_ramdisk;
static uint64_t arg_deadline;
static bool arg_force;
static bool arg_pvgrub;
static uint32_t arg_domid = UINT32_MAX;
static KpDiskFormat arg_format = KP_DISK_FORMAT_RAW;
static bool arg_json;
static bool arg_quiet;
static bool arg_pool_worker;
/* Parsing kunpackd's request to a pool worker, not the command line. */
static bool arg_in_request;
static unsigned arg_smp;
static int arg_progress_fd = -EBADF;
static char **arg_domain_configs;
/* Position among the guests (DISKs, then --domain-config files) of each guest given to kp_boot_scan(). */
static size_t *arg_slots;
/* The last appliance stage logged for each of them (guests are scanned in threads of their own). */
static int *arg_last_stage;
static const char **arg_names;
static pthread_mutex_t progress_lock = PTHREAD_MUTEX_INITIALIZER;

static void help(void)
{
        printf("Usage: kunpack-scan [OPTIONS] DISK... [--domain-config=FILE]...\n\n"
               "Scan guests' disks, each guest in a libguestfs appliance of its own: find what\n"
               "each boots, put its decompressed kernel and initrds in the cache, and record it,\n"
               "so that the next start of each guest needs no scan. Each DISK is a guest of its\n"
               "own; the disks of an xl domain config named with --domain-config form one guest.\n"
               "A guest whose record is fresh and whose files are cached is left alone (see\n"
               "--force).\n\n"
               "Options:\n"
               "     --config=FILE        Read FILE instead of $KUNPACK_CONFIG or %s\n"
               "     --domain-config=FILE The disks of this xl domain config are one guest\n"
               "     --format=raw|qcow2   The format of each DISK (default raw; never probed)\n"
               "     --entry=N|TITLE      Boot this entry instead of the one the config selects\n"
               "     --kernel=PATH        Use this guest file as the kernel, read no config (direct)\n"
               "     --ramdisk=PATH       ... and this one as the ramdisk\n"
               "     --timeout=SECONDS    Give up after SECONDS (default %d)\n"
               "     --deadline=USEC      Give up at this CLOCK_MONOTONIC time (kunpack-boot's)\n"
               "     --force              Scan even disks whose record is fresh\n"
               "     --pvgrub             pvgrub mode: decompress kernels into the guest's /boot and\n"
               "                          point its boot config at them (one disk, no domain using it)\n"
               "     --domid=ID           With --pvgrub: the domain being built, not a user of the disk\n"
               "     --smp=N              Give the appliance N virtual CPUs (1-%d)\n"
               "     --pool-worker        Boot an appliance, then scan the one guest kunpackd names\n"
               "                          on standard input (kunpackd's pool; kunpackd(8))\n"
               "     --json               Print a summary as JSON on standard output\n"
               "     --progress-fd=FD     Write progress lines \"INDEX STEP PERCENT\" to FD\n"
               "  -q --quiet              Report failures only\n"
               "  -v --verbose            Report progress\n"
               "  -h --help               Show this help\n"
               "     --version            Show the version\n\n"
               "Exit status: 0 every disk done, 1 some disk failed, 2 invalid arguments or config.\n",
               KP_SETTINGS_FILE, KP_SCAN_DEFAULT_TIMEOUT_SEC, KP_GUEST_MAX_SMP);
}

static int parse_uint(const char *s, uint64_t max, uint64_t *ret)
{
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-' || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

/*
 * Progress for a program (kunpackd): one line per event on --progress-fd,
 * "INDEX STEP PERCENT", INDEX the guest's position among the guests
 * (DISK arguments, then --domain-config files) from 0. Each line is one
 * write() of less than PIPE_BUF bytes, so lines from the threads that scan
 * guests at once never interleave.
 */
static void progress_line(const char *index, const char *what, unsigned percent)
{
        char line[128];
        int n;

        if (arg_progress_fd < 0)
                return;
        n = snprintf(line, sizeof(line), "%s %s %u\n", index, what, percent);
        if (n > 0 && (size_t) n < sizeof(line))
                (void) kp_loop_write(arg_progress_fd, line, (size_t) n);
}

static void on_step(size_t index, const char *what, void *userdata)
{
        char i[32];

        (void) snprintf(i, sizeof(i), "%zu", arg_slots[index]);
        progress_line(i, what, streq(what, "done") || streq(what, "failed") ? 100 : 0);
        kp_tty_progress_set("%s: %s", arg_names[arg_slots[index]], what);
}

static void progress(size_t index, KpGuestStage stage, unsigned percent, void *userdata)
{
        static const char *const words[_KP_GUEST_STAGE_MAX] = {
                [KP_GUEST_STAGE_LAUNCH] = "launching its libguestfs appliance",
                [KP_GUEST_STAGE_READY] = "appliance ready",
                [KP_GUEST_STAGE_SCAN] = "looking at the guest's filesystems",
                [KP_GUEST_STAGE_FILES] = "checksumming kernels and initrds",
        };
        char i[32];
        bool say;

        (void) snprintf(i, sizeof(i), "%zu", arg_slots[index]);
        progress_line(i, kp_guest_stage_to_string(stage), MIN(percent, 100u));
        /* On a terminal, a status line that follows every step (util/tty-progress.h); the newest guest's. */
        if (percent > 0 && percent < 100)
                kp_tty_progress_set("%s: %s %u%%", arg_names[arg_slots[index]], words[stage], percent);
        else
                kp_tty_progress_set("%s: %s", arg_names[arg_slots[index]], words[stage]);
        pthread_mutex_lock(&progress_lock);
        say = (int) stage != arg_last_stage[index] && !arg_quiet;
        arg_last_stage[index] = (int) stage;
        pthread_mutex_unlock(&progress_lock);
        if (say)
                log_info("%s: %s", arg_names[arg_slots[index]], words[stage]);
}

static int parse_argv(int argc, char *argv[])
{
        enum { ARG_CONFIG = 0x100, ARG_DOMAIN_CONFIG, ARG_ENTRY, ARG_KERNEL, ARG_RAMDISK, ARG_TIMEOUT, ARG_DEADLINE, ARG_FORCE,
               ARG_SMP, ARG_JSON, ARG_PROGRESS_FD, ARG_VERSION, ARG_PVGRUB, ARG_DOMID, ARG_POOL_WORKER,
               ARG_FORMAT };
        static const struct option options[] = {
                { "config", required_argument, NULL, ARG_CONFIG },
                { "domain-config", required_argument, NULL, ARG_DOMAIN_CONFIG },
                { "entry", required_argument, NULL, ARG_ENTRY },
                { "kernel", required_argument, NULL, ARG_KERNEL },
                { "ramdisk", required_argument, NULL, ARG_RAMDISK },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                { "deadline", required_argument, NULL, ARG_DEADLINE },
                { "force", no_argument, NULL, ARG_FORCE },
                { "pvgrub", no_argument, NULL, ARG_PVGRUB },
                { "domid", required_argument, NULL, ARG_DOMID },
                { "format", required_argument, NULL, ARG_FORMAT },
                { "smp", required_argument, NULL, ARG_SMP },
                { "json", no_argument, NULL, ARG_JSON },
                { "progress-fd", required_argument, NULL, ARG_PROGRESS_FD },
                { "pool-worker", no_argument, NULL, ARG_POOL_WORKER },
                { "quiet", no_argument, NULL, 'q' },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {},
        };
        uint64_t v;
        int c;

        arg_deadline = kp_now_usec(CLOCK_MONOTONIC) + KP_SCAN_DEFAULT_TIMEOUT_SEC * USEC_PER_SEC;
        while ((c = getopt_long(argc, argv, "qvh", options, NULL)) >= 0)
                switch (c) {
                case ARG_CONFIG:
                        arg_config = optarg;
                        break;
                case ARG_DOMAIN_CONFIG:
                        if (access(optarg, R_OK) < 0) {
                                log_error("--domain-config: cannot read \"%s\": %m", optarg);
                                return -EINVAL;
                        }
                        if (strv_extend(&arg_domain_configs, optarg) < 0)
                                return log_error_errno(-ENOMEM, "out of memory");
                        break;
                case ARG_ENTRY:
                        arg_entry = optarg;
                        break;
                case ARG_KERNEL:
                        arg_kernel = optarg;
                        break;
                case ARG_RAMDISK:
                        arg_ramdisk = optarg;
                        break;
                case ARG_TIMEOUT:
                        if (parse_uint(optarg, KP_SCAN_MAX_TIMEOUT_SEC, &v) < 0 || v == 0) {
                                log_error("--timeout: expected 1 to %d seconds, got \"%s\"", KP_SCAN_MAX_TIMEOUT_SEC,
                                          optarg);
                                return -EINVAL;
                        }
                        arg_deadline = kp_now_usec(CLOCK_MONOTONIC) + v * USEC_PER_SEC;
                        break;
                case ARG_DEADLINE:
                        if (parse_uint(optarg, UINT64_MAX, &v) < 0 || v == 0) {
                                log_error("--deadline: expected a CLOCK_MONOTONIC time in microseconds, got \"%s\"",
                                          optarg);
                                return -EINVAL;
                        }
                        arg_deadline = v;
                        break;
                case ARG_FORCE:
                        arg_force = true;
                        break;
                case ARG_PVGRUB:
                        arg_pvgrub = true;
                        break;
                case ARG_DOMID:
                        /* Xen's domain ids end below DOMID_FIRST_RESERVED (0x7FF0). */
                        if (parse_uint(optarg, 0x7FEF, &v) < 0) {
                                log_error("--domid: expected a domain id, got \"%s\"", optarg);
                                return -EINVAL;
                        }
                        arg_domid = (uint32_t) v;
                        break;
                case ARG_FORMAT: {
                        KpError e = {};
                        int k = kp_disk_format_from_string(optarg, &e, &arg_format);

                        if (k < 0) {
                                log_error("--format: %s", e.message);
                                return -EINVAL;
                        }
                        break;
                }
                case ARG_SMP:
                        if (parse_uint(optarg, KP_GUEST_MAX_SMP, &v) < 0 || v == 0) {
                                log_error("--smp: expected 1 to %d, got \"%s\"", KP_GUEST_MAX_SMP, optarg);
                                return -EINVAL;
                        }
                        arg_smp = (unsigned) v;
                        break;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_PROGRESS_FD:
                        if (parse_uint(optarg, INT_MAX, &v) < 0 || v <= STDERR_FILENO ||
                            fcntl((int) v, F_GETFD) < 0) {
                                log_error("--progress-fd: expected an open file descriptor above 2, got \"%s\"",
                                          optarg);
                                return -EINVAL;
                        }
                        arg_progress_fd = (int) v;
                        /* Not for the appliance and its helpers. */
                        (void) fcntl(arg_progress_fd, F_SETFD, FD_CLOEXEC);
                        break;
                case ARG_POOL_WORKER:
                        arg_pool_worker = true;
                        break;
                case 'q':
                        arg_quiet = true;
                        kp_log_set_max_level(LOG_WARNING);
                        break;
                case 'v':
                        kp_log_set_max_level(LOG_DEBUG);
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("kunpack-scan %s\n", PACKAGE_VERSION);
                        return 0;
                default:
                        return -EINVAL;
                }
        if (arg_in_request) {
                /* The worker's settings, appliance and mode are its own; a request names one guest. */
                if (arg_config || arg_pool_worker || arg_pvgrub || arg_smp || arg_domid != UINT32_MAX) {
                        log_error("kunpackd's request may not set --config, --pool-worker, --pvgrub, --smp "
                                  "or --domid");
                        return -EINVAL;
                }
                if ((size_t) (argc - optind) + strv_length(arg_domain_configs) != 1) {
                        log_error("kunpackd's request names %zu guests: a pooled appliance takes one",
                                  (size_t) (argc - optind) + strv_length(arg_domain_configs));
                        return -EINVAL;
                }
        } else if (arg_pool_worker) {
                if (optind < argc || arg_domain_configs || arg_entry || arg_kernel || arg_ramdisk || arg_pvgrub ||
                    arg_force || arg_json || arg_progress_fd >= 0) {
                        log_error("--pool-worker takes no guest and no scan option: they come with kunpackd's "
                                  "request");
                        return -EINVAL;
                }
                return 1;
        }
        if (optind >= argc && !arg_domain_configs) {
                log_error("no disk given (see --help)");
                return -EINVAL;
        }
        if ((size_t) (argc - optind) + strv_length(arg_domain_configs) > KP_SCAN_MAX_GUESTS) {
                log_error("%zu guests given; one scan takes at most %d",
                          (size_t) (argc - optind) + strv_length(arg_domain_configs), KP_SCAN_MAX_GUESTS);
                return -EINVAL;
        }
        if (arg_ramdisk && !arg_kernel) {
                log_error("--ramdisk needs --kernel");
                return -EINVAL;
        }
        /* An option a mode would ignore is refused, as kunpack-boot refuses it (docs/boot-path.md). */
        if (arg_entry && arg_kernel) {
                log_error("--entry has no effect with --kernel: no boot config is read");
                return -EINVAL;
        }
        if (arg_domid != UINT32_MAX && !arg_pvgrub) {
                log_error("--domid has no effect without --pvgrub");
                return -EINVAL;
        }
        if (arg_pvgrub && (argc - optind != 1 || arg_kernel || arg_entry || arg_domain_configs)) {
                log_error("--pvgrub takes one disk, and neither --kernel, --entry nor --domain-config "
                          "(GRUB shows its own menu)");
                return -EINVAL;
        }
        return 1;
}

/*
 * pvgrub mode for one disk (kunpack-boot --mode=pvgrub runs this): the
 * guest's /boot gets decompressed kernels and its config points at them.
 * The failure's reason is the last line on stderr, which kunpack-boot
 * repeats; --json adds a one-line summary.
 */
/*
 * kunpack's cache and state directories are root's (mode 0700), and so are
 * most guest disks: a refusal met without root says that, on the same line,
 * since an admin trying the command by hand meets it first.
 */
static const char *root_hint(int r)
{
        return (r == -EACCES || r == -EPERM) && geteuid() != 0
                       ? " (kunpack-scan runs as root: kunpack's cache and state, and most guest disks, are root's)"
                       : "";
}

/* A start that cannot copy pvgrub into a full /var links this copy (boot/fallback.h). */
static void stage_pvgrub(const KpSettings *settings)
{
        KpError error = {};

        if (kp_boot_fallback_stage(settings->pvgrub_path, settings->cache_dir, &error) < 0)
                log_debug("cannot stage a copy of %s: %s", settings->pvgrub_path, error.message);
}

static int run_pvgrub(const KpSettings *settings, KpStateStore *state, const char *disk)
{
        _cleanup_free_ char *field = NULL;
        KpPvgrubRunOptions o = {
                .deadline = arg_deadline,
                .force = arg_force,
                .trust_foreign = settings->trust_foreign_plans,
                .exclude_domid = arg_domid,
                .tmp_dir = settings->cache_dir,
                .tmp_min_free = settings->cache_min_free,
                .max_kernel_size = settings->max_kernel_size,
                .smp = arg_smp,
        };
        KpDiskSpec spec = { .path = (char *) disk, .format = arg_format };
        KpPvgrubReport rep = {};
        KpError error = {};
        bool fresh = false;
        int r;

        if (asprintf(&field, "DISK=%s", disk) < 0)
                return log_error_errno(-ENOMEM, "out of memory"), EXIT_FAILURE;
        r = kp_boot_pvgrub_run(state, &spec, &o, &error, &rep, &fresh);
        if (arg_json)
                printf("{\"disk\":\"%s\",\"mode\":\"pvgrub\",\"ok\":%s,\"fresh\":%s,\"written\":%u,"
                       "\"kept\":%u,\"removed\":%u,\"config_written\":%s}\n",
                       kp_string_is_printable(disk) && !strpbrk(disk, "\"\\") ? disk : "?",
                       r < 0 ? "false" : "true", fresh ? "true" : "false", rep.written, rep.kept, rep.removed,
                       rep.config_written ? "true" : "false");
        if (r < 0) {
                log_struct(LOG_ERR, r, KP_FIELDS(KP_MESSAGE_SCAN_FAILED, field), "%s: pvgrub mode: %s%s", disk,
                           error.message, root_hint(r));
                return EXIT_SCAN_FAILED;
        }
        log_struct(LOG_INFO, 0, KP_FIELDS(KP_MESSAGE_SCAN_FINISHED, field), "%s: pvgrub mode: %s", disk,
                   rep.message);
        return EXIT_SUCCESS;
}

static void report(const KpScanResult *res, const char *disk)
{
        const KpBootEntry *e = res->state && res->state->plan ? kp_boot_plan_selected(res->state->plan) : NULL;
        _cleanup_free_ char *field = NULL;

        if (asprintf(&field, "DISK=%s", disk) < 0)
                field = NULL;
        if (res->status == KP_SCAN_FAILED) {
                log_struct(LOG_ERR, res->error, KP_FIELDS(KP_MESSAGE_SCAN_FAILED, field ?: "DISK="), "%s: %s%s", disk,
                           res->message, root_hint(res->error));
                return;
        }
        if (!e)
                return;
        log_struct(LOG_INFO, 0, KP_FIELDS(KP_MESSAGE_SCAN_FINISHED, field ?: "DISK="), "%s: %s: \"%s\", kernel %s%s%s%s%s", disk,
                   res->status == KP_SCAN_FRESH ? "fresh" : "scanned", e->menu_path ? e->menu_path : e->title,
                   e->kernel.path, e->kernel.have_info ? " in " : "",
                   e->kernel.have_info ? kp_format_to_string(e->kernel.format) : "",
                   res->next_entry_consumed ? ", one-shot next_entry taken as used" : "",
                   res->fetched ? ", files fetched into the cache" : "");
}

/*
 * The guest an xl domain config describes: its disks, in its order; the
 * first is the one libxl hands the bootloader and keys the state record.
 * The config's own --entry applies unless the command line gives one.
 */
static int guest_from_domain_config(const char *path, KpScanGuest *ret, KpError *error)
{
        _cleanup_(kp_domain_config_freep) KpDomainConfig *c = NULL;
        KpScanGuest g = {};
        int r;

        r = kp_domain_config_load(path, error, &c);
        if (r < 0)
                return r;
        if (c->n_disks == 0)
                return kp_error_set(error, -EINVAL, "%s: no disk", path);
        r = kp_boot_request_init(c->disks[0].path, arg_entry ?: (arg_kernel ? NULL : c->entry), arg_kernel,
                                 arg_ramdisk, error, &g.request);
        if (r < 0)
                return r;
        g.format = c->disks[0].format;
        if (c->n_disks > 1) {
                g.more_disks = calloc(c->n_disks - 1, sizeof(KpDiskSpec));
                if (!g.more_disks) {
                        kp_scan_guest_done(&g);
                        return -ENOMEM;
                }
                for (size_t i = 1; i < c->n_disks; i++) {
                        g.more_disks[i - 1] = (KpDiskSpec) { .path = strdup(c->disks[i].path),
                                                             .format = c->disks[i].format };
                        g.n_more_disks++;
                        if (!g.more_disks[i - 1].path) {
                                kp_scan_guest_done(&g);
                                return -ENOMEM;
                        }
                }
        }
        *ret = g;
        return 0;
}

/*
 * Scans the guests named by disk_args (each DISK a guest) and
 * arg_domain_configs, reports them, prints the summary with --json; the
 * exit status. open_r/open_error: why the cache or the state could not be
 * opened (every guest then fails with it). pooled: a pooled appliance for
 * the guest (kp_boot_scan()), or NULL. start: when the work began, for the
 * summary.
 */
static int scan_guests(KpSettings *settings, KpCache *cache, KpStateStore *state, int open_r, const KpError *open_error,
                       char **disk_args, size_t n_args, KpGuestSession *pooled, uint64_t start)
{
        _cleanup_free_ KpScanGuest *guests = NULL;
        _cleanup_free_ KpScanResult *results = NULL;
        _cleanup_free_ size_t *slot = NULL;
        _cleanup_free_ int *last_stage = NULL;
        _cleanup_free_ char **disks = NULL, **keys = NULL;
        _cleanup_free_ const char **names = NULL;
        size_t n_guests, n_scan = 0, failed = 0;
        unsigned launches = 0;
        bool gc_ran = false;
        KpCacheGcStats gc = {};
        KpError error = {};
        int r;

        n_guests = n_args + strv_length(arg_domain_configs);
        guests = calloc(n_guests, sizeof(KpScanGuest));
        results = calloc(n_guests, sizeof(KpScanResult));
        slot = calloc(n_guests, sizeof(size_t));
        last_stage = calloc(n_guests, sizeof(int));
        disks = calloc(n_guests + 1, sizeof(char *));
        keys = calloc(n_guests + 1, sizeof(char *));
        names = calloc(n_guests + 1, sizeof(char *));
        if (!guests || !results || !slot || !last_stage || !disks || !keys || !names)
                return log_error_errno(-ENOMEM, "out of memory"), EXIT_FAILURE;

        /* Guests that cannot even be named fail on their own; the others are scanned, each on its own. */
        for (size_t i = 0; i < n_guests; i++) {
                const char *what = i < n_args ? disk_args[i] : arg_domain_configs[i - n_args];
                KpError e = {};
                int k;

                names[i] = what;
                disks[i] = (char *) what;
                last_stage[i] = -1;
                results[i].status = KP_SCAN_FAILED;
                if (open_r < 0) {
                        results[i].error = open_r;
                        (void) snprintf(results[i].message, sizeof(results[i].message), "%s", open_error->message);
                        continue;
                }
                if (i < n_args) {
                        k = kp_boot_request_init(what, arg_entry, arg_kernel, arg_ramdisk, &e,
                                                 &guests[n_scan].request);
                        guests[n_scan].format = arg_format;
                } else
                        k = guest_from_domain_config(what, &guests[n_scan], &e);
                if (k < 0) {
                        results[i].error = k;
                        (void) snprintf(results[i].message, sizeof(results[i].message), "%s",
                                        kp_error_message(&e, k));
                        continue;
                }
                slot[n_scan++] = i;
        }

        if (n_scan > 0) {
                _cleanup_free_ KpScanResult *part = calloc(n_scan, sizeof(KpScanResult));
                KpScanOptions o = {
                        .deadline = arg_deadline,
                        .force = arg_force,
                        .trust_foreign = settings->trust_foreign_plans,
                        .max_kernel_size = settings->max_kernel_size,
                        .max_guest_size = settings->cache_max_guest_size,
                        .smp = arg_smp,
                        .concurrency = settings->scan_concurrency,
                        .memsize_mib = (unsigned) (settings->appliance_memsize / (1024 * 1024)),
                        .pooled = pooled,
                        .progress = progress,
                        .on_step = on_step,
                };

                if (!part)
                        return log_error_errno(-ENOMEM, "out of memory"), EXIT_FAILURE;
                arg_slots = slot;
                arg_last_stage = last_stage;
                arg_names = names;
                if (!arg_quiet)
                        (void) kp_tty_progress_begin();
                r = kp_boot_scan(cache, state, guests, n_scan, &o, &error, part, &launches);
                kp_tty_progress_end();
                if (r < 0)
                        return log_error_errno(r, "%s", error.message), EXIT_FAILURE;
                for (size_t j = 0; j < n_scan; j++) {
                        results[slot[j]] = part[j];
                        disks[slot[j]] = guests[j].request.disk;
                        if (kp_boot_request_key(&guests[j].request, &keys[slot[j]]) < 0)
                                return log_error_errno(-ENOMEM, "out of memory"), EXIT_FAILURE;
                }

                /* Stores may have grown the cache past its cap; the records just saved are kept. */
                if (kp_boot_gc_if_over(cache, state, settings->cache_max_size, settings->cache_max_age, &error, &gc_ran,
                                       &gc) < 0)
                        log_warning("cache garbage collection: %s", error.message);
                else if (gc_ran)
                        log_info("cache over %" PRIu64 " bytes: removed %zu entries (%" PRIu64 " bytes)",
                                 settings->cache_max_size, gc.removed, gc.removed_bytes);
        }

        for (size_t i = 0; i < n_guests; i++) {
                report(&results[i], disks[i]);
                if (results[i].status == KP_SCAN_FAILED)
                        failed++;
        }

        if (arg_json) {
                _cleanup_free_ char *text = NULL;

                r = kp_scan_summary_format(results, disks, keys, n_guests, launches,
                                           (double) (kp_now_usec(CLOCK_MONOTONIC) - start) / USEC_PER_SEC, &text);
                if (r < 0)
                        return log_error_errno(r, "cannot write the summary"), EXIT_FAILURE;
                fputs(text, stdout);
                fputc('\n', stdout);
        }

        for (size_t j = 0; j < n_scan; j++) {
                kp_scan_result_done(&results[slot[j]]);
                free(keys[slot[j]]);
        }
        for (size_t j = 0; j < n_scan; j++)
                kp_scan_guest_done(&guests[j]);
        return failed ? EXIT_SCAN_FAILED : EXIT_SUCCESS;
}

/* Waits for kunpackd's request on the control socket (fd 0) while watching the appliance; its text. */
static int pool_wait_request(int appliance, char **ret_msg, size_t *ret_size)
{
        _cleanup_free_ char *buf = malloc(KP_POOL_REQUEST_MAX + 1);

        if (!buf)
                return log_error_errno(-ENOMEM, "out of memory");
        for (;;) {
                struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN }, { .fd = appliance, .events = POLLIN } };
                ssize_t n;

                if (poll(p, appliance >= 0 ? 2 : 1, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(-errno, "cannot wait for a request: %m");
                }
                if (appliance >= 0 && p[1].revents) {
                        /* A request may have come at the same moment: it is then served by a new appliance. */
                        if (!(p[0].revents & POLLIN))
                                return -ECHILD;
                }
                if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
                        continue;
                n = recv(STDIN_FILENO, buf, KP_POOL_REQUEST_MAX + 1, MSG_TRUNC);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return log_error_errno(-errno, "cannot read the request: %m");
                if (n == 0)
                        return 0; /* kunpackd closed its end: recycled */
                if ((size_t) n > KP_POOL_REQUEST_MAX)
                        return log_error_errno(-EMSGSIZE, "a request of %zd bytes, more than %d", n,
                                               KP_POOL_REQUEST_MAX);
                *ret_size = (size_t) n;
                *ret_msg = TAKE_PTR(buf);
                return 1;
        }
}

/*
 * kunpack-scan --pool-worker (boot/pool-protocol.h, docs/pool.md): boots a
 * pooled appliance at a low CPU priority, says "ready" to kunpackd, waits
 * for one request, and scans that one guest in it as `kunpack-scan ARGS`
 * would, back at the priority of a scan. The appliance never sees
 * another guest: this process exits after the scan.
 */
static int run_pool_worker(KpSettings *settings)
{
        _cleanup_(kp_cache_freep) KpCache *cache = NULL;
        _cleanup_(kp_state_store_freep) KpStateStore *state = NULL;
        _cleanup_(kp_guest_session_freep) KpGuestSession *s = NULL;
        _cleanup_strv_free_ char **args = NULL;
        _cleanup_free_ char *msg = NULL;
        _cleanup_close_ int appliance = -EBADF;
        KpGuestOptions go = {
                .deadline = kp_now_usec(CLOCK_MONOTONIC) + KP_POOL_LAUNCH_TIMEOUT_SEC * USEC_PER_SEC,
                .memsize_mib = (unsigned) (settings->appliance_memsize / (1024 * 1024)),
        };
        KpError error = {}, open_error = {};
        size_t size = 0;
        int type = 0, r, open_r;
        socklen_t len = sizeof(type);
        uint64_t start;

        if (getsockopt(STDIN_FILENO, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET) {
                log_error("--pool-worker: standard input must be kunpackd's SOCK_SEQPACKET socket");
                return EXIT_USAGE;
        }
        /*
         * The boot is background work: whatever scan runs meanwhile goes
         * first. qemu and its threads inherit this; the request raises the
         * whole process group back (kunpackd.service allows it: docs/pool.md).
         */
        if (setpriority(PRIO_PROCESS, 0, KP_POOL_NICE) < 0)
                log_warning("cannot lower this pooled appliance's CPU priority: %m");

        r = kp_guest_session_new(&go, &error, &s);
        if (r >= 0)
                r = kp_guest_session_launch_pooled(s, &error);
        if (r < 0) {
                log_error_errno(r, "pooled appliance: %s", error.message);
                return r == -EPROTONOSUPPORT ? KP_POOL_EXIT_UNSUPPORTED : EXIT_FAILURE;
        }
        /* No deadline while it waits: kunpackd recycles it after pool_max_age. */
        kp_guest_session_set_deadline(s, 0);
        appliance = (int) syscall(SYS_pidfd_open, kp_guest_session_appliance_pid(s), 0);
        if (send(STDIN_FILENO, KP_POOL_READY, STRLEN(KP_POOL_READY), MSG_NOSIGNAL) < 0)
                return log_error_errno(-errno, "cannot tell kunpackd the appliance is ready: %m"), EXIT_FAILURE;

        r = pool_wait_request(appliance, &msg, &size);
        if (r == -ECHILD)
                return log_error("the pooled appliance died while it waited"), KP_POOL_EXIT_DIED;
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        start = kp_now_usec(CLOCK_MONOTONIC);
        if (setpriority(PRIO_PGRP, 0, 0) < 0)
                log_warning("cannot raise the pooled appliance's CPU priority for its scan: %m");

        r = kp_pool_request_decode(msg, size, &args);
        if (r < 0)
                return log_error_errno(r, "kunpackd's request is not one"), EXIT_USAGE;
        /* What the worker's own command line set is done with; the request may not set it again. */
        arg_in_request = true;
        arg_config = NULL;
        arg_pool_worker = false;
        optind = 0; /* glibc: start getopt afresh */
        r = parse_argv((int) strv_length(args), args);
        if (r <= 0)
                return EXIT_USAGE;

        /*
         * The cache and the state are opened now, not at the boot: this
         * process may have waited an hour, and an admin may have replaced
         * their directories meanwhile (a descriptor of a removed directory
         * can create nothing in it).
         */
        open_r = kp_cache_open(settings->cache_dir, &open_error, &cache);
        if (open_r >= 0) {
                /* Nothing new is stored below the floor (kunpack.conf cache_min_free). */
                kp_cache_set_min_free(cache, settings->cache_min_free);
                stage_pvgrub(settings);
                open_r = kp_state_open(settings->state_dir, &open_error, &state);
        }

        /* Died after the request came: that guest gets an appliance of its own, as without a pool. */
        if (appliance >= 0 && poll(&(struct pollfd) { .fd = appliance, .events = POLLIN }, 1, 0) > 0) {
                log_warning("the pooled appliance died: launching one for this scan");
                s = kp_guest_session_free(s);
        }
        return scan_guests(settings, cache, state, open_r, &open_error, args + optind,
                           strv_length(args) - (size_t) optind, s, start);
}

static int run(int argc, char *argv[])
{
        _cleanup_(kp_settings_freep) KpSettings *settings = NULL;
        _cleanup_(kp_cache_freep) KpCache *cache = NULL;
        _cleanup_(kp_state_store_freep) KpStateStore *state = NULL;
        uint64_t start = kp_now_usec(CLOCK_MONOTONIC);
        const char *path;
        bool explicit;
        KpError error = {};
        int r, k;

        kp_log_set_target(KP_LOG_TARGET_AUTO);
        /* getopt_long() names argv[0] in its one line about a bad option: the name, not the path. */
        argv[0] = program_invocation_short_name;
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;

        path = kp_settings_choose_path(arg_config, &explicit);
        r = kp_settings_load(path, explicit, &error, &settings);
        if (r < 0) {
                log_error_errno(r, "%s", error.message);
                return EXIT_USAGE;
        }
        if (arg_pool_worker) {
                k = run_pool_worker(settings);
                strv_free(arg_domain_configs);
                return k;
        }
        r = kp_cache_open(settings->cache_dir, &error, &cache);
        if (r >= 0) {
                /* Nothing new is stored below the floor (kunpack.conf cache_min_free). */
                kp_cache_set_min_free(cache, settings->cache_min_free);
                stage_pvgrub(settings);
                r = kp_state_open(settings->state_dir, &error, &state);
        }
        if (arg_pvgrub) {
                if (r < 0)
                        return log_error_errno(r, "%s: pvgrub mode: %s%s", argv[optind], error.message, root_hint(r)),
                               EXIT_SCAN_FAILED;
                k = run_pvgrub(settings, state, argv[optind]);
        } else
                k = scan_guests(settings, cache, state, r, &error, argv + optind, (size_t) (argc - optind), NULL,
                                start);
        strv_free(arg_domain_configs);
        return k;
}

int main(int argc, char *argv[])
{
        int r = run(argc, argv);

        if (fflush(stdout) != 0)
                return EXIT_FAILURE;
        return r;
}
