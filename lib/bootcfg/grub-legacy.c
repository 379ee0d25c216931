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
 * GRUB legacy (0.97) menu.lst / grub.conf, as CentOS 6 and old Debian
 * write them:
 *
 *     default=0            (or "default saved": the number in <dir>/default)
 *     timeout 5
 *     title CentOS (2.6.32-754.el6.x86_64)
 *             root (hd0,0)
 *             kernel /vmlinuz-2.6.32-754.el6.x86_64 ro root=/dev/sda2 quiet
 *             initrd /initramfs-2.6.32-754.el6.x86_64.img
 *
 * A command ends at a blank or '='; `title` takes the rest of the line;
 * `kernel` takes a file and passes the rest of the line as it is written
 * (GRUB legacy does not re-tokenise it); `root (hd0,0)` counts partitions
 * from 0 and becomes GRUB 2's "hd0,1". An entry without `root` reads from
 * the device GRUB was loaded from, the configuration's.
 */

/* Options `kernel` takes before the file (--type=netbsd, --no-mem-option). */
static char *skip_kernel_options(char *s)
{
        while (s[0] == '-' && s[1] == '-') {
                while (*s && *s != ' ' && *s != '\t')
                        s++;
                while (*s == ' ' || *s == '\t')
                        s++;
        }
        return s;
}

/* "(hd0,0)" or "(hd0,0)/vmlinuz": GRUB legacy device to GRUB 2 numbering. */
static int legacy_device(const char *dev, size_t len, KpDeviceSpec *ret)
{
        _cleanup_free_ char *d = strndup(dev, len);
        char *comma, *out = NULL, *end;
        unsigned long part;

        if (!d)
                return -ENOMEM;
        comma = strchr(d, ',');
        if (comma) {
                part = strtoul(comma + 1, &end, 10);
                if (end != comma + 1 && part < 1024) {
                        *comma = '\0';
                        if (asprintf(&out, "%s,%lu%s", d, part + 1, end) < 0)
                                return -ENOMEM;
                }
        }
        if (!out)
                out = TAKE_PTR(d);
        kp_device_spec_done(ret);
        *ret = (KpDeviceSpec) { .kind = KP_DEVICE_GRUB, .value = out };
        return 0;
}

/* Splits "(dev)/path" into a device (KP_DEVICE_SAME when none) and a normalised path. */
static int legacy_file(const char *arg, KpDeviceSpec *ret_dev, char **ret_path)
{
        const char *path = arg;
        int r;

        if (arg[0] == '(') {
                const char *close = strchr(arg, ')');
                if (!close)
                        return -EINVAL;
                r = legacy_device(arg + 1, (size_t) (close - arg - 1), ret_dev);
                if (r < 0)
                        return r;
                path = close + 1;
        }
        if (path[0] == '/')
                return kp_guest_path_resolve(NULL, path, ret_path);
        *ret_path = strdup(path);
        return *ret_path ? 0 : -ENOMEM;
}

typedef struct LegacyState {
        const char *file;
        KpBootPlan *plan;
        KpWarnings *warnings;
        KpError *error;
        KpBootEntry cur;
        bool in_entry;
        KpDeviceSpec entry_root;
        bool have_root;
        /* The line being read (KpLineReader.buf) and its indent, for source spans. */
        const char *line_buf;
        size_t line_indent;
} LegacyState;

static int finish_entry(LegacyState *s)
{
        int r;

        if (!s->in_entry)
                return 0;
        if (!s->cur.cmdline && !(s->cur.cmdline = strdup("")))
                return -ENOMEM;
        if (!s->cur.kernel.path)
                kp_device_spec_done(&s->cur.root);
        r = kp_boot_plan_take_entry(s->plan, &s->cur);
        if (r == -E2BIG)
                return kp_error_set(s->error, r, "%s: more than %d entries", s->file, KP_BOOTCFG_MAX_ENTRIES);
        if (r == -ENOSPC)
                return kp_error_set(s->error, -E2BIG, "%s: " KP_BOOTCFG_PLAN_TEXT_MESSAGE, s->file,
                                    KP_BOOTCFG_MAX_PLAN_TEXT);
        if (r < 0)
                return r;
        kp_device_spec_done(&s->entry_root);
        s->have_root = false;
        s->in_entry = false;
        return 0;
}

/*
 * What GRUB legacy forgets when `kernel` or `chainloader` runs, whatever
 * comes of it: the loaded kernel, its command line and the initrd loaded
 * for it (load_initrd() writes into the kernel's setup header, which the
 * next load_image() replaces). `root` is a setting of its own and stays.
 */
static void entry_unload(KpBootEntry *e)
{
        kp_file_info_done(&e->kernel);
        e->kernel_span = (KpSourceSpan) {};
        kp_device_spec_done(&e->root);
        free(e->cmdline);
        e->cmdline = NULL;
        for (size_t i = 0; i < e->n_initrds; i++)
                kp_file_info_done(&e->initrds[i]);
        e->n_initrds = 0;
}

static int entry_command(LegacyState *s, unsigned line, const char *cmd, char *rest)
{
        KpBootEntry *e = &s->cur;
        int r;

        if (streq(cmd, "root") || streq(cmd, "rootnoverify")) {
                if (rest[0] != '(') {
                        kp_warnings_add(s->warnings, "%s:%u: %s without a device ignored", s->file, line, cmd);
                        return 0;
                }
                const char *close = strchr(rest, ')');
                if (!close) {
                        kp_warnings_add(s->warnings, "%s:%u: %s without a closing parenthesis ignored", s->file,
                                        line, cmd);
                        return 0;
                }
                r = legacy_device(rest + 1, (size_t) (close - rest - 1), &s->entry_root);
                if (r < 0)
                        return r;
                s->have_root = true;
                if (e->kernel.path)
                        return kp_device_spec_copy(&s->entry_root, &e->root);
                return 0;
        }
        if (streq(cmd, "kernel")) {
                char *file = skip_kernel_options(rest), *args = file;
                KpDeviceSpec dev = {};

                while (*args && *args != ' ' && *args != '\t')
                        args++;
                if (*args)
                        *args++ = '\0';
                while (*args == ' ' || *args == '\t')
                        args++;
                if (!*file) {
                        kp_warnings_add(s->warnings, "%s:%u: kernel without a file ignored", s->file, line);
                        return 0;
                }
                if (strlen(args) > KP_BOOTCFG_MAX_CMDLINE)
                        return kp_error_set(s->error, -E2BIG, "%s:%u: command line of %zu bytes exceeds the limit of %d bytes",
                                            s->file, line, strlen(args), KP_BOOTCFG_MAX_CMDLINE);
                if (strlen(args) >= KP_XEN_MAX_GUEST_CMDLINE)
                        kp_warnings_add(s->warnings, "%s:%u: command line of %zu bytes is longer than the %d bytes Xen passes to a PV guest",
                                        s->file, line, strlen(args), KP_XEN_MAX_GUEST_CMDLINE - 1);

                entry_unload(e);
                r = legacy_file(file, &dev, &e->kernel.path);
                if (r == -E2BIG)
                        return kp_error_set(s->error, r, "%s:%u: kernel path longer than %d bytes", s->file, line,
                                            KP_BOOTCFG_MAX_PATH);
                if (r < 0) {
                        kp_device_spec_done(&dev);
                        if (r == -ENOMEM)
                                return r;
                        kp_warnings_add(s->warnings, "%s:%u: bad kernel file name ignored", s->file, line);
                        return 0;
                }
                /*
                 * GRUB legacy takes the file name as written, with no
                 * quoting: the token is a literal. A carriage return
                 * before it on the line shifts the column; the rewrite
                 * compares the bytes there and refuses.
                 */
                if (s->line_buf)
                        e->kernel_span = (KpSourceSpan) {
                                .line = line,
                                .column = s->line_indent + (size_t) (file - s->line_buf),
                                .length = strlen(file),
                        };
                if (dev.kind != KP_DEVICE_SAME)
                        e->root = dev;
                else if (s->have_root)
                        r = kp_device_spec_copy(&s->entry_root, &e->root);
                e->cmdline = strdup(args);
                return r < 0 ? r : (e->cmdline ? 0 : -ENOMEM);
        }
        if (streq(cmd, "initrd")) {
                char *file = rest, *end = rest;
                _cleanup_free_ char *path = NULL;
                KpDeviceSpec dev = {};

                while (*end && *end != ' ' && *end != '\t')
                        end++;
                *end = '\0';
                if (!*file || !e->kernel.path) {
                        kp_warnings_add(s->warnings, "%s:%u: initrd %s ignored", s->file, line,
                                        *file ? "before any kernel" : "without a file");
                        return 0;
                }
                r = legacy_file(file, &dev, &path);
                kp_device_spec_done(&dev);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        kp_warnings_add(s->warnings, "%s:%u: bad initrd file name ignored", s->file, line);
                        return 0;
                }
                /* GRUB legacy loads one initrd; a second command replaces the first. */
                for (size_t i = 0; i < e->n_initrds; i++)
                        kp_file_info_done(&e->initrds[i]);
                e->n_initrds = 0;
                return kp_boot_entry_add_initrd(e, path);
        }
        if (streq(cmd, "chainloader")) {
                entry_unload(e);
                return 0;
        }
        if (streq(cmd, "module") || streq(cmd, "modulenounzip") || streq(cmd, "savedefault") ||
            streq(cmd, "boot") || streq(cmd, "makeactive") || streq(cmd, "hide") || streq(cmd, "unhide") ||
            streq(cmd, "map") || streq(cmd, "lock") || streq(cmd, "quiet") || streq(cmd, "setkey"))
                return 0;

        _cleanup_free_ char *shown = kp_text_escape_short(cmd);
        kp_warnings_add(s->warnings, "%s:%u: unknown command \"%s\" ignored", s->file, line, shown ?: "?");
        return 0;
}

/* GRUB legacy's saved default: the number on the first line of <config dir>/default. */
static int read_saved_default(KpBootFsReader *reader, const char *config_path, KpError *error, long *ret,
                              char **ret_path)
{
        _cleanup_free_ char *dir = NULL, *path = NULL, *data = NULL;
        size_t size = 0;
        char *end;
        long v;
        int r;

        r = kp_guest_path_dirname(config_path ?: "/boot/grub/menu.lst", &dir);
        if (r < 0)
                return r;
        if (asprintf(&path, "%s%sdefault", dir, streq(dir, "/") ? "" : "/") < 0)
                return -ENOMEM;
        r = kp_boot_fs_read(reader, path, error, &data, &size);
        if (r < 0)
                return r;
        /* The reader's buffer need not be NUL-terminated. */
        _cleanup_free_ char *text = strndup(data, size);
        if (!text)
                return -ENOMEM;
        errno = 0;
        v = strtol(text, &end, 10);
        if (end == text || errno != 0 || v < 0)
                return -EINVAL;
        *ret = v;
        *ret_path = TAKE_PTR(path);
        return 0;
}

int kp_grub_legacy_parse(const char *path, const char *data, size_t size, const KpBootFs *fs, KpError *error,
                         KpBootPlan **ret)
{
        _cleanup_(kp_boot_plan_freep) KpBootPlan *plan = NULL;
        _cleanup_free_ char *default_value = NULL;
        const char *file = path ?: "menu.lst";
        KpBootFsReader reader = { .fs = fs };
        KpWarnings warnings = {};
        LegacyState s = { .file = file, .warnings = &warnings, .error = error };
        KpLineReader lr;
        unsigned default_line = 0;
        int r;

        r = kp_line_reader_init(&lr, file, data, size, error);
        if (r < 0)
                return r;
        plan = kp_boot_plan_new(KP_BOOT_CONFIG_GRUB_LEGACY);
        if (!plan)
                return -ENOMEM;
        if (path && !(plan->config_path = strdup(path)))
                return -ENOMEM;
        s.plan = plan;

        while (kp_line_reader_next(&lr)) {
                char *cmd, *rest;

                if (!lr.buf) {
                        r = -ENOMEM;
                        goto finish;
                }
                kp_line_split(lr.buf, true, &cmd, &rest);
                s.line_buf = lr.buf;
                s.line_indent = lr.indent;

                if (streq(cmd, "title")) {
                        r = finish_entry(&s);
                        if (r < 0)
                                goto finish;
                        s.cur = (KpBootEntry) {};
                        s.in_entry = true;
                        s.cur.title = strdup(rest);
                        s.cur.menu_path = kp_menu_path_append(NULL, rest);
                        if (!s.cur.title || !s.cur.menu_path) {
                                r = -ENOMEM;
                                goto finish;
                        }
                        continue;
                }
                if (s.in_entry) {
                        r = entry_command(&s, lr.line, cmd, rest);
                        if (r < 0)
                                goto finish;
                        continue;
                }
                if (streq(cmd, "default")) {
                        free(default_value);
                        default_value = strdup(rest);
                        default_line = lr.line;
                        if (!default_value) {
                                r = -ENOMEM;
                                goto finish;
                        }
                } else if (!(streq(cmd, "timeout") || streq(cmd, "fallback") || streq(cmd, "hiddenmenu") ||
                             streq(cmd, "splashimage") || streq(cmd, "password") || streq(cmd, "color") ||
                             streq(cmd, "serial") || streq(cmd, "terminal") || streq(cmd, "gfxmenu") ||
                             streq(cmd, "foreground") || streq(cmd, "background") || streq(cmd, "viewport") ||
                             streq(cmd, "hide") || streq(cmd, "unhide") || streq(cmd, "setkey"))) {
                        _cleanup_free_ char *shown = kp_text_escape_short(cmd);
                        kp_warnings_add(&warnings, "%s:%u: unknown command \"%s\" ignored", file, lr.line,
                                        shown ?: "?");
                }
        }
        r = finish_entry(&s);
        if (r < 0)
                goto finish;
        if (plan->n_entries == 0) {
                r = kp_error_set(error, -ENOENT, "%s: no title entry", file);
                goto finish;
        }

        plan->selected = 0;
        plan->reason = KP_SELECT_FIRST;
        if (!default_value)
                r = kp_boot_plan_set_detail(plan, "no default set");
        else if (streq(default_value, "saved")) {
                _cleanup_free_ char *saved_path = NULL;
                KpError serr = {};
                long v;

                r = read_saved_default(&reader, path, &serr, &v, &saved_path);
                if (r == -ENOMEM)
                        goto finish;
                if (r < 0)
                        r = kp_boot_plan_set_detail(plan, "default saved, but no saved default could be read; the first entry");
                else if ((size_t) v >= plan->n_entries)
                        r = kp_boot_plan_set_detail(plan, "saved default %ld in %s names no entry; the first", v,
                                                    saved_path);
                else {
                        plan->selected = (size_t) v;
                        plan->reason = KP_SELECT_SAVED_ENTRY;
                        r = kp_boot_plan_set_detail(plan, "default saved: %ld from %s", v, saved_path);
                }
        } else {
                _cleanup_free_ char *shown = kp_text_escape_short(default_value);
                char *end;
                unsigned long v;

                errno = 0;
                v = strtoul(default_value, &end, 10);
                if (end == default_value || *end || errno != 0 || default_value[0] == '-') {
                        kp_warnings_add(&warnings, "%s:%u: default \"%s\" is not a number; the first entry", file,
                                        default_line, shown ?: "?");
                        r = kp_boot_plan_set_detail(plan, "default \"%s\" is not a number", shown ?: "?");
                } else if (v >= plan->n_entries)
                        r = kp_boot_plan_set_detail(plan, "default %lu names no entry; the first", v);
                else {
                        plan->selected = v;
                        plan->reason = KP_SELECT_DEFAULT_INDEX;
                        r = kp_boot_plan_set_detail(plan, "default %lu", v);
                }
        }
        if (r < 0)
                goto finish;
        r = kp_warnings_finish(&warnings, &plan->warnings);
        if (r < 0)
                goto finish;
        *ret = TAKE_PTR(plan);
finish:
        if (s.in_entry)
                kp_boot_entry_done(&s.cur);
        kp_device_spec_done(&s.entry_root);
        kp_warnings_done(&warnings);
        kp_line_reader_done(&lr);
        return r;
}
