/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kunpackctl prepare GUEST|--disk=DISK... : what kunpack-boot asks kunpackd
 * at a domain start, through the same client call (lib/client). With
 * --dry-run it says what the next start would boot and whether it would be
 * served at once (hot) or wait for a scan (cold), publishing and scanning
 * nothing; with --output-directory it does what a start does.
 */
#include <assert.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "client/client.h"
#include "guest/diskspec.h"
#include "kunpackctl-bus.h"
#include "kunpackctl-prepare.h"
#include "kunpackctl.h"
#include "settings/settings.h"
#include "util/error.h"
#include "util/json.h"
#include "util/log.h"
#include "util/time-util.h"

/* Disks of one guest given with --disk: as many as a domain config may have. */
#define KPCTL_PREPARE_MAX_DISKS 64

/* The command line, checked. */
typedef struct PrepareArgs {
        KpDiskSpec specs[KPCTL_PREPARE_MAX_DISKS]; /* --disk=, in order */
        size_t n_specs;
        const char *guest;            /* GUEST, or NULL with --disk= */
        char *entry;                  /* --entry=, else the guest's own from Show, or NULL */
        const char *args;             /* --args=, or NULL */
        const char *output_directory; /* --output-directory=, or NULL with --dry-run */
        uint64_t timeout_usec;        /* --timeout=, or 0: the settings' boot_timeout */
        bool dry_run;
} PrepareArgs;

static void prepare_args_done(PrepareArgs *a)
{
        for (size_t i = 0; i < a->n_specs; i++)
                kp_disk_spec_done(&a->specs[i]);
        a->n_specs = 0;
        a->entry = mfree(a->entry);
}

static void help(void)
{
        printf("Usage: kunpackctl prepare GUEST|--disk=DISK[,format=qcow2]... [--dry-run]\n"
               "                          [--output-directory=DIR] [--entry=E] [--args=ARGS]\n"
               "                          [--timeout=SECONDS] [--json]\n\n"
               "Ask kunpackd what a start of the guest boots, as kunpack-boot does. With\n"
               "--dry-run nothing is published or scanned: it says whether the start would\n"
               "be served at once (hot) or wait for a scan (cold).\n");
}

/* Returns 1 to go on, 0 after --help, or -EINVAL after saying what is wrong. */
static int parse_argv(int argc, char **argv, PrepareArgs *a)
{
        enum { ARG_DISK = 0x100, ARG_ENTRY, ARG_ARGS, ARG_OUTPUT_DIRECTORY, ARG_DRY_RUN, ARG_TIMEOUT, ARG_JSON };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "disk", required_argument, NULL, ARG_DISK },
                { "entry", required_argument, NULL, ARG_ENTRY },
                { "args", required_argument, NULL, ARG_ARGS },
                { "output-directory", required_argument, NULL, ARG_OUTPUT_DIRECTORY },
                { "dry-run", no_argument, NULL, ARG_DRY_RUN },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                { "json", no_argument, NULL, ARG_JSON },
                {}
        };
        KpError error = {};
        int c;

        assert(a);

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_DISK:
                        if (a->n_specs >= KPCTL_PREPARE_MAX_DISKS ||
                            kp_disk_spec_parse(optarg, &error, &a->specs[a->n_specs]) < 0) {
                                log_error("--disk=%s: %s", optarg,
                                          a->n_specs >= KPCTL_PREPARE_MAX_DISKS ? "too many disks"
                                                                                : error.message);
                                return -EINVAL;
                        }
                        a->n_specs++;
                        break;
                case ARG_ENTRY:
                        free(a->entry);
                        a->entry = strdup(optarg);
                        break;
                case ARG_ARGS:
                        a->args = optarg;
                        break;
                case ARG_OUTPUT_DIRECTORY:
                        a->output_directory = optarg;
                        break;
                case ARG_DRY_RUN:
                        a->dry_run = true;
                        break;
                case ARG_TIMEOUT: {
                        char *end;
                        unsigned long s = strtoul(optarg, &end, 10);
                        if (*end || s == 0 || s > 3600) {
                                log_error("--timeout=%s: expected 1 to 3600 seconds", optarg);
                                return -EINVAL;
                        }
                        a->timeout_usec = s * USEC_PER_SEC;
                        break;
                }
                case ARG_JSON:
                        arg_json = true;
                        break;
                default:
                        return -EINVAL;
                }

        if ((a->n_specs > 0) == (optind < argc) || argc - optind > 1) {
                log_error("prepare takes one guest name or --disk=");
                return -EINVAL;
        }
        if (!a->dry_run && !a->output_directory) {
                log_error("prepare publishes into --output-directory=DIR (or says what it would do with --dry-run)");
                return -EINVAL;
        }
        a->guest = optind < argc ? argv[optind] : NULL;
        return 1;
}

/* The disks and entry of a registered guest, from the daemon's Show. */
static int guest_disks(sd_bus *bus, const char *guest, KpPrepareDisk *disks, size_t *n, char **ret_entry,
                       yajl_val *ret_tree)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        yajl_val v, list;
        const char *text, *entry;
        int r;

        assert(bus);
        assert(guest);
        assert(disks);
        assert(n && *n <= KPCTL_PREPARE_MAX_DISKS);
        assert(ret_entry);
        assert(ret_tree);

        /* No such guest fails the verb; a refusal means no daemon to use (call_failed()). */
        r = call_daemon(bus, "Show", KPCTL_CALL_TIMEOUT_USEC, &reply, "s", guest);
        if (r != KPCTL_EXIT_OK)
                return r;
        if (sd_bus_message_read(reply, "s", &text) < 0)
                return log_error("malformed answer"), KPCTL_EXIT_FAILURE;
        r = kp_json_parse(text, NULL, &v);
        if (r < 0)
                return log_error("malformed answer"), KPCTL_EXIT_FAILURE;
        list = kp_json_get(v, "disks");
        for (size_t i = 0; list && YAJL_IS_ARRAY(list) && i < list->u.array.len && *n < KPCTL_PREPARE_MAX_DISKS; i++) {
                disks[*n].path = kp_json_get_string(list->u.array.values[i], "path");
                disks[*n].format = kp_json_get_string(list->u.array.values[i], "format");
                if (disks[*n].path)
                        (*n)++;
        }
        entry = kp_json_get_string(v, "entry");
        if (entry && !*ret_entry)
                *ret_entry = strdup(entry);
        *ret_tree = v;
        return KPCTL_EXIT_OK;
}

/*
 * The request kunpack-boot would send for this guest: its disks from
 * --disk=, or from the daemon (pointing into *ret_tree, which the caller
 * keeps until the call is done). Returns a KPCTL_EXIT_* code.
 */
static int build_request(sd_bus *bus, const KpSettings *settings, PrepareArgs *a, KpPrepareDisk *disks,
                         yajl_val *ret_tree, KpPrepareRequest *ret)
{
        size_t n = 0;
        int r;

        assert(bus);
        assert(settings);
        assert(a);
        assert(a->n_specs <= KPCTL_PREPARE_MAX_DISKS);
        assert(a->n_specs > 0 || a->guest); /* parse_argv() insists on one of them */
        assert(disks);
        assert(ret_tree);
        assert(ret);

        if (a->n_specs > 0)
                for (; n < a->n_specs; n++) {
                        disks[n].path = a->specs[n].path;
                        disks[n].format = kp_disk_format_to_string(a->specs[n].format);
                }
        else {
                r = guest_disks(bus, a->guest, disks, &n, &a->entry, ret_tree);
                if (r != KPCTL_EXIT_OK)
                        return r;
        }
        *ret = (KpPrepareRequest) {
                .disks = disks,
                .n_disks = n,
                .entry = a->entry,
                .mode = "direct",
                .args = a->args,
                .output_directory = a->output_directory,
                .timeout_usec = a->timeout_usec ? a->timeout_usec : settings->boot_timeout * USEC_PER_SEC,
                .dry_run = a->dry_run,
        };
        return KPCTL_EXIT_OK;
}

static int print_reply(const KpPrepareRequest *req, const KpPrepareReply *reply)
{
        assert(req);
        assert(reply);
        assert(req->dry_run || reply->kernel); /* lib/client refuses an answer without one */

        if (arg_json) {
                _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
                _cleanup_free_ char *text = NULL;
                if (kp_json_gen_new(true, &g) < 0)
                        return KPCTL_EXIT_FAILURE;
                yajl_gen_map_open(g);
                kp_json_kv_bool(g, "hot", reply->hot);
                kp_json_kv_string(g, "kernel", reply->kernel);
                kp_json_kv_string(g, "ramdisk", reply->ramdisk);
                kp_json_kv_string(g, "args", reply->args);
                kp_json_kv_string(g, "guest_kernel", reply->guest_kernel);
                kp_json_kv_string(g, "kernel_sha256", reply->kernel_sha256);
                kp_json_kv_string(g, "detail", reply->detail);
                yajl_gen_map_close(g);
                if (kp_json_gen_finish(g, &text, NULL) >= 0)
                        fputs(text, stdout);
        } else if (req->dry_run) {
                if (reply->hot)
                        printf("hot: the next start boots %s (\"%s\") from the cache at once\n", reply->guest_kernel,
                               reply->detail ? reply->detail : "");
                else
                        printf("cold: the next start waits for a scan (%s)%s%s\n",
                               reply->detail ? reply->detail : "no plan",
                               reply->guest_kernel ? "; the last scan found " : "",
                               reply->guest_kernel ? reply->guest_kernel : "");
                if (reply->kernel)
                        printf("kernel  %s\n", reply->kernel);
                printf("args    %s\n", reply->args ? reply->args : "");
        } else {
                printf("%s\n", reply->hot ? "hot" : "cold");
                printf("kernel  %s\n", reply->kernel);
                if (reply->ramdisk)
                        printf("ramdisk %s\n", reply->ramdisk);
                printf("args    %s\n", reply->args ? reply->args : "");
        }
        return KPCTL_EXIT_OK;
}

int verb_prepare(int argc, char **argv)
{
        _cleanup_(prepare_args_done) PrepareArgs a = {};
        _cleanup_(kp_settings_freep) KpSettings *settings = NULL;
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_(yajl_tree_freep) yajl_val tree = NULL;
        _cleanup_(kp_prepare_reply_done) KpPrepareReply reply = {};
        KpPrepareDisk disks[KPCTL_PREPARE_MAX_DISKS] = {};
        KpPrepareRequest req;
        KpClientOutcome o;
        KpError error = {};
        int r;

        r = parse_argv(argc, argv, &a);
        if (r <= 0)
                return r < 0 ? KPCTL_EXIT_USAGE : KPCTL_EXIT_OK;
        if (load_settings(&settings) < 0)
                return KPCTL_EXIT_USAGE;
        r = connect_daemon(settings, &bus);
        if (r != KPCTL_EXIT_OK)
                return r;
        r = build_request(bus, settings, &a, disks, &tree, &req);
        if (r != KPCTL_EXIT_OK)
                return r;

        o = kp_client_prepare_on(bus, &req, &error, &reply);
        if (o == KP_CLIENT_ANSWERED)
                return print_reply(&req, &reply);
        log_error("%s", kp_error_message(&error, error.code));
        /* Gone before answering, or refused: no daemon to use, as when none listens. Other answers fail. */
        if (o == KP_CLIENT_NO_DAEMON || o == KP_CLIENT_LOST || o == KP_CLIENT_REFUSED)
                return KPCTL_EXIT_UNAVAILABLE;
        return KPCTL_EXIT_FAILURE;
}
