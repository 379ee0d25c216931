/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* blscfg: Fedora's BLS snippets as its GRUB reads them. */
#include <string.h>

#include "bootcfg-test.h"

#define MID "5f1c0e4e4a6d4c6a9b2e7d8c9f0a1b2c"
#define FB "c4d5e6f7-a8b9-4c0d-9e1f-2a3b4c5d6e7f"
#define FR "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6"

static void test_fedora_38(void)
{
        KpBootPlan *plan = parse_case("fedora-38", KP_BOOT_CONFIG_GRUB2, "/grub2/grub.cfg", FB, 0, NULL);

        /* Newest first; the saved_entry is the BLS id (a file name), read the way Fedora's GRUB reads it. */
        ASSERT_EQ(plan->n_entries, 3);
        ASSERT_STREQ(plan->entries[0].id, MID "-6.2.15-300.fc38.x86_64");
        ASSERT_STREQ(plan->entries[1].id, MID "-6.2.9-300.fc38.x86_64");
        ASSERT_STREQ(plan->entries[2].id, MID "-0-rescue");
        ASSERT_EQ(plan->selected, 1);
        ASSERT_EQ(plan->reason, KP_SELECT_SAVED_ENTRY);
        ASSERT_STREQ(plan->reason_detail, "saved_entry=\"" MID "-6.2.9-300.fc38.x86_64\" from /grub2/grubenv");
        /* $kernelopts comes from grubenv, not from grub.cfg's fallback. */
        check_entry(selected(plan), "Fedora Linux (6.2.9-300.fc38.x86_64) 38 (Cloud Edition)",
                    "Fedora Linux (6.2.9-300.fc38.x86_64) 38 (Cloud Edition)", "/vmlinuz-6.2.9-300.fc38.x86_64",
                    "/initramfs-6.2.9-300.fc38.x86_64.img",
                    "root=UUID=" FR " ro rootflags=subvol=root rhgb quiet console=hvc0");
        ASSERT_EQ(selected(plan)->root.kind, KP_DEVICE_UUID);
        ASSERT_STREQ(selected(plan)->root.value, FB);
        /* The filesystem's uuid was given: no doubt about where blscfg reads. */
        ASSERT_TRUE(!has_warning(plan, "blscfg reads $root"));
        kp_boot_plan_free(plan);
}

static void test_fallback_kernelopts(void)
{
        /* Without grubenv: no saved_entry (the first entry) and grub.cfg's own kernelopts. */
        _cleanup_free_ char *dir = test_data_dir("fedora-38");
        MemFs *m = memfs_new();
        KpBootPlan *plan = NULL;
        const MemFile *cfg;
        KpError e = {};

        memfs_load_dir(m, dir);
        memfs_remove(m, "/grub2/grubenv");
        cfg = memfs_get(m, "/grub2/grub.cfg");
        ASSERT_OK(kp_boot_config_parse(KP_BOOT_CONFIG_GRUB2, "/grub2/grub.cfg", cfg->data, cfg->size, &m->fs, &e, &plan));
        ASSERT_EQ(plan->selected, 0);
        ASSERT_EQ(plan->reason, KP_SELECT_FIRST);
        check_entry(selected(plan), NULL, NULL, "/vmlinuz-6.2.15-300.fc38.x86_64", NULL,
                    "root=UUID=" FR " ro rootflags=subvol=root rhgb quiet");
        ASSERT_TRUE(has_warning(plan, "blscfg reads $root, not known to be the configuration's filesystem"));
        kp_boot_plan_free(plan);
        memfs_free(m);
}

static KpBootPlan *bls(MemFs *m, const char *prelude)
{
        _cleanup_free_ char *text = NULL;
        KpBootPlan *plan = NULL;
        KpError e = {};

        ASSERT_TRUE(asprintf(&text, "%s\nblscfg\n", prelude) >= 0);
        if (parse_text(KP_BOOT_CONFIG_GRUB2, "/boot/grub2/grub.cfg", text, m, &e, &plan) < 0)
                TEST_FAIL("%s", e.message);
        return plan;
}

static void test_snippets(void)
{
        MemFs *m = memfs_new();
        KpBootPlan *plan;

        /* /boot/loader/entries when /loader/entries is missing; "version" does not sort. */
        memfs_add_str(m, "/boot/loader/entries/a-5.1-1.conf",
                      "title A 5.1\nversion 9\nlinux /boot/vmlinuz-5.1\ninitrd /boot/initrd-5.1\ninitrd /boot/extra.img\n"
                      "options $opts quiet $unset x\ngrub_arg --unrestricted\ngrub_arg extra1\n");
        memfs_add_str(m, "/boot/loader/entries/a-5.10-1.conf", "  # comment\n\tlinux\t/boot/vmlinuz-5.10\r\n"
                                                             "options one\n\ntitle after a blank line: never read\n");
        memfs_add_str(m, "/boot/loader/entries/a-5.2-1.conf", "title no linux\noptions x\n");
        memfs_add_str(m, "/boot/loader/entries/a-5.01-1.conf", "title same version as 5.1\nlinux /boot/vmlinuz-dup\n");
        memfs_add_str(m, "/boot/loader/entries/.hidden.conf", "linux /boot/hidden\n");
        memfs_add_str(m, "/boot/loader/entries/README", "linux /boot/readme\n");
        plan = bls(m, "set opts=\"root=/dev/xvda1 ro\"\nset early_initrd=\"ucode.img\"");

        /* 5.10 > 5.1; 5.2 has no linux; 5.01 sorts equal to 5.1 and is dropped. */
        ASSERT_EQ(plan->n_entries, 2);
        check_entry(&plan->entries[0], "/boot/vmlinuz-5.10", NULL, "/boot/vmlinuz-5.10", "/boot/ucode.img", "one");
        ASSERT_STREQ(plan->entries[0].id, "a-5.10-1");
        /* blscfg's expand_val() drops a one-character tail ("x"): so does kunpack. */
        check_entry(&plan->entries[1], "A 5.1", NULL, "/boot/vmlinuz-5.1", "/boot/ucode.img /boot/initrd-5.1 /boot/extra.img",
                    "root=/dev/xvda1 ro quiet");
        ASSERT_TRUE(has_warning(plan, "a line without a value ends the snippet, as in blscfg"));
        ASSERT_TRUE(has_warning(plan, "snippet \"a-5.01-1\" sorts equal to another one; dropped"));
        kp_boot_plan_free(plan);

        /* $blsdir wins; default_kernelopts when a snippet has no options; ids as defaults. */
        memfs_add_str(m, "/bls/x-1-1.conf", "linux /vmlinuz-x\n");
        memfs_add_str(m, "/bls/y-2-1.conf", "linux /vmlinuz-y\noptions own\n");
        plan = bls(m, "set blsdir=/bls\nset default_kernelopts=\"dk=1\"\nset default=x-1-1");
        ASSERT_EQ(plan->n_entries, 2);
        ASSERT_EQ(plan->selected, 1);
        ASSERT_EQ(plan->reason, KP_SELECT_DEFAULT_ID);
        check_entry(selected(plan), NULL, NULL, "/vmlinuz-x", "", "dk=1");
        check_entry(&plan->entries[0], NULL, NULL, "/vmlinuz-y", "", "own");
        kp_boot_plan_free(plan);

        /* No snippets anywhere: a warning, then no entry at all. */
        {
                MemFs *empty = memfs_new();
                KpBootPlan *p = NULL;
                KpError e = {};
                memfs_add_str(empty, "/boot/grub2/grub.cfg", "");
                ASSERT_ERROR(parse_text(KP_BOOT_CONFIG_GRUB2, "/boot/grub2/grub.cfg", "blscfg\n", empty, &e, &p), -ENOENT);
                ASSERT_STREQ(e.message, "/boot/grub2/grub.cfg: no menu entry");
                memfs_free(empty);
        }
        memfs_free(m);
}

static void test_hostile_snippets(void)
{
        MemFs *m = memfs_new();
        KpBootPlan *plan = NULL;
        KpError e = {};

        /* Options that GRUB cannot parse: the entry stays and loads nothing. */
        memfs_add_str(m, "/loader/entries/b-1-1.conf", "linux /vmlinuz-b\noptions 'unbalanced\n");
        memfs_add_str(m, "/loader/entries/c-1-1.conf", "linux /vmlinuz-c\noptions a } b\n");
        plan = bls(m, "");
        ASSERT_EQ(plan->n_entries, 2);
        ASSERT_TRUE(!plan->entries[0].kernel.path);
        ASSERT_TRUE(!plan->entries[1].kernel.path);
        ASSERT_TRUE(has_warning(plan, "blscfg: /loader/entries/b-1-1.conf:4: syntax error: unterminated single quote"));
        kp_boot_plan_free(plan);

        memfs_add(m, "/loader/entries/d-1-1.conf", "linux /a\0b\n", 11);
        ASSERT_ERROR(parse_text(KP_BOOT_CONFIG_GRUB2, "/boot/grub2/grub.cfg", "blscfg\n", m, &e, &plan), -EBADMSG);
        ASSERT_STREQ(e.message, "/boot/grub2/grub.cfg:1: blscfg: NUL byte in /loader/entries/d-1-1.conf");
        memfs_remove(m, "/loader/entries/d-1-1.conf");

        /* More snippets than entries. */
        for (int i = 0; i < 1100; i++) {
                char p[64];
                snprintf(p, sizeof(p), "/loader/entries/k-%d-1.conf", i);
                memfs_add_str(m, p, "linux /k\n");
        }
        ASSERT_ERROR(parse_text(KP_BOOT_CONFIG_GRUB2, "/boot/grub2/grub.cfg", "blscfg\n", m, &e, &plan), -E2BIG);
        ASSERT_STREQ(e.message, "/boot/grub2/grub.cfg:1: blscfg: /loader/entries: more than 1024 names");
        memfs_free(m);
}

int main(void)
{
        test_fedora_38();
        test_fallback_kernelopts();
        test_snippets();
        test_hostile_snippets();
        return 0;
}
