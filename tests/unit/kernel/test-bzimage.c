/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "kernel/bzimage.h"
#include "tests.h"
#include "util/error.h"

static void put_le16(uint8_t *p, uint16_t v)
{
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

/* The first 1024 bytes of a bzImage as the x86 build writes them. */
static void make_header(uint8_t buf[KP_BZIMAGE_HEADER_READ], uint8_t setup_sects, uint16_t version,
                        uint32_t payload_offset, uint32_t payload_length)
{
        memset(buf, 0, KP_BZIMAGE_HEADER_READ);
        buf[KP_BZIMAGE_OFF_SETUP_SECTS] = setup_sects;
        put_le16(buf + KP_BZIMAGE_OFF_BOOT_FLAG, 0xaa55);
        memcpy(buf + KP_BZIMAGE_OFF_HEADER, "HdrS", 4);
        put_le16(buf + KP_BZIMAGE_OFF_VERSION, version);
        put_le32(buf + KP_BZIMAGE_OFF_PAYLOAD_OFFSET, payload_offset);
        put_le32(buf + KP_BZIMAGE_OFF_PAYLOAD_LENGTH, payload_length);
}

static void test_valid(void)
{
        uint8_t buf[KP_BZIMAGE_HEADER_READ];
        KpBzImageHeader h;
        KpError error = {};

        /* Debian's 6.1 bzImage: 2.15, 39 setup sectors. */
        make_header(buf, 39, 0x020f, 0x3a5, 8122480);
        ASSERT_OK(kp_bzimage_parse_header(buf, sizeof(buf), 8247232, &error, &h));
        ASSERT_EQ(h.version, 0x020f);
        ASSERT_EQ(h.setup_sects, 39);
        ASSERT_EQ_U64(h.payload_offset, 40 * 512 + 0x3a5);
        ASSERT_EQ_U64(h.payload_length, 8122480);

        /* Unknown size (a pipe): nothing to check the payload against yet. */
        ASSERT_OK(kp_bzimage_parse_header(buf, sizeof(buf), KP_BZIMAGE_SIZE_UNKNOWN, &error, &h));
        ASSERT_EQ_U64(h.payload_offset, 40 * 512 + 0x3a5);

        /* The header ends at 0x250: that much is enough. */
        ASSERT_OK(kp_bzimage_parse_header(buf, KP_BZIMAGE_HEADER_END, 8247232, &error, &h));
}

static void test_setup_sects_zero(void)
{
        uint8_t buf[KP_BZIMAGE_HEADER_READ];
        KpBzImageHeader h;

        make_header(buf, 0, 0x0208, 100, 1000);
        ASSERT_OK(kp_bzimage_parse_header(buf, sizeof(buf), 1 << 20, NULL, &h));
        ASSERT_EQ(h.setup_sects, 4);
        ASSERT_EQ_U64(h.payload_offset, 5 * 512 + 100);
}

static void test_refusals(void)
{
        uint8_t buf[KP_BZIMAGE_HEADER_READ];
        KpBzImageHeader h = { .version = 0x1234 };
        KpError error = {};

        make_header(buf, 39, 0x0206, 0, 100);
        ASSERT_ERROR(kp_bzimage_parse_header(buf, sizeof(buf), 1 << 20, &error, &h), -EPROTONOSUPPORT);
        ASSERT_STREQ(error.message, "boot protocol 2.06 too old: no payload fields");
        ASSERT_EQ(error.code, -EPROTONOSUPPORT);

        make_header(buf, 39, 0x020f, 0, 100);
        buf[KP_BZIMAGE_OFF_BOOT_FLAG] = 0;
        ASSERT_ERROR(kp_bzimage_parse_header(buf, sizeof(buf), 1 << 20, &error, &h), -EMEDIUMTYPE);
        ASSERT_STREQ(error.message, "not an x86 kernel image: no boot flag 0xAA55 at offset 0x1FE");

        make_header(buf, 39, 0x020f, 0, 100);
        buf[KP_BZIMAGE_OFF_HEADER] = 'X';
        ASSERT_ERROR(kp_bzimage_parse_header(buf, sizeof(buf), 1 << 20, &error, &h), -EMEDIUMTYPE);
        ASSERT_STREQ(error.message, "not an x86 bzImage: no \"HdrS\" setup header at offset 0x202");

        make_header(buf, 39, 0x020f, 0, 100);
        ASSERT_ERROR(kp_bzimage_parse_header(buf, 0x24f, 1 << 20, &error, &h), -EBADMSG);
        ASSERT_STREQ(error.message, "setup header cut short: 591 of 592 bytes");
        ASSERT_ERROR(kp_bzimage_parse_header(buf, 100, 1 << 20, &error, &h), -EMEDIUMTYPE);

        make_header(buf, 39, 0x020f, 0, 0);
        ASSERT_ERROR(kp_bzimage_parse_header(buf, sizeof(buf), 1 << 20, &error, &h), -EBADMSG);
        ASSERT_STREQ(error.message, "payload length is zero");

        /* Payload offset past the end of the file. */
        make_header(buf, 39, 0x020f, 0x100000, 16);
        ASSERT_ERROR(kp_bzimage_parse_header(buf, sizeof(buf), 0x100000, &error, &h), -EBADMSG);
        ASSERT_STREQ(error.message, "payload offset 1069056 is past the end of the file (1048576 bytes)");

        /* Payload starting inside the file but running past its end. */
        make_header(buf, 39, 0x020f, 0, 0x100000);
        ASSERT_ERROR(kp_bzimage_parse_header(buf, sizeof(buf), 0x100000, &error, &h), -EBADMSG);
        ASSERT_STREQ(error.message,
                     "payload runs past end of file: 1048576 bytes at offset 20480, file has 1048576");

        /* The largest values the u32 fields hold do not overflow anything. */
        make_header(buf, 255, 0xffff, UINT32_MAX, UINT32_MAX);
        ASSERT_OK(kp_bzimage_parse_header(buf, sizeof(buf), KP_BZIMAGE_SIZE_UNKNOWN, &error, &h));
        ASSERT_EQ_U64(h.payload_offset, 256 * 512 + (uint64_t) UINT32_MAX);
        ASSERT_ERROR(kp_bzimage_parse_header(buf, sizeof(buf), UINT64_C(1) << 33, &error, &h), -EBADMSG);

        ASSERT_ERROR(kp_bzimage_parse_header(NULL, 0, 0, &error, &h), -EMEDIUMTYPE);
}

int main(void)
{
        test_valid();
        test_setup_sects_zero();
        test_refusals();
        return 0;
}
