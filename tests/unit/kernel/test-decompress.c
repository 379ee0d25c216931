/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The decompressors' own edges: damaged data in every format, and each
 * container's corner cases (LZ4 legacy's repeated magics and end marker,
 * zstd's window limit, lzma's dictionary limit, lzop's header, flags and
 * checksums, including files written by the real lzop(1)).
 */
#include <lz4.h>
#include <lzo/lzoconf.h>
#include <sys/wait.h>

#include "kernel/format.h"
#include "unpack-helpers.h"

static SynthBuf copy_buf(const SynthBuf *b)
{
        SynthBuf c = { malloc(b->size + 64), b->size };

        ASSERT_TRUE(c.data);
        memcpy(c.data, b->data, b->size);
        return c;
}

static void put_be32(uint8_t *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (24 - 8 * i));
}

/* The payload s (stream and trailer) with one byte flipped at offset at, in a bzImage. */
static void assert_flip_refused(KpFormat format, size_t at, int err, const char *message)
{
        _cleanup_synth_ SynthBuf elf = synth_elf(NULL);
        _cleanup_synth_ SynthBuf s = synth_compress(format, elf.data, elf.size);
        _cleanup_synth_ SynthBuf k = {};

        ASSERT_TRUE(at < s.size);
        s.data[at] ^= 0x55;
        k = synth_bzimage(s.data, s.size);
        fprintf(stderr, "%s: byte %zu of %zu flipped\n", kp_format_to_string(format), at, s.size);
        ASSERT_REFUSED(&k, NULL, err, message);
}

/* Where to flip is fixed by the synthetic kernel, which is deterministic. */
static void test_flipped_bytes(void)
{
        _cleanup_synth_ SynthBuf elf = synth_elf(NULL);
        size_t gz, zs;

        {
                _cleanup_synth_ SynthBuf s = synth_compress(KP_FORMAT_GZIP, elf.data, elf.size);
                gz = s.size;
        }
        {
                _cleanup_synth_ SynthBuf s = synth_compress(KP_FORMAT_ZSTD, elf.data, elf.size);
                zs = s.size;
        }

        /* gzip: its CRC32 (the trailer's first four bytes) and a back-reference in the deflate data. */
        assert_flip_refused(KP_FORMAT_GZIP, gz - 8, -EBADMSG, "gzip: CRC32 mismatch: data is corrupt");
        assert_flip_refused(KP_FORMAT_GZIP, gz / 4, -EBADMSG,
                            "gzip: data is corrupt (invalid distance too far back)");
        assert_flip_refused(KP_FORMAT_BZIP2, 1000, -EBADMSG, "bzip2: data is corrupt");
        assert_flip_refused(KP_FORMAT_LZMA, 1000, -EBADMSG, "lzma: data is corrupt");
        assert_flip_refused(KP_FORMAT_XZ, 1000, -EBADMSG, "xz: data is corrupt");
        assert_flip_refused(KP_FORMAT_LZO, 4000, -EBADMSG, "lzo: block 0 is corrupt");
        assert_flip_refused(KP_FORMAT_LZO, 3952, -EBADMSG,
                            "lzo: block 0: Adler-32 of the decompressed data does not match");
        /* zstd: its checksum (the frame's last four bytes), and the compressed data. */
        assert_flip_refused(KP_FORMAT_ZSTD, zs - 8, -EBADMSG, "zstd: checksum mismatch: data is corrupt");
        assert_flip_refused(KP_FORMAT_ZSTD, zs / 2, -EBADMSG,
                            "zstd: data is corrupt (Data corruption detected)");
        /*
         * LZ4 legacy carries no checksum: only damage that breaks the block
         * structure can be seen (a flipped literal decodes, and the ELF check
         * is then the only guard, as it is for the kernel's own decompressor).
         */
        {
                _cleanup_synth_ SynthBuf s = synth_compress(KP_FORMAT_LZ4, elf.data, elf.size);
                _cleanup_synth_ SynthBuf k = {};
                size_t at = 8, lit;

                /* The first sequence: token, literal length (and its extension bytes), literals, offset. */
                lit = s.data[at] >> 4;
                at++;
                if (lit == 15)
                        while (s.data[at++] == 255)
                                lit += 255;
                if (lit >= 15)
                        lit += s.data[at - 1];
                at += lit;
                /* An offset of 65535 this early reaches back before the start of the output. */
                s.data[at] = 0xff;
                s.data[at + 1] = 0xff;
                k = synth_bzimage(s.data, s.size);
                ASSERT_REFUSED(&k, NULL, -EBADMSG, "lz4: block 0 is corrupt");
        }
}

/* ---- LZ4 legacy ---------------------------------------------------------------------- */

/* Splits a legacy stream (magic, blocks, trailer) into its blocks' offsets. */
static size_t lz4_blocks(const SynthBuf *s, size_t offsets[], size_t max)
{
        size_t n = 0, off = 4;

        while (off + 4 < s->size - 4 && n < max) {
                uint32_t len = (uint32_t) s->data[off] | (uint32_t) s->data[off + 1] << 8 |
                               (uint32_t) s->data[off + 2] << 16 | (uint32_t) s->data[off + 3] << 24;
                offsets[n++] = off;
                off += 4 + len;
        }
        ASSERT_EQ(off, s->size - 4);
        return n;
}

static void test_lz4_legacy(void)
{
        /* 9 MiB of body: two blocks, the first exactly 8 MiB. */
        const SynthElf big = { .body_size = 9 * 1024 * 1024 };
        _cleanup_synth_ SynthBuf elf = synth_elf(&big);
        _cleanup_synth_ SynthBuf s = synth_compress(KP_FORMAT_LZ4, elf.data, elf.size);
        _cleanup_synth_ SynthBuf out = {};
        size_t blocks[4], n;
        SynthBuf p, k;
        KpError e = {};
        char msg[256];

        n = lz4_blocks(&s, blocks, ELEMENTSOF(blocks));
        ASSERT_EQ(n, 2);
        k = synth_bzimage(s.data, s.size);
        ASSERT_OK(unpack_file(&k, NULL, &e, NULL, &out));
        ASSERT_EQ_U64(out.size, elf.size);
        ASSERT_MEMEQ(out.data, elf.data, elf.size);
        synth_buf_free(&out);
        synth_buf_free(&k);

        /* Magics repeated before the second block (concatenated frames) are skipped. */
        p = (SynthBuf) { malloc(s.size + 8), s.size + 8 };
        ASSERT_TRUE(p.data);
        memcpy(p.data, s.data, blocks[1]);
        synth_put_le32(p.data + blocks[1], 0x184c2102);
        synth_put_le32(p.data + blocks[1] + 4, 0x184c2102);
        memcpy(p.data + blocks[1] + 8, s.data + blocks[1], s.size - blocks[1]);
        k = synth_bzimage(p.data, p.size);
        ASSERT_OK(unpack_pipe(&k, NULL, &e, NULL, &out));
        ASSERT_MEMEQ(out.data, elf.data, elf.size);
        synth_buf_free(&out);
        synth_buf_free(&k);

        /* A zero block length ends the stream, as in lib/decompress_unlz4.c ... */
        memcpy(p.data, s.data, s.size - 4);
        synth_put_le32(p.data + s.size - 4, 0);
        synth_put_le32(p.data + s.size, (uint32_t) elf.size);
        p.size = s.size + 4;
        k = synth_bzimage(p.data, p.size);
        ASSERT_OK(unpack_file(&k, NULL, &e, NULL, NULL));
        synth_buf_free(&k);

        /* ... so whatever follows it is trailing garbage. */
        memcpy(p.data, s.data, blocks[1]);
        synth_put_le32(p.data + blocks[1], 0);
        memcpy(p.data + blocks[1] + 4, s.data + blocks[1], s.size - blocks[1]);
        k = synth_bzimage(p.data, s.size + 4);
        (void) snprintf(msg, sizeof(msg), "%zu bytes of trailing garbage after the lz4 stream",
                        s.size - 4 - blocks[1]);
        ASSERT_REFUSED(&k, NULL, -EBADMSG, msg);
        synth_buf_free(&k);

        /* A block longer than any 8 MiB block can compress to. */
        memcpy(p.data, s.data, s.size);
        ASSERT_EQ(LZ4_COMPRESSBOUND(8 << 20), 8421520);
        synth_put_le32(p.data + blocks[1], 8421521);
        k = synth_bzimage(p.data, s.size);
        ASSERT_REFUSED(
                &k, NULL, -EBADMSG,
                "lz4: block 1 claims 8421521 compressed bytes, more than an 8 MiB block can take (8421520)");
        synth_buf_free(&k);
        synth_buf_free(&p);
}

/* ---- zstd and lzma limits ------------------------------------------------------------------ */

static void test_zstd_window(void)
{
        _cleanup_synth_ SynthBuf elf = synth_elf(NULL);
        _cleanup_synth_ SynthBuf s = synth_compress(KP_FORMAT_ZSTD, elf.data, elf.size);
        _cleanup_synth_ SynthBuf k = {};

        /*
         * Frame header: magic, descriptor (no content size, no single
         * segment), then the window descriptor, exponent in the high 5 bits:
         * windowLog = 10 + exponent. 28 asks for 256 MiB.
         */
        ASSERT_EQ(s.data[4] & 0xe0, 0);
        s.data[5] = (uint8_t) ((28 - 10) << 3);
        k = synth_bzimage(s.data, s.size);
        ASSERT_REFUSED(&k, NULL, -EFBIG, "zstd: frame needs a window larger than 128 MiB");
}

static void test_lzma_dictionary(void)
{
        _cleanup_synth_ SynthBuf elf = synth_elf(NULL);
        _cleanup_synth_ SynthBuf s = synth_compress(KP_FORMAT_LZMA, elf.data, elf.size);
        _cleanup_synth_ SynthBuf k = {};

        /* Header: properties byte, then the dictionary size (LE u32). 256 MiB keeps the "5D 00 00" magic. */
        synth_put_le32(s.data + 1, 256u << 20);
        k = synth_bzimage(s.data, s.size);
        ASSERT_REFUSED(&k, NULL, -EFBIG,
                       "lzma: needs 256 MiB of dictionary, more than the limit of 128 MiB");
}

/* ---- lzop ---------------------------------------------------------------------------------- */

/* The header checksum covers bytes 9 .. 9+25 in our writer's header (no name). */
#define LZOP_HDR 9
#define LZOP_HDR_LEN 25

static void lzop_fix_header_sum(SynthBuf *s)
{
        put_be32(s->data + LZOP_HDR + LZOP_HDR_LEN, lzo_adler32(1, s->data + LZOP_HDR, LZOP_HDR_LEN));
}

static void test_lzop_container(void)
{
        _cleanup_synth_ SynthBuf elf = synth_elf(NULL);
        _cleanup_synth_ SynthBuf s = synth_compress(KP_FORMAT_LZO, elf.data, elf.size);
        SynthBuf c, k;
        const size_t flags = LZOP_HDR + 8, method = LZOP_HDR + 6, block = LZOP_HDR + LZOP_HDR_LEN + 4;

        /* The header checksum is checked. */
        c = copy_buf(&s);
        c.data[LZOP_HDR + 12] ^= 1; /* the file mode */
        k = synth_bzimage(c.data, c.size);
        ASSERT_REFUSED(&k, NULL, -EBADMSG,
                       "lzo: lzop header checksum mismatch (0x1fd70177, expected 0x1fca0176)");
        synth_buf_free(&k);
        synth_buf_free(&c);

        /* Things lzop -9 never writes: a filter, another method, unknown flags. */
        c = copy_buf(&s);
        c.data[flags + 2] |= 0x08; /* F_H_FILTER */
        lzop_fix_header_sum(&c);
        k = synth_bzimage(c.data, c.size);
        ASSERT_REFUSED(&k, NULL, -EOPNOTSUPP, "lzo: lzop filters are not supported");
        synth_buf_free(&k);
        synth_buf_free(&c);

        c = copy_buf(&s);
        c.data[method] = 0x80; /* zlib */
        lzop_fix_header_sum(&c);
        k = synth_bzimage(c.data, c.size);
        ASSERT_REFUSED(&k, NULL, -EOPNOTSUPP, "lzo: compression method 128 is not LZO1X");
        synth_buf_free(&k);
        synth_buf_free(&c);

        c = copy_buf(&s);
        c.data[flags + 2] |= 0x80; /* 0x00008000: no lzop defines it */
        lzop_fix_header_sum(&c);
        k = synth_bzimage(c.data, c.size);
        ASSERT_REFUSED(&k, NULL, -EOPNOTSUPP, "lzo: unknown header flags 0x0300800d");
        synth_buf_free(&k);
        synth_buf_free(&c);

        /* A block bigger than the kernel's lzop reader takes. */
        c = copy_buf(&s);
        put_be32(c.data + block, 256 * 1024 + 1);
        k = synth_bzimage(c.data, c.size);
        ASSERT_REFUSED(&k, NULL, -EBADMSG,
                       "lzo: block 0 of 262145 bytes exceeds lzop's block size of 262144");
        synth_buf_free(&k);
        synth_buf_free(&c);

        /* More compressed bytes than decompressed ones. */
        c = copy_buf(&s);
        put_be32(c.data + block + 4, 60000);
        k = synth_bzimage(c.data, c.size);
        ASSERT_REFUSED(&k, NULL, -EBADMSG, "lzo: block 0 claims 60000 compressed bytes for 53248");
        synth_buf_free(&k);
        synth_buf_free(&c);

        /* The block's Adler-32. */
        c = copy_buf(&s);
        c.data[block + 8] ^= 0xff;
        k = synth_bzimage(c.data, c.size);
        ASSERT_REFUSED(&k, NULL, -EBADMSG, "lzo: block 0: Adler-32 of the decompressed data does not match");
        synth_buf_free(&k);
        synth_buf_free(&c);
}

/* Runs lzop(1) with args on data; NULL if lzop is not installed. */
static bool run_lzop(const char *arg, const SynthBuf *data, SynthBuf *ret)
{
        _cleanup_free_ char *in = NULL, *out = NULL, *cmd = NULL;
        KpError e = {};
        char *text;
        size_t size;
        int status;

        if (access("/usr/bin/lzop", X_OK) < 0)
                return false;
        ASSERT_TRUE(asprintf(&in, "%s/lzop-in", test_dir) > 0);
        ASSERT_TRUE(asprintf(&out, "%s/lzop-out", test_dir) > 0);
        ASSERT_OK(kp_write_file_atomic(in, data->data, data->size, 0600, &e));
        ASSERT_TRUE(asprintf(&cmd, "/usr/bin/lzop -9 %s -c '%s' > '%s'", arg, in, out) > 0);
        status = system(cmd);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        ASSERT_OK(kp_read_file(out, 1 << 24, &e, &text, &size));
        ASSERT_OK(unlink(in));
        ASSERT_OK(unlink(out));
        *ret = (SynthBuf) { (uint8_t *) text, size };
        return true;
}

/* What the real lzop writes, with a file name, and with CRC-32 checksums instead of Adler-32. */
static void test_lzop_cli(void)
{
        static const char *const variants[] = { "", "--crc32" };
        _cleanup_synth_ SynthBuf elf = synth_elf(NULL);

        for (size_t i = 0; i < ELEMENTSOF(variants); i++) {
                _cleanup_synth_ SynthBuf s = {}, out = {};
                SynthBuf p, k;
                KpError e = {};

                if (!run_lzop(variants[i], &elf, &s)) {
                        fprintf(stderr, "lzop not installed: skipping the lzop(1) check\n");
                        return;
                }
                p = (SynthBuf) { malloc(s.size + 4), s.size + 4 };
                ASSERT_TRUE(p.data);
                memcpy(p.data, s.data, s.size);
                synth_put_le32(p.data + s.size, (uint32_t) elf.size);
                k = synth_bzimage(p.data, p.size);
                ASSERT_OK(unpack_file(&k, NULL, &e, NULL, &out));
                ASSERT_EQ_U64(out.size, elf.size);
                ASSERT_MEMEQ(out.data, elf.data, elf.size);
                synth_buf_free(&k);

                /* Flip the block's first data checksum, whichever kind it is: it is checked. */
                {
                        /* Header: 9 magic + 16 fixed + name (its length is at 9+24) + 4 sum; then dst, src,
                         * sum. */
                        size_t name = p.data[LZOP_HDR + 24];
                        size_t sum = LZOP_HDR + 25 + name + 4 + 8;

                        p.data[sum] ^= 0xff;
                        k = synth_bzimage(p.data, p.size);
                        ASSERT_REFUSED(
                                &k, NULL, -EBADMSG,
                                i == 0 ? "lzo: block 0: Adler-32 of the decompressed data does not match"
                                       : "lzo: block 0: CRC-32 of the decompressed data does not match");
                        synth_buf_free(&k);
                }
                synth_buf_free(&p);
        }
}

int main(void)
{
        test_dir_setup();
        test_flipped_bytes();
        test_lz4_legacy();
        test_zstd_window();
        test_lzma_dictionary();
        test_lzop_container();
        test_lzop_cli();
        test_dir_cleanup();
        return 0;
}
