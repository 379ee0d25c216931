/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <string.h>

#include "bootcfg/grub/interp.h"
#include "bootcfg/text.h"
#include "util/error.h"

/*
 * linux, initrd and boot as GRUB 2.06's Xen loader (grub-core/loader/i386/
 * xen.c) has them: `linux` forgets whatever was loaded before and builds
 * the command line from its arguments with grub_create_loader_cmdline();
 * `initrd` needs a kernel first and takes several files; a second
 * `initrd` fails ("initrd already loaded").
 */

/*
 * grub_create_loader_cmdline(): the arguments joined by single spaces; an
 * argument holding a space is put in double quotes, and backslash, single
 * and double quotes get a backslash in front. -E2BIG (with the length in
 * *ret_len) past KP_BOOTCFG_MAX_CMDLINE, before anything is allocated.
 */
static int build_cmdline(char **args, size_t n, char **ret, size_t *ret_len)
{
        size_t len = 0, j = 0;
        char *out;

        for (size_t i = 0; i < n; i++) {
                bool space = strchr(args[i], ' ') != NULL;
                for (const char *c = args[i]; *c; c++)
                        len += (*c == '\\' || *c == '\'' || *c == '"') ? 2 : 1;
                len += (space ? 2 : 0) + 1;
        }
        /* len counts a separator after the last argument too. */
        if (len > 0 && len - 1 > KP_BOOTCFG_MAX_CMDLINE) {
                *ret_len = len - 1;
                return -E2BIG;
        }
        out = malloc(len + 1);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                bool space = strchr(args[i], ' ') != NULL;
                if (i > 0)
                        out[j++] = ' ';
                if (space)
                        out[j++] = '"';
                for (const char *c = args[i]; *c; c++) {
                        if (*c == '\\' || *c == '\'' || *c == '"')
                                out[j++] = '\\';
                        out[j++] = *c;
                }
                if (space)
                        out[j++] = '"';
        }
        out[j] = '\0';
        *ret = out;
        *ret_len = j;
        return 0;
}

static void boot_unload(GrubBoot *b)
{
        free(b->kernel);
        b->kernel = NULL;
        kp_device_spec_done(&b->kernel_spec);
        free(b->cmdline);
        b->cmdline = NULL;
        for (size_t i = 0; i < b->n_initrds; i++)
                free(b->initrds[i]);
        free(b->initrds);
        b->initrds = NULL;
        b->n_initrds = 0;
        kp_device_spec_done(&b->initrd_spec);
        b->have_kernel = false;
        b->kernel_span = (KpSourceSpan) {};
        b->initrd_loaded = false;
        b->other_loader = NULL;
}

static int outside_entry(GrubInterp *in, const GrubCmd *c, const char *name)
{
        _cleanup_free_ char *shown = kp_text_escape_short(name);
        grub_interp_warn(in, c->line, "\"%s\" outside a menu entry ignored", shown ?: "?");
        in->status = 0;
        return 0;
}

/*
 * Where the file name of `linux FILE` is written, when pvgrub mode could
 * rewrite it there: FILE is one plain word (no variable, quote or escape)
 * written as argv shows it, right after the command's own plain word, in
 * the configuration file itself and not in a function (whose words may
 * come from elsewhere). Anything else has no span, and pvgrub mode refuses
 * to rewrite that entry.
 */
static KpSourceSpan kernel_span(GrubInterp *in, const GrubCmd *c, char **argv)
{
        if (!in->file || !in->config_path || !streq(in->file, in->config_path) || in->call_depth > 0)
                return (KpSourceSpan) {};
        if (c->n_words < 2 || !c->words[0].plain || !streq(c->words[0].plain, argv[0]) ||
            !c->words[1].plain || !streq(c->words[1].plain, argv[1]))
                return (KpSourceSpan) {};
        return (KpSourceSpan) {
                .line = c->words[1].line,
                .column = c->words[1].column,
                .length = strlen(c->words[1].plain),
        };
}

int grub_cmd_linux(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc)
{
        _cleanup_(grub_file_ref_done) GrubFileRef f = {};
        _cleanup_free_ char *cmdline = NULL;
        GrubBoot *b = in->boot;
        size_t len;
        int r;

        if (!b)
                return outside_entry(in, c, argv[0]);
        if (argc < 2) {
                grub_interp_warn(in, c->line, "%s without a file name", argv[0]);
                in->status = 1;
                return 0;
        }
        boot_unload(b);

        r = build_cmdline(argv + 2, argc - 2, &cmdline, &len);
        if (r < 0 && r != -E2BIG)
                return r;
        if (r == -E2BIG || len > KP_BOOTCFG_MAX_CMDLINE)
                return grub_interp_fail(in, -E2BIG, c->line, "command line of %zu bytes exceeds the limit of %d bytes",
                                        len, KP_BOOTCFG_MAX_CMDLINE);
        if (len >= KP_XEN_MAX_GUEST_CMDLINE)
                grub_interp_warn(in, c->line, "command line of %zu bytes is longer than the %d bytes Xen passes to a PV guest",
                                 len, KP_XEN_MAX_GUEST_CMDLINE - 1);

        r = grub_interp_resolve_file(in, argv[1], &f);
        if (r == -ENOMEM || r == -E2BIG)
                return r == -E2BIG ? grub_interp_fail(in, r, c->line, "kernel path longer than %d bytes", KP_BOOTCFG_MAX_PATH) : r;
        if (r < 0) {
                _cleanup_free_ char *shown = kp_text_escape_short(argv[1]);
                grub_interp_warn(in, c->line, "%s: bad file name \"%s\"", argv[0], shown ?: "?");
                in->status = 1;
                return 0;
        }

        b->kernel = TAKE_PTR(f.path);
        b->kernel_span = kernel_span(in, c, argv);
        b->kernel_spec = f.spec;
        f.spec = (KpDeviceSpec) {};
        b->cmdline = TAKE_PTR(cmdline);
        b->have_kernel = true;
        in->status = 0;
        return 0;
}

static void initrds_free(char **initrds, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(initrds[i]);
        free(initrds);
}

/*
 * GRUB opens every file of an `initrd` before it records any: one it
 * cannot open fails the whole command and leaves no initrd loaded, so a
 * later `initrd` may try again. The files are therefore resolved into a
 * list of their own, and the entry's state changes only once all of them
 * were resolved.
 */
int grub_cmd_initrd(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc)
{
        _cleanup_(kp_device_spec_done) KpDeviceSpec spec = {};
        GrubBoot *b = in->boot;
        char **initrds;
        size_t n = 0;
        bool mixed = false;
        int r;

        if (!b)
                return outside_entry(in, c, argv[0]);
        if (argc < 2 || !b->have_kernel || b->initrd_loaded) {
                grub_interp_warn(in, c->line, "%s: %s", argv[0],
                                 argc < 2 ? "no file name" :
                                 !b->have_kernel ? "no kernel loaded before it; ignored" :
                                 "an initrd is already loaded; ignored");
                in->status = 1;
                return 0;
        }
        if (argc - 1 > KP_BOOTCFG_MAX_INITRDS)
                return grub_interp_fail(in, -E2BIG, c->line, "%zu initrds exceed the limit of %d", argc - 1,
                                        KP_BOOTCFG_MAX_INITRDS);
        assert(b->n_initrds == 0 && !b->initrds);

        initrds = calloc(argc - 1, sizeof(char *));
        if (!initrds)
                return -ENOMEM;
        for (size_t i = 1; i < argc; i++) {
                _cleanup_(grub_file_ref_done) GrubFileRef f = {};
                const char *arg = argv[i];

                /* "newc:NAME:PATH" puts PATH into the initramfs as NAME; the file is PATH. */
                if (startswith_lit(arg, "newc:")) {
                        const char *colon = strchr(arg + 5, ':');
                        if (colon)
                                arg = colon + 1;
                }
                r = grub_interp_resolve_file(in, arg, &f);
                if (r < 0) {
                        initrds_free(initrds, n);
                        if (r == -ENOMEM)
                                return r;
                        if (r == -E2BIG)
                                return grub_interp_fail(in, r, c->line, "initrd path longer than %d bytes",
                                                        KP_BOOTCFG_MAX_PATH);
                        _cleanup_free_ char *shown = kp_text_escape_short(arg);
                        grub_interp_warn(in, c->line, "%s: bad file name \"%s\"; no initrd loaded", argv[0],
                                         shown ?: "?");
                        in->status = 1;
                        return 0;
                }
                if (n == 0) {
                        spec = f.spec;
                        f.spec = (KpDeviceSpec) {};
                } else if (!kp_device_spec_equal(&f.spec, &spec))
                        mixed = true;
                initrds[n++] = TAKE_PTR(f.path);
        }

        if (mixed)
                grub_interp_warn(in, c->line, "initrds on different devices; all are looked up on the first one's");
        if (!kp_device_spec_equal(&spec, &b->kernel_spec))
                grub_interp_warn(in, c->line, "initrd and kernel on different devices; both are looked up on the kernel's");
        b->initrds = initrds;
        b->n_initrds = n;
        b->initrd_spec = spec;
        spec = (KpDeviceSpec) {};
        b->initrd_loaded = true;
        in->status = 0;
        return 0;
}

int grub_cmd_boot(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc)
{
        if (!in->boot)
                return outside_entry(in, c, argv[0]);
        in->boot->booted = true;
        in->status = 0;
        return 0;
}

int grub_cmd_other_loader(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc)
{
        static const char *const names[] = { "chainloader", "multiboot", "multiboot2", "knetbsd", "kfreebsd",
                                             "kopenbsd", "appleloader", "xnu_kernel", "xnu_kernel64", "ntldr" };
        GrubBoot *b = in->boot;

        if (!b)
                return outside_entry(in, c, argv[0]);
        boot_unload(b);
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(names[i], argv[0]))
                        b->other_loader = names[i];
        in->status = 0;
        return 0;
}
