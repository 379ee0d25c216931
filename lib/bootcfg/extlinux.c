/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "bootcfg/bootfs.h"
#include "bootcfg/bootplan-internal.h"
#include "bootcfg/guest-path.h"
#include "bootcfg/linecfg.h"
#include "bootcfg/parsers.h"
#include "bootcfg/text.h"
#include "util/error.h"

/*
 * extlinux.conf / syslinux.cfg / isolinux.cfg, as Alpine writes it:
 *
 *     DEFAULT menu.c32
 *     TIMEOUT 10
 *     LABEL lts
 *       MENU DEFAULT
 *       MENU LABEL Linux lts
 *       LINUX vmlinuz-lts
 *       INITRD initramfs-lts
 *       APPEND root=UUID=... modules=sd-mod,usb-storage,ext4 quiet
 *
 * Keywords are case-insensitive. Relative file names are taken from the
 * configuration's directory (syslinux's working directory). INITRD takes
 * comma-separated files; initrd= in APPEND names them too and is left out
 * of the command line, as pygrub does (the kernel ignores it). The entry
 * booted without a keyboard is the one ONTIMEOUT names, else the one
 * marked MENU DEFAULT, else the label DEFAULT names, else the first.
 * INCLUDE reads another file, at most KP_BOOTCFG_MAX_DEPTH deep.
 */

typedef struct ExtState {
        const char *dir;              /* the configuration's directory */
        KpBootFsReader *reader;
        KpBootPlan *plan;
        KpWarnings *warnings;
        KpError *error;
        unsigned depth;

        KpBootEntry cur;
        bool in_entry;
        char *append;                 /* APPEND of the current label ("-": none), NULL when it has none */
        char *kernel_args;            /* what follows the file on KERNEL/LINUX */
        char *global_append;          /* APPEND before any LABEL: for labels without their own */
        char **initrd_files;          /* INITRD of the current label */
        char *kernel_arg;             /* KERNEL/LINUX as written */
        bool kernel_is_linux;         /* LINUX (vs KERNEL, which guesses by extension) */

        char *default_label;
        char *ontimeout;
        size_t menu_default;          /* entry index + 1 of MENU DEFAULT, 0 when none */
} ExtState;

static void label_reset(ExtState *s)
{
        free(s->append);
        s->append = NULL;
        free(s->kernel_args);
        s->kernel_args = NULL;
        for (size_t i = 0; s->initrd_files && s->initrd_files[i]; i++)
                free(s->initrd_files[i]);
        free(s->initrd_files);
        s->initrd_files = NULL;
        free(s->kernel_arg);
        s->kernel_arg = NULL;
        s->kernel_is_linux = false;
}

static int add_initrd_list(ExtState *s, const char *list)
{
        _cleanup_free_ char *copy = strdup(list);
        size_t n = 0;

        if (!copy)
                return -ENOMEM;
        for (size_t i = 0; s->initrd_files && s->initrd_files[i]; i++)
                n++;
        for (char *tok = copy, *comma; tok; tok = comma) {
                char **l;

                comma = strchr(tok, ',');
                if (comma)
                        *comma++ = '\0';
                if (!*tok)
                        continue;
                /* INITRD lines, initrd= in APPEND and mboot.c32's module all add up here. */
                if (n >= KP_BOOTCFG_MAX_INITRDS)
                        return kp_error_set(s->error, -E2BIG, "more than %d initrds in one label",
                                            KP_BOOTCFG_MAX_INITRDS);
                l = reallocarray(s->initrd_files, n + 2, sizeof(char *));
                if (!l)
                        return -ENOMEM;
                s->initrd_files = l;
                l[n] = strdup(tok);
                if (!l[n])
                        return -ENOMEM;
                l[++n] = NULL;
        }
        return 0;
}

static bool ends_with_ci(const char *s, const char *suffix)
{
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

/* The label's APPEND, else the global one ("-" is none), after KERNEL's own arguments, into s->append. */
static int label_join_append(ExtState *s)
{
        const char *a = s->append ?: s->global_append;
        char *joined = NULL;

        if (a && streq(a, "-"))
                a = NULL;
        if (asprintf(&joined, "%s%s%s", s->kernel_args ?: "", s->kernel_args && a ? " " : "", a ?: "") < 0)
                return -ENOMEM;
        free(s->append);
        s->append = joined;
        return 0;
}

/*
 * Xen's mboot.c32: "xen.gz --- vmlinuz args --- initrd", as pygrub reads
 * it. The Linux module becomes the kernel (*kernel, NULL when there is
 * none), its arguments the APPEND, and its initrd one of the label's.
 */
static int label_mboot(ExtState *s, const char *file, const char *label, char **kernel)
{
        _cleanup_free_ char *a = strdup(s->append);
        char *mods[4] = {}, *k, *i;
        size_t n = 0;
        int r;

        if (!a)
                return -ENOMEM;
        for (char *p = a; n < 4;) {
                char *sep = strstr(p, "---");
                mods[n++] = p;
                if (!sep)
                        break;
                *sep = '\0';
                p = sep + 3;
        }
        *kernel = mfree(*kernel);
        k = n == 3 ? mods[1] : n == 2 ? mods[0] : NULL;
        i = n == 3 ? mods[2] : n == 2 ? mods[1] : NULL;
        if (k) {
                char *args;

                k += strspn(k, " \t");
                args = k + strcspn(k, " \t");
                if (*args)
                        *args++ = '\0';
                *kernel = strdup(k);
                free(s->append);
                s->append = strdup(args);
                if (!*kernel || !s->append)
                        return -ENOMEM;
        }
        if (i) {
                i += strspn(i, " \t");
                i[strcspn(i, " \t")] = '\0';
                r = add_initrd_list(s, i);
                if (r < 0)
                        return r;
        }
        kp_warnings_add(s->warnings, "%s: label \"%s\" boots Xen through mboot.c32; its Linux module is used", file,
                        label);
        return 0;
}

/* KERNEL (not LINUX) guesses the type by extension: these are not Linux kernels. */
static bool is_other_kernel_type(const char *kernel)
{
        static const char *const suffixes[] = { ".c32", ".cbt", ".bin", ".bs", ".bss", ".0", ".com", ".img" };

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++)
                if (ends_with_ci(kernel, suffixes[i]))
                        return true;
        return false;
}

/* The command line is APPEND without initrd= (whose files are loaded instead, added to the label's). */
static int label_cmdline(ExtState *s, char **ret)
{
        size_t j = 0;
        char *out;
        int r;

        if (!s->append || streq(s->append, "-")) {
                *ret = strdup("");
                return *ret ? 0 : -ENOMEM;
        }
        out = malloc(strlen(s->append) + 1);
        if (!out)
                return -ENOMEM;
        for (const char *p = s->append; *p;) {
                const char *w = p;
                size_t wl;

                while (*p && *p != ' ' && *p != '\t')
                        p++;
                wl = (size_t) (p - w);
                if (wl >= 7 && strncasecmp(w, "initrd=", 7) == 0) {
                        _cleanup_free_ char *list = strndup(w + 7, wl - 7);
                        r = list ? add_initrd_list(s, list) : -ENOMEM;
                        if (r < 0) {
                                free(out);
                                return r;
                        }
                } else if (wl > 0) {
                        if (j > 0)
                                out[j++] = ' ';
                        memcpy(out + j, w, wl);
                        j += wl;
                }
                while (*p == ' ' || *p == '\t')
                        p++;
        }
        out[j] = '\0';
        *ret = out;
        return 0;
}

/* The kernel's and the initrds' paths, relative to the configuration's directory. */
static int label_resolve_files(ExtState *s, const char *file, const char *label, const char *kernel)
{
        KpBootEntry *e = &s->cur;
        int r;

        r = kp_guest_path_resolve_relative(s->dir, kernel, &e->kernel.path);
        if (r == -E2BIG)
                return kp_error_set(s->error, r, "%s: label \"%s\": kernel path longer than %d bytes", file, label,
                                    KP_BOOTCFG_MAX_PATH);
        if (r < 0)
                return r;
        for (size_t i = 0; s->initrd_files && s->initrd_files[i]; i++) {
                _cleanup_free_ char *p = NULL;

                r = kp_guest_path_resolve_relative(s->dir, s->initrd_files[i], &p);
                if (r >= 0)
                        r = kp_boot_entry_add_initrd(e, p);
                if (r == -E2BIG)
                        return kp_error_set(s->error, r,
                                            "%s: label \"%s\": an initrd path longer than %d bytes, or more than %d initrds",
                                            file, label, KP_BOOTCFG_MAX_PATH, KP_BOOTCFG_MAX_INITRDS);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Turns the current label's KERNEL/APPEND/INITRD into the entry's kernel, initrds and command line. */
static int finish_label(ExtState *s, const char *file)
{
        _cleanup_free_ char *cmdline = NULL, *kernel = NULL, *label = NULL;
        KpBootEntry *e = &s->cur;
        int r;

        /* s->cur stays ours (in_entry) until the plan has taken it: on failure the caller frees it. */
        if (!s->in_entry)
                return 0;
        /* The label as messages show it: guest text, escaped. */
        label = kp_text_escape_short(e->id);
        if (!label)
                return -ENOMEM;
        if (s->kernel_arg && !(kernel = strdup(s->kernel_arg)))
                return -ENOMEM;

        r = label_join_append(s);
        if (r < 0)
                return r;
        if (kernel && ends_with_ci(kernel, "mboot.c32") && s->append) {
                r = label_mboot(s, file, label, &kernel);
                if (r < 0)
                        return r;
        } else if (kernel && !s->kernel_is_linux && is_other_kernel_type(kernel))
                kernel = mfree(kernel);

        r = label_cmdline(s, &cmdline);
        if (r < 0)
                return r;
        if (strlen(cmdline) > KP_BOOTCFG_MAX_CMDLINE)
                return kp_error_set(s->error, -E2BIG, "%s: label \"%s\": command line of %zu bytes exceeds the limit of %d bytes",
                                    file, label, strlen(cmdline), KP_BOOTCFG_MAX_CMDLINE);
        if (strlen(cmdline) >= KP_XEN_MAX_GUEST_CMDLINE)
                kp_warnings_add(s->warnings, "%s: label \"%s\": command line of %zu bytes is longer than the %d bytes Xen passes to a PV guest",
                                file, label, strlen(cmdline), KP_XEN_MAX_GUEST_CMDLINE - 1);

        if (kernel && *kernel) {
                r = label_resolve_files(s, file, label, kernel);
                if (r < 0)
                        return r;
        } else if (kernel)
                kp_warnings_add(s->warnings, "%s: label \"%s\": KERNEL without a file", file, label);
        e->cmdline = TAKE_PTR(cmdline);
        if (!e->title && !(e->title = strdup(e->id ?: "")))
                return -ENOMEM;
        e->menu_path = kp_menu_path_append(NULL, e->title);
        if (!e->menu_path)
                return -ENOMEM;
        label_reset(s);

        r = kp_boot_plan_take_entry(s->plan, e);
        if (r == -E2BIG)
                return kp_error_set(s->error, r, "%s: more than %d labels", file, KP_BOOTCFG_MAX_ENTRIES);
        if (r == -ENOSPC)
                return kp_error_set(s->error, -E2BIG, "%s: " KP_BOOTCFG_PLAN_TEXT_MESSAGE, file,
                                    KP_BOOTCFG_MAX_PLAN_TEXT);
        if (r < 0)
                return r;
        s->in_entry = false;
        return 0;
}

static int parse_file(ExtState *s, const char *file, const char *data, size_t size);

static int include_file(ExtState *s, const char *file, unsigned line, const char *arg)
{
        _cleanup_free_ char *name = NULL, *path = NULL, *data = NULL;
        size_t size = 0;
        int r;

        name = strndup(arg, strcspn(arg, " \t"));
        if (!name)
                return -ENOMEM;
        if (!*name) {
                kp_warnings_add(s->warnings, "%s:%u: INCLUDE without a file ignored", file, line);
                return 0;
        }
        if (s->depth >= KP_BOOTCFG_MAX_DEPTH)
                return kp_error_set(s->error, -ELOOP, "%s:%u: INCLUDE nested deeper than %d levels", file, line,
                                    KP_BOOTCFG_MAX_DEPTH);
        r = kp_guest_path_resolve_relative(s->dir, name, &path);
        if (r == -E2BIG)
                return kp_error_set(s->error, r, "%s:%u: INCLUDE path longer than %d bytes", file, line,
                                    KP_BOOTCFG_MAX_PATH);
        if (r < 0)
                return r;
        r = kp_boot_fs_read(s->reader, path, s->error, &data, &size);
        if (r == -ENOENT) {
                _cleanup_free_ char *shown = kp_text_escape_short(path);
                kp_warnings_add(s->warnings, "%s:%u: INCLUDE %s: no such file", file, line, shown ?: "?");
                return 0;
        }
        if (r < 0)
                return kp_error_prefix(s->error, r, "%s:%u: INCLUDE", file, line);
        _cleanup_free_ char *shown = kp_text_escape_short(path);
        if (!shown)
                return -ENOMEM;
        s->depth++;
        r = parse_file(s, shown, data, size);
        s->depth--;
        return r;
}

static int parse_file(ExtState *s, const char *file, const char *data, size_t size)
{
        KpLineReader lr;
        bool in_text = false;
        int r;

        r = kp_line_reader_init(&lr, file, data, size, s->error);
        if (r < 0)
                return r;

        while (kp_line_reader_next(&lr)) {
                char *kw, *rest;

                if (!lr.buf) {
                        r = -ENOMEM;
                        break;
                }
                kp_line_split(lr.buf, false, &kw, &rest);
                if (in_text) {
                        in_text = strcasecmp(kw, "endtext") != 0;
                        continue;
                }

                if (strcasecmp(kw, "label") == 0) {
                        r = finish_label(s, file);
                        if (r < 0)
                                break;
                        s->cur = (KpBootEntry) {};
                        s->in_entry = true;
                        s->cur.id = strdup(rest);
                        if (!s->cur.id) {
                                r = -ENOMEM;
                                break;
                        }
                } else if (strcasecmp(kw, "menu") == 0) {
                        char *sub, *arg;
                        kp_line_split(rest, false, &sub, &arg);
                        if (strcasecmp(sub, "label") == 0 && s->in_entry) {
                                /* '^' marks the hotkey; syslinux shows the title without it. */
                                size_t j = 0;
                                free(s->cur.title);
                                s->cur.title = malloc(strlen(arg) + 1);
                                if (!s->cur.title) {
                                        r = -ENOMEM;
                                        break;
                                }
                                for (const char *p = arg; *p; p++)
                                        if (*p != '^')
                                                s->cur.title[j++] = *p;
                                s->cur.title[j] = '\0';
                        } else if (strcasecmp(sub, "default") == 0 && s->in_entry)
                                s->menu_default = s->plan->n_entries + 1;
                        else if (strcasecmp(sub, "include") == 0) {
                                r = include_file(s, file, lr.line, arg);
                                if (r < 0)
                                        break;
                        }
                } else if (strcasecmp(kw, "text") == 0)
                        in_text = true;
                else if (strcasecmp(kw, "default") == 0) {
                        free(s->default_label);
                        if (!(s->default_label = strdup(rest))) {
                                r = -ENOMEM;
                                break;
                        }
                } else if (strcasecmp(kw, "ontimeout") == 0) {
                        free(s->ontimeout);
                        if (!(s->ontimeout = strdup(rest))) {
                                r = -ENOMEM;
                                break;
                        }
                } else if (strcasecmp(kw, "include") == 0) {
                        r = include_file(s, file, lr.line, rest);
                        if (r < 0)
                                break;
                } else if (s->in_entry && (strcasecmp(kw, "kernel") == 0 || strcasecmp(kw, "linux") == 0)) {
                        free(s->kernel_arg);
                        if (!(s->kernel_arg = strndup(rest, strcspn(rest, " \t")))) {
                                r = -ENOMEM;
                                break;
                        }
                        s->kernel_is_linux = strcasecmp(kw, "linux") == 0;
                        /* KERNEL file args...: what follows the file is part of the command line. */
                        const char *extra = rest + strcspn(rest, " \t");
                        extra += strspn(extra, " \t");
                        free(s->kernel_args);
                        s->kernel_args = NULL;
                        if (*extra && !(s->kernel_args = strdup(extra))) {
                                r = -ENOMEM;
                                break;
                        }
                } else if (s->in_entry && (strcasecmp(kw, "localboot") == 0 || strcasecmp(kw, "boot") == 0 ||
                                           strcasecmp(kw, "bss") == 0 || strcasecmp(kw, "pxe") == 0 ||
                                           strcasecmp(kw, "fdimage") == 0 || strcasecmp(kw, "comboot") == 0 ||
                                           strcasecmp(kw, "com32") == 0 || strcasecmp(kw, "config") == 0)) {
                        free(s->kernel_arg);
                        s->kernel_arg = NULL;
                } else if (strcasecmp(kw, "append") == 0) {
                        /* A later APPEND replaces an earlier one; before any LABEL it is the default. */
                        char **slot = s->in_entry ? &s->append : &s->global_append;
                        free(*slot);
                        if (!(*slot = strdup(rest))) {
                                r = -ENOMEM;
                                break;
                        }
                } else if (s->in_entry && strcasecmp(kw, "initrd") == 0) {
                        r = add_initrd_list(s, rest);
                        if (r == -E2BIG)
                                r = kp_error_set(s->error, r, "%s:%u: more than %d initrds", file, lr.line,
                                                 KP_BOOTCFG_MAX_INITRDS);
                        if (r < 0)
                                break;
                } else if (!(strcasecmp(kw, "timeout") == 0 || strcasecmp(kw, "totaltimeout") == 0 ||
                             strcasecmp(kw, "prompt") == 0 || strcasecmp(kw, "ui") == 0 ||
                             strcasecmp(kw, "say") == 0 || strcasecmp(kw, "display") == 0 ||
                             strcasecmp(kw, "serial") == 0 || strcasecmp(kw, "console") == 0 ||
                             strcasecmp(kw, "font") == 0 || strcasecmp(kw, "kbdmap") == 0 ||
                             strcasecmp(kw, "implicit") == 0 || strcasecmp(kw, "allowoptions") == 0 ||
                             strcasecmp(kw, "noescape") == 0 || strcasecmp(kw, "nocomplete") == 0 ||
                             strcasecmp(kw, "onerror") == 0 || strcasecmp(kw, "ipappend") == 0 ||
                             strcasecmp(kw, "sysappend") == 0 || strcasecmp(kw, "fdt") == 0 ||
                             strcasecmp(kw, "fdtdir") == 0 || strcasecmp(kw, "devicetree") == 0 ||
                             (strlen(kw) <= 3 && (kw[0] == 'f' || kw[0] == 'F')))) {
                        _cleanup_free_ char *shown = kp_text_escape_short(kw);
                        kp_warnings_add(s->warnings, "%s:%u: unknown keyword \"%s\" ignored", file, lr.line,
                                        shown ?: "?");
                }
        }
        kp_line_reader_done(&lr);
        return r;
}

static ssize_t find_label(const KpBootPlan *plan, const char *label)
{
        for (size_t i = 0; i < plan->n_entries; i++)
                if (streq_ptr(plan->entries[i].id, label))
                        return (ssize_t) i;
        for (size_t i = 0; i < plan->n_entries; i++)
                if (plan->entries[i].id && strcasecmp(plan->entries[i].id, label) == 0)
                        return (ssize_t) i;
        return -1;
}

int kp_extlinux_parse(const char *path, const char *data, size_t size, const KpBootFs *fs, KpError *error,
                      KpBootPlan **ret)
{
        _cleanup_(kp_boot_plan_freep) KpBootPlan *plan = NULL;
        _cleanup_free_ char *dir = NULL;
        const char *file = path ?: "extlinux.conf";
        KpBootFsReader reader = { .fs = fs };
        KpWarnings warnings = {};
        ExtState s = { .reader = &reader, .warnings = &warnings, .error = error };
        ssize_t idx;
        int r;

        plan = kp_boot_plan_new(KP_BOOT_CONFIG_EXTLINUX);
        if (!plan)
                return -ENOMEM;
        if (path && !(plan->config_path = strdup(path)))
                return -ENOMEM;
        r = kp_guest_path_dirname(path ?: "/boot/extlinux/extlinux.conf", &dir);
        if (r < 0)
                return r;
        s.dir = dir;
        s.plan = plan;

        r = parse_file(&s, file, data, size);
        if (r >= 0)
                r = finish_label(&s, file);
        if (r < 0)
                goto finish;
        if (plan->n_entries == 0) {
                r = kp_error_set(error, -ENOENT, "%s: no LABEL entry", file);
                goto finish;
        }

        plan->selected = 0;
        plan->reason = KP_SELECT_FIRST;
        r = kp_boot_plan_set_detail(plan, "no default set");
        if (s.ontimeout && (idx = find_label(plan, s.ontimeout)) >= 0) {
                plan->selected = (size_t) idx;
                plan->reason = KP_SELECT_LABEL;
                r = kp_boot_plan_set_detail(plan, "ONTIMEOUT %s", plan->entries[idx].id);
        } else if (s.menu_default > 0) {
                plan->selected = s.menu_default - 1;
                plan->reason = KP_SELECT_LABEL;
                r = kp_boot_plan_set_detail(plan, "MENU DEFAULT in label %s", plan->entries[s.menu_default - 1].id);
        } else if (s.default_label && (idx = find_label(plan, s.default_label)) >= 0) {
                plan->selected = (size_t) idx;
                plan->reason = KP_SELECT_LABEL;
                r = kp_boot_plan_set_detail(plan, "DEFAULT %s", plan->entries[idx].id);
        } else if (s.default_label) {
                _cleanup_free_ char *shown = kp_text_escape_short(s.default_label);
                r = kp_boot_plan_set_detail(plan, "DEFAULT \"%s\" names no label; the first", shown ?: "?");
        }
        if (r >= 0)
                r = kp_warnings_finish(&warnings, &plan->warnings);
        if (r >= 0)
                *ret = TAKE_PTR(plan);
finish:
        if (s.in_entry)
                kp_boot_entry_done(&s.cur);
        label_reset(&s);
        free(s.global_append);
        free(s.default_label);
        free(s.ontimeout);
        kp_warnings_done(&warnings);
        return r;
}
