/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* extlinux.conf / syslinux.cfg. */
#include <string.h>

#include "bootcfg-test.h"

static void test_alpine(void)
{
        KpBootPlan *plan = parse_case("alpine", KP_BOOT_CONFIG_EXTLINUX, "/boot/extlinux.conf", NULL, 0, NULL);

        ASSERT_EQ(plan->n_entries, 1);
        ASSERT_EQ(plan->reason, KP_SELECT_LABEL);
        ASSERT_STREQ(plan->reason_detail, "MENU DEFAULT in label virt");
        /* LINUX/INITRD relative to the config's directory; MENU LABEL is the title, LABEL the id. */
        check_entry(selected(plan), "Linux virt", "Linux virt", "/boot/vmlinuz-virt", "/boot/initramfs-virt",
                    "root=UUID=e7f8a9b0-c1d2-4e3f-a4b5-c6d7e8f9a0b1 modules=sd-mod,usb-storage,ext4 console=hvc0 quiet rootfstype=ext4");
        ASSERT_STREQ(selected(plan)->id, "virt");
        ASSERT_EQ(selected(plan)->root.kind, KP_DEVICE_SAME);
        kp_boot_plan_free(plan);
}

static void test_classic(void)
{
        KpBootPlan *plan = parse_case("extlinux-classic", KP_BOOT_CONFIG_EXTLINUX, "/boot/extlinux/extlinux.conf", NULL, 0, NULL);

        ASSERT_EQ(plan->n_entries, 2);
        ASSERT_EQ(plan->selected, 1);
        ASSERT_STREQ(plan->reason_detail, "DEFAULT debian");
        /* initrd= in APPEND names the initrd and leaves the command line. */
        check_entry(selected(plan), "debian", "debian", "/boot/vmlinuz-4.19.0-6-amd64", "/boot/initrd.img-4.19.0-6-amd64",
                    "root=/dev/xvda1 ro console=hvc0 quiet");
        kp_boot_plan_free(plan);
}

static KpBootPlan *ext(const char *text, MemFs *m, int expect, KpError *e)
{
        KpBootPlan *plan = NULL;
        int r = parse_text(KP_BOOT_CONFIG_EXTLINUX, "/boot/syslinux/syslinux.cfg", text, m, e, &plan);
        if (r != expect)
                TEST_FAIL("returned %d, expected %d: %s", r, expect, e->message);
        return plan;
}

static void test_details(void)
{
        MemFs *m = memfs_new();
        KpBootPlan *plan;
        KpError e = {};

        memfs_add_str(m, "/boot/syslinux/more.cfg", "LABEL inc\n KERNEL /vmlinuz-inc\n");
        plan = ext("DEFAULT Second\nONTIMEOUT third\n"
                   "label first\n  kernel vmlinuz-1 extra\n  APPEND a=1\n  append - \n"
                   "LABEL second\n  MENU DEFAULT\n  LINUX ../vmlinuz-2\n  INITRD i1,/abs/i2\n  APPEND initrd=i3,i4 b=2  c\n"
                   "TEXT HELP\n  LABEL not-a-label\nENDTEXT\n"
                   "LABEL third\n  MENU LABEL ^Third one\n  KERNEL menu.c32\n"
                   "LABEL fourth\n  KERNEL /vmlinuz-4\n  LOCALBOOT 0\n"
                   "LABEL xen\n  KERNEL mboot.c32\n  APPEND /xen.gz dom0_mem=1G --- /vmlinuz-x root=/dev/xvda1 ro --- /initrd-x\n"
                   "INCLUDE more.cfg\nFROB\n",
                   m, 0, &e);
        ASSERT_EQ(plan->n_entries, 6);
        /* A second APPEND replaces the first, "APPEND -" empties it; KERNEL's own arguments stay. */
        check_entry(&plan->entries[0], "first", NULL, "/boot/syslinux/vmlinuz-1", "", "extra");
        /* "../vmlinuz-2" from /boot/syslinux, as Arch writes it. */
        check_entry(&plan->entries[1], "second", NULL, "/boot/vmlinuz-2", "/boot/syslinux/i1 /abs/i2 /boot/syslinux/i3 /boot/syslinux/i4",
                    "b=2 c");
        /* A .c32 module is no Linux kernel; '^' hotkey markers leave the title. */
        check_entry(&plan->entries[2], "Third one", NULL, NULL, "", "");
        ASSERT_TRUE(!plan->entries[2].kernel.path);
        ASSERT_TRUE(!plan->entries[3].kernel.path);
        check_entry(&plan->entries[4], "xen", NULL, "/vmlinuz-x", "/initrd-x", "root=/dev/xvda1 ro");
        check_entry(&plan->entries[5], "inc", NULL, "/vmlinuz-inc", "", "");
        /* ONTIMEOUT wins over MENU DEFAULT and DEFAULT. */
        ASSERT_EQ(plan->selected, 2);
        ASSERT_STREQ(plan->reason_detail, "ONTIMEOUT third");
        ASSERT_TRUE(has_warning(plan, "/boot/syslinux/syslinux.cfg:25: unknown keyword \"FROB\" ignored"));
        ASSERT_TRUE(has_warning(plan, "label \"xen\" boots Xen through mboot.c32; its Linux module is used"));
        kp_boot_plan_free(plan);

        /* A global APPEND serves labels without their own. */
        plan = ext("APPEND console=hvc0\nLABEL a\nKERNEL /a\nLABEL b\nKERNEL /b\nAPPEND own\n", NULL, 0, &e);
        check_entry(&plan->entries[0], "a", NULL, "/a", "", "console=hvc0");
        check_entry(&plan->entries[1], "b", NULL, "/b", "", "own");
        kp_boot_plan_free(plan);

        /* DEFAULT names a label case-insensitively when nothing matches exactly. */
        plan = ext("DEFAULT B\nLABEL a\nKERNEL /a\nLABEL b\nKERNEL /b\n", NULL, 0, &e);
        ASSERT_EQ(plan->selected, 1);
        kp_boot_plan_free(plan);
        plan = ext("DEFAULT /vmlinuz root=/dev/sda\nLABEL a\nKERNEL /a\n", NULL, 0, &e);
        ASSERT_EQ(plan->selected, 0);
        ASSERT_EQ(plan->reason, KP_SELECT_FIRST);
        ASSERT_STREQ(plan->reason_detail, "DEFAULT \"/vmlinuz root=/dev/sda\" names no label; the first");
        kp_boot_plan_free(plan);
        memfs_free(m);
}

static void test_hostile(void)
{
        _cleanup_free_ char *many = NULL;
        MemFs *m = memfs_new();
        size_t len = 0;
        KpError e = {};
        FILE *f;

        ext("DEFAULT x\n", NULL, -ENOENT, &e);
        ASSERT_STREQ(e.message, "/boot/syslinux/syslinux.cfg: no LABEL entry");

        memfs_add_str(m, "/boot/syslinux/self.cfg", "INCLUDE self.cfg\n");
        ext("INCLUDE self.cfg\nLABEL a\nKERNEL /a\n", m, -ELOOP, &e);
        ASSERT_STREQ(e.message, "/boot/syslinux/self.cfg:1: INCLUDE nested deeper than 16 levels");

        f = open_memstream(&many, &len);
        for (int i = 0; i < 10000; i++)
                fprintf(f, "LABEL l%d\nKERNEL /k\n", i);
        fclose(f);
        ext(many, NULL, -E2BIG, &e);
        ASSERT_STREQ(e.message, "/boot/syslinux/syslinux.cfg: more than 1024 labels");

        ext("LABEL a\nKERNEL /k\nINITRD 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17\n", NULL, -E2BIG, &e);
        ASSERT_STREQ(e.message, "/boot/syslinux/syslinux.cfg:3: more than 16 initrds");
        /* The same limit through APPEND's initrd= and mboot.c32's module, which used to fail without a word. */
        ext("LABEL a\nKERNEL /k\nINITRD 1,2,3,4,5,6,7,8,9,10\nAPPEND initrd=11,12,13,14,15,16,17 ro\n", NULL, -E2BIG,
            &e);
        ASSERT_STREQ(e.message, "more than 16 initrds in one label");
        ext("LABEL x\nKERNEL mboot.c32\nINITRD 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16\n"
            "APPEND xen.gz --- /vmlinuz ro --- /initrd.img\n", NULL, -E2BIG, &e);
        ASSERT_STREQ(e.message, "more than 16 initrds in one label");

        KpBootPlan *plan = ext("LABEL a\nKERNEL ../../../etc/shadow\n", NULL, 0, &e);
        ASSERT_ERROR(kp_boot_plan_validate(plan, &e), -EBADMSG);
        ASSERT_STREQ(e.message, "entry 0: kernel path \"/../etc/shadow\" is not an absolute path free of \"..\"");
        kp_boot_plan_free(plan);
        memfs_free(m);
}

int main(void)
{
        test_alpine();
        test_classic();
        test_details();
        test_hostile();
        return 0;
}
