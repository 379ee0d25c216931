/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The small containers of lib/util: string tables, intrusive lists, greedy arrays. */
#include <string.h>

#include "tests.h"
#include "util/grow.h"
#include "util/list.h"
#include "util/string-table.h"

typedef enum Color {
        COLOR_RED,
        COLOR_GAP, /* no name: never converts */
        COLOR_BLUE,
        _COLOR_MAX,
} Color;

static const char *const color_table[_COLOR_MAX] = {
        [COLOR_RED] = "red",
        [COLOR_BLUE] = "blue",
};

/* The functions the macro defines are not static: declare them as a header would. */
const char *color_to_string(Color c);
int color_from_string(const char *s, Color *ret);
KP_DEFINE_STRING_TABLE(color, Color, color_table);

static void test_string_table(void)
{
        Color c = COLOR_GAP;

        ASSERT_STREQ(color_to_string(COLOR_RED), "red");
        ASSERT_STREQ(color_to_string(COLOR_BLUE), "blue");
        ASSERT_TRUE(!color_to_string(COLOR_GAP));
        ASSERT_TRUE(!color_to_string(_COLOR_MAX));
        ASSERT_TRUE(!color_to_string((Color) -1));
        ASSERT_OK(color_from_string("blue", &c));
        ASSERT_EQ(c, COLOR_BLUE);
        ASSERT_ERROR(color_from_string("Blue", &c), -EINVAL);
        ASSERT_ERROR(color_from_string("", &c), -EINVAL);
        ASSERT_ERROR(color_from_string(NULL, &c), -EINVAL);
        ASSERT_EQ(c, COLOR_BLUE); /* untouched on failure */
}

typedef struct Item Item;
struct Item {
        int value;
        KP_LIST_FIELDS(Item, items);
};

static void list_check(Item *head, const char *expect)
{
        char buf[64] = "";
        size_t n = 0;
        Item *prev = NULL;

        KP_LIST_FOREACH(items, i, head) {
                ASSERT_TRUE(i->items_prev == prev);
                buf[n++] = (char) ('0' + i->value);
                prev = i;
        }
        buf[n] = '\0';
        ASSERT_STREQ(buf, expect);
}

static void test_list(void)
{
        Item it[4] = { { .value = 0 }, { .value = 1 }, { .value = 2 }, { .value = 3 } };
        Item *head = NULL;

        list_check(head, "");
        for (size_t i = 0; i < 4; i++)
                KP_LIST_PREPEND(items, head, &it[i]);
        list_check(head, "3210");
        KP_LIST_REMOVE(items, head, &it[2]); /* middle */
        list_check(head, "310");
        KP_LIST_REMOVE(items, head, &it[3]); /* head */
        list_check(head, "10");
        KP_LIST_REMOVE(items, head, &it[0]); /* tail */
        list_check(head, "1");
        ASSERT_TRUE(!it[0].items_next && !it[0].items_prev);
        KP_LIST_PREPEND(items, head, &it[0]);
        KP_LIST_PREPEND(items, head, &it[2]);
        /* Removing every item while walking. */
        KP_LIST_FOREACH_SAFE(items, i, n, head)
                KP_LIST_REMOVE(items, head, i);
        ASSERT_TRUE(!head);
}

static void test_grow(void)
{
        int *a = NULL;
        size_t n = 0, moves = 0;
        void *last = NULL;

        ASSERT_EQ(kp_grow_capacity(0), 2);
        ASSERT_EQ(kp_grow_capacity(1), 4);
        ASSERT_EQ(kp_grow_capacity(2), 4);
        ASSERT_EQ(kp_grow_capacity(3), 8);
        ASSERT_EQ(kp_grow_capacity(1000), 1024);
        for (; n < 100000; n++) {
                int *g = kp_grow(a, n, sizeof(int));
                ASSERT_TRUE(g);
                if (g != last)
                        moves++;
                a = last = g;
                a[n] = (int) n;
                a[n + 1] = -1; /* the terminator's slot is always there */
        }
        for (size_t i = 0; i < n; i++)
                ASSERT_EQ(a[i], (int) i);
        /* Reallocations happen at powers of two only: about log2(n) of them. */
        ASSERT_TRUE(moves <= 18);
        free(a);
}

int main(void)
{
        test_string_table();
        test_list();
        test_grow();
        return 0;
}
