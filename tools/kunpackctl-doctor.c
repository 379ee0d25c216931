/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kunpackctl doctor: is this host set up so that kunpack serves its
 * guests' starts well? One line per check, each made for real (the
 * settings parsed, a hard link tried, an appliance launched, the
 * bootloader resolved the way libxl resolves it), exit 0 when all pass.
 */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "kunpackctl-bus.h"
#include "kunpackctl-doctor.h"
#include "kunpackctl.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/json.h"
#include "util/log.h"
#include "util/strv.h"
#include "util/time-util.h"
#include "xl/domain.h"
#if HAVE_GUESTFS
#include "guest/session.h"
#endif

/*
 * Where libxl looks for a bootloader named without a path: its private
 * bindir (LIBEXEC_BIN, /usr/lib/xen-<version>/bin on Debian, where pygrub
 * is), then, through execvp(), the PATH of whoever runs xl. For
 * xendomains that is systemd's default PATH for services.
 */
#define LIBXL_PRIVATE_BINDIRS "/usr/lib/xen-*/bin"
#define SERVICE_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* The name admins write, as they write bootloader = "pygrub". */
#define BARE_NAME "kunpack-boot"
/* A scratch disk for the appliance: it needs one, and reads nothing from it. */
#define DOCTOR_DISK_SIZE (1024 * 1024)
/* Guest configs reported one by one at most; a host with more broken ones gets a count. */
#define DOCTOR_MAX_GUEST_LINES 64

typedef enum Verdict {
        VERDICT_OK,
        VERDICT_FAIL,
        VERDICT_SKIP,
} Verdict;

typedef struct Doctor {
        KpSettings *settings;
        unsigned failed;
        yajl_gen json;
} Doctor;

static bool arg_no_launch;

static void report(Doctor *d, Verdict v, const char *check, const char *format, ...) _printf_(4, 5);
static void report(Doctor *d, Verdict v, const char *check, const char *format, ...)
{
        static const char *const words[] = { [VERDICT_OK] = "ok", [VERDICT_FAIL] = "FAIL", [VERDICT_SKIP] = "skip" };
        char detail[2048];
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(detail, sizeof(detail), format, ap);
        va_end(ap);
        if (v == VERDICT_FAIL)
                d->failed++;
        if (d->json) {
                yajl_gen_map_open(d->json);
                kp_json_kv_string(d->json, "check", check);
                kp_json_kv_string(d->json, "result", v == VERDICT_FAIL ? "fail" : words[v]);
                kp_json_kv_string(d->json, "detail", detail);
                yajl_gen_map_close(d->json);
        } else
                printf("%-4s  %-13s %s\n", words[v], check, detail);
}

static void check_settings(Doctor *d)
{
        KpError error = {};
        bool explicit_path;
        const char *path = kp_settings_choose_path(arg_config, &explicit_path);
        int r;

        r = kp_settings_load(path, explicit_path, &error, &d->settings);
        if (r >= 0) {
                report(d, VERDICT_OK, "settings", "%s%s", d->settings->path ? d->settings->path : path,
                       d->settings->path ? " is valid" : " does not exist: the built-in defaults apply");
                return;
        }
        report(d, VERDICT_FAIL, "settings", "%s (kunpackd will not start; kunpack-boot answers every start with "
               "pvgrub); the checks below use the defaults", kp_error_message(&error, r));
        (void) kp_settings_new_default(&d->settings);
}

static void check_pvgrub(Doctor *d)
{
        const char *p = d->settings->pvgrub_path;
        struct stat st;

        if (stat(p, &st) < 0)
                report(d, VERDICT_FAIL, "pvgrub", "%s: %m: kunpack-boot cannot fall back to pvgrub, nor serve "
                       "pvgrub mode (Debian: grub-xen-bin; or pvgrub_path)", p);
        else if (!S_ISREG(st.st_mode) || st.st_size == 0)
                report(d, VERDICT_FAIL, "pvgrub", "%s is not a pvgrub2 image (not a regular file, or empty)", p);
        else if (access(p, R_OK) < 0)
                report(d, VERDICT_FAIL, "pvgrub", "%s: %m", p);
        else
                report(d, VERDICT_OK, "pvgrub", "%s (%jd bytes): the fallback and pvgrub mode's kernel", p,
                       (intmax_t) st.st_size);
}

/* The cache may not exist yet; it will be made in its nearest existing parent, on that one's mount. */
static int existing_dir(const char *path, char **ret)
{
        _cleanup_free_ char *p = strdup(path);
        struct stat st;

        if (!p)
                return -ENOMEM;
        while (stat(p, &st) < 0 || !S_ISDIR(st.st_mode)) {
                char *slash = strrchr(p, '/');
                if (!slash || slash == p) {
                        free(p);
                        p = strdup("/");
                        break;
                }
                *slash = '\0';
        }
        if (!p)
                return -ENOMEM;
        *ret = TAKE_PTR(p);
        return 0;
}

static void check_links(Doctor *d)
{
        _cleanup_free_ char *from = NULL;
        KpError error = {};
        int r;

        if (access(KP_LIBXL_LIB_DIR, F_OK) < 0) {
                report(d, VERDICT_FAIL, "links", KP_LIBXL_LIB_DIR ": %m (is Xen's toolstack installed?)");
                return;
        }
        if (existing_dir(d->settings->cache_dir, &from) < 0) {
                report(d, VERDICT_FAIL, "links", "out of memory");
                return;
        }
        r = kp_link_probe(from, KP_LIBXL_LIB_DIR, &error);
        if (r > 0)
                report(d, VERDICT_OK, "links", "%s and " KP_LIBXL_LIB_DIR " are on one filesystem: kunpack-boot "
                       "hands libxl hard links, not copies", d->settings->cache_dir);
        else if (r == 0)
                report(d, VERDICT_FAIL, "links", "%s: every start kunpack-boot serves copies the kernel (60 MB and "
                       "more); put cache_dir on the filesystem of " KP_LIBXL_LIB_DIR, error.message);
        else
                report(d, VERDICT_FAIL, "links", "%s", kp_error_message(&error, r));
}

/* kunpackd, if it runs: the same link, from inside its own sandbox. */
static void check_daemon(Doctor *d)
{
        _cleanup_bus_ sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(yajl_tree_freep) yajl_val v = NULL;
        yajl_val links;
        const char *text;
        int saved = kp_log_get_max_level(), r;

        /* Its own words for "not running" go into this check's line, not to stderr. */
        kp_log_set_max_level(-1);
        r = connect_daemon(d->settings, &bus);
        if (r == KPCTL_EXIT_OK)
                r = call_daemon(bus, "Status", KPCTL_CALL_TIMEOUT_USEC, &reply, NULL);
        kp_log_set_max_level(saved);
        if (r != KPCTL_EXIT_OK) {
                report(d, VERDICT_FAIL, "kunpackd", "not reachable at %s: starts are served by kunpack-boot alone, "
                       "and the first start after each kernel upgrade waits for a scan",
                       arg_socket ?: d->settings->socket_path);
                return;
        }
        if (sd_bus_message_read(reply, "s", &text) < 0 || kp_json_parse(text, NULL, &v) < 0) {
                report(d, VERDICT_FAIL, "kunpackd", "malformed answer to Status");
                return;
        }
        links = kp_json_get(v, "links_to_libxl");
        if (links && YAJL_IS_FALSE(links))
                report(d, VERDICT_FAIL, "kunpackd", "running (pid %" PRIu64 "), but from inside its sandbox a "
                       "kernel of %s cannot be hard-linked into " KP_LIBXL_LIB_DIR ": every start it serves "
                       "copies the kernel", json_uint(v, "pid"), json_str(v, "cache_dir"));
        else
                report(d, VERDICT_OK, "kunpackd", "running (pid %" PRIu64 "), %" PRIu64 " guests, %" PRIu64
                       " scans done, %" PRIu64 " failed", json_uint(v, "pid"), json_uint(v, "guests"),
                       json_uint(v, "scans_done"), json_uint(v, "scans_failed"));
}

#if HAVE_GUESTFS
/* One appliance, as a scan launches it (its memory, the boot deadline), on a blank scratch disk. */
static void check_libguestfs(Doctor *d)
{
        _cleanup_(kp_guest_session_freep) KpGuestSession *s = NULL;
        _cleanup_free_ char *disk = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *tmp = getenv("TMPDIR") ?: "/var/tmp";
        uint64_t start = kp_now_usec(CLOCK_MONOTONIC), took;
        KpGuestOptions o = {
                .deadline = start + d->settings->boot_timeout * USEC_PER_SEC,
                .memsize_mib = (unsigned) (d->settings->appliance_memsize / (1024 * 1024)),
        };
        KpDiskSpec spec = { .format = KP_DISK_FORMAT_RAW };
        KpError error = {};
        size_t index;
        int r;

        if (arg_no_launch) {
                report(d, VERDICT_SKIP, "libguestfs", "no appliance launched (--no-launch)");
                return;
        }
        if (asprintf(&disk, "%s/kunpack-doctor.XXXXXX", tmp) < 0) {
                report(d, VERDICT_FAIL, "libguestfs", "out of memory");
                return;
        }
        fd = mkostemp(disk, O_CLOEXEC);
        if (fd < 0 || ftruncate(fd, DOCTOR_DISK_SIZE) < 0) {
                report(d, VERDICT_FAIL, "libguestfs", "cannot make a scratch disk in %s: %m", tmp);
                if (fd >= 0)
                        (void) unlink(disk);
                return;
        }
        spec.path = disk;
        r = kp_guest_session_new(&o, &error, &s);
        if (r >= 0)
                r = kp_guest_session_add_guest(s, &spec, 1, &error, &index);
        if (r >= 0)
                r = kp_guest_session_launch(s, &error);
        s = kp_guest_session_free(s);
        took = kp_now_usec(CLOCK_MONOTONIC) - start;
        (void) unlink(disk);
        if (r < 0)
                report(d, VERDICT_FAIL, "libguestfs", "%s (after %.1f s): scans cannot run, cold starts fall back",
                       kp_error_message(&error, r), (double) took / USEC_PER_SEC);
        else
                report(d, VERDICT_OK, "libguestfs", "an appliance (%u MiB) launched and stopped in %.1f s; a cold "
                       "start pays this within boot_timeout (%" PRIu64 " s)", o.memsize_mib,
                       (double) took / USEC_PER_SEC, d->settings->boot_timeout);
}
#else
static void check_libguestfs(Doctor *d)
{
        report(d, VERDICT_FAIL, "libguestfs", "kunpackctl was built without libguestfs: nothing can be scanned");
}
#endif

/* What `systemctl is-enabled UNIT` says: from the unit files, with or without systemd running. */
static void unit_state(const char *unit, char ret[static 128])
{
        _cleanup_free_ char *cmd = NULL, *line = NULL;
        size_t allocated = 0;
        FILE *f;

        (void) snprintf(ret, 128, "unknown (cannot run systemctl)");
        if (asprintf(&cmd, "systemctl is-enabled %s 2>&1", unit) < 0)
                return;
        f = popen(cmd, "re");
        if (!f)
                return;
        if (getline(&line, &allocated, f) > 0) {
                line[strcspn(line, "\n")] = '\0';
                /* "Failed to get unit file state for kunpackd.socket: No such file or directory" */
                (void) snprintf(ret, 128, "%s", strstr(line, "No such file") ? "not installed" : line);
        }
        (void) pclose(f);
}

static void check_units(Doctor *d)
{
        char socket[128], service[128];
        bool ok;

        unit_state("kunpackd.socket", socket);
        unit_state("kunpackd.service", service);
        ok = streq(socket, "enabled") && streq(service, "enabled");
        report(d, ok ? VERDICT_OK : VERDICT_FAIL, "units", "kunpackd.socket %s, kunpackd.service %s%s", socket, service,
               ok ? "" : " (systemctl enable --now kunpackd.socket kunpackd.service: plans are kept fresh, and "
                         "autostart guests scanned before xendomains starts them)");
}

/*
 * Where libxl would run bootloader = "name" from: name in a private
 * bindir of an installed Xen (libxl only lstat()s it there), else
 * execvp()'s search of the service PATH. The path found, or NULL; ret_why
 * says what is wrong with what libxl would pick.
 */
static char *resolve_bare(const char *name, char **ret_why)
{
        glob_t g = {};
        char *found = NULL;

        *ret_why = NULL;
        if (glob(LIBXL_PRIVATE_BINDIRS, GLOB_ONLYDIR | GLOB_NOSORT, NULL, &g) == 0)
                for (size_t i = 0; i < g.gl_pathc && !found && !*ret_why; i++) {
                        _cleanup_free_ char *p = NULL;
                        struct stat st;

                        if (asprintf(&p, "%s/%s", g.gl_pathv[i], name) < 0)
                                break;
                        if (lstat(p, &st) < 0)
                                continue;
                        /* libxl takes it once it exists; a dangling link or a non-program then fails every start. */
                        if (access(p, X_OK) < 0 && asprintf(ret_why, "libxl would run %s, which cannot be run: %m",
                                                            p) < 0)
                                *ret_why = NULL;
                        else if (!*ret_why)
                                found = TAKE_PTR(p);
                }
        globfree(&g);
        if (found || *ret_why || strchr(name, '/'))
                return found;

        for (const char *dir = SERVICE_PATH; *dir && !found;) {
                size_t len = strcspn(dir, ":");
                _cleanup_free_ char *p = NULL;
                struct stat st;

                if (asprintf(&p, "%.*s/%s", (int) len, dir, name) >= 0 && stat(p, &st) >= 0 && S_ISREG(st.st_mode) &&
                    access(p, X_OK) >= 0)
                        found = TAKE_PTR(p);
                dir += len + (dir[len] == ':');
        }
        return found;
}

static void check_bare_name(Doctor *d)
{
        _cleanup_free_ char *found = NULL, *why = NULL;

        found = resolve_bare(BARE_NAME, &why);
        if (found)
                report(d, VERDICT_OK, "bare-name", "bootloader = \"" BARE_NAME "\" finds %s", found);
        else if (why)
                report(d, VERDICT_FAIL, "bare-name", "bootloader = \"" BARE_NAME "\": %s", why);
        else
                report(d, VERDICT_FAIL, "bare-name", "bootloader = \"" BARE_NAME "\" is found neither in Xen's "
                       LIBXL_PRIVATE_BINDIRS " nor on PATH (" SERVICE_PATH "): name " KP_LIBEXECDIR
                       "/kunpack-boot instead");
}

/* Every guest config of domain_config_dirs that names kunpack-boot: does its bootloader run? */
static void check_guests(Doctor *d)
{
        _cleanup_strv_free_ char **seen = NULL;
        unsigned guests = 0, bad = 0;

        STRV_FOREACH(dir, d->settings->domain_config_dirs) {
                DIR *dd = opendir(*dir);
                struct dirent *de;

                if (!dd)
                        continue;
                while ((de = readdir(dd))) {
                        _cleanup_(kp_domain_config_freep) KpDomainConfig *c = NULL;
                        _cleanup_free_ char *path = NULL, *found = NULL, *why = NULL;
                        struct stat st;
                        const char *b;

                        if (kp_domain_config_name_ignored(de->d_name) ||
                            asprintf(&path, "%s/%s", *dir, de->d_name) < 0 || stat(path, &st) < 0 ||
                            !S_ISREG(st.st_mode) || st.st_size > KP_DOMAIN_CONFIG_MAX_SIZE ||
                            kp_domain_config_load(path, NULL, &c) < 0 || !c->kunpack || !c->name)
                                continue;
                        /* /etc/xen/auto/NAME is usually a link to /etc/xen/NAME.cfg: one guest. */
                        if (strv_contains(seen, c->name) || strv_extend(&seen, c->name) < 0)
                                continue;
                        guests++;
                        b = c->bootloader;
                        if (b[0] == '/') {
                                const char *what = stat(b, &st) < 0 ? strerror(errno)
                                                   : !S_ISREG(st.st_mode)   ? "not a regular file"
                                                   : access(b, X_OK) < 0    ? strerror(errno)
                                                                            : NULL;
                                if (what && ++bad <= DOCTOR_MAX_GUEST_LINES)
                                        report(d, VERDICT_FAIL, "guest", "%s (%s): bootloader %s cannot be run: %s",
                                               c->name, path, b, what);
                                continue;
                        }
                        found = resolve_bare(b, &why);
                        if (!found && ++bad <= DOCTOR_MAX_GUEST_LINES)
                                report(d, VERDICT_FAIL, "guest", "%s (%s): bootloader \"%s\" %s", c->name, path, b,
                                       why ? why : "is found neither in Xen's private bindir nor on PATH");
                }
                closedir(dd);
        }
        if (bad > DOCTOR_MAX_GUEST_LINES)
                report(d, VERDICT_FAIL, "guest", "%u more guests whose bootloader cannot be run",
                       bad - DOCTOR_MAX_GUEST_LINES);
        if (bad == 0)
                report(d, VERDICT_OK, "guests", "%u guest config%s name%s kunpack-boot; each bootloader can be run",
                       guests, guests == 1 ? "" : "s", guests == 1 ? "s" : "");
}

int verb_doctor(int argc, char **argv)
{
        enum { ARG_NO_LAUNCH = 0x100 };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, 'j' },
                { "no-launch", no_argument, NULL, ARG_NO_LAUNCH },
                {}
        };
        _cleanup_(yajl_gen_freep) yajl_gen json = NULL;
        Doctor d = {};
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        printf("Usage: kunpackctl doctor [--no-launch] [--json]\n\n"
                               "Check that this host is set up for kunpack: settings, pvgrub, hard links from the\n"
                               "cache to /var/lib/xen, kunpackd, a libguestfs appliance launch (timed), the units,\n"
                               "the bare bootloader name, and every guest config's bootloader. One line per check;\n"
                               "exit 0 when all pass, 1 otherwise.\n\n"
                               "     --no-launch   Skip the appliance launch (10-30 s under emulation)\n"
                               "     --json        Print JSON\n");
                        return KPCTL_EXIT_OK;
                case 'j':
                        arg_json = true;
                        break;
                case ARG_NO_LAUNCH:
                        arg_no_launch = true;
                        break;
                default:
                        return KPCTL_EXIT_USAGE;
                }
        if (optind < argc) {
                log_error("doctor takes no arguments");
                return KPCTL_EXIT_USAGE;
        }
        if (arg_json) {
                if (kp_json_gen_new(true, &json) < 0)
                        return KPCTL_EXIT_FAILURE;
                yajl_gen_array_open(json);
                d.json = json;
        }

        check_settings(&d);
        if (!d.settings)
                return log_error_errno(-ENOMEM, "out of memory"), KPCTL_EXIT_FAILURE;
        check_pvgrub(&d);
        check_links(&d);
        check_daemon(&d);
        check_libguestfs(&d);
        check_units(&d);
        check_bare_name(&d);
        check_guests(&d);

        if (json) {
                _cleanup_free_ char *text = NULL;
                yajl_gen_array_close(json);
                if (kp_json_gen_finish(json, &text, NULL) < 0)
                        return KPCTL_EXIT_FAILURE;
                fputs(text, stdout);
        } else if (d.failed > 0 && geteuid() != 0)
                printf("\nNot run as root: the checks that read kunpack's directories or talk to kunpackd "
                       "need root.\n");
        kp_settings_free(d.settings);
        return d.failed > 0 ? KPCTL_EXIT_FAILURE : KPCTL_EXIT_OK;
}
