/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Assertions for the unit tests. Each failure prints the file, line, the
 * expression and both values, then aborts, so meson reports the test as
 * failed with the reason in its log.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/macro.h"

#define TEST_FAIL(...)                                                                                     \
        do {                                                                                               \
                fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                            \
                fprintf(stderr, __VA_ARGS__);                                                              \
                fputc('\n', stderr);                                                                       \
                abort();                                                                                   \
        } while (0)

#define ASSERT_TRUE(expr)                                                                                  \
        do {                                                                                               \
                if (!(expr))                                                                               \
                        TEST_FAIL("expected true: %s", #expr);                                             \
        } while (0)

#define ASSERT_FALSE(expr)                                                                                 \
        do {                                                                                               \
                if (expr)                                                                                  \
                        TEST_FAIL("expected false: %s", #expr);                                            \
        } while (0)

/* expr returns >= 0 (success in the negative-errno convention). */
#define ASSERT_OK(expr)                                                                                    \
        do {                                                                                               \
                long long _r = (long long) (expr);                                                         \
                if (_r < 0)                                                                                \
                        TEST_FAIL("%s failed: %lld (%s)", #expr, _r, strerror((int) -_r));                 \
        } while (0)

/* expr returns exactly the negative errno err. */
#define ASSERT_ERROR(expr, err)                                                                            \
        do {                                                                                               \
                long long _r = (long long) (expr);                                                         \
                if (_r != (long long) (err))                                                               \
                        TEST_FAIL("%s returned %lld (%s), expected %lld (%s)", #expr, _r,                  \
                                  _r < 0 ? strerror((int) -_r) : "success", (long long) (err),             \
                                  strerror((int) -(err)));                                                 \
        } while (0)

#define ASSERT_EQ(a, b)                                                                                    \
        do {                                                                                               \
                long long _a = (long long) (a), _b = (long long) (b);                                      \
                if (_a != _b)                                                                              \
                        TEST_FAIL("%s == %s: %lld != %lld", #a, #b, _a, _b);                               \
        } while (0)

#define ASSERT_EQ_U64(a, b)                                                                                \
        do {                                                                                               \
                uint64_t _a = (uint64_t) (a), _b = (uint64_t) (b);                                         \
                if (_a != _b)                                                                              \
                        TEST_FAIL("%s == %s: %" PRIu64 " != %" PRIu64, #a, #b, _a, _b);                    \
        } while (0)

#define ASSERT_STREQ(a, b)                                                                                 \
        do {                                                                                               \
                const char *_a = (a), *_b = (b);                                                           \
                if (!streq_ptr(_a, _b))                                                                    \
                        TEST_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b, _a ? _a : "(null)",                \
                                  _b ? _b : "(null)");                                                     \
        } while (0)

/* haystack contains needle (for error messages). */
#define ASSERT_CONTAINS(haystack, needle)                                                                  \
        do {                                                                                               \
                const char *_h = (haystack), *_n = (needle);                                               \
                if (!_h || !strstr(_h, _n))                                                                \
                        TEST_FAIL("%s does not contain \"%s\": \"%s\"", #haystack, _n, _h ? _h : "(null)"); \
        } while (0)

#define ASSERT_MEMEQ(a, b, n)                                                                              \
        do {                                                                                               \
                if (memcmp((a), (b), (n)) != 0)                                                            \
                        TEST_FAIL("%s and %s differ in their first %zu bytes", #a, #b, (size_t) (n));      \
        } while (0)

/* A fixture directory from the environment, or skip (exit 77) when unset. */
static inline const char *test_fixture_dir(const char *env)
{
        const char *d = getenv(env);
        if (!d || !*d) {
                fprintf(stderr, "%s not set: skipping\n", env);
                exit(77);
        }
        return d;
}
