/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GRUB legacy menu.lst / grub.conf. */
#include <string.h>

#include "bootcfg-test.h"

#define A6 "ro root=/dev/mapper/VolGroup-lv_root rd_NO_LUKS LANG=en_US.UTF-8 rd_NO_MD rd_LVM_LV=VolGroup/lv_swap SYSFONT=latarcyrheb-sun16 crashkernel=auto rd_LVM_LV=VolGroup/lv_root  KEYBOARDTYPE=pc KEYTABLE=us rd_NO_DM rhgb quiet"

static void test_centos_6(void)
{
        KpBootPlan *plan = parse_case("centos-6", KP_BOOT_CONFIG_GRUB_LEGACY, "/grub/grub.conf", NULL, 0, NULL);

        ASSERT_EQ(plan->n_entries, 2);
        ASSERT_EQ(plan->selected, 1);
        ASSERT_EQ(plan->reason, KP_SELECT_DEFAULT_INDEX);
        ASSERT_STREQ(plan->reason_detail, "default 1");
        /* The command line is passed as written, double space included. */
        check_entry(selected(plan), "CentOS 6 (2.6.32-754.el6.x86_64)", "CentOS 6 (2.6.32-754.el6.x86_64)",
                    "/vmlinuz-2.6.32-754.el6.x86_64", "/initramfs-2.6.32-754.el6.x86_64.img", A6);
        /* root (hd0,0) counts from 0; GRUB 2 counts from 1. */
        ASSERT_EQ(selected(plan)->root.kind, KP_DEVICE_GRUB);
        ASSERT_STREQ(selected(plan)->root.value, "hd0,1");
        ASSERT_TRUE(!plan->warnings[0]);
        kp_boot_plan_free(plan);
}

static void test_debian_5_saved(void)
{
        KpBootPlan *plan = parse_case("debian-5", KP_BOOT_CONFIG_GRUB_LEGACY, "/boot/grub/menu.lst", NULL, 0, NULL);

        ASSERT_EQ(plan->n_entries, 2);
        ASSERT_EQ(plan->selected, 1);
        ASSERT_EQ(plan->reason, KP_SELECT_SAVED_ENTRY);
        ASSERT_STREQ(plan->reason_detail, "default saved: 1 from /boot/grub/default");
        check_entry(selected(plan), "Debian GNU/Linux, kernel 2.6.26-1-xen-686", NULL, "/boot/vmlinuz-2.6.26-1-xen-686",
                    "/boot/initrd.img-2.6.26-1-xen-686", "root=/dev/xvda1 ro console=hvc0 quiet");
        kp_boot_plan_free(plan);
}

static KpBootPlan *legacy(const char *text, MemFs *m, int expect, KpError *e)
{
        KpBootPlan *plan = NULL;
        int r = parse_text(KP_BOOT_CONFIG_GRUB_LEGACY, "/boot/grub/menu.lst", text, m, e, &plan);
        if (r != expect)
                TEST_FAIL("returned %d, expected %d: %s", r, expect, e->message);
        return plan;
}

static void test_details(void)
{
        KpBootPlan *plan;
        KpError e = {};

        plan = legacy("default=7\ntimeout 3\nbogus\n"
                      "title  A\n  kernel --type=linux (hd1,2)/vmlinuz a=1   b\n  initrd /one\n  initrd /two\n"
                      "title B\n  root (hd0)\n  kernel /vmlinuz-b\n  module /x\n"
                      "title Windows\n  rootnoverify (hd0,1)\n  chainloader +1\n"
                      "title C\n  initrd /early\n  kernel /vmlinuz-c\n",
                      NULL, 0, &e);
        ASSERT_EQ(plan->n_entries, 4);
        ASSERT_EQ(plan->selected, 0);
        ASSERT_EQ(plan->reason, KP_SELECT_FIRST);
        ASSERT_STREQ(plan->reason_detail, "default 7 names no entry; the first");
        check_entry(&plan->entries[0], "A", NULL, "/vmlinuz", "/two", "a=1   b");
        ASSERT_STREQ(plan->entries[0].root.value, "hd1,3");
        check_entry(&plan->entries[1], "B", NULL, "/vmlinuz-b", "", "");
        ASSERT_STREQ(plan->entries[1].root.value, "hd0");
        ASSERT_TRUE(!plan->entries[2].kernel.path);
        check_entry(&plan->entries[3], "C", NULL, "/vmlinuz-c", "", "");
        ASSERT_EQ(plan->entries[3].root.kind, KP_DEVICE_SAME);
        ASSERT_TRUE(has_warning(plan, "/boot/grub/menu.lst:3: unknown command \"bogus\" ignored"));
        ASSERT_TRUE(has_warning(plan, "/boot/grub/menu.lst:16: initrd before any kernel ignored"));
        kp_boot_plan_free(plan);

        plan = legacy("default saved\ntitle A\nkernel /a\n", NULL, 0, &e);
        ASSERT_EQ(plan->reason, KP_SELECT_FIRST);
        ASSERT_STREQ(plan->reason_detail, "default saved, but no saved default could be read; the first entry");
        kp_boot_plan_free(plan);

        plan = legacy("default x\ntitle A\nkernel /a\n", NULL, 0, &e);
        ASSERT_STREQ(plan->reason_detail, "default \"x\" is not a number");
        kp_boot_plan_free(plan);
}

/*
 * `kernel` and `chainloader` forget the kernel before them, its command
 * line and its initrd, whether they load anything or not; `root` stays.
 */
static void test_reload(void)
{
        KpBootPlan *plan;
        KpError e = {};

        plan = legacy("title A\n kernel /a x=1\n initrd /ia\n kernel /b y=2\n"
                      "title B\n root (hd0,1)\n kernel /a x=1\n initrd /ia\n kernel (hd0 z=3\n"
                      "title C\n kernel /a x=1\n initrd /ia\n chainloader +1\n"
                      "title D\n root (hd0\n kernel /d\n initrd /id\n",
                      NULL, 0, &e);
        ASSERT_EQ(plan->n_entries, 4);
        check_entry(&plan->entries[0], "A", NULL, "/b", "", "y=2");
        ASSERT_EQ(plan->entries[0].root.kind, KP_DEVICE_SAME);
        ASSERT_TRUE(!plan->entries[1].kernel.path);
        ASSERT_EQ(plan->entries[1].n_initrds, 0);
        ASSERT_STREQ(plan->entries[1].cmdline, "");
        ASSERT_EQ(plan->entries[1].root.kind, KP_DEVICE_SAME);
        ASSERT_TRUE(!plan->entries[2].kernel.path);
        ASSERT_EQ(plan->entries[2].n_initrds, 0);
        check_entry(&plan->entries[3], "D", NULL, "/d", "/id", "");
        ASSERT_TRUE(has_warning(plan, "/boot/grub/menu.lst:9: bad kernel file name ignored"));
        ASSERT_TRUE(has_warning(plan, "/boot/grub/menu.lst:15: root without a closing parenthesis ignored"));
        kp_boot_plan_free(plan);
}

static void test_hostile(void)
{
        _cleanup_free_ char *many = NULL, *longline = NULL;
        size_t len = 0;
        KpError e = {};
        FILE *f;

        legacy("timeout 5\n", NULL, -ENOENT, &e);
        ASSERT_STREQ(e.message, "/boot/grub/menu.lst: no title entry");

        static const char nul[] = "title a\nkernel /k\0x\n";
        KpBootPlan *plan = NULL;
        ASSERT_ERROR(kp_boot_config_parse(KP_BOOT_CONFIG_GRUB_LEGACY, "/boot/grub/menu.lst", nul, sizeof(nul) - 1, NULL, &e,
                                          &plan),
                     -EBADMSG);
        ASSERT_STREQ(e.message, "/boot/grub/menu.lst:2: NUL byte in configuration");

        f = open_memstream(&many, &len);
        for (int i = 0; i < 10000; i++)
                fprintf(f, "title t%d\nkernel /k\n", i);
        fclose(f);
        legacy(many, NULL, -E2BIG, &e);
        ASSERT_STREQ(e.message, "/boot/grub/menu.lst: more than 1024 entries");

        f = open_memstream(&longline, &len);
        fprintf(f, "title a\nkernel /k");
        for (int i = 0; i < 20000; i++)
                fprintf(f, " arg%d", i % 10);
        fclose(f);
        legacy(longline, NULL, -E2BIG, &e);
        ASSERT_STREQ(e.message, "/boot/grub/menu.lst:2: command line of 99999 bytes exceeds the limit of 4096 bytes");

        plan = legacy("title x\x1b[31m\nkernel /../../etc/shadow\n", NULL, 0, &e);
        ASSERT_ERROR(kp_boot_plan_validate(plan, &e), -EBADMSG);
        ASSERT_STREQ(e.message, "entry 0: title \"x\\x1b[31m\" contains a control character");
        kp_boot_plan_free(plan);
        plan = legacy("title x\nkernel /../../etc/shadow\n", NULL, 0, &e);
        ASSERT_ERROR(kp_boot_plan_validate(plan, &e), -EBADMSG);
        ASSERT_STREQ(e.message, "entry 0: kernel path \"/../../etc/shadow\" is not an absolute path free of \"..\"");
        kp_boot_plan_free(plan);
}

int main(void)
{
        test_centos_6();
        test_debian_5_saved();
        test_details();
        test_reload();
        test_hostile();
        return 0;
}
