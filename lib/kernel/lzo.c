/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lzo payloads: the lzop container, as `lzop -9` writes it, around
 * LZO1X-999 blocks decoded with liblzo2. The kernel's own reader
 * (lib/decompress_unlzo.c) skips lzop's header and checksums; we verify
 * them: the header checksum always, and every block checksum the header's
 * flags announce.
 *
 * Layout (all integers big-endian):
 *   magic 89 4C 5A 4F 00 0D 0A 1A 0A
 *   version u16, lib_version u16, version_needed u16, method u8, level u8,
 *   flags u32, [filter u32 if F_H_FILTER], mode u32, mtime_low u32,
 *   mtime_high u32, name_len u8, name, header checksum u32
 *     (Adler-32, or CRC-32 with F_H_CRC32, over everything after the magic)
 *   blocks: dst_len u32 (0 ends the stream), src_len u32,
 *     [Adler-32 of the data if F_ADLER32_D], [CRC-32 if F_CRC32_D],
 *     and only when compressed (src_len < dst_len):
 *     [Adler-32 of the compressed bytes if F_ADLER32_C], [CRC-32 if F_CRC32_C],
 *     then src_len bytes (stored as they are when src_len == dst_len).
 */
#include <lzo/lzo1x.h>
#include <lzo/lzoconf.h>

#include "kernel/decompress.h"
#include "kernel/unaligned.h"
#include "util/dlopen.h"
#include "util/error.h"
#include "util/macro.h"

/* Loaded when the first payload in this format is met (util/dlopen.h). */
static void *lzo_dl;
static KP_DLSYM(__lzo_init_v2);
static KP_DLSYM(lzo1x_decompress_safe);
static KP_DLSYM(lzo_crc32);
static KP_DLSYM(lzo_adler32);

static int dlopen_lzo(KpError *error)
{
        int r;

        r = kp_dlopen_many(&lzo_dl, KP_SONAME_LZO, error,
                           KP_DLSYM_ARG(__lzo_init_v2),
                           KP_DLSYM_ARG(lzo1x_decompress_safe),
                           KP_DLSYM_ARG(lzo_crc32),
                           KP_DLSYM_ARG(lzo_adler32),
                           NULL);
        if (r < 0)
                return kp_error_prefix(error, r, "lzo");
        return 0;
}

static const uint8_t lzop_magic[9] = { 0x89, 'L', 'Z', 'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a };

/* Header flags (lzop's conf.h). */
#define F_ADLER32_D UINT32_C(0x00000001)
#define F_ADLER32_C UINT32_C(0x00000002)
#define F_H_EXTRA_FIELD UINT32_C(0x00000040)
#define F_CRC32_D UINT32_C(0x00000100)
#define F_CRC32_C UINT32_C(0x00000200)
#define F_MULTIPART UINT32_C(0x00000400)
#define F_H_FILTER UINT32_C(0x00000800)
#define F_H_CRC32 UINT32_C(0x00001000)
/* Bits no lzop version defines: flags, OS and character-set fields aside. */
#define F_RESERVED UINT32_C(0x000fc000)

/* Methods that are LZO1X underneath: LZO1X-1, LZO1X-1(15), LZO1X-999 (lzop -7..-9). */
#define M_LZO1X_1 1
#define M_LZO1X_1_15 2
#define M_LZO1X_999 3

/* The header layout above exists from lzop 0.94 on; files needing more than lzop 1.04's reader are refused.
 */
#define LZOP_VERSION_LAYOUT 0x0940
#define LZOP_VERSION_READER 0x1040

/*
 * lzop writes 256 KiB blocks, and the kernel's decompressor refuses larger
 * ones (LZO_BLOCK_SIZE in lib/decompress_unlzo.c), so we do too.
 */
#define LZOP_BLOCK_MAX (256 * 1024)

/* The longest header: all fields, a filter, a 255-byte name. */
#define LZOP_HEADER_MAX (2 + 2 + 2 + 1 + 1 + 4 + 4 + 4 + 4 + 4 + 1 + 255)

typedef struct Header {
        uint8_t bytes[LZOP_HEADER_MAX]; /* everything after the magic, for the header checksum */
        size_t size;
} Header;

static int read_field(KpInput *in, Header *h, size_t n, KpError *error, const uint8_t **ret)
{
        int r;

        r = kp_input_read_exact(in, h->bytes + h->size, n, error, NULL);
        if (r == -ENODATA)
                return kp_error_set(error, -EBADMSG, "lzo: lzop header is truncated");
        if (r < 0)
                return r;
        *ret = h->bytes + h->size;
        h->size += n;
        return 0;
}

static int read_header(KpInput *in, KpError *error, uint32_t *ret_flags)
{
        Header h = {};
        const uint8_t *p;
        uint8_t magic[sizeof(lzop_magic)], sum[4];
        uint16_t version, needed;
        uint32_t flags, expected, actual;
        uint8_t method;
        int r;

        r = kp_input_read_exact(in, magic, sizeof(magic), error, NULL);
        if (r == -ENODATA || (r >= 0 && memcmp(magic, lzop_magic, sizeof(magic)) != 0))
                return kp_error_set(error, -EBADMSG, "lzo: not an lzop file (bad magic)");
        if (r < 0)
                return r;

        if ((r = read_field(in, &h, 2, error, &p)) < 0)
                return r;
        version = kp_be16(p);
        if (version < LZOP_VERSION_LAYOUT)
                return kp_error_set(error, -EOPNOTSUPP, "lzo: lzop format version 0x%04x is older than 0.94",
                                    version);
        if ((r = read_field(in, &h, 2, error, &p)) < 0) /* lib_version */
                return r;
        if ((r = read_field(in, &h, 2, error, &p)) < 0)
                return r;
        needed = kp_be16(p);
        if (needed > LZOP_VERSION_READER)
                return kp_error_set(error, -EOPNOTSUPP, "lzo: file needs lzop version 0x%04x to extract",
                                    needed);
        if ((r = read_field(in, &h, 1, error, &p)) < 0)
                return r;
        method = p[0];
        if (method != M_LZO1X_1 && method != M_LZO1X_1_15 && method != M_LZO1X_999)
                return kp_error_set(error, -EOPNOTSUPP, "lzo: compression method %u is not LZO1X", method);
        if ((r = read_field(in, &h, 1, error, &p)) < 0) /* level */
                return r;
        if ((r = read_field(in, &h, 4, error, &p)) < 0)
                return r;
        flags = kp_be32(p);
        if (flags & F_RESERVED)
                return kp_error_set(error, -EOPNOTSUPP, "lzo: unknown header flags 0x%08" PRIx32, flags);
        if (flags & F_H_FILTER)
                return kp_error_set(error, -EOPNOTSUPP, "lzo: lzop filters are not supported");
        if (flags & F_MULTIPART)
                return kp_error_set(error, -EOPNOTSUPP, "lzo: multipart lzop files are not supported");
        if (flags & F_H_EXTRA_FIELD)
                return kp_error_set(error, -EOPNOTSUPP, "lzo: lzop header extra fields are not supported");
        if ((r = read_field(in, &h, 4 + 4 + 4, error, &p)) < 0) /* mode, mtime_low, mtime_high */
                return r;
        if ((r = read_field(in, &h, 1, error, &p)) < 0)
                return r;
        if (p[0] > 0 && (r = read_field(in, &h, p[0], error, &p)) < 0) /* the name */
                return r;

        r = kp_input_read_exact(in, sum, sizeof(sum), error, NULL);
        if (r == -ENODATA)
                return kp_error_set(error, -EBADMSG, "lzo: lzop header is truncated");
        if (r < 0)
                return r;
        expected = kp_be32(sum);
        if (flags & F_H_CRC32)
                actual = sym_lzo_crc32(0, h.bytes, h.size);
        else
                actual = sym_lzo_adler32(1, h.bytes, h.size);
        if (actual != expected)
                return kp_error_set(error, -EBADMSG,
                                    "lzo: lzop header checksum mismatch (0x%08" PRIx32
                                    ", expected 0x%08" PRIx32 ")",
                                    actual, expected);

        *ret_flags = flags;
        return 0;
}

static int read_u32(KpInput *in, unsigned block, KpError *error, uint32_t *ret)
{
        uint8_t b[4];
        int r;

        r = kp_input_read_exact(in, b, sizeof(b), error, NULL);
        if (r == -ENODATA)
                return kp_error_set(error, -EBADMSG, "lzo: stream is truncated at block %u", block);
        if (r < 0)
                return r;
        *ret = kp_be32(b);
        return 0;
}

/* Reads the checksums flags announce for one side of a block (adler_flag/crc_flag). */
static int read_sums(KpInput *in, unsigned block, uint32_t flags, uint32_t adler_flag, uint32_t crc_flag,
                     KpError *error, uint32_t *ret_adler, uint32_t *ret_crc)
{
        int r;

        if (flags & adler_flag) {
                r = read_u32(in, block, error, ret_adler);
                if (r < 0)
                        return r;
        }
        if (flags & crc_flag) {
                r = read_u32(in, block, error, ret_crc);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int check_sums(const uint8_t *data, size_t size, unsigned block, const char *what, uint32_t flags,
                      uint32_t adler_flag, uint32_t crc_flag, uint32_t adler, uint32_t crc, KpError *error)
{
        if ((flags & adler_flag) && sym_lzo_adler32(1, data, size) != adler)
                return kp_error_set(error, -EBADMSG, "lzo: block %u: Adler-32 of the %s data does not match",
                                    block, what);
        if ((flags & crc_flag) && sym_lzo_crc32(0, data, size) != crc)
                return kp_error_set(error, -EBADMSG, "lzo: block %u: CRC-32 of the %s data does not match",
                                    block, what);
        return 0;
}

int kp_decompress_lzo(KpInput *in, KpSink *out, KpError *error)
{
        _cleanup_free_ uint8_t *cbuf = NULL;
        uint32_t flags = 0;
        int r;

        r = dlopen_lzo(error);
        if (r < 0)
                return r;

        /*
         * lzo_init() is a macro: it calls __lzo_init_v2() with our view of
         * the type sizes, for the library to compare with its own. It goes
         * to the loaded library like every other call.
         */
#define __lzo_init_v2 sym___lzo_init_v2
        if (lzo_init() != LZO_E_OK)
                return kp_error_set(error, -EINVAL, "lzo: liblzo2 failed to initialise");
#undef __lzo_init_v2

        r = read_header(in, error, &flags);
        if (r < 0)
                return r;

        cbuf = malloc(LZOP_BLOCK_MAX);
        if (!cbuf)
                return kp_error_set(error, -ENOMEM, "lzo: out of memory");

        for (unsigned block = 0;; block++) {
                uint32_t dst_len, src_len, d_adler = 0, d_crc = 0, c_adler = 0, c_crc = 0;
                uint8_t *dst;
                size_t dst_size, got;

                r = read_u32(in, block, error, &dst_len);
                if (r < 0)
                        return r;
                if (dst_len == 0)
                        return 0; /* the end marker */
                if (dst_len > LZOP_BLOCK_MAX)
                        return kp_error_set(error, -EBADMSG,
                                            "lzo: block %u of %" PRIu32
                                            " bytes exceeds lzop's block size of %d",
                                            block, dst_len, LZOP_BLOCK_MAX);
                r = read_u32(in, block, error, &src_len);
                if (r < 0)
                        return r;
                if (src_len == 0 || src_len > dst_len)
                        return kp_error_set(error, -EBADMSG,
                                            "lzo: block %u claims %" PRIu32 " compressed bytes for %" PRIu32,
                                            block, src_len, dst_len);

                r = read_sums(in, block, flags, F_ADLER32_D, F_CRC32_D, error, &d_adler, &d_crc);
                if (r < 0)
                        return r;
                if (src_len < dst_len) {
                        r = read_sums(in, block, flags, F_ADLER32_C, F_CRC32_C, error, &c_adler, &c_crc);
                        if (r < 0)
                                return r;
                }

                r = kp_input_read_exact(in, cbuf, src_len, error, &got);
                if (r == -ENODATA)
                        return kp_error_set(error, -EBADMSG,
                                            "lzo: stream is truncated: block %u has %zu of %" PRIu32
                                            " bytes",
                                            block, got, src_len);
                if (r < 0)
                        return r;

                r = kp_sink_reserve(out, dst_len, error, &dst, &dst_size);
                if (r < 0)
                        return r;
                if (src_len == dst_len)
                        memcpy(dst, cbuf, src_len);
                else {
                        lzo_uint n = dst_len;

                        r = check_sums(cbuf, src_len, block, "compressed", flags, F_ADLER32_C, F_CRC32_C,
                                       c_adler, c_crc, error);
                        if (r < 0)
                                return r;
                        if (sym_lzo1x_decompress_safe(cbuf, src_len, dst, &n, NULL) != LZO_E_OK || n != dst_len)
                                return kp_error_set(error, -EBADMSG, "lzo: block %u is corrupt", block);
                }
                r = check_sums(dst, dst_len, block, "decompressed", flags, F_ADLER32_D, F_CRC32_D, d_adler,
                               d_crc, error);
                if (r < 0)
                        return r;
                r = kp_sink_commit(out, dst_len, error);
                if (r < 0)
                        return r;
        }
}
