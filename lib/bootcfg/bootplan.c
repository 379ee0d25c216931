/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "bootcfg/bootplan-internal.h"
#include "util/grow.h"
#include "util/strv.h"
#include "util/string-table.h"

static const char *const config_kind_names[_KP_BOOT_CONFIG_KIND_MAX] = {
        [KP_BOOT_CONFIG_NONE] = "none",
        [KP_BOOT_CONFIG_GRUB2] = "grub2",
        [KP_BOOT_CONFIG_GRUB_LEGACY] = "grub-legacy",
        [KP_BOOT_CONFIG_EXTLINUX] = "extlinux",
        [KP_BOOT_CONFIG_DIRECT] = "direct",
};

static const char *const select_reason_names[_KP_SELECT_REASON_MAX] = {
        [KP_SELECT_FIRST] = "first",
        [KP_SELECT_DEFAULT_INDEX] = "default-index",
        [KP_SELECT_DEFAULT_TITLE] = "default-title",
        [KP_SELECT_DEFAULT_ID] = "default-id",
        [KP_SELECT_DEFAULT_PATH] = "default-path",
        [KP_SELECT_SAVED_ENTRY] = "saved-entry",
        [KP_SELECT_NEXT_ENTRY] = "next-entry",
        [KP_SELECT_LABEL] = "label",
        [KP_SELECT_REQUESTED] = "requested",
        [KP_SELECT_FALLBACK] = "fallback",
        [KP_SELECT_DIRECT] = "direct",
};

static const char *const device_kind_names[_KP_DEVICE_KIND_MAX] = {
        [KP_DEVICE_SAME] = "same",
        [KP_DEVICE_UUID] = "uuid",
        [KP_DEVICE_LABEL] = "label",
        [KP_DEVICE_FILE] = "file",
        [KP_DEVICE_GRUB] = "grub",
};

KP_DEFINE_STRING_TABLE(kp_boot_config_kind, KpBootConfigKind, config_kind_names);
KP_DEFINE_STRING_TABLE(kp_select_reason, KpSelectReason, select_reason_names);
KP_DEFINE_STRING_TABLE(kp_device_kind, KpDeviceKind, device_kind_names);

void kp_file_info_done(KpFileInfo *f)
{
        free(f->path);
        free(f->device);
        *f = (KpFileInfo) {};
}

void kp_device_spec_done(KpDeviceSpec *d)
{
        free(d->value);
        *d = (KpDeviceSpec) {};
}

int kp_device_spec_copy(const KpDeviceSpec *src, KpDeviceSpec *dst)
{
        char *v = NULL;

        if (src->value) {
                v = strdup(src->value);
                if (!v)
                        return -ENOMEM;
        }
        kp_device_spec_done(dst);
        dst->kind = src->kind;
        dst->value = v;
        return 0;
}

bool kp_device_spec_equal(const KpDeviceSpec *a, const KpDeviceSpec *b)
{
        return a->kind == b->kind && streq_ptr(a->value, b->value);
}

void kp_boot_entry_done(KpBootEntry *e)
{
        free(e->title);
        free(e->menu_path);
        free(e->id);
        kp_device_spec_done(&e->root);
        kp_file_info_done(&e->kernel);
        for (size_t i = 0; i < e->n_initrds; i++)
                kp_file_info_done(&e->initrds[i]);
        free(e->initrds);
        free(e->cmdline);
        *e = (KpBootEntry) {};
}

KpBootPlan *kp_boot_plan_new(KpBootConfigKind kind)
{
        KpBootPlan *plan = calloc(1, sizeof(*plan));

        if (!plan)
                return NULL;
        plan->kind = kind;
        plan->warnings = calloc(1, sizeof(char *));
        if (!plan->warnings) {
                free(plan);
                return NULL;
        }
        return plan;
}

KpBootPlan *kp_boot_plan_free(KpBootPlan *plan)
{
        if (!plan)
                return NULL;
        for (size_t i = 0; i < plan->n_entries; i++)
                kp_boot_entry_done(&plan->entries[i]);
        free(plan->entries);
        free(plan->config_path);
        free(plan->config_device);
        free(plan->reason_detail);
        strv_free(plan->warnings);
        free(plan);
        return NULL;
}

const KpBootEntry *kp_boot_plan_selected(const KpBootPlan *plan)
{
        if (!plan || plan->n_entries == 0 || plan->selected >= plan->n_entries)
                return NULL;
        return &plan->entries[plan->selected];
}

static size_t text_length(const char *s)
{
        return s ? strlen(s) : 0;
}

int kp_boot_plan_take_entry(KpBootPlan *plan, KpBootEntry *entry)
{
        KpBootEntry *n;
        size_t bytes;

        if (plan->n_entries >= KP_BOOTCFG_MAX_ENTRIES)
                return -E2BIG;
        bytes = text_length(entry->title) + text_length(entry->menu_path) + text_length(entry->id) +
                text_length(entry->root.value) + text_length(entry->kernel.path) + text_length(entry->cmdline);
        for (size_t i = 0; i < entry->n_initrds; i++)
                bytes += text_length(entry->initrds[i].path);
        if (bytes > KP_BOOTCFG_MAX_PLAN_TEXT - plan->text_bytes)
                return -ENOSPC;
        n = kp_grow(plan->entries, plan->n_entries, sizeof(KpBootEntry));
        if (!n)
                return -ENOMEM;
        plan->entries = n;
        plan->entries[plan->n_entries++] = *entry;
        plan->text_bytes += bytes;
        *entry = (KpBootEntry) {};
        return 0;
}

int kp_boot_entry_add_initrd(KpBootEntry *e, const char *path)
{
        KpFileInfo *n;
        char *p;

        if (e->n_initrds >= KP_BOOTCFG_MAX_INITRDS)
                return -E2BIG;
        p = strdup(path);
        if (!p)
                return -ENOMEM;
        n = kp_grow(e->initrds, e->n_initrds, sizeof(KpFileInfo));
        if (!n) {
                free(p);
                return -ENOMEM;
        }
        e->initrds = n;
        e->initrds[e->n_initrds++] = (KpFileInfo) { .path = p };
        return 0;
}

int kp_boot_plan_set_detail(KpBootPlan *plan, const char *format, ...)
{
        char *s;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        free(plan->reason_detail);
        plan->reason_detail = s;
        return 0;
}

int kp_boot_plan_new_direct(const char *kernel, const char *ramdisk, const char *cmdline, KpBootPlan **ret)
{
        _cleanup_(kp_boot_plan_freep) KpBootPlan *plan = NULL;
        KpBootEntry e = {};
        int r;

        if (!kernel)
                return -EINVAL;
        plan = kp_boot_plan_new(KP_BOOT_CONFIG_DIRECT);
        if (!plan)
                return -ENOMEM;

        e.title = strdup("direct");
        e.menu_path = strdup("direct");
        e.kernel.path = strdup(kernel);
        e.cmdline = strdup(cmdline ?: "");
        if (!e.title || !e.menu_path || !e.kernel.path || !e.cmdline) {
                kp_boot_entry_done(&e);
                return -ENOMEM;
        }
        if (ramdisk) {
                r = kp_boot_entry_add_initrd(&e, ramdisk);
                if (r < 0) {
                        kp_boot_entry_done(&e);
                        return r;
                }
        }
        r = kp_boot_plan_take_entry(plan, &e);
        if (r < 0) {
                kp_boot_entry_done(&e);
                return r;
        }
        plan->selected = 0;
        plan->reason = KP_SELECT_DIRECT;
        *ret = TAKE_PTR(plan);
        return 0;
}

int kp_warnings_addv(KpWarnings *w, const char *format, va_list ap)
{
        char *s, **n;

        if (vasprintf(&s, format, ap) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < w->n; i++)
                if (streq(w->list[i], s)) {
                        free(s);
                        return 0;
                }
        if (w->n >= KP_BOOTCFG_MAX_WARNINGS - 1) {
                free(s);
                w->dropped++;
                return 0;
        }
        n = reallocarray(w->list, w->n + 2, sizeof(char *));
        if (!n) {
                free(s);
                return -ENOMEM;
        }
        w->list = n;
        w->list[w->n++] = s;
        w->list[w->n] = NULL;
        return 0;
}

int kp_warnings_add(KpWarnings *w, const char *format, ...)
{
        va_list ap;
        int r;

        va_start(ap, format);
        r = kp_warnings_addv(w, format, ap);
        va_end(ap);
        return r;
}

int kp_warnings_finish(KpWarnings *w, char ***ret)
{
        char **l;

        if (w->dropped > 0) {
                char *s;
                if (asprintf(&s, "%zu more warnings not shown", w->dropped) < 0)
                        return -ENOMEM;
                l = reallocarray(w->list, w->n + 2, sizeof(char *));
                if (!l) {
                        free(s);
                        return -ENOMEM;
                }
                w->list = l;
                w->list[w->n++] = s;
                w->list[w->n] = NULL;
                w->dropped = 0;
        }
        if (!w->list) {
                w->list = calloc(1, sizeof(char *));
                if (!w->list)
                        return -ENOMEM;
        }
        strv_free(*ret);
        *ret = TAKE_PTR(w->list);
        w->n = 0;
        return 0;
}

void kp_warnings_done(KpWarnings *w)
{
        strv_free(w->list);
        *w = (KpWarnings) {};
}
