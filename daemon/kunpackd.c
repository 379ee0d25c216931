/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kunpackd: keeps every guest's boot plan fresh so that domain starts are
 * answered from the cache (docs/design.md, "Freshness"), and answers
 * kunpack-boot's Prepare calls and kunpackctl on its control socket.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "boot/spawn.h"
#include "daemon/manager.h"
#include "util/error.h"
#include "util/log.h"

static const char *arg_config = NULL;
static char *arg_scan_program = NULL;

static void help(void)
{
        printf("Usage: %s [OPTIONS]\n\n"
               "Keep the boot plans of Xen PV guests fresh and answer kunpack-boot from the cache.\n\n"
               "Options:\n"
               "  -h --help               Show this help\n"
               "     --version            Show the version\n"
               "     --config=FILE        Read FILE instead of " KP_SETTINGS_FILE " (or $KUNPACK_CONFIG)\n"
               "     --scan-program=PATH  Run PATH to scan disks (default: kunpack-scan in " KP_LIBEXECDIR ")\n"
               "  -v --verbose            Log debug messages\n"
               "\nSee kunpackd(8).\n",
               program_invocation_short_name);
}

static int parse_argv(int argc, char **argv)
{
        enum { ARG_VERSION = 0x100, ARG_CONFIG, ARG_SCAN_PROGRAM };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "scan-program", required_argument, NULL, ARG_SCAN_PROGRAM },
                { "verbose", no_argument, NULL, 'v' },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "hv", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("kunpackd " PACKAGE_VERSION "\n");
                        return 0;
                case ARG_CONFIG:
                        arg_config = optarg;
                        break;
                case ARG_SCAN_PROGRAM:
                        if (optarg[0] != '/') {
                                log_error("--scan-program= needs an absolute path");
                                return -EINVAL;
                        }
                        free(arg_scan_program);
                        arg_scan_program = strdup(optarg);
                        if (!arg_scan_program)
                                return log_oom();
                        break;
                case 'v':
                        kp_log_set_max_level(LOG_DEBUG);
                        break;
                default:
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                log_error("unexpected argument \"%s\"", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

static int on_sigterm(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        manager_stop(userdata);
        return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        Manager *m = userdata;

        /* Before READY=1 (the startup scans) there is no "ready" to go back to: reload quietly. */
        if (m->ready_sent)
                (void) sd_notify(false, "RELOADING=1");
        (void) manager_reload(m);
        if (m->ready_sent)
                (void) sd_notify(false, "READY=1");
        return 0;
}

static int run(int argc, char **argv)
{
        _cleanup_(manager_freep) Manager *m = NULL;
        sigset_t mask;
        KpError error = {};
        int r;

        kp_log_set_target(KP_LOG_TARGET_AUTO);
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;

        if (!arg_scan_program) {
                r = kp_scan_helper_path(&error, &arg_scan_program);
                if (r < 0)
                        return log_error_errno(r, "%s", kp_error_message(&error, r));
        }

        /* sd-event's signal and child sources need these blocked; the scan program gets them unblocked. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(-errno, "cannot block signals: %m");
        (void) signal(SIGPIPE, SIG_IGN);

        r = manager_new(arg_config, arg_scan_program, &m);
        if (r < 0)
                return r;

        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_sigterm, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_sigterm, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP, on_sighup, m);
        if (r < 0)
                return log_error_errno(r, "cannot watch signals: %s", strerror(-r));

        r = manager_startup(m);
        if (r < 0)
                return r;

        /* READY=1 is manager.c's to send: after the autostart guests' scans, or at once. */
        log_info("kunpackd " PACKAGE_VERSION " listening on %s (config %s, cache %s, state %s)", m->socket_path,
                 m->settings->path ? m->settings->path : "defaults", m->settings->cache_dir, m->settings->state_dir);
        manager_update_status(m);

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "event loop failed: %s", strerror(-r));
        log_info("stopped");
        return 0;
}

int main(int argc, char **argv)
{
        int r = run(argc, argv);

        free(arg_scan_program);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
