/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kunpackctl revert GUEST | --disk=DISK: undo pvgrub mode in a guest, and
 * kunpackctl show GUEST --changes: list what pvgrub mode changed in it.
 * Both read the guest's disk itself, inside the libguestfs appliance: what
 * kunpack changed is recorded in the guest (docs/pvgrub-mode.md), so they
 * work on any host, with or without kunpackd.
 *
 * GUEST is an xl domain config: a path, or a name looked up in
 * kunpack.conf's domain_config_dirs as NAME.cfg, NAME, or a file whose
 * name = "NAME". Its first disk is the one libxl hands the bootloader,
 * and the one pvgrub mode writes.
 */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "boot/pvgrub-mode.h"
#include "guest/diskspec.h"
#include "kunpackctl-revert.h"
#include "kunpackctl.h"
#include "settings/settings.h"
#include "util/error.h"
#include "util/json.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/strv.h"
#include "util/time-util.h"
#include "xl/domain.h"

/* Files looked at in one config directory when searching a guest by name = "...": as kunpackd's registry. */
#define KPCTL_MAX_DIR_FILES 4096
/* Without --timeout: an appliance launch under emulation takes 10-25 s, a busy host several times that. */
#define KPCTL_REVERT_DEFAULT_TIMEOUT_SEC 300
#define KPCTL_REVERT_MAX_TIMEOUT_SEC     (24 * 3600)

static int log_oom(void)
{
        return log_error_errno(-ENOMEM, "out of memory");
}

static bool endswith_newline(const char *s)
{
        size_t n = strlen(s);
        return n > 0 && s[n - 1] == '\n';
}

static DIR *closedir_safe(DIR *d)
{
        if (d)
                (void) closedir(d);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir_safe);

static int load_config(KpSettings **ret)
{
        KpError error = {};
        bool explicit_path;
        const char *path = kp_settings_choose_path(arg_config, &explicit_path);
        int r;

        r = kp_settings_load(path, explicit_path, &error, ret);
        if (r < 0)
                log_error("%s", error.message);
        return r;
}

/* The xl config a GUEST argument means. */
static int find_domain(const KpSettings *c, const char *guest, KpDomainConfig **ret)
{
        KpError error = {};
        int r;

        if (strchr(guest, '/')) {
                r = kp_domain_config_load(guest, &error, ret);
                if (r < 0)
                        log_error("%s", error.message);
                return r;
        }
        STRV_FOREACH (dir, c->domain_config_dirs) {
                static const char *const suffixes[] = { ".cfg", "" };

                for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                        _cleanup_free_ char *p = NULL;
                        struct stat st;

                        if (asprintf(&p, "%s/%s%s", *dir, guest, suffixes[i]) < 0)
                                return log_oom();
                        if (stat(p, &st) < 0 || !S_ISREG(st.st_mode))
                                continue;
                        r = kp_domain_config_load(p, &error, ret);
                        if (r < 0)
                                log_error("%s", error.message);
                        return r;
                }
        }
        /* By name = "...", as kunpackd's registry knows guests. */
        STRV_FOREACH (dir, c->domain_config_dirs) {
                _cleanup_(closedir_safep) DIR *d = opendir(*dir);
                unsigned n = 0;

                if (!d)
                        continue;
                for (struct dirent *de; (de = readdir(d)) && n < KPCTL_MAX_DIR_FILES; n++) {
                        _cleanup_(kp_domain_config_freep) KpDomainConfig *dc = NULL;
                        _cleanup_free_ char *p = NULL;

                        if (de->d_name[0] == '.' || de->d_type == DT_DIR)
                                continue;
                        if (asprintf(&p, "%s/%s", *dir, de->d_name) < 0)
                                return log_oom();
                        if (kp_domain_config_load(p, NULL, &dc) < 0 || !dc->name || !streq(dc->name, guest))
                                continue;
                        *ret = TAKE_PTR(dc);
                        return 0;
                }
        }
        log_error("%s: no xl domain config of that name in domain_config_dirs (give its path instead)",
                  guest);
        return -ENOENT;
}

typedef struct Target {
        KpSettings *settings;
        KpDomainConfig *domain;
        KpDiskSpec disk;
        bool have_disk;
        uint64_t timeout_sec;
} Target;

static void target_done(Target *t)
{
        kp_settings_free(t->settings);
        kp_domain_config_free(t->domain);
        if (t->have_disk)
                kp_disk_spec_done(&t->disk);
}

/* Options and the disk, for both verbs: GUEST or --disk=DISK[,format=...]. */
static int parse(int argc, char **argv, const char *usage, bool *changes, Target *t)
{
        enum { ARG_DISK = 0x100, ARG_TIMEOUT, ARG_CHANGES, ARG_JSON };
        static const struct option options[] = { { "help", no_argument, NULL, 'h' },
                                                 { "disk", required_argument, NULL, ARG_DISK },
                                                 { "timeout", required_argument, NULL, ARG_TIMEOUT },
                                                 { "changes", no_argument, NULL, ARG_CHANGES },
                                                 { "json", no_argument, NULL, ARG_JSON },
                                                 {} };
        const char *disk = NULL;
        KpError error = {};
        char *end;
        int c, r;

        t->timeout_sec = KPCTL_REVERT_DEFAULT_TIMEOUT_SEC;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        printf("%s", usage);
                        return 0;
                case ARG_DISK:
                        disk = optarg;
                        break;
                case ARG_TIMEOUT:
                        errno = 0;
                        t->timeout_sec = strtoull(optarg, &end, 10);
                        if (errno || *end || optarg[0] == '-' || t->timeout_sec == 0 ||
                            t->timeout_sec > KPCTL_REVERT_MAX_TIMEOUT_SEC) {
                                log_error("--timeout: expected 1 to %d seconds, got \"%s\"",
                                          KPCTL_REVERT_MAX_TIMEOUT_SEC, optarg);
                                return -EINVAL;
                        }
                        break;
                case ARG_CHANGES:
                        if (!changes) {
                                log_error("unknown option --changes");
                                return -EINVAL;
                        }
                        *changes = true;
                        break;
                case ARG_JSON:
                        arg_json = true;
                        break;
                default:
                        return -EINVAL;
                }
        if ((disk != NULL) == (optind + 1 == argc) || optind + 1 < argc) {
                log_error("give one guest, or --disk=DISK (see --help)");
                return -EINVAL;
        }
        r = load_config(&t->settings);
        if (r < 0)
                return r;
        if (disk) {
                r = kp_disk_spec_parse(disk, &error, &t->disk);
                if (r < 0) {
                        log_error("%s", error.message);
                        return r;
                }
        } else {
                r = find_domain(t->settings, argv[optind], &t->domain);
                if (r < 0)
                        return r;
                if (t->domain->n_disks == 0) {
                        log_error("%s: no disk", t->domain->path);
                        return -ENOENT;
                }
                t->disk = (KpDiskSpec) { .path = strdup(t->domain->disks[0].path),
                                         .format = t->domain->disks[0].format };
                if (!t->disk.path)
                        return log_oom();
        }
        t->have_disk = true;
        return 1;
}

static KpPvgrubRunOptions run_options(const Target *t)
{
        return (KpPvgrubRunOptions) {
                .deadline = kp_now_usec(CLOCK_MONOTONIC) + t->timeout_sec * USEC_PER_SEC,
                .trust_foreign = t->settings->trust_foreign_plans,
                .exclude_domid = UINT32_MAX,
                .tmp_dir = t->settings->cache_dir,
                .max_kernel_size = t->settings->max_kernel_size,
        };
}

int verb_revert(int argc, char **argv)
{
        _cleanup_(target_done) Target t = {};
        _cleanup_(kp_state_store_freep) KpStateStore *state = NULL;
        KpPvgrubRunOptions o;
        KpPvgrubReport rep = {};
        KpError error = {};
        int r;

        r = parse(argc, argv,
                  "Usage: kunpackctl revert GUEST | --disk=DISK[,format=raw|qcow2] [--timeout=SECONDS]\n\n"
                  "Undo pvgrub mode in a guest: its boot configuration gets its original bytes back\n"
                  "and the decompressed kernels kunpack wrote into its /boot are removed, as the\n"
                  "record kunpack keeps in the guest says. Refused while a domain uses the disk.\n",
                  NULL, &t);
        if (r <= 0)
                return r < 0 ? KPCTL_EXIT_USAGE : KPCTL_EXIT_OK;

        /* Without a state store the record simply is not there to drop; the disk is what matters. */
        if (kp_state_open(t.settings->state_dir, &error, &state) < 0)
                log_warning("%s; the pvgrub-mode record of %s is left as it is", error.message, t.disk.path);
        o = run_options(&t);
        r = kp_boot_pvgrub_revert(state, &t.disk, &o, &error, &rep);
        if (r < 0) {
                log_error("%s: %s", t.disk.path, error.message);
                return KPCTL_EXIT_FAILURE;
        }
        printf("%s: %s\n", t.disk.path, rep.message);
        return KPCTL_EXIT_OK;
}

int verb_show_changes(int argc, char **argv)
{
        _cleanup_(target_done) Target t = {};
        _cleanup_(kp_pvgrub_manifest_freep) KpPvgrubManifest *m = NULL;
        _cleanup_free_ char *device = NULL, *path = NULL;
        bool changes = false;
        KpPvgrubRunOptions o;
        KpError error = {};
        int r;

        r = parse(argc, argv,
                  "Usage: kunpackctl show GUEST --changes | --disk=DISK[,format=...] --changes [--json]\n\n"
                  "List what pvgrub mode changed in the guest, as the record kunpack keeps in it says.\n",
                  &changes, &t);
        if (r <= 0)
                return r < 0 ? KPCTL_EXIT_USAGE : KPCTL_EXIT_OK;

        o = run_options(&t);
        r = kp_boot_pvgrub_show(&t.disk, &o, &error, &device, &path, &m);
        if (r < 0 && r != -ENOENT) {
                log_error("%s: %s", t.disk.path, error.message);
                return KPCTL_EXIT_FAILURE;
        }
        if (arg_json) {
                _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
                _cleanup_free_ char *text = NULL;

                if (kp_json_gen_new(true, &g) < 0)
                        return log_oom(), KPCTL_EXIT_FAILURE;
                yajl_gen_map_open(g);
                kp_json_kv_string(g, "disk", t.disk.path);
                kp_json_kv_bool(g, "changed", m != NULL);
                if (m) {
                        kp_json_kv_string(g, "filesystem", device);
                        kp_json_kv_string(g, "manifest", path);
                        kp_json_kv_string(g, "config", m->config);
                        kp_json_kv_string(g, "config_sha256", m->config ? m->config_sha256 : NULL);
                        kp_json_kv_string(g, "backup", m->backup);
                        kp_json_kv_string(g, "backup_sha256", m->backup ? m->backup_sha256 : NULL);
                        kp_json_key(g, "files");
                        yajl_gen_array_open(g);
                        for (size_t i = 0; i < m->n_files; i++) {
                                yajl_gen_map_open(g);
                                kp_json_kv_string(g, "path", m->files[i].path);
                                kp_json_kv_string(g, "sha256", m->files[i].sha256);
                                kp_json_kv_string(g, "source", m->files[i].source);
                                kp_json_kv_string(g, "source_sha256", m->files[i].source_sha256);
                                yajl_gen_map_close(g);
                        }
                        yajl_gen_array_close(g);
                }
                yajl_gen_map_close(g);
                if (kp_json_gen_finish(g, &text, NULL) < 0)
                        return log_oom(), KPCTL_EXIT_FAILURE;
                fputs(text, stdout);
                if (!endswith_newline(text))
                        fputc('\n', stdout);
                return KPCTL_EXIT_OK;
        }
        if (!m) {
                printf("%s: kunpack changed nothing in this guest\n", t.disk.path);
                return KPCTL_EXIT_OK;
        }
        printf("Disk:     %s\nRecord:   %s on %s\n", t.disk.path, path, device);
        if (m->config)
                printf("Config:   %s rewritten (sha256 %s)\nBackup:   %s (the original, sha256 %s)\n",
                       m->config, m->config_sha256, m->backup, m->backup_sha256);
        for (size_t i = 0; i < m->n_files; i++)
                printf("Wrote:    %s (sha256 %s) from %s (sha256 %s)\n", m->files[i].path,
                       m->files[i].sha256, m->files[i].source, m->files[i].source_sha256);
        return KPCTL_EXIT_OK;
}
