/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "bootcfg/bootplan-internal.h"
#include "bootcfg/guest-path.h"
#include "bootcfg/text.h"
#include "util/error.h"
#include "util/strv.h"

/* One string of the plan: what it is (for the message) and its limit. */
static int check_string(const char *what, const char *s, size_t max, KpError *error)
{
        _cleanup_free_ char *shown = NULL;
        size_t len;

        if (!s)
                return 0;
        len = strlen(s);
        if (len > max)
                return kp_error_set(error, -E2BIG, "%s is %zu bytes long, more than the limit of %zu", what,
                                    len, max);
        if (!kp_text_is_printable(s, len)) {
                shown = kp_text_escape_short(s);
                return kp_error_set(error, -EBADMSG, "%s \"%s\" contains a control character", what,
                                    shown ?: "?");
        }
        if (!kp_text_is_utf8(s, len)) {
                shown = kp_text_escape_short(s);
                return kp_error_set(error, -EBADMSG, "%s \"%s\" is not valid UTF-8", what, shown ?: "?");
        }
        return 0;
}

static int check_path(const char *what, const char *path, KpError *error)
{
        _cleanup_free_ char *shown = NULL;
        int r;

        r = check_string(what, path, KP_BOOTCFG_MAX_PATH, error);
        if (r < 0)
                return r;
        if (path[0] != '/' || kp_guest_path_has_dotdot(path)) {
                shown = kp_text_escape_short(path);
                return kp_error_set(error, -EBADMSG, "%s \"%s\" is not an absolute path free of \"..\"", what,
                                    shown ?: "?");
        }
        return 0;
}

static int check_entry(const KpBootEntry *e, size_t i, KpError *error)
{
        char what[64];
        int r;

        (void) snprintf(what, sizeof(what), "entry %zu: title", i);
        r = check_string(what, e->title, KP_BOOTCFG_MAX_TITLE, error);
        if (r < 0)
                return r;
        (void) snprintf(what, sizeof(what), "entry %zu: id", i);
        r = check_string(what, e->id, KP_BOOTCFG_MAX_TITLE, error);
        if (r < 0)
                return r;
        (void) snprintf(what, sizeof(what), "entry %zu: menu path", i);
        r = check_string(what, e->menu_path, KP_BOOTCFG_MAX_MENU_PATH, error);
        if (r < 0)
                return r;
        (void) snprintf(what, sizeof(what), "entry %zu: device", i);
        r = check_string(what, e->root.value, KP_BOOTCFG_MAX_PATH, error);
        if (r < 0)
                return r;
        (void) snprintf(what, sizeof(what), "entry %zu: command line", i);
        r = check_string(what, e->cmdline, KP_BOOTCFG_MAX_CMDLINE, error);
        if (r < 0)
                return r;
        if (e->kernel.path) {
                (void) snprintf(what, sizeof(what), "entry %zu: kernel path", i);
                r = check_path(what, e->kernel.path, error);
                if (r < 0)
                        return r;
        }
        if (e->n_initrds > KP_BOOTCFG_MAX_INITRDS)
                return kp_error_set(error, -E2BIG, "entry %zu has %zu initrds, more than the limit of %d", i,
                                    e->n_initrds, KP_BOOTCFG_MAX_INITRDS);
        for (size_t k = 0; k < e->n_initrds; k++) {
                (void) snprintf(what, sizeof(what), "entry %zu: initrd path", i);
                r = check_path(what, e->initrds[k].path, error);
                if (r < 0)
                        return r;
        }
        return 0;
}

int kp_boot_plan_validate(const KpBootPlan *plan, KpError *error)
{
        const KpBootEntry *sel;
        int r;

        if (plan->n_entries > KP_BOOTCFG_MAX_ENTRIES)
                return kp_error_set(error, -E2BIG, "%zu entries, more than the limit of %d", plan->n_entries,
                                    KP_BOOTCFG_MAX_ENTRIES);
        r = check_string("configuration path", plan->config_path, KP_BOOTCFG_MAX_PATH, error);
        if (r < 0)
                return r;
        r = check_string("configuration device", plan->config_device, KP_BOOTCFG_MAX_PATH, error);
        if (r < 0)
                return r;
        r = check_string("reason", plan->reason_detail, KP_BOOTCFG_MAX_MENU_PATH, error);
        if (r < 0)
                return r;
        STRV_FOREACH(w, plan->warnings) {
                r = check_string("warning", *w, KP_BOOTCFG_MAX_MENU_PATH, error);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < plan->n_entries; i++) {
                r = check_entry(&plan->entries[i], i, error);
                if (r < 0)
                        return r;
        }

        sel = kp_boot_plan_selected(plan);
        if (!sel)
                return kp_error_set(error, -ENOENT, "the configuration offers no entry");
        if (!sel->kernel.path) {
                _cleanup_free_ char *shown = kp_text_escape_short(sel->title);
                return kp_error_set(error, -ENOENT, "the selected entry \"%s\" loads no Linux kernel",
                                    shown ?: "?");
        }
        return 0;
}
