/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "kunpackctl-doctor.h"
#include "kunpackctl-extract.h"
#include "kunpackctl-gc.h"
#include "kunpackctl-inspect.h"
#include "kunpackctl-list.h"
#include "kunpackctl-metrics.h"
#include "kunpackctl-prepare.h"
#include "kunpackctl-rescan.h"
#include "kunpackctl-scan.h"
#include "kunpackctl-revert.h"
#include "kunpackctl-show.h"
#include "kunpackctl-status.h"
#include "kunpackctl-verify.h"
#include "kunpackctl.h"
#include "util/log.h"
#include "util/macro.h"

const char *arg_config = NULL;
const char *arg_socket = NULL;
bool arg_json = false;
int arg_verbose = 0;

/* One line per verb, in the order --help lists them. */
static const KpctlVerb verbs[] = {
        { "extract", "extract KERNEL -o OUTPUT | --check KERNEL\n"
                     "                       Decompress a kernel to the ELF Xen PV loaders boot", verb_extract },
        { "inspect", "inspect DISK[,format=qcow2]... [--entry N|TITLE] [--json]\n"
                     "                       Show what a guest would boot, found in the libguestfs appliance",
          verb_inspect },
        { "status", "status                  Show what kunpackd is doing", verb_status },
        { "list", "list [--stale] [--failed]\n"
                  "                       The guests kunpackd knows: fresh or not, what each boots, and\n"
                  "                       whether pvgrub2 could load it or it could boot as PVH",
          verb_list },
        { "metrics", "metrics                 kunpackd's metrics, in Prometheus's text format", verb_metrics },
        { "doctor", "doctor [--no-launch]    Check this host's setup for kunpack, one line per check", verb_doctor },
        { "scan", "scan [OPTIONS] DISK... | --domain-config=FILE...\n"
                  "                       Prepare guests ahead of their start: runs kunpack-scan (see kunpack-scan(8))",
          verb_scan },
        { "show", "show GUEST [--changes]  Show a guest's disks, state and what it boots;\n"
                  "                       --changes: what pvgrub mode changed in it (read from its disk)", verb_show },
        { "rescan", "rescan GUEST...|--all [--wait]\n"
                    "                       Scan guests again (and wait for the scans)", verb_rescan },
        { "gc", "gc [--dry-run]          Remove cache entries no guest uses", verb_gc },
        { "verify", "verify                  Re-hash the cache and remove damaged entries", verb_verify },
        { "prepare", "prepare GUEST --dry-run | --output-directory=DIR\n"
                     "                       What the next start boots, hot or cold (as kunpack-boot asks)",
          verb_prepare },
        { "revert", "revert GUEST | --disk=DISK[,format=qcow2]\n"
                    "                       Undo pvgrub mode: restore the guest's boot config, remove kunpack's kernels",
          verb_revert },
};

static void help(void)
{
        printf("Usage: %s [OPTIONS] COMMAND ...\n\n"
               "Administer kunpack: decompress guest kernels for Xen PV boot.\n\n"
               "Commands:\n",
               program_invocation_short_name);
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %s\n", verbs[i].synopsis);
        printf("\nOptions:\n"
               "  -h --help            Show this help\n"
               "     --version         Show the version\n"
               "     --config=FILE     Read FILE instead of " KP_SETTINGS_FILE "\n"
               "     --socket=PATH     Talk to kunpackd at PATH\n"
               "     --json            Print JSON (read commands)\n"
               "  -v --verbose         Say more (repeat for debug output)\n"
               "\nSee kunpackctl(8).\n");
}

int main(int argc, char **argv)
{
        enum { ARG_VERSION = 0x100, ARG_CONFIG, ARG_SOCKET, ARG_JSON };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "json", no_argument, NULL, ARG_JSON },
                { "verbose", no_argument, NULL, 'v' },
                {}
        };
        int c;

        kp_log_set_target(KP_LOG_TARGET_STDERR);
        arg_config = getenv("KUNPACK_CONFIG");
        /* getopt_long() names argv[0] in its one line about a bad option: the name, not the path. */
        argv[0] = program_invocation_short_name;

        /* "+": stop at the verb, whose options are its own. */
        while ((c = getopt_long(argc, argv, "+hv", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return KPCTL_EXIT_OK;
                case ARG_VERSION:
                        printf("kunpackctl " PACKAGE_VERSION "\n");
                        return KPCTL_EXIT_OK;
                case ARG_CONFIG:
                        arg_config = optarg;
                        break;
                case ARG_SOCKET:
                        arg_socket = optarg;
                        break;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case 'v':
                        arg_verbose++;
                        break;
                default:
                        return KPCTL_EXIT_USAGE;
                }
        }
        if (arg_verbose > 1)
                kp_log_set_max_level(LOG_DEBUG);

        if (optind >= argc) {
                log_error("missing command; see --help");
                return KPCTL_EXIT_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(argv[optind], verbs[i].name)) {
                        _cleanup_free_ char *name = NULL;
                        int verb_argc = argc - optind;
                        char **verb_argv = argv + optind;

                        /* So that getopt_long() says "kunpackctl list: unrecognized option ...". */
                        if (asprintf(&name, "%s %s", program_invocation_short_name, verbs[i].name) < 0)
                                return log_error_errno(-ENOMEM, "out of memory"), KPCTL_EXIT_FAILURE;
                        verb_argv[0] = name;
                        optind = 0; /* let the verb's getopt_long start afresh */
                        return verbs[i].run(verb_argc, verb_argv);
                }

        log_error("unknown command \"%s\"; see --help", argv[optind]);
        return KPCTL_EXIT_USAGE;
}
