/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kunpack-boot: the program a guest's xl config names as its bootloader.
 * libxl runs it for every start of a PV guest, with a pty as its terminal
 * and these arguments (tools/libs/light/libxl_bootloader.c):
 *
 *   [--kernel=K] [--ramdisk=R] [--args=A] [--runas=UID --quiet]
 *   --output=FILE --output-format=simple0 --output-directory=DIR
 *   <bootloader_args...> DISK
 *
 * and reads back the kernel, ramdisk and command line to boot. The hot
 * path answers from the cache (no appliance, no decompression); a disk
 * whose record is stale is scanned first by kunpack-scan, a separate
 * program, so that this one never maps libguestfs. Whatever goes wrong,
 * the guest boots as it did before kunpack (pvgrub), unless the admin
 * chose on_failure = "fail". See kunpack-boot(8).
 */
#include <assert.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "boot/answer.h"
#include "boot/fallback.h"
#include "util/messages.h"
#include "boot/prepare.h"
#include "boot/request.h"
#include "boot/pvgrub-mode.h"
#include "boot/scan-summary.h"
#include "boot/spawn.h"
#if HAVE_SYSTEMD
#include "client/client.h"
#endif
#include "util/error.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/time-util.h"
#include "settings/settings.h"
#include <time.h>

/* pygrub's default when libxl names no output directory (a human running it by hand). */
#define KP_BOOT_DEFAULT_OUTPUT_DIR "/var/run/xen/pygrub"
/*
 * Of boot_timeout, what is kept back from the scan for publishing the
 * answer: a copy of a 1 GiB kernel (Xen's ceiling) across filesystems
 * takes a few seconds; a link takes none.
 */
#define KP_BOOT_ANSWER_RESERVE_USEC (5 * USEC_PER_SEC)
/* kunpack-scan stops itself at its deadline; it is killed if it is still there this much later. */
#define KP_BOOT_SCAN_GRACE_USEC (2 * USEC_PER_SEC)

typedef enum BootMode {
        BOOT_MODE_DIRECT,
        BOOT_MODE_PVGRUB,
} BootMode;

static const char *arg_kernel;
static const char *arg_ramdisk;
static const char *arg_args;
static bool arg_have_runas;
static uid_t arg_runas;
static bool arg_quiet;
static const char *arg_output;
static KpAnswerFormat arg_format = KP_ANSWER_SIMPLE0;
static const char *arg_output_dir = KP_BOOT_DEFAULT_OUTPUT_DIR;
static BootMode arg_mode = BOOT_MODE_DIRECT;
static const char *arg_config;
static const char *arg_entry;
static const char *arg_disk;
/*
 * Options this kunpack-boot does not know, each warned about once the
 * disk is known: a newer libxl may pass one, and that must not stop every
 * start on the host. The rest are ignored beyond this many.
 */
#define KP_BOOT_MAX_UNKNOWN_OPTIONS 8
static char arg_unknown[KP_BOOT_MAX_UNKNOWN_OPTIONS][128];
static size_t arg_n_unknown;
/* The first thing wrong with the command line: the start fails with it (exit 2), no answer is given. */
static char arg_invalid[256];

/* Exit status for a command line kunpack-boot refuses (kunpack-boot(8)): not the failure policy's 1. */
#define EXIT_USAGE 2

/* What the run needs everywhere: where to answer, and how to fail. */
typedef struct Boot {
        KpSettings *settings;
        bool config_broken;
        int output_fd;
        KpOutputDir outdir;
        char *disk_field;          /* "DISK=..." for the journal */
        const char *args;          /* libxl's --args as they can be passed on (usable_args()) */
        const char *stage_dir;     /* where the pvgrub image's staged copy is (fallback.h): the cache */
        uint64_t start;
        uint64_t deadline;
        uint64_t scan_start;       /* CLOCK_MONOTONIC µs when a cold start's scan began */
        const KpBootRequest *req;  /* direct mode, once checked: what on_failure = "last-good" looks up */
        bool last_good_tried;      /* a failure while answering with the last good plan is final */
} Boot;

static int fail(Boot *b, int r, const char *format, ...) _printf_(3, 4);
static int answer(Boot *b, const KpPrepared *p, const char *how);

static void help(void)
{
        printf("Usage: kunpack-boot [OPTIONS] DISK\n\n"
               "The bootloader libxl runs for a PV guest whose xl config says\n"
               "  bootloader = \"%s/kunpack-boot\"\n"
               "It answers with the guest's own kernel (decompressed, from kunpack's cache),\n"
               "its initrd and its command line; on failure, with pvgrub.\n\n"
               "Options libxl passes:\n"
               "     --kernel=PATH        Boot this guest file, read no boot config (direct)\n"
               "     --ramdisk=PATH       ... with this guest file as the ramdisk\n"
               "     --args=CMDLINE       Append to the command line (xl extra/cmdline)\n"
               "     --runas=UID          Drop to UID before writing the answer\n"
               "  -q --quiet              Report failures only\n"
               "     --output=FILE        Write the answer here (default: standard output)\n"
               "     --output-format=simple0|simple\n"
               "                          NUL-separated records (libxl) or lines\n"
               "     --output-directory=DIR\n"
               "                          Put the kernel and ramdisk here (default %s)\n"
               "Options for bootloader_args:\n"
               "     --mode=direct|pvgrub Boot the kernel directly (default), or through pvgrub\n"
               "     --config=FILE        Read FILE instead of $KUNPACK_CONFIG or %s\n"
               "     --entry=N|TITLE      Boot this entry instead of the one the config selects\n"
               "  -h --help               Show this help\n"
               "     --version            Show the version\n\n"
               "Exit status: 0 answered (the guest's kernel, or pvgrub), 1 failed (on_failure=fail),\n"
               "2 command line refused (no answer). Unknown options are warned about and ignored.\n",
               KP_LIBEXECDIR, KP_BOOT_DEFAULT_OUTPUT_DIR, KP_SETTINGS_FILE);
}

static void invalid(const char *format, ...) _printf_(1, 2);
static void invalid(const char *format, ...)
{
        va_list ap;

        if (arg_invalid[0])
                return;
        va_start(ap, format);
        (void) vsnprintf(arg_invalid, sizeof(arg_invalid), format, ap);
        va_end(ap);
}

/*
 * Parses what libxl passes and the guest's bootloader_args. A bad value of
 * one of our options, an option the mode ignores, or a missing disk is
 * remembered in arg_invalid: the start then fails with that one line
 * (exit 2), since an answer would hide the admin's typo behind a guest
 * that boots something else (docs/boot-path.md, "Usage errors"). An
 * unknown option is only remembered for a warning. Returns 0 to go on, 1
 * after --help or --version.
 */
static int parse_argv(int argc, char *argv[])
{
        enum { ARG_KERNEL = 0x100, ARG_RAMDISK, ARG_ARGS, ARG_RUNAS, ARG_OUTPUT, ARG_OUTPUT_FORMAT,
               ARG_OUTPUT_DIRECTORY, ARG_MODE, ARG_CONFIG, ARG_ENTRY, ARG_VERSION };
        static const struct option options[] = {
                { "kernel", required_argument, NULL, ARG_KERNEL },
                { "ramdisk", required_argument, NULL, ARG_RAMDISK },
                { "args", required_argument, NULL, ARG_ARGS },
                { "runas", required_argument, NULL, ARG_RUNAS },
                { "quiet", no_argument, NULL, 'q' },
                { "output", required_argument, NULL, ARG_OUTPUT },
                { "output-format", required_argument, NULL, ARG_OUTPUT_FORMAT },
                { "output-directory", required_argument, NULL, ARG_OUTPUT_DIRECTORY },
                { "mode", required_argument, NULL, ARG_MODE },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "entry", required_argument, NULL, ARG_ENTRY },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {},
        };
        int c;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":qh", options, NULL)) >= 0)
                switch (c) {
                case ARG_KERNEL:
                        arg_kernel = optarg;
                        break;
                case ARG_RAMDISK:
                        arg_ramdisk = optarg;
                        break;
                case ARG_ARGS:
                        arg_args = optarg;
                        break;
                case ARG_RUNAS: {
                        char *end;
                        unsigned long v;

                        errno = 0;
                        v = strtoul(optarg, &end, 10);
                        /* libxl refuses uid 0 for restricted mode; so do we. */
                        if (errno || end == optarg || *end || optarg[0] == '-' || v == 0 || v >= (uid_t) -1)
                                invalid("--runas: expected a numeric user id other than 0, got \"%s\"", optarg);
                        else {
                                arg_runas = (uid_t) v;
                                arg_have_runas = true;
                        }
                        break;
                }
                case 'q':
                        arg_quiet = true;
                        break;
                case ARG_OUTPUT:
                        /* pygrub's convention: "-" is standard output. */
                        arg_output = streq(optarg, "-") ? NULL : optarg;
                        break;
                case ARG_OUTPUT_FORMAT:
                        if (kp_answer_format_from_string(optarg, &arg_format) < 0)
                                invalid("--output-format: expected simple0 or simple, got \"%s\"", optarg);
                        break;
                case ARG_OUTPUT_DIRECTORY:
                        arg_output_dir = optarg;
                        break;
                case ARG_MODE:
                        if (streq(optarg, "direct"))
                                arg_mode = BOOT_MODE_DIRECT;
                        else if (streq(optarg, "pvgrub"))
                                arg_mode = BOOT_MODE_PVGRUB;
                        else
                                invalid("--mode: expected direct or pvgrub, got \"%s\"", optarg);
                        break;
                case ARG_CONFIG:
                        arg_config = optarg;
                        break;
                case ARG_ENTRY:
                        arg_entry = optarg;
                        break;
                case 'h':
                        help();
                        return 1;
                case ARG_VERSION:
                        printf("kunpack-boot %s\n", PACKAGE_VERSION);
                        return 1;
                case ':':
                        invalid("option %s needs a value", argv[optind - 1]);
                        break;
                default:
                        /* A long option is the argument getopt_long() just passed; a short one only its letter. */
                        if (arg_n_unknown < ELEMENTSOF(arg_unknown)) {
                                if (optopt)
                                        (void) snprintf(arg_unknown[arg_n_unknown], sizeof(arg_unknown[0]), "-%c",
                                                        optopt);
                                else
                                        (void) snprintf(arg_unknown[arg_n_unknown], sizeof(arg_unknown[0]), "%s",
                                                        argv[optind - 1]);
                                arg_n_unknown++;
                        }
                        break;
                }

        /* libxl puts the disk last. */
        if (optind == argc)
                invalid("no disk given");
        else {
                arg_disk = argv[argc - 1];
                if (argc - optind > 1)
                        invalid("unexpected argument \"%s\" before the disk", argv[optind]);
        }

        /* What a mode would silently ignore is refused: the admin meant something by it. */
        if (arg_mode == BOOT_MODE_PVGRUB) {
                if (arg_entry)
                        invalid("--entry has no effect with --mode=pvgrub (GRUB shows the guest's own menu)");
                if (arg_kernel)
                        invalid("--kernel (xl's kernel=) has no effect with --mode=pvgrub (pvgrub boots what "
                                "the guest's menu selects)");
                if (arg_ramdisk)
                        invalid("--ramdisk (xl's ramdisk=) has no effect with --mode=pvgrub");
        } else {
                KpError error = {};

                if (arg_ramdisk && !arg_kernel)
                        invalid("--ramdisk (xl's ramdisk=) has no effect without --kernel (xl's kernel=)");
                if (arg_entry && arg_kernel)
                        invalid("--entry has no effect with --kernel (xl's kernel=): no boot config is read");
                if (kp_boot_request_check_options(arg_entry, arg_kernel, arg_ramdisk, &error) < 0)
                        invalid("%s", error.message);
        }
        return 0;
}

/*
 * Gives up root for good before anything is written for libxl: the files
 * are published, the output file is open; what is left is one write. As
 * pygrub does: the group is the uid, no supplementary groups.
 */
static int drop_privileges(uid_t uid)
{
        uid_t ru, eu, su;
        gid_t rg, eg, sg;

        if (setgroups(0, NULL) < 0 || setresgid((gid_t) uid, (gid_t) uid, (gid_t) uid) < 0 ||
            setresuid(uid, uid, uid) < 0)
                return negative_errno();
        if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
                return negative_errno();
        if (ru != uid || eu != uid || su != uid || rg != (gid_t) uid || eg != (gid_t) uid || sg != (gid_t) uid)
                return -EPERM;
        /* Not even a saved root to go back to. */
        if (setuid(0) == 0)
                return -EPERM;
        return 0;
}

/*
 * A cold start's first line: which disk, what is done now, why it is not
 * served from the cache, and how long it may take. The scan's own
 * progress is not passed on (kunpack-scan runs --quiet): two lines per
 * cold start are what libxl's log and the journal can hold for every start.
 */
static void log_cold_start(Boot *b, const char *what, const char *why)
{
        b->scan_start = kp_now_usec(CLOCK_MONOTONIC);
        log_struct(LOG_INFO, 0, KP_FIELDS(KP_MESSAGE_SCAN_STARTED, b->disk_field),
                   "%s: cold start: %s (at most %" PRIu64 " s): %s", arg_disk, what,
                   b->deadline > b->scan_start ? (b->deadline - b->scan_start) / USEC_PER_SEC : 0, why);
}

/* Its last: how long the scan took, whatever came of it (a failure is the failure policy's to say). */
static void log_cold_end(Boot *b, const char *what, int r)
{
        double s = (double) (kp_now_usec(CLOCK_MONOTONIC) - b->scan_start) / USEC_PER_SEC;

        if (r >= 0)
                log_struct(LOG_INFO, 0, KP_FIELDS(KP_MESSAGE_SCAN_FINISHED, b->disk_field), "%s: %s done in %.1f s",
                           arg_disk, what, s);
        else
                log_struct(LOG_INFO, 0, KP_FIELDS(b->disk_field), "%s: %s ended after %.1f s without a result",
                           arg_disk, what, s);
}

/* Publishing is done; what remains is giving up root and writing the records. */
static int write_answer(Boot *b, const KpAnswer *a, KpError *error)
{
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        r = kp_answer_format(a, arg_format, error, &text, &size);
        if (r < 0)
                return r;
        if (arg_have_runas) {
                r = drop_privileges(arg_runas);
                if (r < 0)
                        return kp_error_set_errno(error, r, "cannot drop privileges to uid %u", (unsigned) arg_runas);
        }
        return kp_answer_write(b->output_fd, text, size, error);
}

/*
 * A command line kunpack-boot refuses: one line naming the disk and what
 * is wrong, and no answer, whatever on_failure says. libxl then fails the
 * start and shows the line in bootloader.<domid>.log.
 */
static int usage_error(Boot *b, const char *format, ...) _printf_(2, 3);
static int usage_error(Boot *b, const char *format, ...)
{
        char reason[512];
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(reason, sizeof(reason), format, ap);
        va_end(ap);
        log_struct(LOG_ERR, -EINVAL, KP_FIELDS(KP_MESSAGE_BOOT_REFUSED, b->disk_field),
                   "%s%sinvalid command line: %s; the start fails", arg_disk ?: "", arg_disk ? ": " : "", reason);
        kp_settings_free(b->settings);
        b->settings = NULL;
        return EXIT_USAGE;
}

/*
 * on_failure = "last-good", for a failure on the host's side only
 * (kp_boot_failure_is_host_side()): the plan of the disk's last good scan,
 * from the cache, although the disk changed since or could not be looked
 * at now. Said loudly, once, with the failure: the guest may have installed
 * a newer kernel meanwhile, and the old kernel's modules may be gone from
 * its /lib/modules (kunpack-boot(8)). Returns an exit status, or -1 when
 * there is no such plan (the policy's pvgrub answer follows; *ret_why says
 * why not).
 */
static int answer_last_good(Boot *b, int r, const char *reason, char *ret_why, size_t why_size)
{
        _cleanup_(kp_cache_freep) KpCache *cache = NULL;
        _cleanup_(kp_state_store_freep) KpStateStore *state = NULL;
        _cleanup_(kp_prepared_done) KpPrepared p = KP_PREPARED_INIT;
        _cleanup_free_ char *sha_field = NULL;
        KpError error = {};
        char when[64] = "an unknown time";
        time_t t;
        struct tm tm;
        int k;

        if (!kp_boot_failure_is_host_side(r)) {
                (void) snprintf(ret_why, why_size, "not a failure of the host's: no last good plan for it");
                return -1;
        }
        if (!b->req || b->last_good_tried) {
                (void) snprintf(ret_why, why_size, "no last good plan for this request");
                return -1;
        }
        b->last_good_tried = true;
        k = kp_cache_open(b->settings->cache_dir, &error, &cache);
        if (k >= 0)
                k = kp_state_open(b->settings->state_dir, &error, &state);
        if (k >= 0)
                k = kp_boot_prepare_last_good(cache, state, b->req, &error, &p);
        if (k < 0) {
                (void) snprintf(ret_why, why_size, "no last good plan either: %s", error.message);
                return -1;
        }

        t = (time_t) (p.scanned_usec / USEC_PER_SEC);
        if (p.scanned_usec > 0 && localtime_r(&t, &tm))
                (void) strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", &tm);
        if (asprintf(&sha_field, "KERNEL_SHA256=%s", p.kernel_sha256) < 0)
                sha_field = NULL;
        log_struct(LOG_WARNING, r, KP_FIELDS(KP_MESSAGE_BOOT_FAILED, b->disk_field, sha_field),
                   "%s: %s; on_failure=last-good: booting the STALE plan of the last good scan (%s), kernel %s, "
                   "which the guest may have replaced since", arg_disk, reason, when, p.kernel_path);
        return answer(b, &p, "STALE: the last good plan");
}

/*
 * libxl's --args, unless they hold a control character: then no record
 * may carry them (one could add a record, XSA-198). They are dropped with
 * a line saying so, rather than losing the answer itself; the guest boots
 * with its entry's own command line (or through pvgrub, which reads it).
 */
static const char *usable_args(void)
{
        KpError error = {};

        if (!arg_args || kp_answer_check_text("--args", arg_args, &error) >= 0)
                return arg_args;
        log_warning("%s: %s; the guest boots without them", arg_disk ?: "(no disk)", error.message);
        return NULL;
}

/*
 * The pvgrub answer, published as cheaply as the filesystems allow: a
 * link of the image or of its staged copy, a copy only when neither links
 * (lib/boot/fallback.h). A copy means the next start would copy again:
 * the image is staged then, before root is given up. libxl drops an args
 * record too long for its buffer anyway: the answer goes without, and
 * ret_note says so.
 */
static int fallback_answer(Boot *b, const char *pvgrub, KpError *error, KpAnswer *ret, const char **ret_note)
{
        KpFallbackPublished how = KP_FALLBACK_LINKED;
        KpError e = {};
        int r;

        *ret_note = "";
        r = kp_boot_fallback_answer(pvgrub, b->stage_dir, &b->outdir, b->args, error, ret, &how);
        if (r == -E2BIG) {
                /* libxl would drop the record anyway: pvgrub reads the guest's own config regardless. */
                r = kp_boot_fallback_answer(pvgrub, b->stage_dir, &b->outdir, NULL, error, ret, &how);
                *ret_note = " without --args (too long for libxl)";
        }
        if (r >= 0 && how == KP_FALLBACK_COPIED && b->stage_dir && kp_boot_fallback_stage(pvgrub, b->stage_dir, &e) < 0)
                log_debug("%s: cannot stage a copy of %s for links: %s", arg_disk ?: "(no disk)", pvgrub, e.message);
        return r;
}

/*
 * The failure policy, applied once: one line saying what failed and for
 * which disk, then the pvgrub answer (on_failure = "pvgrub", and always
 * when the config itself is broken), the last good plan (on_failure =
 * "last-good", for the host's failures; pvgrub for the others), or a
 * non-zero exit.
 */
static int fail(Boot *b, int r, const char *format, ...)
{
        _cleanup_(kp_answer_done) KpAnswer a = {};
        const char *pvgrub = b->settings ? b->settings->pvgrub_path : KP_PVGRUB_PATH, *note = "";
        bool fallback = b->config_broken || !b->settings || b->settings->on_failure != KP_ON_FAILURE_FAIL;
        const char *disk = arg_disk ?: "(no disk)";
        char reason[1024], why_not[512] = "";
        KpError error = {};
        va_list ap;
        int k;

        va_start(ap, format);
        (void) vsnprintf(reason, sizeof(reason), format, ap);
        va_end(ap);

        if (!b->config_broken && b->settings && b->settings->on_failure == KP_ON_FAILURE_LAST_GOOD &&
            b->output_fd >= 0 && b->outdir.fd >= 0) {
                k = answer_last_good(b, r, reason, why_not, sizeof(why_not));
                if (k >= 0)
                        return k;
                /* The reason line below says why the last good plan was not served. */
                k = (int) strlen(reason);
                (void) snprintf(reason + k, sizeof(reason) - (size_t) k, " (on_failure=last-good: %s)", why_not);
        }

        if (!fallback) {
                log_struct(LOG_ERR, r, KP_FIELDS(KP_MESSAGE_BOOT_FAILED, b->disk_field),
                           "%s: %s (on_failure=fail: the start fails)", disk, reason);
                return EXIT_FAILURE;
        }
        if (b->output_fd < 0 || b->outdir.fd < 0)
                return EXIT_FAILURE; /* nowhere to answer: said when it was found */

        k = fallback_answer(b, pvgrub, &error, &a, &note);
        if (k < 0) {
                log_struct(LOG_ERR, r, KP_FIELDS(KP_MESSAGE_BOOT_FAILED, b->disk_field),
                           "%s: %s; cannot answer with pvgrub either: %s", disk, reason, error.message);
                return EXIT_FAILURE;
        }
        log_struct(LOG_ERR, r, KP_FIELDS(KP_MESSAGE_BOOT_FAILED, b->disk_field),
                   "%s: %s; booting it with pvgrub (%s)%s, as without kunpack", disk, reason, pvgrub, note);
        k = write_answer(b, &a, &error);
        if (k < 0) {
                log_struct(LOG_ERR, k, KP_FIELDS(KP_MESSAGE_BOOT_FAILED, b->disk_field),
                           "%s: cannot write the pvgrub answer: %s", disk, error.message);
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}

/* The start is answered from the cache: publish, then write. how: "from the cache", ... for the log. */
static int answer(Boot *b, const KpPrepared *p, const char *how)
{
        _cleanup_(kp_answer_done) KpAnswer a = {};
        _cleanup_free_ char *sha_field = NULL;
        KpError error = {};
        int r;

        r = kp_answer_join_args(p->cmdline, b->args, &error, &a.args);
        if (r >= 0)
                r = kp_answer_publish(&b->outdir, "kernel", p->kernel_fd, &error, &a.kernel);
        if (r >= 0 && p->n_initrds > 0)
                r = kp_answer_publish_initrds(&b->outdir, "ramdisk", p->initrd_fds, p->n_initrds, &error,
                                              &a.ramdisk);
        if (r < 0) {
                /* A half-published answer is libxl's to clean up (it removes the directory). */
                return fail(b, r, "%s", error.message);
        }
        r = write_answer(b, &a, &error);
        if (r < 0)
                return fail(b, r, "%s", error.message);

        if (!arg_quiet && asprintf(&sha_field, "KERNEL_SHA256=%s", p->kernel_sha256) >= 0)
                log_struct(LOG_INFO, 0, KP_FIELDS(KP_MESSAGE_BOOT_ANSWERED, b->disk_field, sha_field),
                           "%s: %s %s (%s, %.0f ms)", arg_disk, p->title ?: "direct", p->kernel_path, how,
                           (double) (kp_now_usec(CLOCK_MONOTONIC) - b->start) / USEC_PER_MSEC);
        return EXIT_SUCCESS;
}

/*
 * Runs kunpack-scan with argv (argv[0] is filled in here) within our
 * deadline: what boot_timeout leaves after the answer's reserve, then a
 * grace period before it is killed. libxl sends SIGTERM when the domain
 * dies meanwhile: the scan (and its appliance) dies with us. On a non-zero
 * exit, ret_err_line is the last line of its standard error, control
 * characters replaced (it reaches libxl's log).
 */
static int run_scan(Boot *b, char **argv, const char *what, KpError *error, KpHelperRun *run,
                    const char **ret_err_line)
{
        _cleanup_free_ char *helper = NULL, *deadline = NULL;
        uint64_t scan_deadline, kill_deadline;
        sigset_t stop, old;
        char *e, *end;
        int r;

        if (b->deadline < KP_BOOT_ANSWER_RESERVE_USEC + kp_now_usec(CLOCK_MONOTONIC))
                return kp_error_set(error, -ETIMEDOUT, "no time left within boot_timeout (%" PRIu64 " s) for %s",
                                    b->settings->boot_timeout, what);
        scan_deadline = b->deadline - KP_BOOT_ANSWER_RESERVE_USEC;
        kill_deadline = MIN(scan_deadline + KP_BOOT_SCAN_GRACE_USEC, b->deadline);

        r = kp_scan_helper_path(error, &helper);
        if (r < 0)
                return r;
        if (asprintf(&deadline, "--deadline=%" PRIu64, scan_deadline) < 0)
                return kp_error_set(error, -ENOMEM, "out of memory");
        argv[0] = helper;
        argv[1] = deadline;

        sigemptyset(&stop);
        sigaddset(&stop, SIGTERM);
        sigaddset(&stop, SIGINT);
        sigaddset(&stop, SIGHUP);
        (void) sigprocmask(SIG_BLOCK, &stop, &old);
        r = kp_helper_run(argv, kill_deadline, &stop, error, run);
        (void) sigprocmask(SIG_SETMASK, &old, NULL);
        argv[0] = argv[1] = NULL;
        if (r < 0)
                return r;
        if (run->timed_out)
                return kp_error_set(error, -ETIMEDOUT,
                                    "%s did not finish within boot_timeout (%" PRIu64 " s) and was stopped", what,
                                    b->settings->boot_timeout);
        if (run->status == 0)
                return 0;

        e = run->err;
        end = e + strlen(e);
        while (end > e && (end[-1] == '\n' || end[-1] == ' '))
                *--end = '\0';
        e = strrchr(run->err, '\n') ? strrchr(run->err, '\n') + 1 : run->err;
        for (char *c = e; *c; c++)
                if ((unsigned char) *c < ' ' || *c == 0x7f)
                        *c = '?';
        *ret_err_line = e;
        return 1;
}

/* The cold path: kunpack-scan for this disk, within our deadline. */
static int scan(Boot *b, const KpBootRequest *req, KpError *error)
{
        _cleanup_(kp_helper_run_done) KpHelperRun run = {};
        _cleanup_free_ char *config = NULL, *entry = NULL, *kernel = NULL, *ramdisk = NULL;
        KpScanSummaryDisk *disks = NULL;
        const char *err_line = "";
        char *argv[16] = {};
        size_t n = 2, n_disks = 0; /* argv[0], argv[1]: the program and its deadline (run_scan) */
        int r;

        if (b->settings->path) {
                if (asprintf(&config, "--config=%s", b->settings->path) < 0)
                        return kp_error_set(error, -ENOMEM, "out of memory");
                argv[n++] = config;
        }
        argv[n++] = (char *) "--json";
        argv[n++] = (char *) "--quiet";
        if (req->kernel) {
                if (asprintf(&kernel, "--kernel=%s", req->kernel) < 0)
                        return kp_error_set(error, -ENOMEM, "out of memory");
                argv[n++] = kernel;
                if (req->ramdisk) {
                        if (asprintf(&ramdisk, "--ramdisk=%s", req->ramdisk) < 0)
                                return kp_error_set(error, -ENOMEM, "out of memory");
                        argv[n++] = ramdisk;
                }
        } else if (req->entry) {
                if (asprintf(&entry, "--entry=%s", req->entry) < 0)
                        return kp_error_set(error, -ENOMEM, "out of memory");
                argv[n++] = entry;
        }
        argv[n++] = (char *) "--";
        argv[n++] = req->disk;
        argv[n] = NULL;

        r = run_scan(b, argv, "the scan", error, &run, &err_line);
        if (r <= 0)
                return r;
        /* Why, in the scan's own words if it gave them. */
        if (run.out[0] && kp_scan_summary_parse(run.out, NULL, &disks, &n_disks, NULL) >= 0 && n_disks == 1 &&
            disks[0].message) {
                r = kp_error_set(error, disks[0].error, "scan failed: %s", disks[0].message);
                kp_scan_summary_disks_free(disks, n_disks);
                return r;
        }
        kp_scan_summary_disks_free(disks, n_disks);
        return kp_error_set(error, -EIO, "kunpack-scan exited with status %d%s%s", run.status,
                            err_line[0] ? ": " : "", err_line);
}

/*
 * libxl names its output file /var/lib/xen/bootloader.<domid>.out: the
 * domain being built, which pvgrub mode's in-use check must not count as a
 * user of its own disk. UINT32_MAX when the name says nothing.
 */
static uint32_t domid_from_output(void)
{
        const char *name = arg_output ? strrchr(arg_output, '/') : NULL;
        unsigned long v;
        char *end;

        name = name ? name + 1 : arg_output;
        if (!name || !startswith_lit(name, "bootloader."))
                return UINT32_MAX;
        name += STRLEN("bootloader.");
        if (name[0] < '0' || name[0] > '9')
                return UINT32_MAX;
        errno = 0;
        v = strtoul(name, &end, 10);
        if (errno || !streq(end, ".out") || v >= 0x7FF0)
                return UINT32_MAX;
        return (uint32_t) v;
}

/* pvgrub mode's cold path: kunpack-scan --pvgrub for this disk, within our deadline. */
static int pvgrub_scan(Boot *b, const char *disk, KpError *error)
{
        _cleanup_(kp_helper_run_done) KpHelperRun run = {};
        _cleanup_free_ char *config = NULL, *domid = NULL;
        uint32_t id = domid_from_output();
        const char *e = "";
        char *argv[12] = {};
        size_t n = 2; /* argv[0], argv[1]: the program and its deadline (run_scan) */
        int r;

        argv[n++] = (char *) "--pvgrub";
        if (b->settings->path && asprintf(&config, "--config=%s", b->settings->path) < 0)
                return kp_error_set(error, -ENOMEM, "out of memory");
        if (config)
                argv[n++] = config;
        if (id != UINT32_MAX) {
                if (asprintf(&domid, "--domid=%" PRIu32, id) < 0)
                        return kp_error_set(error, -ENOMEM, "out of memory");
                argv[n++] = domid;
        }
        argv[n++] = (char *) "--quiet";
        argv[n++] = (char *) "--";
        argv[n++] = (char *) disk;
        argv[n] = NULL;

        r = run_scan(b, argv, "pvgrub mode", error, &run, &e);
        if (r <= 0)
                return r;
        /* "kunpack-scan: DISK: pvgrub mode: REASON": the caller names disk and mode itself. */
        if (strstr(e, "pvgrub mode: "))
                e = strstr(e, "pvgrub mode: ") + STRLEN("pvgrub mode: ");
        return kp_error_set(error, -EIO, "%s", e[0] ? e : "kunpack-scan --pvgrub failed");
}

/*
 * --mode=pvgrub: the guest keeps booting through pvgrub, its own menu on
 * the console, with kernels pvgrub can load (docs/pvgrub-mode.md). The
 * guest's /boot is brought to pvgrub mode first (hot: its record says it
 * is, and the disk has not changed since; cold: kunpack-scan --pvgrub),
 * then the answer is pvgrub itself. Any failure is the failure policy,
 * whose default answer is that same pvgrub: the guest boots as before.
 */
static int pvgrub_mode(Boot *b)
{
        _cleanup_(kp_state_store_freep) KpStateStore *state = NULL;
        _cleanup_(kp_answer_done) KpAnswer a = {};
        _cleanup_free_ char *why = NULL;
        const char *note = "";
        bool hot = false;
        KpError error = {};
        int r;

        r = kp_state_open(b->settings->state_dir, &error, &state);
        if (r >= 0)
                r = kp_boot_pvgrub_fresh(state, arg_disk, b->settings->trust_foreign_plans, &error, &why);
        if (r < 0)
                return fail(b, r, "pvgrub mode: %s", error.message);
        hot = r > 0;
        if (!hot) {
                log_cold_start(b, "pvgrub mode: bringing the guest's /boot up to date in a libguestfs appliance",
                               why ?: "no record of this disk");
                r = pvgrub_scan(b, arg_disk, &error);
                log_cold_end(b, "pvgrub mode's scan", r);
                if (r == -EINTR) {
                        log_error("%s: %s", arg_disk, error.message);
                        return 128 + SIGTERM;
                }
                if (r < 0)
                        return fail(b, r, "pvgrub mode: %s", error.message);
        }

        r = fallback_answer(b, b->settings->pvgrub_path, &error, &a, &note);
        if (r < 0)
                return fail(b, r, "pvgrub mode: %s", error.message);
        r = write_answer(b, &a, &error);
        if (r < 0)
                return fail(b, r, "pvgrub mode: %s", error.message);
        if (!arg_quiet)
                log_struct(LOG_INFO, 0, KP_FIELDS(KP_MESSAGE_BOOT_ANSWERED, b->disk_field),
                           "%s: pvgrub mode: %s; booting pvgrub (%s)%s (%.0f ms)", arg_disk,
                           hot ? "unchanged since kunpack last looked" : "guest's /boot brought up to date",
                           b->settings->pvgrub_path, note,
                           (double) (kp_now_usec(CLOCK_MONOTONIC) - b->start) / USEC_PER_MSEC);
        return EXIT_SUCCESS;
}

#if HAVE_SYSTEMD
/* kunpackd says the start waits for a scan: the cold start's first line, as when the scan is ours. */
static void on_daemon_waiting(const char *disk, const char *why, void *userdata)
{
        log_cold_start(userdata, "kunpackd is scanning the disk in a libguestfs appliance", why);
}

/*
 * A path kunpackd's answer names must be a regular file directly inside
 * the output directory we named, and not a symlink: the daemon published
 * it there as root. Anything else (a path elsewhere, "..", a symlink)
 * comes from a daemon that is broken or not kunpackd, and libxl would
 * have mapped and unlinked it.
 */
static int check_reply_file(const Boot *b, const char *what, const char *path, KpError *error)
{
        size_t n = strlen(b->outdir.path);
        const char *name;
        struct stat st;

        if (!path || strncmp(path, b->outdir.path, n) != 0 || path[n] != '/')
                return kp_error_set(error, -EBADMSG, "kunpackd's answer names %s \"%s\" outside %s/", what,
                                    path ?: "", b->outdir.path);
        name = path + n + 1;
        if (!*name || strchr(name, '/') || streq(name, ".") || streq(name, ".."))
                return kp_error_set(error, -EBADMSG, "kunpackd's answer names %s \"%s\", not a file of %s/",
                                    what, path, b->outdir.path);
        if (fstatat(b->outdir.fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return kp_error_set_errno(error, negative_errno(), "kunpackd's answer names %s %s", what, path);
        if (!S_ISREG(st.st_mode))
                return kp_error_set(error, -EBADMSG, "kunpackd's answer names %s %s, which is not a regular file",
                                    what, path);
        return 0;
}

/*
 * kunpackd first: it keeps plans fresh ahead of starts, shares one scan
 * among every start that waits on a disk, and publishes into libxl's
 * output directory itself. Returns 1 when the start is answered (or failed
 * by policy, *ret_exit set), 0 when the work is ours: no daemon listens,
 * the connection broke before an answer, or the daemon leaves this request
 * to us (--kernel=, an unknown disk format, ...).
 */
static int ask_daemon(Boot *b, int *ret_exit)
{
        _cleanup_(kp_prepare_reply_done) KpPrepareReply reply = {};
        _cleanup_(kp_answer_done) KpAnswer a = {};
        _cleanup_free_ char *sha_field = NULL;
        uint64_t now = kp_now_usec(CLOCK_MONOTONIC);
        KpPrepareDisk disk = { .path = arg_disk };
        KpPrepareRequest req = {
                .disks = &disk,
                .n_disks = 1,
                .entry = arg_entry,
                .mode = "direct",
                .kernel = arg_kernel,
                .ramdisk = arg_ramdisk,
                .args = b->args,
                .output_directory = b->outdir.path,
                .on_waiting = on_daemon_waiting,
                .userdata = b,
        };
        uint32_t domid = domid_from_output();
        KpClientOutcome o;
        KpError error = {};
        int r;

        /* run() asks only with the settings read, the output directory open and the request checked. */
        assert(b);
        assert(b->settings);
        assert(b->outdir.path);
        assert(arg_disk);
        assert(ret_exit);

        if (!b->settings->socket_path || b->deadline < now + KP_BOOT_ANSWER_RESERVE_USEC)
                return 0;
        req.timeout_usec = b->deadline - KP_BOOT_ANSWER_RESERVE_USEC - now;
        /* For a qcow2 disk libxl passes /dev/xvdX: the daemon finds the image through this domain's attach. */
        req.domid = domid == UINT32_MAX ? 0 : domid;

        o = kp_client_prepare(b->settings->socket_path, &req, &error, &reply);
        if (b->scan_start > 0)
                log_cold_end(b, "kunpackd's scan", o == KP_CLIENT_ANSWERED ? 0 : -EIO);
        switch (o) {
        case KP_CLIENT_ANSWERED:
                break;
        case KP_CLIENT_NO_DAEMON:
                log_debug("%s: %s: doing the work here", arg_disk, error.message);
                return 0;
        case KP_CLIENT_LOST:
                /* A restart, a crash: what time is left is ours. */
                log_warning("%s: kunpackd went away before answering (%s): doing the work here", arg_disk,
                            error.message);
                return 0;
        case KP_CLIENT_DECLINED:
                log_debug("%s: kunpackd leaves this start to kunpack-boot: %s", arg_disk, error.message);
                return 0;
        case KP_CLIENT_UNTRUSTED:
                log_warning("%s: %s: doing the work here", arg_disk, error.message);
                return 0;
        case KP_CLIENT_REFUSED:
        case KP_CLIENT_FAILED:
        default:
                *ret_exit = fail(b, error.code, "kunpackd: %s", error.message);
                return 1;
        }

        /* libxl maps and unlinks what the answer names: only new files of our own output directory. */
        r = check_reply_file(b, "kernel", reply.kernel, &error);
        if (r >= 0 && reply.ramdisk)
                r = check_reply_file(b, "ramdisk", reply.ramdisk, &error);
        if (r < 0) {
                log_warning("%s: %s: doing the work here", arg_disk, error.message);
                return 0;
        }

        a.kernel = TAKE_PTR(reply.kernel);
        a.ramdisk = TAKE_PTR(reply.ramdisk);
        a.args = TAKE_PTR(reply.args);
        r = write_answer(b, &a, &error);
        if (r < 0) {
                *ret_exit = fail(b, r, "%s", error.message);
                return 1;
        }
        if (!arg_quiet && asprintf(&sha_field, "KERNEL_SHA256=%s", reply.kernel_sha256 ?: "") >= 0)
                log_struct(LOG_INFO, 0, KP_FIELDS(KP_MESSAGE_BOOT_ANSWERED, b->disk_field, sha_field),
                           "%s: %s %s (kunpackd, %s, %.0f ms)", arg_disk, reply.detail && reply.detail[0] ? reply.detail : "direct",
                           reply.guest_kernel ?: "", reply.hot ? "from the cache" : "scanned and cached",
                           (double) (kp_now_usec(CLOCK_MONOTONIC) - b->start) / USEC_PER_MSEC);
        *ret_exit = EXIT_SUCCESS;
        return 1;
}
#endif

static int run(int argc, char *argv[])
{
        _cleanup_(kp_cache_freep) KpCache *cache = NULL;
        _cleanup_(kp_state_store_freep) KpStateStore *state = NULL;
        _cleanup_(kp_boot_request_done) KpBootRequest req = {};
        _cleanup_(kp_prepared_done) KpPrepared p = KP_PREPARED_INIT;
        _cleanup_free_ char *disk_field = NULL;
        Boot b = { .output_fd = -EBADF, .outdir = KP_OUTPUT_DIR_INIT, .start = kp_now_usec(CLOCK_MONOTONIC) };
        KpPrepareOptions popts = {};
        KpError error = {}, config_error = {};
        const char *path;
        bool explicit;
        int r, ret;

        /* Admins look in the journal; libxl keeps stderr in /var/log/xen/bootloader.<domid>.log. */
        kp_log_set_target(KP_LOG_TARGET_JOURNAL_AND_STDERR);

        if (parse_argv(argc, argv) > 0)
                return EXIT_SUCCESS;
        if (arg_quiet)
                kp_log_set_max_level(LOG_WARNING);
        if (asprintf(&disk_field, "DISK=%s", arg_disk ?: "") < 0)
                return EXIT_FAILURE;
        b.disk_field = disk_field;
        if (arg_invalid[0])
                return usage_error(&b, "%s", arg_invalid);
        for (size_t i = 0; i < arg_n_unknown; i++)
                log_struct(LOG_WARNING, 0, KP_FIELDS(b.disk_field),
                           "%s: ignoring unknown option \"%s\" (from a newer libxl, or a typo in bootloader_args)",
                           arg_disk, arg_unknown[i]);

        /*
         * A config file named on the command line that does not exist is a
         * typo in bootloader_args: the start fails. A config that exists
         * but is broken is a failure of the host, which would hit every
         * guest at once: the guest still boots, through the built-in
         * pvgrub (docs/boot-path.md, "Usage errors").
         */
        path = kp_settings_choose_path(arg_config, &explicit);
        r = kp_settings_load(path, explicit, &config_error, &b.settings);
        if (r == -ENOENT && arg_config)
                return usage_error(&b, "--config=%s: no such file", arg_config);
        if (r < 0) {
                b.config_broken = true;
                (void) kp_settings_new_default(&b.settings);
                if (b.settings) {
                        free(b.settings->pvgrub_path);
                        b.settings->pvgrub_path = strdup(KP_PVGRUB_PATH);
                }
        }
        b.deadline = b.start + (b.settings ? b.settings->boot_timeout : 100) * USEC_PER_SEC;
        /* A broken config names no cache to trust: nothing is staged or linked from one then. */
        b.stage_dir = b.config_broken || !b.settings ? NULL : b.settings->cache_dir;
        b.args = usable_args();

        /* Where the answer goes: opened first, as root, whatever happens next. */
        if (arg_output) {
                b.output_fd = open(arg_output, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
                if (b.output_fd < 0) {
                        r = negative_errno();
                        log_error_errno(r, "%s: cannot open the output file %s: %s", arg_disk ?: "(no disk)",
                                        arg_output, strerror(-r));
                        return EXIT_FAILURE;
                }
        } else
                b.output_fd = STDOUT_FILENO;
        r = kp_output_dir_open(arg_output_dir, &error, &b.outdir);
        if (r < 0) {
                log_error_errno(r, "%s: %s", arg_disk ?: "(no disk)", error.message);
                ret = EXIT_FAILURE;
                goto finish;
        }

        if (b.config_broken) {
                ret = fail(&b, -EINVAL, "configuration: %s", config_error.message);
                goto finish;
        }
        if (arg_mode == BOOT_MODE_PVGRUB) {
                ret = pvgrub_mode(&b);
                goto finish;
        }

        r = kp_boot_request_init(arg_disk, arg_entry, arg_kernel, arg_ramdisk, &error, &req);
        if (r < 0) {
                ret = fail(&b, r, "%s", error.message);
                goto finish;
        }
        b.req = &req;

#if HAVE_SYSTEMD
        /* kunpackd first, when it runs (its own cache and state); the in-process paths follow. */
        if (ask_daemon(&b, &ret) > 0)
                goto finish;
#endif

        r = kp_cache_open(b.settings->cache_dir, &error, &cache);
        if (r >= 0)
                r = kp_state_open(b.settings->state_dir, &error, &state);
        if (r < 0) {
                ret = fail(&b, r, "%s", error.message);
                goto finish;
        }
        popts.trust_foreign = b.settings->trust_foreign_plans;

        r = kp_boot_prepare(cache, state, &req, &popts, &error, &p);
        if (r < 0) {
                ret = fail(&b, r, "%s", error.message);
                goto finish;
        }
        if (p.outcome == KP_PREPARE_READY) {
                ret = answer(&b, &p, "from the cache");
                goto finish;
        }

        /*
         * Cold: say why, then scan. A damaged record or cache entry is worth
         * a warning of its own. The scan takes 10-30 s, so both its start
         * and its end are said at info level: the admin reading
         * bootloader.<domid>.log or the journal sees where the time went.
         */
        if (p.damaged)
                log_struct(LOG_WARNING, 0, KP_FIELDS(KP_MESSAGE_DAMAGE_REPAIRED, b.disk_field), "%s: %s; rescanning",
                           arg_disk, p.why);
        log_cold_start(&b, "scanning the disk in a libguestfs appliance", p.why);
        r = scan(&b, &req, &error);
        log_cold_end(&b, "scan", r);
        if (r == -EINTR) {
                log_error("%s: %s", arg_disk, error.message);
                ret = 128 + SIGTERM;
                goto finish;
        }
        if (r < 0) {
                ret = fail(&b, r, "%s", error.message);
                goto finish;
        }

        kp_prepared_done(&p);
        r = kp_boot_prepare(cache, state, &req, &popts, &error, &p);
        if (r < 0)
                ret = fail(&b, r, "%s", error.message);
        else if (p.outcome != KP_PREPARE_READY)
                ret = fail(&b, -ESTALE, "still no usable record after a scan: %s", p.why);
        else
                ret = answer(&b, &p, "scanned and cached");

finish:
        if (b.output_fd > STDERR_FILENO)
                safe_close(b.output_fd);
        kp_output_dir_done(&b.outdir);
        kp_settings_free(b.settings);
        return ret;
}

int main(int argc, char *argv[])
{
        return run(argc, argv);
}
