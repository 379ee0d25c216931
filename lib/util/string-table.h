/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Enums that have a spelling (in JSON, state files, D-Bus replies, logs):
 * one table of names indexed by the enum, and the two conversions defined
 * from it, so that every enum converts the same way:
 *
 *   static const char *const color_table[_COLOR_MAX] = {
 *           [COLOR_RED] = "red",
 *           [COLOR_BLUE] = "blue",
 *   };
 *   KP_DEFINE_STRING_TABLE(kp_color, KpColor, color_table);
 *
 * defines `const char *kp_color_to_string(KpColor)`, NULL for a value
 * outside the table, and `int kp_color_from_string(const char *, KpColor *ret)`,
 * -EINVAL (ret untouched) for a name not in it, NULL included.
 */

#include <errno.h>
#include <sys/types.h>

#include "util/macro.h"

/* The index of s in table (n entries, NULL entries skipped), or -EINVAL. */
ssize_t kp_string_table_lookup(const char *const *table, size_t n, const char *s);

#define KP_DEFINE_STRING_TABLE_TO_STRING(name, type, table)                                             \
        const char *name##_to_string(type v)                                                               \
        {                                                                                                  \
                return (size_t) v < ELEMENTSOF(table) ? table[v] : NULL;                                   \
        }

#define KP_DEFINE_STRING_TABLE_FROM_STRING(name, type, table)                                           \
        int name##_from_string(const char *s, type *ret)                                                   \
        {                                                                                                  \
                ssize_t i = kp_string_table_lookup(table, ELEMENTSOF(table), s);                           \
                if (i < 0)                                                                                 \
                        return (int) i;                                                                    \
                *ret = (type) i;                                                                           \
                return 0;                                                                                  \
        }

#define KP_DEFINE_STRING_TABLE(name, type, table)                                                       \
        KP_DEFINE_STRING_TABLE_TO_STRING(name, type, table)                                             \
        KP_DEFINE_STRING_TABLE_FROM_STRING(name, type, table)
