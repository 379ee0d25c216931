/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * grub.cfg files as distributions' grub-mkconfig writes them
 * (tests/unit/bootcfg/data/), parsed as a Xen PV GRUB would run them.
 */
#include <string.h>

#include "bootcfg-test.h"

#define U2004 "6a1f3f5e-8a2b-4c7d-9e10-2b3c4d5e6f70"
#define B2204 "3f9d2c41-77aa-4d6e-b0c3-5e8f1a2b3c4d"
#define D12 "8e2f1d3c-4b5a-4697-8a1b-2c3d4e5f6a7b"
#define C7 "b1c2d3e4-f5a6-4b7c-8d9e-0a1b2c3d4e5f"

static void test_ubuntu_2004(void)
{
        KpBootPlan *plan = parse_case("ubuntu-20.04", KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg", NULL, 0, NULL);
        const KpBootEntry *e = selected(plan);

        ASSERT_EQ(plan->n_entries, 5);
        ASSERT_EQ(plan->selected, 0);
        ASSERT_EQ(plan->reason, KP_SELECT_DEFAULT_INDEX);
        ASSERT_STREQ(plan->reason_detail, "default=\"0\"");
        ASSERT_STREQ(plan->config_path, "/boot/grub/grub.cfg");
        /*
         * gfxmode keep (the entry runs `gfxmode $linux_gfx_mode`, and
         * linux_gfx_mode is "keep" on a non-pc platform) sets vt_handoff.
         */
        check_entry(e, "Ubuntu", "Ubuntu", "/boot/vmlinuz-5.4.0-42-generic", "/boot/initrd.img-5.4.0-42-generic",
                    "root=UUID=" U2004 " ro quiet splash vt.handoff=7");
        ASSERT_STREQ(e->id, "gnulinux-simple-" U2004);
        ASSERT_EQ(e->root.kind, KP_DEVICE_UUID);
        ASSERT_STREQ(e->root.value, U2004);

        check_entry(&plan->entries[1], "Ubuntu, with Linux 5.4.0-42-generic",
                    "Advanced options for Ubuntu>Ubuntu, with Linux 5.4.0-42-generic", "/boot/vmlinuz-5.4.0-42-generic",
                    "/boot/initrd.img-5.4.0-42-generic", "root=UUID=" U2004 " ro quiet splash vt.handoff=7");
        /* Recovery entries do not call gfxmode, and their arguments hold no $vt_handoff. */
        check_entry(&plan->entries[2], "Ubuntu, with Linux 5.4.0-42-generic (recovery mode)",
                    "Advanced options for Ubuntu>Ubuntu, with Linux 5.4.0-42-generic (recovery mode)",
                    "/boot/vmlinuz-5.4.0-42-generic", "/boot/initrd.img-5.4.0-42-generic",
                    "root=UUID=" U2004 " ro recovery nomodeset dis_ucode_ldr");
        check_entry(&plan->entries[3], "Ubuntu, with Linux 5.4.0-26-generic", NULL, "/boot/vmlinuz-5.4.0-26-generic",
                    "/boot/initrd.img-5.4.0-26-generic", NULL);
        ASSERT_STREQ(plan->entries[3].id, "gnulinux-5.4.0-26-generic-advanced-" U2004);
        kp_boot_plan_free(plan);
}

static void test_ubuntu_2004_recordfail(void)
{
        /* After a failed boot (recordfail=1 in grubenv) Ubuntu boots in text mode: no vt.handoff. */
        _cleanup_free_ char *dir = test_data_dir("ubuntu-20.04");
        MemFs *m = memfs_new();
        const MemFile *cfg;
        KpBootPlan *plan = NULL;
        KpError e = {};

        memfs_load_dir(m, dir);
        memfs_add_str(m, "/boot/grub/grubenv",
                      "# GRUB Environment Block\nrecordfail=1\n#########################################");
        cfg = memfs_get(m, "/boot/grub/grub.cfg");
        ASSERT_OK(kp_boot_config_parse(KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg", cfg->data, cfg->size, &m->fs, &e, &plan));
        check_entry(selected(plan), "Ubuntu", NULL, "/boot/vmlinuz-5.4.0-42-generic", NULL,
                    "root=UUID=" U2004 " ro quiet splash");
        kp_boot_plan_free(plan);
        memfs_free(m);
}

static void test_ubuntu_2004_default_path(void)
{
        KpBootPlan *plan = parse_case("ubuntu-20.04-default-path", KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg", NULL, 0, NULL);

        ASSERT_EQ(plan->selected, 3);
        ASSERT_EQ(plan->reason, KP_SELECT_DEFAULT_PATH);
        ASSERT_STREQ(plan->reason_detail, "default=\"Advanced options for Ubuntu>Ubuntu, with Linux 5.4.0-26-generic\"");
        check_entry(selected(plan), "Ubuntu, with Linux 5.4.0-26-generic",
                    "Advanced options for Ubuntu>Ubuntu, with Linux 5.4.0-26-generic", "/boot/vmlinuz-5.4.0-26-generic",
                    "/boot/initrd.img-5.4.0-26-generic", "root=UUID=" U2004 " ro quiet splash vt.handoff=7");
        kp_boot_plan_free(plan);
}

static void test_ubuntu_2004_next_entry(void)
{
        KpBootPlan *plan = parse_case("ubuntu-20.04-next-entry", KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg", NULL, 0, NULL);

        /* next_entry=1>2: entry 2 of the submenu, once. */
        ASSERT_EQ(plan->selected, 3);
        ASSERT_EQ(plan->reason, KP_SELECT_NEXT_ENTRY);
        ASSERT_STREQ(plan->reason_detail, "next_entry=\"1>2\" from /boot/grub/grubenv");
        check_entry(selected(plan), "Ubuntu, with Linux 5.4.0-26-generic", NULL, "/boot/vmlinuz-5.4.0-26-generic",
                    "/boot/initrd.img-5.4.0-26-generic", NULL);
        kp_boot_plan_free(plan);

        /* Once it has been served, the guest's GRUB would have cleared it. */
        plan = parse_case("ubuntu-20.04-next-entry", KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg", NULL,
                          KP_BOOTCFG_IGNORE_NEXT_ENTRY, NULL);
        ASSERT_EQ(plan->selected, 0);
        ASSERT_EQ(plan->reason, KP_SELECT_DEFAULT_INDEX);
        kp_boot_plan_free(plan);
}

static void test_ubuntu_2204_separate_boot_saved(void)
{
        KpBootPlan *plan = parse_case("ubuntu-22.04", KP_BOOT_CONFIG_GRUB2, "/grub/grub.cfg", B2204, 0, NULL);
        const KpBootEntry *e = selected(plan);

        ASSERT_EQ(plan->n_entries, 5);
        ASSERT_EQ(plan->selected, 3);
        ASSERT_EQ(plan->reason, KP_SELECT_SAVED_ENTRY);
        ASSERT_STREQ(plan->reason_detail,
                     "saved_entry=\"gnulinux-advanced-" B2204 ">gnulinux-5.15.0-88-generic-advanced-" B2204
                     "\" from /grub/grubenv");
        /* /boot is its own filesystem: the paths are relative to it. */
        check_entry(e, "Ubuntu, with Linux 5.15.0-88-generic",
                    "Advanced options for Ubuntu>Ubuntu, with Linux 5.15.0-88-generic", "/vmlinuz-5.15.0-88-generic",
                    "/initrd.img-5.15.0-88-generic", "root=/dev/mapper/ubuntu--vg-ubuntu--lv ro");
        ASSERT_EQ(e->root.kind, KP_DEVICE_UUID);
        ASSERT_STREQ(e->root.value, B2204);
        kp_boot_plan_free(plan);
}

static void test_debian_12(void)
{
        KpBootPlan *plan = parse_case("debian-12", KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg", NULL, 0, NULL);

        ASSERT_EQ(plan->n_entries, 5);
        ASSERT_EQ(plan->reason, KP_SELECT_DEFAULT_INDEX);
        check_entry(selected(plan), "Debian GNU/Linux", "Debian GNU/Linux", "/boot/vmlinuz-6.1.0-13-amd64",
                    "/boot/initrd.img-6.1.0-13-amd64", "root=UUID=" D12 " ro quiet");
        check_entry(&plan->entries[2], "Debian GNU/Linux, with Linux 6.1.0-13-amd64 (recovery mode)", NULL, NULL, NULL,
                    "root=UUID=" D12 " ro single");
        /* The EFI firmware entry exists only on EFI: not on Xen. */
        for (size_t i = 0; i < plan->n_entries; i++)
                ASSERT_TRUE(!strstr(plan->entries[i].title, "UEFI"));
        kp_boot_plan_free(plan);
}

static void test_debian_12_default_id(void)
{
        KpBootPlan *plan = parse_case("debian-12-default-id", KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg", NULL, 0, NULL);

        ASSERT_EQ(plan->selected, 3);
        ASSERT_EQ(plan->reason, KP_SELECT_DEFAULT_PATH);
        check_entry(selected(plan), "Debian GNU/Linux, with Linux 6.1.0-9-amd64",
                    "Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-9-amd64",
                    "/boot/vmlinuz-6.1.0-9-amd64", "/boot/initrd.img-6.1.0-9-amd64", "root=UUID=" D12 " ro quiet");
        kp_boot_plan_free(plan);
}

static void test_centos_7_saved_entry(void)
{
        KpBootPlan *plan = parse_case("centos-7", KP_BOOT_CONFIG_GRUB2, "/grub2/grub.cfg", NULL, 0, NULL);

        ASSERT_EQ(plan->n_entries, 3);
        ASSERT_EQ(plan->selected, 1);
        ASSERT_EQ(plan->reason, KP_SELECT_SAVED_ENTRY);
        ASSERT_STREQ(plan->reason_detail, "saved_entry=\"CentOS Linux (3.10.0-1127.el7.x86_64) 7 (Core)\" from /grub2/grubenv");
        check_entry(selected(plan), "CentOS Linux (3.10.0-1127.el7.x86_64) 7 (Core)", NULL,
                    "/vmlinuz-3.10.0-1127.el7.x86_64", "/initramfs-3.10.0-1127.el7.x86_64.img",
                    "root=/dev/mapper/centos-root ro crashkernel=auto rd.lvm.lv=centos/root rd.lvm.lv=centos/swap rhgb quiet LANG=en_US.UTF-8");
        ASSERT_STREQ(selected(plan)->root.value, C7);
        kp_boot_plan_free(plan);
}

static void test_centos_7_without_grubenv(void)
{
        /* No grubenv: saved_entry is unset, default is "", which names nothing: the first entry. */
        _cleanup_free_ char *dir = test_data_dir("centos-7");
        MemFs *m = memfs_new();
        KpBootPlan *plan = NULL;
        KpError e = {};
        const MemFile *cfg;

        memfs_load_dir(m, dir);
        memfs_remove(m, "/grub2/grubenv");
        cfg = memfs_get(m, "/grub2/grub.cfg");
        ASSERT_OK(kp_boot_config_parse(KP_BOOT_CONFIG_GRUB2, "/grub2/grub.cfg", cfg->data, cfg->size, &m->fs, &e, &plan));
        ASSERT_EQ(plan->selected, 0);
        ASSERT_EQ(plan->reason, KP_SELECT_FIRST);
        ASSERT_STREQ(plan->reason_detail, "default=\"\" names no entry; GRUB boots the first");
        kp_boot_plan_free(plan);
        memfs_free(m);
}


/* Parses text as /boot/grub/grub.cfg over m; the plan or NULL with e set. */
static KpBootPlan *parse(const char *text, MemFs *m, KpError *e, int expect)
{
        KpBootPlan *plan = NULL;
        int r = parse_text(KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg", text, m, e, &plan);
        if (r != expect)
                TEST_FAIL("parse returned %d, expected %d: %s\n<<%.300s>>", r, expect, e->message, text);
        return plan;
}

static void test_devices(void)
{
        MemFs *m = memfs_new();
        KpBootPlan *plan;
        KpError e = {};

        m->fs.fs_label = "BOOT";
        memfs_add_str(m, "/boot/grub/grub.cfg", "");
        plan = parse("menuentry a { search --label --set BOOT; linux ($root)/vmlinuz-a; }\n"
                     "menuentry b { set root='hd0,gpt2'; linux /vmlinuz-b; }\n"
                     "menuentry c { linux (hd1,msdos3)/vmlinuz-c; initrd (hd1,msdos3)/initrd-c; }\n"
                     "menuentry d { search -s -f /boot/grub/grub.cfg; linux /boot//./vmlinuz-d; }\n"
                     "menuentry e { search.fs_uuid 1234-ABCD root; linux /vmlinuz-e; }\n"
                     "menuentry f { linux /vmlinuz-f; }\n",
                     m, &e, 0);
        ASSERT_EQ(plan->entries[0].root.kind, KP_DEVICE_LABEL);
        ASSERT_STREQ(plan->entries[0].root.value, "BOOT");
        ASSERT_STREQ(plan->entries[0].kernel.path, "/vmlinuz-a");
        ASSERT_EQ(plan->entries[1].root.kind, KP_DEVICE_GRUB);
        ASSERT_STREQ(plan->entries[1].root.value, "hd0,gpt2");
        ASSERT_EQ(plan->entries[2].root.kind, KP_DEVICE_GRUB);
        ASSERT_STREQ(plan->entries[2].root.value, "hd1,msdos3");
        check_entry(&plan->entries[2], NULL, NULL, "/vmlinuz-c", "/initrd-c", "");
        ASSERT_EQ(plan->entries[3].root.kind, KP_DEVICE_FILE);
        ASSERT_STREQ(plan->entries[3].root.value, "/boot/grub/grub.cfg");
        ASSERT_STREQ(plan->entries[3].kernel.path, "/boot/vmlinuz-d");
        ASSERT_EQ(plan->entries[4].root.kind, KP_DEVICE_UUID);
        ASSERT_STREQ(plan->entries[4].root.value, "1234-ABCD");
        /* An entry's changes to $root stay in that entry. */
        ASSERT_EQ(plan->entries[5].root.kind, KP_DEVICE_SAME);
        kp_boot_plan_free(plan);
        memfs_free(m);
}

static void test_submenu_context(void)
{
        KpError e = {};
        KpBootPlan *plan;

        /* A submenu sees exported variables only (grub_env_context_open()). */
        plan = parse("set a=1\nset b=2\nexport b\n"
                     "submenu 'S' {\n  set c=3\n  menuentry 'E' { linux /k a=$a b=$b c=$c; }\n}\n",
                     NULL, &e, 0);
        check_entry(selected(plan), "E", "S>E", "/k", "", "a= b=2 c=3");
        kp_boot_plan_free(plan);

        /* '>' in titles is doubled in the menu path, and such a path selects the entry. */
        plan = parse("set default='A>>B>1'\nmenuentry x { linux /x; }\nsubmenu 'A>B' { menuentry y { linux /y; }\n"
                     "menuentry z { linux /z; } }\n",
                     NULL, &e, 0);
        check_entry(selected(plan), "z", "A>>B>z", "/z", "", "");
        ASSERT_EQ(plan->reason, KP_SELECT_DEFAULT_PATH);
        kp_boot_plan_free(plan);

        /* A submenu's own `set default` wins over the rest of the path. */
        plan = parse("set default=0\nsubmenu 'S' { set default=1; menuentry y { linux /y; }\n"
                     "menuentry z { linux /z; } }\n",
                     NULL, &e, 0);
        check_entry(selected(plan), "z", "S>z", "/z", "", "");
        kp_boot_plan_free(plan);
}

static void test_defaults(void)
{
        static const char *const menu =
                "menuentry_id_option=\"--id\"\n"
                "menuentry 'first' --id one { linux /1; }\n"
                "menuentry 'second' $menuentry_id_option two { linux /2; }\n"
                "submenu 'sub' --id=s { menuentry 'inner' --id i { linux /3; }; menuentry 'inner2' { linux /4; } }\n";
        static const struct {
                const char *def;
                size_t index;
                KpSelectReason reason;
        } cases[] = {
                { "1", 1, KP_SELECT_DEFAULT_INDEX },
                { "0x1", 1, KP_SELECT_DEFAULT_INDEX },
                { " 1", 1, KP_SELECT_DEFAULT_INDEX },
                { "1abc", 1, KP_SELECT_DEFAULT_INDEX },     /* grub_strtoul stops at 'a' */
                { "second", 1, KP_SELECT_DEFAULT_TITLE },
                { "two", 1, KP_SELECT_DEFAULT_ID },
                { "2", 2, KP_SELECT_DEFAULT_INDEX },        /* a submenu: its first entry */
                { "2>1", 3, KP_SELECT_DEFAULT_PATH },
                { "s>i", 2, KP_SELECT_DEFAULT_PATH },
                { "sub>inner2", 3, KP_SELECT_DEFAULT_PATH },
                { "sub>nothing", 2, KP_SELECT_DEFAULT_INDEX - KP_SELECT_DEFAULT_INDEX + KP_SELECT_DEFAULT_TITLE },
                { "7", 0, KP_SELECT_FIRST },
                { "4294967297", 1, KP_SELECT_DEFAULT_INDEX }, /* (int) truncation, as GRUB */
                { "99999999999999999999999", 0, KP_SELECT_FIRST },
                { "nothing", 0, KP_SELECT_FIRST },
                { "", 0, KP_SELECT_FIRST },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *text = NULL;
                KpBootPlan *plan;
                KpError e = {};

                ASSERT_TRUE(asprintf(&text, "set default='%s'\n%s", cases[i].def, menu) >= 0);
                plan = parse(text, NULL, &e, 0);
                if (plan->selected != cases[i].index || plan->reason != cases[i].reason)
                        TEST_FAIL("default=\"%s\": entry %zu (%s), expected %zu (%s)", cases[i].def, plan->selected,
                                  kp_select_reason_to_string(plan->reason), cases[i].index,
                                  kp_select_reason_to_string(cases[i].reason));
                kp_boot_plan_free(plan);
        }
}

static void test_entry_body(void)
{
        KpError e = {};
        KpBootPlan *plan;

        plan = parse("menuentry 'T' --class x --unrestricted extra { linux /k $2 --; initrd /a /b newc:n:/c; initrd /d; }\n"
                     "menuentry 'U' { initrd /early; linux /u; boot; linux /never; }\n"
                     "menuentry 'W' { chainloader +1; }\n"
                     "menuentry 'X' { linux /x; chainloader +1; }\n"
                     "linux /top\n",
                     NULL, &e, 0);
        ASSERT_EQ(plan->n_entries, 4);
        check_entry(&plan->entries[0], "T", NULL, "/k", "/a /b /c", "extra --");
        check_entry(&plan->entries[1], "U", NULL, "/u", "", "");
        ASSERT_TRUE(!plan->entries[2].kernel.path);
        ASSERT_TRUE(!plan->entries[3].kernel.path);
        ASSERT_TRUE(has_warning(plan, "/boot/grub/grub.cfg:1: initrd: an initrd is already loaded; ignored"));
        ASSERT_TRUE(has_warning(plan, "/boot/grub/grub.cfg:2: initrd: no kernel loaded before it; ignored"));
        ASSERT_TRUE(has_warning(plan, "/boot/grub/grub.cfg:5: \"linux\" outside a menu entry ignored"));
        kp_boot_plan_free(plan);

        /* A default that boots no Linux kernel is refused by validation. */
        plan = parse("set default=1\nmenuentry L { linux /l; }\nmenuentry 'Windows 10' { chainloader +1; }\n", NULL, &e, 0);
        ASSERT_ERROR(kp_boot_plan_validate(plan, &e), -ENOENT);
        ASSERT_STREQ(e.message, "the selected entry \"Windows 10\" loads no Linux kernel");
        kp_boot_plan_free(plan);

        plan = parse("set timeout=5\n", NULL, &e, -ENOENT);
        ASSERT_STREQ(e.message, "/boot/grub/grub.cfg: no menu entry");
}

/*
 * An `initrd` that fails on one of its files loads none of them, as GRUB's
 * does, and leaves the entry as it was: a later `initrd` loads its own
 * files and nothing else (a fuzzer found the old code writing past its
 * array here).
 */
static void test_initrd_failed(void)
{
        KpError e = {};
        KpBootPlan *plan;
        const KpBootEntry *x;

        plan = parse("menuentry 'x' {\n  linux /vmlinuz\n  initrd /a (bogus\n  initrd /b /c /d\n}\n", NULL, &e, 0);
        ASSERT_EQ(plan->n_entries, 1);
        x = selected(plan);
        check_entry(x, "x", "x", "/vmlinuz", "/b /c /d", "");
        ASSERT_EQ(x->n_initrds, 3);
        ASSERT_TRUE(has_warning(plan, "/boot/grub/grub.cfg:3: initrd: bad file name \"(bogus\"; no initrd loaded"));
        ASSERT_TRUE(!has_warning(plan, "an initrd is already loaded"));
        kp_boot_plan_free(plan);

        /* Failing on its first file, its last, or every one: still nothing loaded. */
        plan = parse("menuentry 'x' { linux /k; initrd (bogus /a; }\n"
                     "menuentry 'y' { linux /k; initrd /a /b (bogus; }\n"
                     "menuentry 'z' { linux /k; initrd /a (bogus; initrd (x /b; initrd /c; initrd /d; }\n",
                     NULL, &e, 0);
        ASSERT_EQ(plan->n_entries, 3);
        check_entry(&plan->entries[0], "x", NULL, "/k", "", "");
        check_entry(&plan->entries[1], "y", NULL, "/k", "", "");
        check_entry(&plan->entries[2], "z", NULL, "/k", "/c", "");
        ASSERT_TRUE(has_warning(plan, "/boot/grub/grub.cfg:3: initrd: an initrd is already loaded; ignored"));
        kp_boot_plan_free(plan);
}

/*
 * GRUB runs only the bodies on the path to the entry it boots: a function
 * an entry or a submenu defines, or redefines, does not exist for the
 * next one.
 */
static void test_body_functions(void)
{
        MemFs *m = memfs_new();
        KpError e = {};
        KpBootPlan *plan;

        /* Functions are defined at the top level of a script: entries get theirs from sourced files. */
        memfs_add_str(m, "/boot/grub/a.cfg", "function g { linux /g; }\nfunction f { linux /f2; }\n");
        memfs_add_str(m, "/boot/grub/s.cfg", "function h { linux /h; }\n");
        plan = parse("function f { linux /f1; }\n"
                     "menuentry A { source /boot/grub/a.cfg; g; }\n"
                     "menuentry B { g; f; }\n"
                     "submenu S { source /boot/grub/s.cfg; menuentry C { h; } }\n"
                     "menuentry D { h; f; }\n",
                     m, &e, 0);
        ASSERT_EQ(plan->n_entries, 4);
        check_entry(&plan->entries[0], "A", NULL, "/g", "", "");
        check_entry(&plan->entries[1], "B", NULL, "/f1", "", "");
        check_entry(&plan->entries[2], "C", "S>C", "/h", "", "");
        check_entry(&plan->entries[3], "D", NULL, "/f1", "", "");
        ASSERT_TRUE(has_warning(plan, "/boot/grub/grub.cfg:3: unknown command \"g\" ignored"));
        ASSERT_TRUE(has_warning(plan, "/boot/grub/grub.cfg:5: unknown command \"h\" ignored"));
        kp_boot_plan_free(plan);
        memfs_free(m);
}

static void test_files(void)
{
        MemFs *m = memfs_new();
        KpBootPlan *plan;
        KpError e = {};

        /* custom.cfg is sourced through the filesystem; grubenv escapes are read. */
        memfs_add_str(m, "/boot/grub/custom.cfg", "menuentry 'Custom' { linux /custom $opt; }\n");
        memfs_add_str(m, "/boot/grub/grubenv", "# GRUB Environment Block\nopt=a\\\\b\nsaved_entry=Custom\n####");
        plan = parse("load_env\nset default=\"${saved_entry}\"\n"
                     "menuentry 'Main' { linux /main; }\n"
                     "if [ -f ${config_directory}/custom.cfg ]; then source ${config_directory}/custom.cfg; fi\n",
                     m, &e, 0);
        ASSERT_EQ(plan->n_entries, 2);
        ASSERT_EQ(plan->reason, KP_SELECT_SAVED_ENTRY);
        check_entry(selected(plan), "Custom", NULL, "/custom", "", "a\\\\b");
        kp_boot_plan_free(plan);

        /* Without a filesystem the tests cannot look: a warning, and the file counts as absent. */
        plan = parse("if [ -s $prefix/grubenv ]; then load_env; fi\nmenuentry 'M' { linux /m; }\n", NULL, &e, 0);
        ASSERT_TRUE(has_warning(plan, "/boot/grub/grub.cfg:1: cannot look at \"(kp-config)/boot/grub/grubenv\": no filesystem to read; taken as absent"));
        kp_boot_plan_free(plan);

        /* A file on another device than the config's cannot be read. */
        plan = parse("search --fs-uuid --set=root other\nif [ -e /x ]; then set v=1; fi\nmenuentry 'M' { linux /m $v; }\n",
                     m, &e, 0);
        ASSERT_TRUE(has_warning(plan, "/boot/grub/grub.cfg:2: cannot look at \"/x\": not on the configuration's filesystem; taken as absent"));
        kp_boot_plan_free(plan);
        memfs_free(m);
}

/* head, then unit (a format with one %zu, the counter) n times, then tail. */
#define repeat(head, unit, n, tail)                                                                        \
        __extension__({                                                                                    \
                char *_s = NULL;                                                                           \
                size_t _len = 0;                                                                           \
                FILE *_f = open_memstream(&_s, &_len);                                                     \
                fputs(head, _f);                                                                           \
                for (size_t _i = 0; _i < (size_t) (n); _i++)                                               \
                        fprintf(_f, unit, _i);                                                             \
                fputs(tail, _f);                                                                           \
                fclose(_f);                                                                                \
                _s;                                                                                        \
        })

static void test_hostile(void)
{
        _cleanup_free_ char *many = NULL, *longline = NULL, *deep = NULL, *vars = NULL, *doubling = NULL, *fan = NULL;
        MemFs *m = memfs_new();
        KpBootPlan *plan;
        KpError e = {};

        many = repeat("", "menuentry 'e %zu' { linux /k; }\n", 10000, "");
        plan = parse(many, NULL, &e, -E2BIG);
        ASSERT_STREQ(e.message, "/boot/grub/grub.cfg:1025: more than 1024 menu entries");

        /* 14629 arguments of 6 bytes: 102402 bytes with the spaces. */
        longline = repeat("menuentry 'a' {\n linux /k", " x%05zu", 14629, "\n}\n");
        plan = parse(longline, NULL, &e, -E2BIG);
        ASSERT_STREQ(e.message, "/boot/grub/grub.cfg:2: command line of 102402 bytes exceeds the limit of 4096 bytes");

        deep = repeat("", "submenu 's%zu' {\n", 100, "menuentry x { linux /k; }\n");
        plan = parse(deep, NULL, &e, -ELOOP);
        ASSERT_STREQ(e.message, "/boot/grub/grub.cfg:17: nesting deeper than 16 levels");

        plan = parse("function f { f; }\nf\nmenuentry x { linux /k; }\n", NULL, &e, -ELOOP);
        ASSERT_STREQ(e.message, "/boot/grub/grub.cfg:1: function calls nested deeper than 16 levels");

        vars = repeat("", "set v%zu=x\n", 5000, "menuentry x { linux /k; }\n");
        plan = parse(vars, NULL, &e, -E2BIG);
        ASSERT_TRUE(strstr(e.message, ": more than 4096 variables"));

        doubling = repeat("set a=xxxxxxxxxxxxxxxx\n", "set a=$a$a # %zu\n", 40, "menuentry x { linux /k; }\n");
        plan = parse(doubling, NULL, &e, -E2BIG);
        ASSERT_STREQ(e.message, "/boot/grub/grub.cfg:13: word of more than 65536 bytes");

        /* 40 calls at each of 4 levels: more than 2.5 million commands. */
        fan = strdup("function f0 { true; }\n"
                     "function f1 { f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0;f0; }\n"
                     "function f2 { f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1;f1; }\n"
                     "function f3 { f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2;f2; }\n"
                     "function f4 { f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3;f3; }\n"
                     "f4\nmenuentry x { linux /k; }\n");
        plan = parse(fan, NULL, &e, -ELOOP);
        ASSERT_TRUE(strstr(e.message, ": evaluation took more than 1000000 steps"));

        /* Thousands of variables and functions, looked up a million times: bounded in time too. */
        {
                _cleanup_free_ char *vs = repeat("", "set v%zu=x\n", 4000, "");
                _cleanup_free_ char *fs = repeat("", "function g%zu { true; }\n", 4000, "");
                _cleanup_free_ char *all = NULL;
                ASSERT_TRUE(asprintf(&all, "%s%sfunction f0 { x=$v3999$v3998$v3997$v3996; g3999; }\n%s", vs, fs,
                                     strstr(fan, "function f1")) >= 0);
                plan = parse(all, NULL, &e, -ELOOP);
                ASSERT_STREQ(e.message, "/boot/grub/grub.cfg:8001: evaluation compared more than 16000000 names");
        }

        /* A file that sources itself. */
        memfs_add_str(m, "/boot/grub/loop.cfg", "source /boot/grub/loop.cfg\n");
        plan = parse("source /boot/grub/loop.cfg\nmenuentry x { linux /k; }\n", m, &e, -ELOOP);
        ASSERT_STREQ(e.message, "/boot/grub/loop.cfg:1: source nested deeper than 16 levels");

        /* Strings GRUB accepts but that must never reach libxl: refused by validation. */
        plan = parse("menuentry 'a\nb' { linux /k; }\n", NULL, &e, 0);
        ASSERT_ERROR(kp_boot_plan_validate(plan, &e), -EBADMSG);
        ASSERT_STREQ(e.message, "entry 0: title \"a\\nb\" contains a control character");
        kp_boot_plan_free(plan);

        plan = parse("menuentry 'a' { linux /k 'x\033[2Jy'; }\n", NULL, &e, 0);
        ASSERT_ERROR(kp_boot_plan_validate(plan, &e), -EBADMSG);
        ASSERT_STREQ(e.message, "entry 0: command line \"x\\x1b[2Jy\" contains a control character");
        kp_boot_plan_free(plan);

        plan = parse("menuentry 'a' { linux /boot/../../etc/shadow; }\n", NULL, &e, 0);
        ASSERT_ERROR(kp_boot_plan_validate(plan, &e), -EBADMSG);
        ASSERT_STREQ(e.message, "entry 0: kernel path \"/boot/../../etc/shadow\" is not an absolute path free of \"..\"");
        kp_boot_plan_free(plan);

        plan = parse("menuentry 'a' { linux /k; initrd vmlinuz; }\n", NULL, &e, 0);
        ASSERT_ERROR(kp_boot_plan_validate(plan, &e), -EBADMSG);
        ASSERT_STREQ(e.message, "entry 0: initrd path \"vmlinuz\" is not an absolute path free of \"..\"");
        kp_boot_plan_free(plan);

        /* Long but legal: warned about, Xen cuts it at 1023 bytes. */
        _cleanup_free_ char *xenlong = repeat("menuentry 'a' {\n linux /k", " a%04zu", 200, "\n}\n");
        plan = parse(xenlong, NULL, &e, 0);
        ASSERT_EQ(strlen(selected(plan)->cmdline), 1199);
        ASSERT_TRUE(has_warning(plan, "command line of 1199 bytes is longer than the 1023 bytes Xen passes to a PV guest"));
        kp_boot_plan_free(plan);
        memfs_free(m);
}

int main(void)
{
        test_ubuntu_2004();
        test_ubuntu_2004_recordfail();
        test_ubuntu_2004_default_path();
        test_ubuntu_2004_next_entry();
        test_ubuntu_2204_separate_boot_saved();
        test_debian_12();
        test_debian_12_default_id();
        test_centos_7_saved_entry();
        test_centos_7_without_grubenv();
        test_devices();
        test_submenu_context();
        test_defaults();
        test_entry_body();
        test_initrd_failed();
        test_body_functions();
        test_files();
        test_hostile();
        return 0;
}
