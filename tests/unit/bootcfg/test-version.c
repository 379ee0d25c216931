/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Version order: rpm's rules, as Fedora's blscfg sorts and kernel names need. */
#include "bootcfg/version.h"
#include "tests.h"

static void check(const char *a, const char *b, int expect)
{
        int r = kp_version_compare(a, b), s = kp_version_compare(b, a);
        if ((r > 0) - (r < 0) != expect || (s > 0) - (s < 0) != -expect)
                TEST_FAIL("compare(%s, %s) = %d, reverse %d, expected %d", a, b, r, s, expect);
}

int main(void)
{
        check("5.4.0-26-generic", "5.4.0-26-generic", 0);
        check("5.4.0-100-generic", "5.4.0-26-generic", 1);
        check("5.10.0-26-amd64", "5.10.0-8-amd64", 1);
        check("6.2.15-300.fc38.x86_64", "6.2.9-300.fc38.x86_64", 1);
        check("0-rescue-5f1c", "6.2.9", -1);
        check("1.01", "1.1", 0);            /* leading zeros do not count */
        check("1.0a", "1.0", 1);            /* more left wins */
        check("1.0", "1.0.1", -1);
        check("2a", "2.0", -1);             /* letters lose to digits */
        check("1.0~rc1", "1.0", -1);        /* '~' sorts before the end */
        check("1.0+git1", "1.0", 1);        /* '+' after it */
        check("1.0-1", "1.0_1", 0);         /* separators are all alike */
        check("99999999999999999999999", "9", 1);

        /* BLS names: name, then version, then release, cut at the last two '-'. */
        ASSERT_TRUE(kp_version_compare_nvr("m-6.2.15-300.fc38.x86_64", "m-6.2.9-300.fc38.x86_64") > 0);
        ASSERT_TRUE(kp_version_compare_nvr("m-6.2.9-301.fc38.x86_64", "m-6.2.9-300.fc38.x86_64") > 0);
        ASSERT_TRUE(kp_version_compare_nvr("m-0-rescue", "m-6.2.9-300.fc38.x86_64") < 0);
        ASSERT_TRUE(kp_version_compare_nvr("a-1-1", "b-1-1") < 0);
        ASSERT_EQ(kp_version_compare_nvr("x-1.0-1", "x-1.00-1"), 0);

        /* The release a kernel's file name carries. */
        ASSERT_STREQ(kp_kernel_version_from_path("/boot/vmlinuz-5.4.0-42-generic"), "5.4.0-42-generic");
        ASSERT_STREQ(kp_kernel_version_from_path("/vmlinuz-6.2.9-300.fc38.x86_64"), "6.2.9-300.fc38.x86_64");
        ASSERT_STREQ(kp_kernel_version_from_path("vmlinux-6.1.0-13-amd64"), "6.1.0-13-amd64");
        ASSERT_STREQ(kp_kernel_version_from_path("/boot/kernel-6.6.1"), "6.6.1");
        ASSERT_TRUE(kp_kernel_version_from_path("/boot/vmlinuz") == NULL);
        ASSERT_TRUE(kp_kernel_version_from_path("/boot/vmlinuz-") == NULL);
        ASSERT_TRUE(kp_kernel_version_from_path("/boot/vmlinuz-lts") == NULL);
        ASSERT_TRUE(kp_kernel_version_from_path("/boot/vmlinuz-5.4/initrd") == NULL);
        ASSERT_TRUE(kp_kernel_version_from_path(NULL) == NULL);
        return 0;
}
