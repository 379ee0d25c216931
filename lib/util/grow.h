/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Arrays the parsers append to one element at a time, sized by hostile
 * input (10,000 menu entries, 15,000 words on a line): growing by one
 * element per append copies the array every time, O(n^2) bytes. Their
 * capacity is instead the smallest power of two of at least n + 2 (room
 * for one more element and a NULL terminator), so n appends copy O(n)
 * bytes, without a capacity field in the structures.
 */

#include <stdlib.h>

static inline size_t kp_grow_capacity(size_t n)
{
        size_t cap = 2;

        while (cap < n + 2)
                cap *= 2;
        return cap;
}

/*
 * Makes room for element n (and a terminator after it) in p, which holds n
 * elements of size bytes and was allocated by kp_grow() or with
 * kp_grow_capacity(n) elements. Returns the (maybe moved) array, or NULL
 * with p untouched.
 */
static inline void *kp_grow(void *p, size_t n, size_t size)
{
        /* The capacity changes only when n + 1 is a power of two. */
        if (p && n > 0 && ((n + 1) & n) != 0)
                return p;
        return reallocarray(p, kp_grow_capacity(n), size);
}
