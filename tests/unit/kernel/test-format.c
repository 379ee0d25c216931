/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "kernel/format.h"
#include "tests.h"

static void test_names(void)
{
        for (unsigned f = 0; f < _KP_FORMAT_MAX; f++)
                ASSERT_EQ(kp_format_from_string(kp_format_to_string((KpFormat) f)), f);
        ASSERT_STREQ(kp_format_to_string(KP_FORMAT_LZ4), "lz4");
        ASSERT_STREQ(kp_format_to_string(KP_FORMAT_ZSTD), "zstd");
        ASSERT_STREQ(kp_format_to_string(_KP_FORMAT_MAX), "unknown");
        ASSERT_STREQ(kp_format_to_string((KpFormat) -1), "unknown");
        ASSERT_EQ(kp_format_from_string("LZ4"), KP_FORMAT_UNKNOWN);
        ASSERT_EQ(kp_format_from_string(NULL), KP_FORMAT_UNKNOWN);
}

static void test_pvgrub(void)
{
        ASSERT_TRUE(kp_format_pvgrub_can_load(KP_FORMAT_ELF));
        ASSERT_TRUE(kp_format_pvgrub_can_load(KP_FORMAT_GZIP));
        ASSERT_TRUE(kp_format_pvgrub_can_load(KP_FORMAT_XZ));
        ASSERT_TRUE(kp_format_pvgrub_can_load(KP_FORMAT_LZO));
        ASSERT_FALSE(kp_format_pvgrub_can_load(KP_FORMAT_LZ4));
        ASSERT_FALSE(kp_format_pvgrub_can_load(KP_FORMAT_ZSTD));
        ASSERT_FALSE(kp_format_pvgrub_can_load(KP_FORMAT_BZIP2));
        ASSERT_FALSE(kp_format_pvgrub_can_load(KP_FORMAT_LZMA));
        ASSERT_FALSE(kp_format_pvgrub_can_load(KP_FORMAT_UNKNOWN));
}

static void test_sniff(void)
{
        static const struct {
                const char *bytes;
                size_t size;
                KpFormat format;
        } cases[] = {
                { "\x7f" "ELF\x02\x01", 6, KP_FORMAT_ELF },
                { "\x1f\x8b\x08\x00\x00\x00", 6, KP_FORMAT_GZIP },
                { "BZh91AY", 6, KP_FORMAT_BZIP2 },
                { "\x5d\x00\x00\x00\x04\xff", 6, KP_FORMAT_LZMA },
                { "\xfd" "7zXZ\x00", 6, KP_FORMAT_XZ },
                { "\x89LZO\x00\x0d", 6, KP_FORMAT_LZO },
                { "\x02\x21\x4c\x18\x4b\xfa", 6, KP_FORMAT_LZ4 },
                { "\x28\xb5\x2f\xfd\x04\x88", 6, KP_FORMAT_ZSTD },
                /* Too short for the magic it starts with. */
                { "\xfd" "7zXZ", 5, KP_FORMAT_UNKNOWN },
                { "\x28\xb5\x2f", 3, KP_FORMAT_UNKNOWN },
                { "\x1f", 1, KP_FORMAT_UNKNOWN },
                /* Near misses: an LZ4 frame (not legacy), old gzip, lzma with another lc/lp/pb. */
                { "\x04\x22\x4d\x18\x64\x40", 6, KP_FORMAT_UNKNOWN },
                { "\x1f\x9e\x08\x00\x00\x00", 6, KP_FORMAT_UNKNOWN },
                { "\x5e\x00\x00\x00\x04\x00", 6, KP_FORMAT_UNKNOWN },
                { "\x00\x00\x00\x00\x00\x00", 6, KP_FORMAT_UNKNOWN },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                ASSERT_EQ(kp_format_sniff((const uint8_t *) cases[i].bytes, cases[i].size), cases[i].format);
        ASSERT_EQ(kp_format_sniff(NULL, 0), KP_FORMAT_UNKNOWN);
}

static void test_size_trailer(void)
{
        ASSERT_FALSE(kp_format_has_size_trailer(KP_FORMAT_GZIP));
        ASSERT_FALSE(kp_format_has_size_trailer(KP_FORMAT_ELF));
        ASSERT_TRUE(kp_format_has_size_trailer(KP_FORMAT_LZ4));
        ASSERT_TRUE(kp_format_has_size_trailer(KP_FORMAT_ZSTD));
        ASSERT_TRUE(kp_format_has_size_trailer(KP_FORMAT_XZ));
        ASSERT_TRUE(kp_format_has_size_trailer(KP_FORMAT_LZMA));
        ASSERT_TRUE(kp_format_has_size_trailer(KP_FORMAT_BZIP2));
        ASSERT_TRUE(kp_format_has_size_trailer(KP_FORMAT_LZO));
}

int main(void)
{
        test_names();
        test_pvgrub();
        test_sniff();
        test_size_trailer();
        return 0;
}
