/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pvgrub mode's rewrite of grub.cfg and menu.lst: exactly the kernel names change. */
#include <string.h>

#include "../bootcfg/bootcfg-test.h"
#include "pvgrub/rewrite.h"
#include "util/error.h"

#define U2004 "6a1f3f5e-8a2b-4c7d-9e10-2b3c4d5e6f70"

/*
 * What the inspection would add to a parsed plan: every kernel found on
 * /dev/sda1 with the config, in format fmt_of(path).
 */
static void add_facts(KpBootPlan *plan, KpFormat (*fmt_of)(const char *path), const char *device)
{
        free(plan->config_device);
        plan->config_device = strdup("/dev/sda1");
        for (size_t i = 0; i < plan->n_entries; i++) {
                KpFileInfo *k = &plan->entries[i].kernel;
                if (!k->path)
                        continue;
                k->have_info = true;
                k->device = strdup(device);
                k->format = fmt_of(k->path);
                memset(k->sha256, 'a', 64);
        }
}

static KpFormat focal(const char *path)
{
        return strstr(path, "5.4.0-42") ? KP_FORMAT_LZ4 : KP_FORMAT_GZIP;
}

/* text with every "from" replaced by "to" (same length). */
static char *replace_all(const char *text, size_t size, const char *from, const char *to)
{
        char *out = malloc(size + 1), *p;

        ASSERT_TRUE(out);
        ASSERT_EQ(strlen(from), strlen(to));
        memcpy(out, text, size);
        out[size] = '\0';
        for (p = out; (p = strstr(p, from)); p += strlen(from))
                memcpy(p, to, strlen(to));
        return out;
}

static void test_ubuntu_2004(void)
{
        MemFs *m = NULL;
        KpBootPlan *plan = parse_case("ubuntu-20.04", KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg", NULL, 0, &m);
        const MemFile *cfg = memfs_get(m, "/boot/grub/grub.cfg");
        KpBootPlan *again = NULL;
        KpPvgrubRewrite rw = {};
        KpError e = {};
        char *want;

        ASSERT_FALSE(kp_pvgrub_needs_rewrite(plan)); /* no facts yet: nothing known to convert */
        add_facts(plan, focal, "/dev/sda1");
        ASSERT_TRUE(kp_pvgrub_needs_rewrite(plan));
        ASSERT_OK(kp_pvgrub_rewrite(plan, cfg->data, cfg->size, &e, &rw));
        /* One kernel to decompress, named on three lines (the default, and the submenu's two). */
        ASSERT_EQ(rw.n_conversions, 1);
        ASSERT_STREQ(rw.conversions[0].source, "/boot/vmlinuz-5.4.0-42-generic");
        ASSERT_STREQ(rw.conversions[0].target, "/boot/vmlinux-5.4.0-42-generic");
        ASSERT_EQ(rw.conversions[0].format, KP_FORMAT_LZ4);
        ASSERT_EQ(rw.n_tokens, 3);
        /* Every other byte as it was: the gzip kernel's lines, titles, $vt_handoff, tabs. */
        want = replace_all(cfg->data, cfg->size, "linux\t/boot/vmlinuz-5.4.0-42",
                           "linux\t/boot/vmlinux-5.4.0-42");
        ASSERT_EQ(rw.config_size, cfg->size);
        ASSERT_MEMEQ(rw.config, want, cfg->size);

        /* GRUB reads the result as the same menu, with the ELF where the LZ4 kernel was. */
        memfs_add(m, "/boot/grub/grub.cfg", rw.config, rw.config_size);
        cfg = memfs_get(m, "/boot/grub/grub.cfg");
        ASSERT_OK(kp_boot_config_parse(KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg", cfg->data, cfg->size, &m->fs,
                                       &e, &again));
        ASSERT_EQ(again->n_entries, plan->n_entries);
        ASSERT_EQ(again->selected, plan->selected);
        for (size_t i = 0; i < plan->n_entries; i++) {
                ASSERT_STREQ(again->entries[i].title, plan->entries[i].title);
                ASSERT_STREQ(again->entries[i].cmdline, plan->entries[i].cmdline);
                ASSERT_EQ(again->entries[i].n_initrds, plan->entries[i].n_initrds);
        }
        check_entry(selected(again), "Ubuntu", NULL, "/boot/vmlinux-5.4.0-42-generic",
                    "/boot/initrd.img-5.4.0-42-generic", "root=UUID=" U2004 " ro quiet splash vt.handoff=7");
        ASSERT_STREQ(again->entries[3].kernel.path, "/boot/vmlinuz-5.4.0-26-generic");

        free(want);
        kp_pvgrub_rewrite_done(&rw);
        kp_boot_plan_free(again);
        kp_boot_plan_free(plan);
        memfs_free(m);
}

static KpFormat all_zstd(const char *path)
{
        return KP_FORMAT_ZSTD;
}

static KpFormat all_xz(const char *path)
{
        return KP_FORMAT_XZ;
}

/* Parses text as /boot/grub/grub.cfg with every kernel zstd on /dev/sda1, and rewrites it. */
static int rewrite_text(KpBootConfigKind kind, const char *text, KpFormat (*fmt)(const char *),
                        const char *device, KpError *e, KpPvgrubRewrite *rw)
{
        KpBootPlan *plan = NULL;
        int r;

        ASSERT_OK(parse_text(kind,
                             kind == KP_BOOT_CONFIG_GRUB_LEGACY ? "/boot/grub/menu.lst" : "/boot/grub/grub.cfg",
                             text, NULL, e, &plan));
        add_facts(plan, fmt, device);
        r = kp_pvgrub_rewrite(plan, text, strlen(text), e, rw);
        kp_boot_plan_free(plan);
        return r;
}

static void test_literals(void)
{
        KpPvgrubRewrite rw = {};
        KpError e = {};

        /* A device prefix and a Windows line end stay; only the file name changes. */
        ASSERT_OK(rewrite_text(KP_BOOT_CONFIG_GRUB2,
                               "menuentry 'A' {\r\n  linux (hd0,msdos1)/vmlinuz-6.8 ro\r\n}\r\n", all_zstd,
                               "/dev/sda1", &e, &rw));
        ASSERT_STREQ(rw.config, "menuentry 'A' {\r\n  linux (hd0,msdos1)/vmlinux-6.8 ro\r\n}\r\n");
        ASSERT_STREQ(rw.conversions[0].target, "/vmlinux-6.8");
        kp_pvgrub_rewrite_done(&rw);

        /* Two entries, one line each; a kernel not called vmlinuz* gets ".elf". */
        ASSERT_OK(rewrite_text(KP_BOOT_CONFIG_GRUB2,
                               "menuentry A { linux /boot/kernel-6.8 ro; }\nmenuentry B { linux16 "
                               "/boot/kernel-6.8 single; }\n",
                               all_zstd, "/dev/sda1", &e, &rw));
        ASSERT_STREQ(rw.config, "menuentry A { linux /boot/kernel-6.8.elf ro; }\nmenuentry B { linux16 "
                                "/boot/kernel-6.8.elf single; }\n");
        ASSERT_EQ(rw.n_conversions, 1);
        ASSERT_EQ(rw.n_tokens, 2);
        kp_pvgrub_rewrite_done(&rw);

        /* Nothing pvgrub cannot load: the same bytes, nothing to do. */
        {
                KpBootPlan *plan = NULL;
                ASSERT_OK(parse_text(KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg",
                                     "menuentry A { linux /vmlinuz-1 ro; }\n", NULL, &e, &plan));
                add_facts(plan, all_xz, "/dev/sda1");
                ASSERT_FALSE(kp_pvgrub_needs_rewrite(plan));
                kp_boot_plan_free(plan);
        }
        ASSERT_OK(rewrite_text(KP_BOOT_CONFIG_GRUB2, "menuentry A { linux /vmlinuz-1 ro; }\n", all_xz,
                               "/dev/sda1", &e, &rw));
        ASSERT_STREQ(rw.config, "menuentry A { linux /vmlinuz-1 ro; }\n");
        ASSERT_EQ(rw.n_conversions, 0);
        ASSERT_EQ(rw.n_tokens, 0);
        kp_pvgrub_rewrite_done(&rw);

        /* GRUB legacy: tabs and the rest of the line as written. */
        ASSERT_OK(rewrite_text(KP_BOOT_CONFIG_GRUB_LEGACY,
                               "default 0\ntitle Debian\n  root (hd0,0)\n  "
                               "kernel\t\t/boot/vmlinuz-2.6.26-1-xen-686 root=/dev/xvda1 ro\n",
                               all_zstd, "/dev/sda1", &e, &rw));
        ASSERT_STREQ(rw.config, "default 0\ntitle Debian\n  root (hd0,0)\n  "
                                "kernel\t\t/boot/vmlinux-2.6.26-1-xen-686 root=/dev/xvda1 ro\n");
        kp_pvgrub_rewrite_done(&rw);
}

static void test_refused(void)
{
        KpPvgrubRewrite rw = {};
        KpError e = {};

        /* A variable, a quoted word, a function: not a literal kunpack can rewrite. */
        ASSERT_ERROR(rewrite_text(KP_BOOT_CONFIG_GRUB2, "set k=/vmlinuz-1\nmenuentry A { linux $k ro; }\n",
                                  all_zstd, "/dev/sda1", &e, &rw),
                     -EOPNOTSUPP);
        ASSERT_CONTAINS(e.message, "entry \"A\": kernel /vmlinuz-1 is not named by a plain word");
        ASSERT_ERROR(rewrite_text(KP_BOOT_CONFIG_GRUB2, "menuentry A { linux \"/vmlinuz-1\" ro; }\n", all_zstd,
                                  "/dev/sda1", &e, &rw),
                     -EOPNOTSUPP);
        ASSERT_ERROR(rewrite_text(KP_BOOT_CONFIG_GRUB2,
                                  "function l { linux /vmlinuz-1 ro; }\nmenuentry A { l; }\n", all_zstd,
                                  "/dev/sda1", &e, &rw),
                     -EOPNOTSUPP);
        /* A kernel on another filesystem than the config. */
        ASSERT_ERROR(rewrite_text(KP_BOOT_CONFIG_GRUB2, "menuentry A { linux /vmlinuz-1 ro; }\n", all_zstd,
                                  "/dev/sda2", &e, &rw),
                     -EXDEV);
        ASSERT_CONTAINS(e.message, "is on /dev/sda2, not on /dev/sda1");
        /* A device and a name without a directory: no path to put a copy beside (found by fuzz-pvgrub-rewrite). */
        ASSERT_ERROR(rewrite_text(KP_BOOT_CONFIG_GRUB2, "menuentry A { linux (hd0,1)vmlinuz-1 ro; }\n", all_zstd,
                                  "/dev/sda1", &e, &rw),
                     -EINVAL);
        ASSERT_STREQ(e.message, "entry \"A\": kernel \"vmlinuz-1\" is not a path to a file; cannot rewrite it");
}

static void test_moved_bytes(void)
{
        const char *text = "menuentry A {\n linux /vmlinuz-1 ro\n}\n";
        KpBootPlan *plan = NULL;
        KpPvgrubRewrite rw = {};
        KpError e = {};

        /* Bytes that are not what the parser saw (the config changed in between): refused. */
        ASSERT_OK(parse_text(KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg", text, NULL, &e, &plan));
        add_facts(plan, all_zstd, "/dev/sda1");
        ASSERT_EQ(plan->entries[0].kernel_span.line, 2);
        ASSERT_EQ(plan->entries[0].kernel_span.column, 7);
        ASSERT_EQ(plan->entries[0].kernel_span.length, 10);
        ASSERT_ERROR(
                kp_pvgrub_rewrite(plan, "menuentry A {\n linux /vmlinuz-2 ro\n}\n", strlen(text), &e, &rw),
                -EBADMSG);
        ASSERT_ERROR(kp_pvgrub_rewrite(plan, "menuentry A {\n", 14, &e, &rw), -EBADMSG);
        /* Not pvgrub's: extlinux. */
        plan->kind = KP_BOOT_CONFIG_EXTLINUX;
        ASSERT_ERROR(kp_pvgrub_rewrite(plan, text, strlen(text), &e, &rw), -EOPNOTSUPP);
        kp_boot_plan_free(plan);
}

static void test_target_path(void)
{
        char *t;

        ASSERT_OK(kp_pvgrub_target_path("/boot/vmlinuz-5.4.0-42-generic", &t));
        ASSERT_STREQ(t, "/boot/vmlinux-5.4.0-42-generic");
        free(t);
        ASSERT_OK(kp_pvgrub_target_path("/vmlinuz", &t));
        ASSERT_STREQ(t, "/vmlinux");
        free(t);
        ASSERT_OK(kp_pvgrub_target_path("/boot/bzImage", &t));
        ASSERT_STREQ(t, "/boot/bzImage.elf");
        free(t);
        ASSERT_ERROR(kp_pvgrub_target_path("/boot/", &t), -EINVAL);
        ASSERT_TRUE(kp_pvgrub_can_load(KP_FORMAT_GZIP) && kp_pvgrub_can_load(KP_FORMAT_XZ) &&
                    kp_pvgrub_can_load(KP_FORMAT_LZO) && kp_pvgrub_can_load(KP_FORMAT_ELF));
        ASSERT_FALSE(kp_pvgrub_can_load(KP_FORMAT_LZ4) || kp_pvgrub_can_load(KP_FORMAT_ZSTD) ||
                     kp_pvgrub_can_load(KP_FORMAT_BZIP2) || kp_pvgrub_can_load(KP_FORMAT_LZMA));
}

int main(void)
{
        test_ubuntu_2004();
        test_literals();
        test_refused();
        test_moved_bytes();
        test_target_path();
        return 0;
}
