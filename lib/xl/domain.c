/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "util/error.h"
#include "util/fileio.h"
#include "xl/domain.h"
#include "xl/xen-dl.h"

KpDomainConfig *kp_domain_config_free(KpDomainConfig *c)
{
        if (!c)
                return NULL;
        free(c->path);
        free(c->name);
        free(c->bootloader);
        free(c->entry);
        free(c->mode);
        free(c->config);
        kp_disk_specs_free(c->disks, c->n_disks);
        free(c);
        return NULL;
}

bool kp_domain_config_name_ignored(const char *name)
{
        static const char *const suffixes[] = { "~", ".bak", ".swp", ".orig", ".rpmnew", ".rpmsave", ".dpkg-old",
                                                ".dpkg-new", ".dpkg-dist", ".dpkg-tmp", ".ucf-old", ".ucf-new" };
        size_t n = strlen(name);

        if (name[0] == '.')
                return true;
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t s = strlen(suffixes[i]);
                if (n >= s && streq(name + n - s, suffixes[i]))
                        return true;
        }
        return false;
}

bool kp_domain_bootloader_is_kunpack(const char *bootloader)
{
        const char *slash;

        if (!bootloader)
                return false;
        slash = strrchr(bootloader, '/');
        return streq(slash ? slash + 1 : bootloader, "kunpack-boot");
}

static void xlu_cfg_destroyp(XLU_Config **x)
{
        if (*x)
                sym_xlu_cfg_destroy(*x);
}

/* The first line libxlutil reported, which already reads "FILE:LINE: ...", or a fallback. */
static int report_error(KpError *error, int code, FILE *f, char **report, const char *fallback, const char *path)
{
        (void) fflush(f);
        if (*report && **report) {
                char *nl = strchr(*report, '\n');
                if (nl)
                        *nl = '\0';
                return kp_error_set(error, code, "%s", *report);
        }
        return kp_error_set(error, code, "%s: %s", path, fallback);
}

/* Takes --entry=, --mode= and --config= (kunpack-boot's own options); ignores everything else. */
static int take_option(KpDomainConfig *c, const char *w, KpError *error)
{
        char **slot = startswith_lit(w, "--entry=")  ? &c->entry :
                      startswith_lit(w, "--mode=")   ? &c->mode :
                      startswith_lit(w, "--config=") ? &c->config : NULL;

        if (!slot)
                return 0;
        free(*slot);
        *slot = strdup(strchr(w, '=') + 1);
        return *slot ? 0 : kp_error_set(error, -ENOMEM, "out of memory");
}

/* bootloader_args is a list (or, in old configs, one string of words); take our options from it. */
static int parse_bootloader_args(XLU_Config *x, KpDomainConfig *c, const char *path, KpError *error)
{
        XLU_ConfigList *list = NULL;
        const char *s;
        int n = 0;

        if (sym_xlu_cfg_get_list(x, "bootloader_args", &list, &n, 1) != 0) {
                if (sym_xlu_cfg_get_string(x, "bootloader_args", &s, 1) != 0)
                        return 0;
                /* A single string: split on blanks as xl does for this legacy form. */
                _cleanup_free_ char *copy = strdup(s);
                char *save = NULL;
                if (!copy)
                        return kp_error_set(error, -ENOMEM, "out of memory");
                for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
                        int r = take_option(c, w, error);
                        if (r < 0)
                                return r;
                }
                return 0;
        }

        for (int i = 0; i < n; i++) {
                const char *w = sym_xlu_cfg_get_listitem(list, i);
                int r;

                if (!w)
                        return kp_error_set(error, -EINVAL, "%s: bootloader_args[%d] is not a string", path, i);
                r = take_option(c, w, error);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_disks(XLU_Config *x, KpDomainConfig *c, const char *path, FILE *report_f, char **report,
                       KpError *error)
{
        XLU_ConfigList *list = NULL;
        int n = 0;

        if (sym_xlu_cfg_get_list(x, "disk", &list, &n, 1) != 0 || n == 0)
                return kp_error_set(error, -EINVAL, "%s: a guest booted by kunpack-boot needs disk = [ ... ]", path);
        if (n > KP_DOMAIN_MAX_DISKS)
                return kp_error_set(error, -E2BIG, "%s: more than %d disks", path, KP_DOMAIN_MAX_DISKS);

        c->disks = calloc((size_t) n, sizeof(KpDiskSpec));
        if (!c->disks)
                return kp_error_set(error, -ENOMEM, "out of memory");

        for (int i = 0; i < n; i++) {
                const char *spec = sym_xlu_cfg_get_listitem(list, i);
                libxl_device_disk d;
                KpDiskFormat format;
                int r;

                if (!spec)
                        return kp_error_set(error, -EINVAL, "%s: disk[%d] is not a string", path, i);
                sym_libxl_device_disk_init(&d);
                r = sym_xlu_disk_parse(x, 1, &spec, &d);
                if (r != 0) {
                        sym_libxl_device_disk_dispose(&d);
                        return report_error(error, -EINVAL, report_f, report, "invalid disk spec", path);
                }
                if (d.is_cdrom || !d.pdev_path || !*d.pdev_path) {
                        /* CD-ROMs (and empty drives) are never what a PV guest boots from. */
                        sym_libxl_device_disk_dispose(&d);
                        continue;
                }
                switch (d.format) {
                case LIBXL_DISK_FORMAT_UNKNOWN:
                case LIBXL_DISK_FORMAT_RAW:
                        format = KP_DISK_FORMAT_RAW;
                        break;
                case LIBXL_DISK_FORMAT_QCOW2:
                        format = KP_DISK_FORMAT_QCOW2;
                        break;
                default:
                        r = kp_error_set(error, -EOPNOTSUPP, "%s: disk %s: format %s is not supported by kunpack",
                                         path, d.pdev_path, sym_libxl_disk_format_to_string(d.format));
                        sym_libxl_device_disk_dispose(&d);
                        return r;
                }
                c->disks[c->n_disks].path = strdup(d.pdev_path);
                c->disks[c->n_disks].format = format;
                sym_libxl_device_disk_dispose(&d);
                if (!c->disks[c->n_disks].path)
                        return kp_error_set(error, -ENOMEM, "out of memory");
                c->n_disks++;
        }
        if (c->n_disks == 0)
                return kp_error_set(error, -EINVAL, "%s: no disk kunpack could boot from (only CD-ROMs)", path);
        return 0;
}

int kp_domain_config_parse(const char *path, const char *text, size_t size, KpError *error, KpDomainConfig **ret)
{
        /* Cleanups run in reverse: x first, then the stream, then the buffer the stream writes to. */
        _cleanup_free_ char *report = NULL;
        _cleanup_fclose_ FILE *report_f = NULL;
        _cleanup_(kp_domain_config_freep) KpDomainConfig *c = NULL;
        _cleanup_(xlu_cfg_destroyp) XLU_Config *x = NULL;
        size_t report_size = 0;
        const char *s;
        int r;

        if (size > KP_DOMAIN_CONFIG_MAX_SIZE)
                return kp_error_set(error, -EFBIG, "%s: bigger than %d bytes", path, KP_DOMAIN_CONFIG_MAX_SIZE);
        if (memchr(text, '\0', size))
                return kp_error_set(error, -EINVAL, "%s: contains a NUL byte", path);

        /* libxlutil is loaded with the first domain config, not at program start. */
        r = kp_xlutil_dlopen(error);
        if (r < 0)
                return kp_error_prefix(error, r, "%s", path);

        c = calloc(1, sizeof(KpDomainConfig));
        if (!c || !(c->path = strdup(path)))
                return kp_error_set(error, -ENOMEM, "out of memory");

        report_f = open_memstream(&report, &report_size);
        if (!report_f)
                return kp_error_set(error, -ENOMEM, "out of memory");
        x = sym_xlu_cfg_init(report_f, path);
        if (!x)
                return kp_error_set(error, -ENOMEM, "out of memory");
        if (sym_xlu_cfg_readdata(x, text, (int) size) != 0)
                return report_error(error, -EINVAL, report_f, &report, "syntax error", path);

        if (sym_xlu_cfg_get_string(x, "bootloader", &s, 1) == 0) {
                c->bootloader = strdup(s);
                if (!c->bootloader)
                        return kp_error_set(error, -ENOMEM, "out of memory");
                c->kunpack = kp_domain_bootloader_is_kunpack(s);
        }
        if (sym_xlu_cfg_get_string(x, "name", &s, 1) == 0 && *s) {
                c->name = strdup(s);
                if (!c->name)
                        return kp_error_set(error, -ENOMEM, "out of memory");
        }

        if (c->kunpack) {
                if (!c->name)
                        return kp_error_set(error, -EINVAL, "%s: a guest booted by kunpack-boot needs name = \"...\"",
                                            path);
                r = parse_bootloader_args(x, c, path, error);
                if (r < 0)
                        return r;
                r = parse_disks(x, c, path, report_f, &report, error);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(c);
        return 0;
}

int kp_domain_config_load(const char *path, KpError *error, KpDomainConfig **ret)
{
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        int r;

        r = kp_read_file(path, KP_DOMAIN_CONFIG_MAX_SIZE, error, &text, &size);
        if (r < 0)
                return kp_error_prefix(error, r, "%s", path);
        return kp_domain_config_parse(path, text, size, error, ret);
}
