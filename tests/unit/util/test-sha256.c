/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sys/mman.h>

#include "tests.h"
#include "util/fileio.h"
#include "util/sha256.h"

static void test_vectors(void)
{
        _cleanup_(kp_sha256_freep) KpSha256 *s = kp_sha256_new();
        uint8_t d[KP_SHA256_SIZE];
        char hex[KP_SHA256_HEX_SIZE];

        /* FIPS 180-2 example "abc", fed in two pieces. */
        kp_sha256_update(s, "a", 1);
        kp_sha256_update(s, "bc", 2);
        kp_sha256_final(s, d);
        kp_sha256_to_hex(d, hex);
        ASSERT_STREQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        ASSERT_TRUE(kp_sha256_hex_valid(hex));
        ASSERT_FALSE(kp_sha256_hex_valid("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
        ASSERT_FALSE(kp_sha256_hex_valid("ba78"));
        ASSERT_FALSE(kp_sha256_hex_valid("../../../../../../../../../../../../../../../../../../../etc/shad"));
}

static void test_fd(void)
{
        _cleanup_close_ int fd = memfd_create("sha", MFD_CLOEXEC);
        _cleanup_free_ char *buf = malloc(3 * 1024 * 1024);
        char hex[KP_SHA256_HEX_SIZE];
        uint64_t size;

        ASSERT_TRUE(fd >= 0 && buf);
        /* 3 MiB of 'a' spans several read buffers. */
        memset(buf, 'a', 3 * 1024 * 1024);
        ASSERT_OK(kp_loop_write(fd, buf, 3 * 1024 * 1024));
        ASSERT_OK(kp_sha256_fd(fd, UINT64_MAX, hex, &size));
        ASSERT_EQ_U64(size, 3 * 1024 * 1024);
        /* head -c 3145728 /dev/zero | tr "\\0" a | sha256sum */
        ASSERT_STREQ(hex, "6f850bc94ae6f7de14297c01616c36d712d22864497b28a63b81d776b035e656");
        ASSERT_ERROR(kp_sha256_fd(fd, 1024 * 1024, hex, &size), -EFBIG);
}

int main(void)
{
        test_vectors();
        test_fd();
        return 0;
}
