/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "bootcfg/bootfs.h"
#include "bootcfg/bootplan-internal.h"
#include "bootcfg/parsers.h"
#include "bootcfg/version.h"
#include "util/error.h"
#include "util/strv.h"

/*
 * No boot configuration: boot the newest kernel, as virt-get-kernel does.
 * It globs /boot/vmlinuz-* (else vmlinux-*) and sorts by version; here the
 * same in /boot, or in / when /boot is missing (the filesystem is a
 * separate /boot). Unlike virt-get-kernel, which takes the newest initrd
 * on its own, each kernel gets the initrd of its own version, looked for
 * under the names grub-mkconfig's 10_linux tries. Backup and package
 * manager leftovers are skipped as grub-mkconfig's grub_file_is_not_garbage
 * does, and signed EFI copies as 10_linux does. Every kernel found becomes
 * an entry, newest first; no command line is known.
 */

static bool is_garbage(const char *name)
{
        static const char *const suffixes[] = { ".rpmsave", ".rpmnew", ".bak", "~", ".sig", ".old", ".efi.signed" };
        size_t len = strlen(name);

        if (strstr(name, ".dpkg-"))
                return true;
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t n = strlen(suffixes[i]);
                if (len >= n && streq(name + len - n, suffixes[i]))
                        return true;
        }
        return false;
}

static int find_initrd(char **names, const char *version, char **ret)
{
        /* 10_linux's order: initrd.img-V, initrd-V.img, initrd-V.gz, initrd-V, initramfs-V.img. */
        static const struct {
                const char *prefix, *suffix;
        } patterns[] = {
                { "initrd.img-", "" }, { "initrd-", ".img" }, { "initrd-", ".gz" }, { "initrd-", "" },
                { "initramfs-", ".img" },
        };

        for (size_t i = 0; i < ELEMENTSOF(patterns); i++) {
                _cleanup_free_ char *want = NULL;
                if (asprintf(&want, "%s%s%s", patterns[i].prefix, version, patterns[i].suffix) < 0)
                        return -ENOMEM;
                if (strv_contains(names, want)) {
                        *ret = TAKE_PTR(want);
                        return 1;
                }
        }
        return 0;
}

static int by_version_desc(const void *a, const void *b)
{
        const char *x = *(const char *const *) a, *y = *(const char *const *) b;
        return -kp_version_compare(strchr(x, '-') + 1, strchr(y, '-') + 1);
}

int kp_fallback_parse(const KpBootFs *fs, KpError *error, KpBootPlan **ret)
{
        _cleanup_(kp_boot_plan_freep) KpBootPlan *plan = NULL;
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ char **kernels = NULL;
        KpBootFsReader reader = { .fs = fs };
        const char *dir = NULL, *prefix = "vmlinuz-";
        size_t n = 0;
        int r;

        if (!fs)
                return kp_error_set(error, -ENOENT, "no boot configuration and no filesystem to look for kernels in");
        r = kp_boot_fs_list(&reader, "/boot", error, &names);
        if (r >= 0)
                dir = "/boot";
        else if (r == -ENOENT || r == -ENOTDIR) {
                r = kp_boot_fs_list(&reader, "/", error, &names);
                if (r < 0)
                        return r == -ENOENT ? kp_error_set(error, r, "no /boot and no / to look for kernels in") : r;
                dir = "";
        } else
                return r;

        kernels = calloc(strv_length(names) + 1, sizeof(char *));
        if (!kernels)
                return -ENOMEM;
        for (int pass = 0; pass < 2 && n == 0; pass++) {
                prefix = pass == 0 ? "vmlinuz-" : "vmlinux-";
                STRV_FOREACH(name, names)
                        if (strncmp(*name, prefix, 8) == 0 && (*name)[8] && !is_garbage(*name))
                                kernels[n++] = *name;
        }
        if (n == 0)
                return kp_error_set(error, -ENOENT, "no boot configuration and no %s/vmlinuz-* kernel", dir);
        qsort(kernels, n, sizeof(char *), by_version_desc);

        plan = kp_boot_plan_new(KP_BOOT_CONFIG_NONE);
        if (!plan)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *initrd = NULL, *ipath = NULL;
                const char *version = kernels[i] + 8;
                KpBootEntry e = {};

                r = find_initrd(names, version, &initrd);
                if (r < 0)
                        return r;
                if (asprintf(&e.kernel.path, "%s/%s", dir, kernels[i]) < 0)
                        return -ENOMEM;
                e.title = strdup(kernels[i]);
                e.menu_path = strdup(kernels[i]);
                e.cmdline = strdup("");
                if (!e.title || !e.menu_path || !e.cmdline)
                        r = -ENOMEM;
                if (r >= 0 && initrd) {
                        if (asprintf(&ipath, "%s/%s", dir, initrd) < 0)
                                r = -ENOMEM;
                        else
                                r = kp_boot_entry_add_initrd(&e, ipath);
                }
                if (r >= 0)
                        r = kp_boot_plan_take_entry(plan, &e);
                if (r < 0) {
                        kp_boot_entry_done(&e);
                        if (r == -ENOSPC)
                                return kp_error_set(error, -E2BIG, "%s: " KP_BOOTCFG_PLAN_TEXT_MESSAGE, dir[0] ? dir : "/",
                                                    KP_BOOTCFG_MAX_PLAN_TEXT);
                        return r;
                }
        }
        plan->selected = 0;
        plan->reason = KP_SELECT_FALLBACK;
        r = kp_boot_plan_set_detail(plan, "no boot configuration; the newest of %zu kernels in %s by version order",
                                    n, dir[0] ? dir : "/");
        if (r >= 0)
                r = strv_extend(&plan->warnings, "no boot configuration: no kernel command line is known");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(plan);
        return 0;
}
