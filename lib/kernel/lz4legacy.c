/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The LZ4 "legacy" frame that `lz4 -l` writes and the kernel build uses: a
 * magic, then (u32 little-endian compressed length, LZ4 block) pairs, each
 * block decoding to at most 8 MiB. There is no end marker and no checksum.
 * We follow the kernel's own reader (lib/decompress_unlz4.c):
 *
 *  - the magic may repeat between blocks (concatenated frames) and is skipped;
 *  - a block length of 0 ends the stream;
 *  - otherwise the stream ends where the input does, which for a kernel is
 *    the window our caller set: the payload without its 4-byte size trailer.
 *    (Without that window the trailer would be read as one more block length,
 *    which is why the kernel's boot decompressor is handed in_len - 4.)
 *
 * The kernel tolerates 1-3 stray bytes at the end; we leave them unconsumed,
 * and our caller refuses them as trailing garbage. The kernel's boot path
 * also expects every block but the last to decode to exactly 8 MiB; we accept
 * any size up to 8 MiB, as lz4(1) and the kernel's initramfs path do, since
 * the ELF check judges the result anyway.
 */
#include <lz4.h>

#include "kernel/decompress.h"
#include "kernel/unaligned.h"
#include "util/dlopen.h"
#include "util/error.h"
#include "util/macro.h"

/* Loaded when the first payload in this format is met (util/dlopen.h). */
static void *lz4_dl;
static KP_DLSYM(LZ4_decompress_safe);

static int dlopen_lz4(KpError *error)
{
        int r;

        r = kp_dlopen_many(&lz4_dl, KP_SONAME_LZ4, error,
                           KP_DLSYM_ARG(LZ4_decompress_safe),
                           NULL);
        if (r < 0)
                return kp_error_prefix(error, r, "lz4");
        return 0;
}

#define LZ4_LEGACY_MAGIC UINT32_C(0x184c2102)
/* LZ4_DEFAULT_UNCOMPRESSED_CHUNK_SIZE in lib/decompress_unlz4.c and lz4's legacy block size. */
#define LZ4_LEGACY_BLOCK_MAX (8 * 1024 * 1024)
/* The most an 8 MiB block can take compressed; a longer length is corrupt. */
#define LZ4_LEGACY_COMPRESSED_MAX LZ4_COMPRESSBOUND(LZ4_LEGACY_BLOCK_MAX)

int kp_decompress_lz4(KpInput *in, KpSink *out, KpError *error)
{
        _cleanup_free_ uint8_t *cbuf = NULL, *dbuf = NULL;
        uint8_t word[4];
        unsigned block = 0;
        size_t got;
        int r;

        r = dlopen_lz4(error);
        if (r < 0)
                return r;

        r = kp_input_read_exact(in, word, sizeof(word), error, &got);
        if (r == -ENODATA || (r >= 0 && kp_le32(word) != LZ4_LEGACY_MAGIC))
                return kp_error_set(error, -EBADMSG, "lz4: no legacy frame magic");
        if (r < 0)
                return r;

        cbuf = malloc(LZ4_LEGACY_COMPRESSED_MAX);
        dbuf = malloc(LZ4_LEGACY_BLOCK_MAX);
        if (!cbuf || !dbuf)
                return kp_error_set(error, -ENOMEM, "lz4: out of memory");

        for (;;) {
                const uint8_t *p;
                uint32_t length;
                ssize_t n;
                int decoded;

                n = kp_input_peek(in, 4, error, &p);
                if (n < 0)
                        return (int) n;
                if (n < 4)
                        return 0; /* end of the stream; 1-3 bytes left are the caller's trailing garbage */

                length = kp_le32(p);
                if (length == LZ4_LEGACY_MAGIC) {
                        kp_input_consume(in, 4);
                        continue;
                }
                if (length == 0) {
                        kp_input_consume(in, 4);
                        return 0;
                }
                if (length > (uint32_t) LZ4_LEGACY_COMPRESSED_MAX)
                        return kp_error_set(error, -EBADMSG,
                                            "lz4: block %u claims %" PRIu32
                                            " compressed bytes, more than an 8 MiB block can take (%d)",
                                            block, length, LZ4_LEGACY_COMPRESSED_MAX);
                kp_input_consume(in, 4);

                r = kp_input_read_exact(in, cbuf, length, error, &got);
                if (r == -ENODATA)
                        return kp_error_set(error, -EBADMSG,
                                            "lz4: stream is truncated: block %u has %zu of %" PRIu32
                                            " bytes",
                                            block, got, length);
                if (r < 0)
                        return r;

                decoded = sym_LZ4_decompress_safe((const char *) cbuf, (char *) dbuf, (int) length,
                                              LZ4_LEGACY_BLOCK_MAX);
                if (decoded < 0)
                        return kp_error_set(error, -EBADMSG, "lz4: block %u is corrupt", block);

                r = kp_sink_write(out, dbuf, (size_t) decoded, error);
                if (r < 0)
                        return r;
                block++;
        }
}
