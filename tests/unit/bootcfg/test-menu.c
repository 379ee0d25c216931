/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GRUB's ways of reading `default`: upstream 2.06 and Fedora's. */
#include "bootcfg/menu.h"
#include "tests.h"

static KpMenuNode level[4];

static void setup(void)
{
        level[0] = (KpMenuNode) { .title = (char *) "Fedora (6.2)", .id = (char *) "5f1c-6.2.15", .entry_index = 0 };
        level[1] = (KpMenuNode) { .title = (char *) "5 items", .id = (char *) "abc", .entry_index = 1 };
        level[2] = (KpMenuNode) { .title = (char *) "A>B", .entry_index = 2 };
        level[3] = (KpMenuNode) { .title = (char *) "", .id = (char *) "x y", .entry_index = 3 };
}

static int grub(const char *spec, KpMenuMatch expect)
{
        KpMenuMatch m;
        int r = kp_menu_find_grub(level, 4, spec, &m);
        if (r >= 0)
                ASSERT_EQ(m, expect);
        return r;
}

static int fedora(const char *spec, KpMenuMatch expect)
{
        KpMenuMatch m;
        int r = kp_menu_find_fedora(level, 4, spec, &m);
        if (r >= 0)
                ASSERT_EQ(m, expect);
        return r;
}

int main(void)
{
        unsigned long long v;

        setup();
        /* Upstream: a leading digit makes it a number, so a BLS id starting with one is entry 5: none. */
        ASSERT_EQ(grub("5f1c-6.2.15", 0), -1);
        ASSERT_EQ(grub("abc", KP_MENU_MATCH_ID), 1);
        ASSERT_EQ(grub("A>>B", KP_MENU_MATCH_TITLE), 2);
        ASSERT_EQ(grub("3", KP_MENU_MATCH_INDEX), 3);
        ASSERT_EQ(grub("2>whatever", KP_MENU_MATCH_INDEX), 2);
        ASSERT_EQ(grub("", KP_MENU_MATCH_TITLE), 3); /* the empty title */

        /* Fedora: ids first (up to a blank), then titles, then a number standing alone. */
        ASSERT_EQ(fedora("5f1c-6.2.15", KP_MENU_MATCH_ID), 0);
        ASSERT_EQ(fedora("5f1c-6.2.15 trailing", 0), -1);
        ASSERT_EQ(fedora("Fedora (6.2)", KP_MENU_MATCH_TITLE), 0);
        ASSERT_EQ(fedora("A>>B", KP_MENU_MATCH_TITLE), 2);
        ASSERT_EQ(fedora("3", KP_MENU_MATCH_INDEX), 3);
        ASSERT_EQ(fedora("2>whatever", 0), -1);
        ASSERT_EQ(fedora("7", 0), -1);
        ASSERT_EQ(fedora("0x1", KP_MENU_MATCH_INDEX), 1);

        ASSERT_OK(kp_grub_strtoul(" 010", &v));
        ASSERT_EQ_U64(v, 8);
        ASSERT_OK(kp_grub_strtoul("0x1fz", &v));
        ASSERT_EQ_U64(v, 31);
        /* "0" then a digit that is not octal: decimal after all. */
        ASSERT_OK(kp_grub_strtoul("08", &v));
        ASSERT_EQ_U64(v, 8);
        ASSERT_ERROR(kp_grub_strtoul("x", &v), -EINVAL);
        ASSERT_ERROR(kp_grub_strtoul("18446744073709551616", &v), -ERANGE);
        return 0;
}
