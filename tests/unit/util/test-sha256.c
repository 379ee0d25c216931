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

static void hex_of(const void *data, size_t size, char hex[KP_SHA256_HEX_SIZE])
{
        _cleanup_(kp_sha256_freep) KpSha256 *s = kp_sha256_new();
        uint8_t d[KP_SHA256_SIZE];

        ASSERT_TRUE(s);
        kp_sha256_update(s, data, size);
        kp_sha256_final(s, d);
        kp_sha256_to_hex(d, hex);
}

/* FIPS 180-2 appendix B and the NIST example values, both with and without the CPU's SHA extensions. */
static void test_known_answers(void)
{
        static const char two_blocks[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        char hex[KP_SHA256_HEX_SIZE];

        for (int portable = 0; portable < 2; portable++) {
                kp_sha256_force_portable(portable);
                hex_of("", 0, hex);
                ASSERT_STREQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
                hex_of("abc", 3, hex);
                ASSERT_STREQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
                hex_of(two_blocks, strlen(two_blocks), hex);
                ASSERT_STREQ(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
        }
        kp_sha256_force_portable(false);
}

/*
 * Every length around the block and padding boundaries, fed whole and in
 * odd pieces: the accelerated and the portable code agree byte for byte.
 */
static void test_both_ways(void)
{
        _cleanup_free_ uint8_t *buf = malloc(4096);
        uint32_t x = 2463534242u;

        ASSERT_TRUE(buf);
        for (size_t i = 0; i < 4096; i++) {
                x ^= x << 13, x ^= x >> 17, x ^= x << 5; /* xorshift32: any fixed bytes do */
                buf[i] = (uint8_t) x;
        }
        for (size_t len = 0; len <= 4096; len += len < 300 ? 1 : 257) {
                char a[KP_SHA256_HEX_SIZE], b[KP_SHA256_HEX_SIZE], c[KP_SHA256_HEX_SIZE];
                _cleanup_(kp_sha256_freep) KpSha256 *s = kp_sha256_new();
                uint8_t d[KP_SHA256_SIZE];

                kp_sha256_force_portable(false);
                hex_of(buf, len, a);
                kp_sha256_force_portable(true);
                hex_of(buf, len, b);
                ASSERT_STREQ(a, b);
                kp_sha256_force_portable(false);
                for (size_t off = 0; off < len;) {
                        size_t piece = MIN(len - off, (off % 7) * 11 + 1);
                        kp_sha256_update(s, buf + off, piece);
                        off += piece;
                }
                kp_sha256_final(s, d);
                kp_sha256_to_hex(d, c);
                ASSERT_STREQ(a, c);
        }
        kp_sha256_force_portable(false);
}

int main(void)
{
        test_known_answers();
        test_both_ways();
        test_vectors();
        test_fd();
        return 0;
}
