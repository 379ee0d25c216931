/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kunpackctl inspect DISK[,format=qcow2]...: what a guest would boot, found
 * inside the libguestfs appliance: every entry of its boot configuration,
 * the one selected and why, and for the kernels and initrds their size,
 * sha256 and (kernels) payload format.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "bootcfg/bootplan-json.h"
#include "guest/inspect.h"
#include "kunpackctl-inspect.h"
#include "kunpackctl.h"
#include "settings/settings.h"
#include "util/error.h"
#include "util/json.h"
#include "util/log.h"
#include "util/tty-progress.h"
#include "util/macro.h"
#include "util/strv.h"
#include "util/time-util.h"

/* --timeout: at most a day; libxl's bootloader limit (120 s) is what kunpack-boot itself works under. */
#define KPCTL_INSPECT_MAX_TIMEOUT_SEC (24 * 3600)

static void help(void)
{
        printf("Usage: kunpackctl inspect [OPTIONS] DISK[,format=raw|qcow2]...\n"
               "       kunpackctl inspect --each [OPTIONS] DISK[,format=...]...\n\n"
               "Show what a guest would boot: the entries of its boot configuration, the one\n"
               "selected and why, and size, sha256 and payload format of its kernels and\n"
               "initrds, all read inside the libguestfs appliance. The DISKs are one guest's\n"
               "disks in its order (the first is GRUB's hd0); a disk without format= is raw.\n\n"
               "Options:\n"
               "     --entry=N|TITLE      Select this entry (index, title, id or Submenu>Entry)\n"
               "     --json               Print the boot plan as JSON\n"
               "     --each               Inspect every DISK as a guest of its own (one appliance each)\n"
               "     --selected-only      Checksum only the selected entry's files (faster)\n"
               "     --timeout=SECONDS    Give up (and stop the appliance) after SECONDS\n"
               "     --smp=N              Give the appliance N virtual CPUs (1-%d)\n"
               "  -v --verbose            Report progress on standard error\n"
               "  -h --help               Show this help\n",
               KP_GUEST_MAX_SMP);
}

static const char *errno_name(int r)
{
        const char *n = strerrorname_np(r < 0 ? -r : r);
        return n ? n : "EIO";
}

typedef struct InspectProgress {
        bool verbose;
        int last_stage;
} InspectProgress;

static void progress(KpGuestStage stage, unsigned percent, void *userdata)
{
        static const char *const words[_KP_GUEST_STAGE_MAX] = {
                [KP_GUEST_STAGE_LAUNCH] = "launching the libguestfs appliance",
                [KP_GUEST_STAGE_READY] = "appliance ready",
                [KP_GUEST_STAGE_SCAN] = "looking at the guest's filesystems",
                [KP_GUEST_STAGE_FILES] = "checksumming kernels and initrds",
        };
        InspectProgress *p = userdata;

        /* On a terminal, a status line that follows every step (util/tty-progress.h). */
        if (percent > 0 && percent < 100)
                kp_tty_progress_set("%s %u%%", words[stage], percent);
        else
                kp_tty_progress_set("%s", words[stage]);

        /* With --verbose, one line per stage: the percentages come too often for a log. */
        if (!p->verbose || (int) stage == p->last_stage)
                return;
        p->last_stage = (int) stage;
        log_info("%s", words[stage]);
}

static void print_file(const char *what, const KpFileInfo *f, bool kernel)
{
        printf("     %-7s %s", what, f->path);
        if (!f->have_info) {
                printf("  (not looked at)\n");
                return;
        }
        printf(" on %s\n", f->device);
        printf("             %" PRIu64 " bytes, sha256 %s", f->size, f->sha256);
        if (kernel)
                printf(", %s%s", kp_format_to_string(f->format),
                       kp_format_pvgrub_can_load(f->format) ? "" : " (pvgrub cannot load it)");
        printf("\n");
}

static void print_plan(const char *guest, const KpBootPlan *plan)
{
        if (guest)
                printf("Guest:    %s\n", guest);
        if (plan->config_path)
                printf("Config:   %s on %s (%s)\n", plan->config_path, plan->config_device,
                       kp_boot_config_kind_to_string(plan->kind));
        else
                printf("Config:   none; newest kernel on %s\n", plan->config_device);
        printf("Selected: entry %zu, %s%s%s%s\n\n", plan->selected, kp_select_reason_to_string(plan->reason),
               plan->reason_detail ? " (" : "", plan->reason_detail ? plan->reason_detail : "",
               plan->reason_detail ? ")" : "");

        for (size_t i = 0; i < plan->n_entries; i++) {
                const KpBootEntry *e = &plan->entries[i];

                printf("%c %-3zu %s\n", i == plan->selected ? '*' : ' ', i,
                       e->menu_path ? e->menu_path : e->title ? e->title : "(untitled)");
                if (!e->kernel.path) {
                        printf("     (loads no Linux kernel)\n");
                        continue;
                }
                print_file("kernel", &e->kernel, true);
                for (size_t k = 0; k < e->n_initrds; k++)
                        print_file("initrd", &e->initrds[k], false);
                printf("     cmdline %s\n", e->cmdline ? e->cmdline : "");
        }

        if (plan->warnings && plan->warnings[0]) {
                printf("\nWarnings:\n");
                STRV_FOREACH(w, plan->warnings)
                        printf("  %s\n", *w);
        }
}

static int emit_json(yajl_gen g)
{
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        r = kp_json_gen_finish(g, &text, &size);
        if (r < 0)
                return r;
        fputs(text, stdout);
        if (size == 0 || text[size - 1] != '\n')
                fputc('\n', stdout);
        return 0;
}

static int run_one(char **specs, size_t n_specs, const KpDiskSpec *disks, const KpInspectOptions *opts, bool json)
{
        _cleanup_(kp_boot_plan_freep) KpBootPlan *plan = NULL;
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        KpError error = {};
        int r;

        r = kp_guest_inspect(disks, n_specs, opts, &error, NULL, &plan);
        /* Before anything is printed: the status line shares the terminal with standard output. */
        kp_tty_progress_end();
        if (r < 0) {
                log_error("%s: %s", specs[0], kp_error_message(&error, r));
                return KPCTL_EXIT_FAILURE;
        }

        if (!json) {
                print_plan(NULL, plan);
                return KPCTL_EXIT_OK;
        }
        r = kp_json_gen_new(true, &g);
        if (r >= 0)
                r = kp_boot_plan_to_json(plan, g);
        if (r >= 0)
                r = emit_json(g);
        if (r < 0) {
                log_error("cannot format JSON: %s", strerror(-r));
                return KPCTL_EXIT_FAILURE;
        }
        return KPCTL_EXIT_OK;
}

/* One guest of --each: its disk, its options, and what came of it. */
typedef struct EachGuest {
        const char *spec;
        const KpDiskSpec *disk;
        KpInspectOptions opts;
        int last_stage;         /* for -v, per guest */
        KpBootPlan *plan;
        KpError error;
        int r;
} EachGuest;

typedef struct EachQueue {
        EachGuest *guests;
        size_t n;
        atomic_size_t next;
} EachQueue;

static void *each_thread(void *userdata)
{
        EachQueue *q = userdata;
        size_t i;

        while ((i = atomic_fetch_add(&q->next, 1)) < q->n) {
                EachGuest *g = &q->guests[i];
                g->r = kp_guest_inspect(g->disk, 1, &g->opts, &g->error, NULL, &g->plan);
        }
        return NULL;
}

/*
 * Every disk a guest of its own, each in an appliance of its own
 * (docs/isolation.md), up to scan_concurrency at once, reported in the
 * order given.
 */
static int run_each(char **specs, size_t n_specs, const KpDiskSpec *disks, const KpInspectOptions *opts,
                    unsigned concurrency, bool json)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        _cleanup_free_ EachGuest *guests = NULL;
        _cleanup_free_ pthread_t *threads = NULL;
        EachQueue q = {};
        size_t n_threads = MIN((size_t) (concurrency > 0 ? concurrency : 1), n_specs), started = 0;
        int r, ret = KPCTL_EXIT_OK;

        guests = calloc(n_specs, sizeof(EachGuest));
        threads = calloc(n_threads, sizeof(pthread_t));
        if (!guests || !threads) {
                log_error("out of memory");
                return KPCTL_EXIT_FAILURE;
        }
        for (size_t i = 0; i < n_specs; i++) {
                guests[i] = (EachGuest) { .spec = specs[i], .disk = &disks[i], .opts = *opts, .last_stage = -1 };
                if (opts->guest.progress)
                        guests[i].opts.guest.userdata = &guests[i].last_stage;
        }
        q = (EachQueue) { .guests = guests, .n = n_specs };
        for (size_t i = 1; i < n_threads; i++)
                if (pthread_create(&threads[started], NULL, each_thread, &q) == 0)
                        started++;
        (void) each_thread(&q);
        for (size_t i = 0; i < started; i++)
                (void) pthread_join(threads[i], NULL);
        kp_tty_progress_end();

        if (json) {
                r = kp_json_gen_new(true, &g);
                if (r < 0) {
                        log_error("cannot format JSON: %s", strerror(-r));
                        return KPCTL_EXIT_FAILURE;
                }
                yajl_gen_array_open(g);
        }

        for (size_t i = 0; i < n_specs; i++) {
                _cleanup_(kp_boot_plan_freep) KpBootPlan *plan = TAKE_PTR(guests[i].plan);

                r = guests[i].r;
                if (r < 0) {
                        log_error("%s: %s", specs[i], kp_error_message(&guests[i].error, r));
                        ret = KPCTL_EXIT_FAILURE;
                }
                if (!json) {
                        if (plan) {
                                print_plan(specs[i], plan);
                                printf("\n");
                        }
                        continue;
                }
                yajl_gen_map_open(g);
                kp_json_kv_string(g, "disk", specs[i]);
                if (plan) {
                        kp_json_key(g, "plan");
                        r = kp_boot_plan_to_json(plan, g);
                        if (r < 0) {
                                log_error("cannot format JSON: %s", strerror(-r));
                                return KPCTL_EXIT_FAILURE;
                        }
                } else {
                        kp_json_kv_string(g, "error", kp_error_message(&guests[i].error, r));
                        kp_json_kv_string(g, "errno", errno_name(r));
                }
                yajl_gen_map_close(g);
        }

        if (json) {
                yajl_gen_array_close(g);
                r = emit_json(g);
                if (r < 0) {
                        log_error("cannot format JSON: %s", strerror(-r));
                        return KPCTL_EXIT_FAILURE;
                }
        }
        return ret;
}

int verb_inspect(int argc, char **argv)
{
        enum { ARG_ENTRY = 0x100, ARG_JSON, ARG_EACH, ARG_SELECTED_ONLY, ARG_TIMEOUT, ARG_SMP };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "entry", required_argument, NULL, ARG_ENTRY },
                { "json", no_argument, NULL, ARG_JSON },
                { "each", no_argument, NULL, ARG_EACH },
                { "selected-only", no_argument, NULL, ARG_SELECTED_ONLY },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                { "smp", required_argument, NULL, ARG_SMP },
                { "verbose", no_argument, NULL, 'v' },
                {}
        };
        _cleanup_(kp_settings_freep) KpSettings *settings = NULL;
        KpInspectOptions opts = {};
        KpDiskSpec *disks = NULL;
        bool json = arg_json, each = false;
        int verbose = arg_verbose, c, ret;
        InspectProgress inspect_progress = { .last_stage = -1 };
        size_t n = 0;
        char *end;

        while ((c = getopt_long(argc, argv, "hv", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return KPCTL_EXIT_OK;
                case ARG_ENTRY:
                        opts.entry = optarg;
                        break;
                case ARG_JSON:
                        json = true;
                        break;
                case ARG_EACH:
                        each = true;
                        break;
                case ARG_SELECTED_ONLY:
                        opts.selected_only = true;
                        break;
                case ARG_TIMEOUT: {
                        unsigned long sec;

                        errno = 0;
                        sec = strtoul(optarg, &end, 10);
                        if (errno != 0 || *end != '\0' || sec == 0 || sec > KPCTL_INSPECT_MAX_TIMEOUT_SEC) {
                                log_error("--timeout=%s: expected seconds from 1 to %d", optarg,
                                          KPCTL_INSPECT_MAX_TIMEOUT_SEC);
                                return KPCTL_EXIT_USAGE;
                        }
                        opts.guest.deadline = kp_now_usec(CLOCK_MONOTONIC) + (uint64_t) sec * USEC_PER_SEC;
                        break;
                }
                case ARG_SMP: {
                        unsigned long smp;

                        errno = 0;
                        smp = strtoul(optarg, &end, 10);
                        if (errno != 0 || *end != '\0' || smp == 0 || smp > KP_GUEST_MAX_SMP) {
                                log_error("--smp=%s: expected 1 to %d", optarg, KP_GUEST_MAX_SMP);
                                return KPCTL_EXIT_USAGE;
                        }
                        opts.guest.smp = (unsigned) smp;
                        break;
                }
                case 'v':
                        verbose++;
                        break;
                default:
                        return KPCTL_EXIT_USAGE;
                }
        }

        if (optind >= argc) {
                log_error("inspect: expected at least one DISK; see kunpackctl inspect --help");
                return KPCTL_EXIT_USAGE;
        }
        if (each && opts.entry) {
                log_error("inspect: --entry names an entry of one guest; it does not go with --each");
                return KPCTL_EXIT_USAGE;
        }
        if ((size_t) (argc - optind) > KP_GUEST_MAX_DISKS) {
                log_error("inspect: at most %d disks", KP_GUEST_MAX_DISKS);
                return KPCTL_EXIT_USAGE;
        }

        disks = calloc((size_t) (argc - optind), sizeof(KpDiskSpec));
        if (!disks) {
                log_error("out of memory");
                return KPCTL_EXIT_FAILURE;
        }
        for (int i = optind; i < argc; i++) {
                KpError error = {};
                int r = kp_disk_spec_parse(argv[i], &error, &disks[n]);

                if (r < 0) {
                        log_error("%s", kp_error_message(&error, r));
                        kp_disk_specs_free(disks, n);
                        return KPCTL_EXIT_USAGE;
                }
                n++;
        }

        /* Progress on a terminal always (the appliance takes 10-30 s to boot), lines with --verbose. */
        inspect_progress.verbose = verbose > 0;
        opts.guest.progress = progress;
        opts.guest.userdata = &inspect_progress;

        /* The appliances as kunpackd runs them: their memory, and how many at once for --each. */
        {
                KpError error = {};
                bool explicit_path;
                const char *path = kp_settings_choose_path(arg_config, &explicit_path);

                if (kp_settings_load(path, explicit_path, &error, &settings) < 0) {
                        log_error("%s", error.message);
                        kp_disk_specs_free(disks, n);
                        return KPCTL_EXIT_USAGE;
                }
                opts.guest.memsize_mib = (unsigned) (settings->appliance_memsize / (1024 * 1024));
        }

        (void) kp_tty_progress_begin();
        kp_tty_progress_set("launching the libguestfs appliance");
        if (each)
                ret = run_each(argv + optind, n, disks, &opts, settings->scan_concurrency, json);
        else
                ret = run_one(argv + optind, n, disks, &opts, json);
        kp_tty_progress_end();
        kp_disk_specs_free(disks, n);

        if (fflush(stdout) != 0 || ferror(stdout)) {
                log_error("cannot write to standard output");
                return KPCTL_EXIT_FAILURE;
        }
        return ret;
}
