/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* No configuration: the newest kernel by version order, with its own initrd. */
#include "bootcfg-test.h"

static void test_debian_boot(void)
{
        KpBootPlan *plan = parse_case("fallback", KP_BOOT_CONFIG_NONE, NULL, NULL, 0, NULL);

        /* 26 > 8 by version order (not by bytes); the .dpkg-bak copy is skipped. */
        ASSERT_EQ(plan->n_entries, 2);
        ASSERT_EQ(plan->kind, KP_BOOT_CONFIG_NONE);
        ASSERT_EQ(plan->reason, KP_SELECT_FALLBACK);
        ASSERT_STREQ(plan->reason_detail, "no boot configuration; the newest of 2 kernels in /boot by version order");
        ASSERT_TRUE(!plan->config_path);
        check_entry(selected(plan), "vmlinuz-5.10.0-26-amd64", "vmlinuz-5.10.0-26-amd64", "/boot/vmlinuz-5.10.0-26-amd64",
                    "/boot/initrd.img-5.10.0-26-amd64", "");
        check_entry(&plan->entries[1], NULL, NULL, "/boot/vmlinuz-5.10.0-8-amd64", "/boot/initrd.img-5.10.0-8-amd64", NULL);
        ASSERT_TRUE(has_warning(plan, "no boot configuration: no kernel command line is known"));
        kp_boot_plan_free(plan);
}

static void test_layouts(void)
{
        MemFs *m = memfs_new();
        KpBootPlan *plan = NULL;
        KpError e = {};

        /* A separate /boot filesystem: kernels at its top; Fedora's initramfs names; rescue sorts last. */
        memfs_add_str(m, "/vmlinuz-6.2.9-300.fc38.x86_64", "");
        memfs_add_str(m, "/vmlinuz-0-rescue-5f1c", "");
        memfs_add_str(m, "/vmlinuz-6.2.15-300.fc38.x86_64", "");
        memfs_add_str(m, "/vmlinuz-6.2.15-300.fc38.x86_64.efi.signed", "");
        memfs_add_str(m, "/initramfs-6.2.15-300.fc38.x86_64.img", "");
        memfs_add_str(m, "/initramfs-0-rescue-5f1c.img", "");
        ASSERT_OK(kp_boot_config_parse(KP_BOOT_CONFIG_NONE, NULL, NULL, 0, &m->fs, &e, &plan));
        ASSERT_EQ(plan->n_entries, 3);
        check_entry(&plan->entries[0], NULL, NULL, "/vmlinuz-6.2.15-300.fc38.x86_64", "/initramfs-6.2.15-300.fc38.x86_64.img", "");
        check_entry(&plan->entries[1], NULL, NULL, "/vmlinuz-6.2.9-300.fc38.x86_64", "", "");
        check_entry(&plan->entries[2], NULL, NULL, "/vmlinuz-0-rescue-5f1c", "/initramfs-0-rescue-5f1c.img", "");
        ASSERT_STREQ(plan->reason_detail, "no boot configuration; the newest of 3 kernels in / by version order");
        kp_boot_plan_free(plan);
        plan = NULL;

        /* vmlinux-* only when there is no vmlinuz-*. */
        memfs_free(m);
        m = memfs_new();
        memfs_add_str(m, "/boot/vmlinux-4.0", "");
        memfs_add_str(m, "/boot/initrd-4.0", "");
        ASSERT_OK(kp_boot_config_parse(KP_BOOT_CONFIG_NONE, NULL, NULL, 0, &m->fs, &e, &plan));
        check_entry(selected(plan), NULL, NULL, "/boot/vmlinux-4.0", "/boot/initrd-4.0", "");
        kp_boot_plan_free(plan);
        plan = NULL;

        memfs_free(m);
        m = memfs_new();
        memfs_add_str(m, "/boot/config-5.10", "");
        ASSERT_ERROR(kp_boot_config_parse(KP_BOOT_CONFIG_NONE, NULL, NULL, 0, &m->fs, &e, &plan), -ENOENT);
        ASSERT_STREQ(e.message, "no boot configuration and no /boot/vmlinuz-* kernel");
        ASSERT_ERROR(kp_boot_config_parse(KP_BOOT_CONFIG_NONE, NULL, NULL, 0, NULL, &e, &plan), -ENOENT);
        ASSERT_STREQ(e.message, "no boot configuration and no filesystem to look for kernels in");
        memfs_free(m);
}

int main(void)
{
        test_debian_boot();
        test_layouts();
        return 0;
}
