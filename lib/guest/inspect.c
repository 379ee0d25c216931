/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bootcfg/parse-isolated.h"
#include "guest/guest-bootfs.h"
#include "guest/guest-devices.h"
#include "guest/guest-facts.h"
#include "guest/inspect.h"
#include "util/error.h"
#include "util/strv.h"

/* Adds a warning to the plan, within the plan's own bound (the last slot says how many were dropped). */
static void plan_warn(KpBootPlan *plan, const char *format, ...) _printf_(2, 3);
static void plan_warn(KpBootPlan *plan, const char *format, ...)
{
        char *w = NULL;
        va_list ap;

        if (strv_length(plan->warnings) >= KP_BOOTCFG_MAX_WARNINGS - 1)
                return;
        va_start(ap, format);
        if (vasprintf(&w, format, ap) < 0)
                w = NULL;
        va_end(ap);
        if (!w)
                return;
        /* Guest text reaches warnings only through strings validated or sanitised before. */
        for (char *p = w; *p; p++)
                if ((unsigned char) *p < ' ' || *p == 0x7f)
                        *p = '?';
        if (strv_contains(plan->warnings, w)) {
                free(w);
                return;
        }
        (void) strv_consume(&plan->warnings, w);
}

static bool is_stop(int r)
{
        return r == -ECANCELED || r == -ETIMEDOUT || r == -ENOMEM;
}

/* Summarises what was looked at, for a "nothing bootable" message. */
static void describe_checked(KpGuestSession *s, size_t guest, char *buf, size_t size)
{
        size_t used = 0, n_fs = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < s->n_filesystems && used < size; i++) {
                const KpGuestFs *fs = &s->filesystems[i];

                if (fs->guest != guest)
                        continue;
                n_fs++;
                if (fs->mount_state < 0)
                        used += (size_t) snprintf(buf + used, size - used, "; %s", fs->mount_error);
        }
        if (used < size)
                used += (size_t) snprintf(buf + used, size - used, "; %zu filesystem%s looked at", n_fs,
                                          n_fs == 1 ? "" : "s");
        /* Notes about devices we could not tie to any guest may be why this one has nothing. */
        for (size_t i = 0; i < s->n_notes && used < size; i++)
                if (s->notes[i].guest == guest || s->notes[i].guest == SIZE_MAX)
                        used += (size_t) snprintf(buf + used, size - used, "; %s", s->notes[i].text);
}

static int find_config_from(KpGuestSession *s, size_t guest, KpBootParseFlags flags, size_t *next, KpError *error,
                            size_t *ret_fs, KpBootPlan **ret_plan);

static int parse_check_stop(void *userdata, KpError *error)
{
        return kp_guest_check_cancelled(userdata, error);
}

/*
 * Guest text is parsed in a child process (bootcfg/parse-isolated.h),
 * never in this one: this process launches the appliance, and qemu would
 * inherit any memory limit set here. The child stops with the session
 * (its deadline, a cancel); its reads go through bootfs here.
 */
static int parse_isolated(KpGuestSession *s, KpBootConfigKind kind, const char *path, const char *data, size_t size,
                          KpGuestBootFs *bootfs, KpBootParseFlags flags, KpError *error, KpBootPlan **ret_plan)
{
        KpIsolateOptions o = {
                .deadline = s->options.deadline,
                .check_stop = parse_check_stop,
                .userdata = s,
        };

        return kp_boot_config_parse_isolated(kind, path, data, size, &bootfs->ops, flags, &o, error, ret_plan, NULL);
}

/*
 * Finds and parses the configuration: the first filesystem, in order, that
 * has one of kp_boot_config_candidates[]. A configuration that is found but
 * refused (too big, hostile, unparsable) is an error, not a reason to look
 * elsewhere: GRUB itself would read that file.
 */
static int find_config(KpGuestSession *s, size_t guest, KpBootParseFlags flags, KpError *error, size_t *ret_fs,
                       KpBootPlan **ret_plan)
{
        size_t i = 0;
        int r;

        /* Partitions first; logical volumes only if none of them has a config. */
        for (;;) {
                r = find_config_from(s, guest, flags, &i, error, ret_fs, ret_plan);
                if (r != 0 || !s->lvm_pending)
                        return r;
                r = kp_guest_scan_lvm(s, error);
                if (r < 0)
                        return r;
        }
}

static int find_config_from(KpGuestSession *s, size_t guest, KpBootParseFlags flags, size_t *next, KpError *error,
                            size_t *ret_fs, KpBootPlan **ret_plan)
{
        for (size_t i = *next; i < s->n_filesystems; i++, *next = i) {
                KpGuestFs *fs = &s->filesystems[i];
                KpGuestBootFs bootfs;
                KpError e = {};
                int r;

                if (fs->guest != guest)
                        continue;
                r = kp_guest_mount(s, i, &e);
                if (r < 0) {
                        if (is_stop(r))
                                return kp_error_set(error, r, "%s", e.message);
                        continue; /* remembered in fs->mount_error */
                }

                for (size_t c = 0; c < kp_boot_config_candidates_count; c++) {
                        const KpBootConfigCandidate *cand = &kp_boot_config_candidates[c];
                        _cleanup_free_ char *resolved = NULL, *data = NULL;
                        uint64_t size;
                        size_t n;

                        r = kp_guest_lookup(s, cand->path, KP_GUEST_FILE_REGULAR, &e, &resolved, &size);
                        if (r == -ENOENT || r == -EISDIR || r == -ENOTDIR || r == -EBADFD)
                                continue;
                        if (r < 0)
                                return kp_error_set(error, r, "boot config on %s: %s", fs->name, e.message);
                        if (size > KP_BOOTCFG_MAX_SIZE)
                                return kp_error_set(error, -EFBIG,
                                                    "boot config %s on %s is %" PRIu64
                                                    " bytes, more than the %d allowed",
                                                    cand->path, fs->name, size, KP_BOOTCFG_MAX_SIZE);

                        r = kp_guest_read_head(s, resolved, size, &e, &data, &n);
                        if (r < 0)
                                return kp_error_set(error, r, "boot config %s on %s: %s", cand->path, fs->name,
                                                    e.message);

                        r = kp_guest_bootfs_init(s, i, &bootfs);
                        if (r < 0)
                                return kp_error_set(error, r, "%s", bootfs.error.message);
                        r = parse_isolated(s, cand->kind, cand->path, data, n, &bootfs, flags, &e, ret_plan);
                        if (r < 0) {
                                /* A read the parser asked for may explain it better than the errno it saw. */
                                if (bootfs.error.code == r && bootfs.error.message[0])
                                        return kp_error_set(error, r, "%s on %s: %s", cand->path, fs->name,
                                                            bootfs.error.message);
                                return kp_error_set(error, r, "%s on %s: %s", cand->path, fs->name,
                                                    kp_error_message(&e, r));
                        }
                        *ret_fs = i;
                        return 1;
                }
        }
        return 0;
}

/* No configuration anywhere: the first filesystem with a kernel in /boot (or at its top) gives the plan. */
static int find_fallback(KpGuestSession *s, size_t guest, KpError *error, size_t *ret_fs, KpBootPlan **ret_plan)
{
        int r = kp_guest_scan_lvm(s, error);

        if (r < 0)
                return r;
        for (size_t i = 0; i < s->n_filesystems; i++) {
                KpGuestBootFs bootfs;
                KpError e = {};

                if (s->filesystems[i].guest != guest)
                        continue;
                r = kp_guest_mount(s, i, &e);
                if (r < 0) {
                        if (is_stop(r))
                                return kp_error_set(error, r, "%s", e.message);
                        continue;
                }
                r = kp_guest_bootfs_init(s, i, &bootfs);
                if (r < 0)
                        return kp_error_set(error, r, "%s", bootfs.error.message);
                r = parse_isolated(s, KP_BOOT_CONFIG_NONE, NULL, NULL, 0, &bootfs, 0, &e, ret_plan);
                if (r == -ENOENT)
                        continue;
                if (r < 0) {
                        if (is_stop(r) || is_stop(bootfs.error.code))
                                return kp_error_set(error, r, "%s", kp_error_message(&e, r));
                        continue;
                }
                *ret_fs = i;
                return 1;
        }
        return 0;
}

static int fill_file(KpGuestSession *s, size_t fs, KpFileInfo *info, bool kernel, KpError *error)
{
        const KpGuestFileFacts *f;
        int r;

        r = kp_guest_file_facts(s, fs, info->path, kernel, error, &f);
        if (r < 0)
                return r;
        return kp_guest_file_info_fill(s, fs, f, info);
}

static int fill_entry(KpGuestSession *s, size_t guest, size_t config_fs, KpBootPlan *plan, KpBootEntry *e,
                      bool selected, KpError *error)
{
        const char *what = e->menu_path ? e->menu_path : e->title ? e->title : "(untitled)";
        size_t fs;
        bool matched;
        KpError fe = {};
        int r;

        if (!e->kernel.path)
                return 0; /* chainloader & co.: nothing to look at */

        r = kp_guest_resolve_root(s, guest, config_fs, &e->root, error, &fs, &matched);
        if (r < 0)
                return r;
        if (!matched)
                plan_warn(plan, "entry \"%s\": root %s \"%s\" matches no filesystem of the guest; using %s", what,
                          kp_device_kind_to_string(e->root.kind), e->root.value ? e->root.value : "",
                          s->filesystems[config_fs].name);

        r = fill_file(s, fs, &e->kernel, true, &fe);
        if (r < 0) {
                if (selected || is_stop(r))
                        return kp_error_set(error, r, "entry \"%s\": kernel %s", what, fe.message);
                plan_warn(plan, "entry \"%s\": kernel %s", what, fe.message);
                return 0;
        }
        for (size_t k = 0; k < e->n_initrds; k++) {
                r = fill_file(s, fs, &e->initrds[k], false, &fe);
                if (r < 0) {
                        if (selected || is_stop(r))
                                return kp_error_set(error, r, "entry \"%s\": initrd %s", what, fe.message);
                        plan_warn(plan, "entry \"%s\": initrd %s", what, fe.message);
                }
        }
        return 0;
}

int kp_guest_session_inspect(KpGuestSession *s, size_t guest, const KpInspectOptions *options, KpError *error,
                             KpBootPlan **ret_plan)
{
        static const KpInspectOptions defaults = {};
        _cleanup_(kp_boot_plan_freep) KpBootPlan *plan = NULL;
        const KpBootEntry *sel;
        size_t config_fs = 0, n_fs = 0;
        char checked[KP_ERROR_MESSAGE_MAX];
        int r;

        kp_guest_enter(s);
        if (!options)
                options = &defaults;
        if (guest >= s->n_guests)
                return kp_error_set(error, -EINVAL, "no guest %zu in this session", guest);

        r = kp_guest_session_launch(s, error);
        if (r < 0)
                return r;
        r = kp_guest_scan_filesystems(s, error);
        if (r < 0)
                return r;
        for (int pass = 0; pass < 2 && n_fs == 0; pass++) {
                /* A guest whose only filesystems are logical volumes. */
                if (pass == 1) {
                        r = kp_guest_scan_lvm(s, error);
                        if (r < 0)
                                return r;
                }
                for (size_t i = 0; i < s->n_filesystems; i++)
                        if (s->filesystems[i].guest == guest)
                                n_fs++;
        }
        if (n_fs == 0) {
                describe_checked(s, guest, checked, sizeof(checked));
                return kp_error_set(error, -ENOENT, "nothing bootable: no filesystem on the guest's disks%s", checked);
        }

        r = find_config(s, guest, options->parse_flags, error, &config_fs, &plan);
        if (r == 0)
                r = find_fallback(s, guest, error, &config_fs, &plan);
        if (r < 0)
                return r;
        if (r == 0) {
                describe_checked(s, guest, checked, sizeof(checked));
                return kp_error_set(error, -ENOENT,
                                    "nothing bootable: no boot configuration and no /boot/vmlinuz-* on the guest's "
                                    "filesystems%s", checked);
        }

        plan->config_device = strdup(s->filesystems[config_fs].name);
        if (!plan->config_device)
                return -ENOMEM;

        /* Before any guest-named path goes back into the appliance. */
        r = kp_boot_plan_validate(plan, error);
        if (r < 0)
                return kp_error_prefix(error, r, "boot config on %s refused", plan->config_device);

        if (options->entry) {
                r = kp_boot_plan_select(plan, options->entry, error);
                if (r < 0)
                        return r;
        }
        sel = kp_boot_plan_selected(plan);
        if (!sel)
                return kp_error_set(error, -ENOENT, "nothing bootable: the boot config has no entries");

        kp_guest_progress(s, KP_GUEST_STAGE_FILES, 0);
        /* The selected entry first: its failure ends the inspection before any other work. */
        r = fill_entry(s, guest, config_fs, plan, &plan->entries[plan->selected], true, error);
        if (r < 0)
                return r;
        if (!options->selected_only)
                for (size_t i = 0; i < plan->n_entries; i++) {
                        if (i == plan->selected)
                                continue;
                        r = fill_entry(s, guest, config_fs, plan, &plan->entries[i], false, error);
                        if (r < 0)
                                return r;
                        kp_guest_progress(s, KP_GUEST_STAGE_FILES, (unsigned) ((i + 1) * 100 / plan->n_entries));
                }

        /* Warnings now carry guest text too: check everything once more. */
        r = kp_boot_plan_validate(plan, error);
        if (r < 0)
                return kp_error_prefix(error, r, "boot plan refused");

        *ret_plan = TAKE_PTR(plan);
        return 0;
}

int kp_guest_inspect(const KpDiskSpec *disks, size_t n_disks, const KpInspectOptions *options, KpError *error,
                     KpGuestSession **ret_session, KpBootPlan **ret_plan)
{
        _cleanup_(kp_guest_session_freep) KpGuestSession *s = NULL;
        _cleanup_(kp_boot_plan_freep) KpBootPlan *plan = NULL;
        size_t guest;
        int r;

        r = kp_guest_session_new(options ? &options->guest : NULL, error, &s);
        if (r < 0)
                return r;
        r = kp_guest_session_add_guest(s, disks, n_disks, error, &guest);
        if (r < 0)
                return r;
        r = kp_guest_session_inspect(s, guest, options, error, &plan);
        if (r < 0)
                return r;

        if (ret_session)
                *ret_session = TAKE_PTR(s);
        *ret_plan = TAKE_PTR(plan);
        return 0;
}
