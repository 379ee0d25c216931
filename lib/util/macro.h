/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Small language helpers shared by every part of kunpack: automatic
 * cleanup, visibility, overflow-checked arithmetic. Nothing here knows
 * about kernels, guests or Xen.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _public_ __attribute__((visibility("default")))
#define _hidden_ __attribute__((visibility("hidden")))
#define _unused_ __attribute__((unused))
#define _pure_ __attribute__((pure))
#define _const_ __attribute__((const))
#define _noreturn_ __attribute__((noreturn))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _sentinel_ __attribute__((sentinel))
#define _warn_unused_result_ __attribute__((warn_unused_result))
#define _likely_(x) (__builtin_expect(!!(x), 1))
#define _unlikely_(x) (__builtin_expect(!!(x), 0))
#define _cleanup_(f) __attribute__((cleanup(f)))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define STRLEN(s) (sizeof("" s "") - 1)

#define KiB(n) ((uint64_t)(n) * UINT64_C(1024))
#define MiB(n) ((uint64_t)(n) * UINT64_C(1024) * UINT64_C(1024))
#define GiB(n) ((uint64_t)(n) * UINT64_C(1024) * UINT64_C(1024) * UINT64_C(1024))

#define MIN(a, b)                                                                                          \
        __extension__({                                                                                    \
                const __typeof__(a) _a = (a);                                                              \
                const __typeof__(b) _b = (b);                                                              \
                _a < _b ? _a : _b;                                                                         \
        })
#define MAX(a, b)                                                                                          \
        __extension__({                                                                                    \
                const __typeof__(a) _a = (a);                                                              \
                const __typeof__(b) _b = (b);                                                              \
                _a > _b ? _a : _b;                                                                         \
        })

/* Overflow-checked arithmetic: true when the result did not fit. */
#define ADD_OVERFLOW(a, b, ret) __builtin_add_overflow((a), (b), (ret))
#define MUL_OVERFLOW(a, b, ret) __builtin_mul_overflow((a), (b), (ret))
#define SUB_OVERFLOW(a, b, ret) __builtin_sub_overflow((a), (b), (ret))

/* Hand a pointer or fd over to someone else and forget it here. */
#define TAKE_PTR(p)                                                                                        \
        __extension__({                                                                                    \
                __typeof__(p) _p = (p);                                                                    \
                (p) = NULL;                                                                                \
                _p;                                                                                        \
        })
#define TAKE_FD(fd)                                                                                        \
        __extension__({                                                                                    \
                int _fd = (fd);                                                                            \
                (fd) = -EBADF;                                                                             \
                _fd;                                                                                       \
        })

/* Returns a negative errno from errno, never 0 (a caller relies on "< 0"). */
static inline int negative_errno(void)
{
        return errno > 0 ? -errno : -EIO;
}

/* free() that returns NULL, for "p = mfree(p);". */
static inline void *mfree(void *p)
{
        free(p);
        return NULL;
}

static inline void freep(void *p)
{
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd)
{
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}

static inline void closep(int *fd)
{
        *fd = safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f)
{
        if (*f)
                (void) fclose(*f);
        *f = NULL;
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Declares "static inline void funcp(type *p)" that calls func(*p) when *p is set. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                            \
        static inline void func##p(type *p)                                                                \
        {                                                                                                  \
                if (*p)                                                                                    \
                        *p = func(*p);                                                                     \
        }

/* Same, for destructors that return void. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC_VOID(type, func)                                                       \
        static inline void func##p(type *p)                                                                \
        {                                                                                                  \
                if (*p) {                                                                                  \
                        func(*p);                                                                          \
                        *p = NULL;                                                                         \
                }                                                                                          \
        }

static inline bool streq_ptr(const char *a, const char *b)
{
        if (!a || !b)
                return a == b;
        while (*a && *a == *b)
                a++, b++;
        return *a == *b;
}
#define streq(a, b) (strcmp((a), (b)) == 0)
#define startswith_lit(s, lit) (strncmp((s), "" lit "", STRLEN(lit)) == 0)
