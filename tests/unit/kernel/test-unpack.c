/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kp_unpack()/kp_unpack_path() end to end on synthetic kernels: every
 * format decodes to the exact ELF, and every refusal of the issue gives its
 * errno and message and leaves no file behind.
 */
#include "kernel/format.h"
#include "unpack-helpers.h"
#include "util/sha256.h"

static const KpFormat formats[] = {
        KP_FORMAT_GZIP, KP_FORMAT_BZIP2, KP_FORMAT_LZMA, KP_FORMAT_XZ,
        KP_FORMAT_LZO,  KP_FORMAT_LZ4,   KP_FORMAT_ZSTD,
};

static uint32_t payload_length(const SynthBuf *k)
{
        const uint8_t *p = k->data + 0x24c;
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/* A bzImage around a payload given as bytes. */
static SynthBuf kernel_with_payload(const uint8_t *payload, size_t size)
{
        return synth_bzimage(payload, size);
}

static void sha256_of(const SynthBuf *b, uint8_t ret[KP_SHA256_SIZE])
{
        _cleanup_(kp_sha256_freep) KpSha256 *s = kp_sha256_new();

        ASSERT_TRUE(s);
        kp_sha256_update(s, b->data, b->size);
        kp_sha256_final(s, ret);
}

static void assert_good(const SynthBuf *kernel, const SynthBuf *elf, KpFormat format, bool pipe)
{
        _cleanup_synth_ SynthBuf out = {};
        KpUnpackParams o = { .want_output_sha256 = true };
        KpUnpackInfo res = {};
        uint8_t sha[KP_SHA256_SIZE];
        KpError e = {};

        if (pipe)
                ASSERT_OK(unpack_pipe(kernel, &o, &e, &res, &out));
        else
                ASSERT_OK(unpack_file(kernel, &o, &e, &res, &out));
        ASSERT_EQ_U64(out.size, elf->size);
        ASSERT_MEMEQ(out.data, elf->data, elf->size);
        sha256_of(elf, sha);
        ASSERT_MEMEQ(res.output_sha256, sha, sizeof(sha));

        ASSERT_EQ(res.format, format);
        ASSERT_EQ_U64(res.input_size, kernel->size);
        ASSERT_EQ_U64(res.output_size, elf->size);
        if (format == KP_FORMAT_ELF) {
                ASSERT_EQ(res.boot_protocol, 0);
                ASSERT_EQ_U64(res.payload_size, 0);
        } else {
                ASSERT_EQ(res.boot_protocol, 0x020f);
                ASSERT_EQ_U64(res.payload_size, payload_length(kernel));
        }
}

static void test_every_format(void)
{
        _cleanup_synth_ SynthBuf elf = synth_elf(NULL);

        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                _cleanup_synth_ SynthBuf k = synth_kernel(formats[i], NULL);

                fprintf(stderr, "format %s: %zu bytes of kernel\n", kp_format_to_string(formats[i]), k.size);
                assert_good(&k, &elf, formats[i], false);
                assert_good(&k, &elf, formats[i], true);
        }
        /* A plain ELF passes through. */
        assert_good(&elf, &elf, KP_FORMAT_ELF, false);
        assert_good(&elf, &elf, KP_FORMAT_ELF, true);
}

static void test_result_notes(void)
{
        _cleanup_synth_ SynthBuf k = synth_kernel(KP_FORMAT_ZSTD, NULL);
        KpUnpackInfo res = {};
        KpError e = {};

        ASSERT_OK(unpack_file(&k, NULL, &e, &res, NULL));
        ASSERT_EQ(res.elf.elf_class, 64);
        ASSERT_EQ(res.elf.machine, 62);
        ASSERT_EQ_U64(res.elf.entry, SYNTH_VIRT_START_64 - UINT64_C(0xffffffff80000000));
        ASSERT_FALSE(res.elf.xen_guest_section);
        ASSERT_EQ(res.elf.n_xen_notes, 11);
        ASSERT_STREQ(res.elf.xen_notes[0].name, "GUEST_OS");
        ASSERT_STREQ(res.elf.xen_notes[0].value, "linux");
        ASSERT_EQ(res.elf.xen_notes[4].type, KP_XEN_ELFNOTE_ENTRY);
        ASSERT_STREQ(res.elf.xen_notes[4].name, "ENTRY");
        ASSERT_STREQ(res.elf.xen_notes[4].value, "0xffffffff81000040");
        ASSERT_STREQ(res.elf.xen_notes[8].name, "LOADER");
        ASSERT_STREQ(res.elf.xen_notes[8].value, "generic");
        ASSERT_STREQ(res.elf.xen_notes[10].name, "SUSPEND_CANCEL");
        ASSERT_STREQ(res.elf.xen_notes[10].value, "0x1");
}

static void test_elf32(void)
{
        SynthElf o32 = { .elf32 = true };
        _cleanup_synth_ SynthBuf elf = synth_elf(&o32);
        _cleanup_synth_ SynthBuf k = synth_kernel(KP_FORMAT_XZ, &o32);
        KpUnpackInfo res = {};
        KpError e = {};

        assert_good(&k, &elf, KP_FORMAT_XZ, false);
        ASSERT_OK(unpack_file(&k, NULL, &e, &res, NULL));
        ASSERT_EQ(res.elf.elf_class, 32);
        ASSERT_EQ(res.elf.machine, 3);

        o32.no_pae = true;
        _cleanup_synth_ SynthBuf np = synth_kernel(KP_FORMAT_LZ4, &o32);
        ASSERT_REFUSED(&np, NULL, -ENOEXEC,
                       "32-bit PV kernel without PAE: Xen runs 32-bit PV guests only in PAE mode");
}

static void test_not_xen(void)
{
        const SynthElf plain = { .notes = SYNTH_NOTES_NONE };
        _cleanup_synth_ SynthBuf elf = synth_elf(&plain);
        _cleanup_synth_ SynthBuf k = synth_kernel(KP_FORMAT_LZ4, &plain);
        KpUnpackParams skip = { .skip_xen_check = true };
        KpUnpackInfo res = {};
        KpError e = {};

        ASSERT_REFUSED(&k, NULL, -ENOEXEC, "not a Xen PV kernel: no Xen ELF notes");
        ASSERT_REFUSED(&elf, NULL, -ENOEXEC, "not a Xen PV kernel: no Xen ELF notes");
        /* --no-xen-check: the same kernel is fine. */
        ASSERT_OK(unpack_file(&k, &skip, &e, &res, NULL));
        ASSERT_EQ(res.elf.n_xen_notes, 0);
}

/* ---- the setup header --------------------------------------------------------- */

static void test_header_refusals(void)
{
        _cleanup_synth_ SynthBuf good = synth_kernel(KP_FORMAT_LZ4, NULL);
        SynthBuf k = { malloc(good.size), good.size };
        char msg[256];

        ASSERT_TRUE(k.data);

        /* Old boot protocol. */
        memcpy(k.data, good.data, good.size);
        synth_put_le16(k.data + 0x206, 0x0206);
        ASSERT_REFUSED(&k, NULL, -EPROTONOSUPPORT, "boot protocol 2.06 too old: no payload fields");

        /* Zero payload length. */
        memcpy(k.data, good.data, good.size);
        synth_put_le32(k.data + 0x24c, 0);
        ASSERT_REFUSED(&k, NULL, -EBADMSG, "payload length is zero");

        /* Payload offset past the end of the file. */
        memcpy(k.data, good.data, good.size);
        synth_put_le32(k.data + 0x248, (uint32_t) good.size);
        (void) snprintf(msg, sizeof(msg), "payload offset %zu is past the end of the file (%zu bytes)",
                        (size_t) 5 * 512 + good.size, good.size);
        ASSERT_REFUSED(&k, NULL, -EBADMSG, msg);

        /* Declared 4 GiB of payload. */
        memcpy(k.data, good.data, good.size);
        synth_put_le32(k.data + 0x24c, UINT32_MAX);
        (void) snprintf(msg, sizeof(msg),
                        "payload runs past end of file: 4294967295 bytes at offset %d, file has %zu",
                        SYNTH_PAYLOAD_START, good.size);
        {
                KpError e = {};
                ASSERT_ERROR(unpack_file(&k, NULL, &e, NULL, NULL), -EBADMSG);
                ASSERT_STREQ(e.message, msg);
                /* From a pipe the size is unknown, so the input limit speaks first. */
                ASSERT_ERROR(unpack_pipe(&k, NULL, &e, NULL, NULL), -EFBIG);
                (void) snprintf(msg, sizeof(msg),
                                "payload ends at byte %" PRIu64
                                ", beyond the input limit of 268435456 bytes",
                                (uint64_t) SYNTH_PAYLOAD_START + UINT32_MAX);
                ASSERT_STREQ(e.message, msg);
        }

        /* Not a kernel at all. */
        memset(k.data, 0x42, k.size);
        ASSERT_REFUSED(&k, NULL, -EMEDIUMTYPE,
                       "not an x86 kernel image: no boot flag 0xAA55 at offset 0x1FE");
        synth_buf_free(&k);

        /* Too short to say anything. */
        k = (SynthBuf) { (uint8_t *) strdup("\x7f" "EL"), 3 };
        ASSERT_REFUSED(&k, NULL, -EMEDIUMTYPE,
                       "not an x86 kernel image: no boot flag 0xAA55 at offset 0x1FE");
        synth_buf_free(&k);
}

/* The file ends inside the payload: every format says so in the same words. */
static void test_truncated_file(void)
{
        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                _cleanup_synth_ SynthBuf k = synth_kernel(formats[i], NULL);
                uint32_t len = payload_length(&k);
                char msg[256];

                k.size = SYNTH_PAYLOAD_START + len / 2;
                (void) snprintf(msg, sizeof(msg),
                                "payload runs past end of file: %" PRIu32
                                " bytes at offset %d, file has %zu",
                                len, SYNTH_PAYLOAD_START, k.size);
                ASSERT_REFUSED(&k, NULL, -EBADMSG, msg);
        }
}

/* The header is consistent but the compressed stream was cut short (and the trailer kept). */
static void test_truncated_stream(void)
{
        static const struct {
                KpFormat format;
                const char *message;
        } cases[] = {
                { KP_FORMAT_GZIP, "gzip: stream is truncated" },
                { KP_FORMAT_BZIP2, "bzip2: stream is truncated" },
                { KP_FORMAT_LZMA, "lzma: stream is truncated" },
                { KP_FORMAT_XZ, "xz: stream is truncated" },
                { KP_FORMAT_LZO, "lzo: stream is truncated at block 1" }, /* its end marker is gone */
                { KP_FORMAT_LZ4, NULL }, /* depends on the cut: below */
                { KP_FORMAT_ZSTD, "zstd: stream is truncated" },
        };
        _cleanup_synth_ SynthBuf elf = synth_elf(NULL);

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_synth_ SynthBuf s = synth_compress(cases[i].format, elf.data, elf.size);
                size_t trailer = cases[i].format == KP_FORMAT_GZIP ? 0 : 4;
                size_t cut = cases[i].format == KP_FORMAT_LZO ? 4 : 16;
                SynthBuf t;
                char msg[256];

                /* Drop cut bytes just before the trailer. */
                memmove(s.data + s.size - trailer - cut, s.data + s.size - trailer, trailer);
                s.size -= cut;
                t = kernel_with_payload(s.data, s.size);
                if (cases[i].format == KP_FORMAT_LZ4) {
                        /* One block: its length says 16 bytes more than the stream has. */
                        uint32_t block = (uint32_t) (s.size - 4 - 4 - 4 + cut);
                        (void) snprintf(msg, sizeof(msg),
                                        "lz4: stream is truncated: block 0 has %zu of %" PRIu32 " bytes",
                                        (size_t) block - cut, block);
                        ASSERT_REFUSED(&t, NULL, -EBADMSG, msg);
                } else
                        ASSERT_REFUSED(&t, NULL, -EBADMSG, cases[i].message);
                synth_buf_free(&t);
        }
}

/* ---- size trailer, trailing garbage, nesting ------------------------------------- */

static void test_size_trailer(void)
{
        _cleanup_synth_ SynthBuf elf = synth_elf(NULL);
        char msg[256];

        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                _cleanup_synth_ SynthBuf s = synth_compress(formats[i], elf.data, elf.size);
                uint8_t *size_field = s.data + s.size - 4; /* gzip: its own ISIZE */
                SynthBuf k;

                synth_put_le32(size_field, (uint32_t) elf.size + 1);
                k = kernel_with_payload(s.data, s.size);
                (void) snprintf(msg, sizeof(msg),
                                "size trailer says %zu bytes, but the payload decompressed to %zu bytes",
                                elf.size + 1, elf.size);
                ASSERT_REFUSED(&k, NULL, -EBADMSG, msg);
                synth_buf_free(&k);

                /*
                 * A trailer claiming 4 GiB: from a file, read first and
                 * refused before a byte is written (but gzip's ISIZE, which
                 * is noise in a cut stream); from a pipe, compared, not
                 * believed.
                 */
                synth_put_le32(size_field, UINT32_MAX);
                k = kernel_with_payload(s.data, s.size);
                (void) snprintf(
                        msg, sizeof(msg),
                        "size trailer says 4294967295 bytes, but the payload decompressed to %zu bytes",
                        elf.size);
                if (formats[i] == KP_FORMAT_GZIP)
                        ASSERT_REFUSED(&k, NULL, -EBADMSG, msg);
                else {
                        KpError e = {};

                        ASSERT_ERROR(unpack_file(&k, NULL, &e, NULL, NULL), -EFBIG);
                        ASSERT_STREQ(e.message, "its payload claims 4294967295 bytes of ELF, more than the output "
                                                "limit of 1073741824 bytes; nothing written");
                        ASSERT_ERROR(unpack_pipe(&k, NULL, &e, NULL, NULL), -EBADMSG);
                        ASSERT_STREQ(e.message, msg);
                }
                synth_buf_free(&k);
        }
}

static void test_trailing_garbage(void)
{
        _cleanup_synth_ SynthBuf elf = synth_elf(NULL);
        char msg[128];

        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                _cleanup_synth_ SynthBuf s = synth_compress_stream(formats[i], elf.data, elf.size);
                SynthBuf p, k;
                bool trailer = formats[i] != KP_FORMAT_GZIP;
                size_t junk = formats[i] == KP_FORMAT_LZ4 ? 3 : 5; /* lz4: fewer bytes than a block length */

                p.size = s.size + junk + (trailer ? 4 : 0);
                p.data = malloc(p.size);
                ASSERT_TRUE(p.data);
                memcpy(p.data, s.data, s.size);
                memset(p.data + s.size, 0, junk);
                if (trailer)
                        synth_put_le32(p.data + s.size + junk, (uint32_t) elf.size);
                k = kernel_with_payload(p.data, p.size);
                (void) snprintf(msg, sizeof(msg), "%zu bytes of trailing garbage after the %s stream", junk,
                                kp_format_to_string(formats[i]));
                ASSERT_REFUSED(&k, NULL, -EBADMSG, msg);
                synth_buf_free(&k);
                synth_buf_free(&p);
        }
}

static void test_nested(void)
{
        _cleanup_synth_ SynthBuf elf = synth_elf(NULL);
        _cleanup_synth_ SynthBuf inner = synth_compress(KP_FORMAT_LZ4, elf.data, elf.size);
        _cleanup_synth_ SynthBuf outer = synth_compress(KP_FORMAT_GZIP, inner.data, inner.size);
        _cleanup_synth_ SynthBuf k = kernel_with_payload(outer.data, outer.size);
        _cleanup_synth_ SynthBuf raw = kernel_with_payload(elf.data, elf.size);
        _cleanup_synth_ SynthBuf zz = synth_compress(KP_FORMAT_ZSTD, outer.data, outer.size);
        _cleanup_synth_ SynthBuf k2 = kernel_with_payload(zz.data, zz.size);

        char msg[256];

        (void) snprintf(msg, sizeof(msg),
                        "gzip payload decompresses to lz4 data (0x%02x%02x%02x%02x%02x%02x), "
                        "not an ELF: nested compression",
                        inner.data[0], inner.data[1], inner.data[2], inner.data[3], inner.data[4], inner.data[5]);
        ASSERT_TRUE(startswith_lit(msg, "gzip payload decompresses to lz4 data (0x02214c18"));
        ASSERT_REFUSED(&k, NULL, -EBADMSG, msg);
        ASSERT_REFUSED(
                &k2, NULL, -EBADMSG,
                "zstd payload decompresses to gzip data (0x1f8b08000000), not an ELF: nested compression");
        /* An uncompressed ELF is no payload the x86 build writes. */
        ASSERT_REFUSED(&raw, NULL, -EPROTONOSUPPORT, "unknown payload format 0x7f454c460201");
}

static void test_unknown_payload(void)
{
        /* An LZ4 frame (not the legacy format the kernel uses). */
        static const uint8_t frame[] = { 0x04, 0x22, 0x4d, 0x18, 0x64, 0x40, 0xa7, 0, 0, 0, 0 };
        _cleanup_synth_ SynthBuf k = kernel_with_payload(frame, sizeof(frame));

        ASSERT_REFUSED(&k, NULL, -EPROTONOSUPPORT, "unknown payload format 0x04224d186440");
}

/* ---- limits --------------------------------------------------------------------------- */

static void test_output_cap(void)
{
        _cleanup_synth_ SynthBuf elf = synth_elf(NULL);
        char msg[128];

        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                _cleanup_synth_ SynthBuf k = synth_kernel(formats[i], NULL);
                KpUnpackParams exact = { .max_output = elf.size }, less = { .max_output = elf.size - 1 };
                KpError e = {};

                ASSERT_OK(unpack_file(&k, &exact, &e, NULL, NULL));
                /* A file's claim is read first (but gzip's, see kp_unpack_path()); a pipe stops at the limit. */
                (void) snprintf(msg, sizeof(msg),
                                "decompressed kernel exceeds the output limit of %zu bytes", elf.size - 1);
                if (formats[i] == KP_FORMAT_GZIP)
                        ASSERT_REFUSED(&k, &less, -EFBIG, msg);
                else {
                        char claim[160];

                        (void) snprintf(claim, sizeof(claim),
                                        "its payload claims %zu bytes of ELF, more than the output limit of %zu "
                                        "bytes; nothing written",
                                        elf.size, elf.size - 1);
                        ASSERT_REFUSED_BOTH(&k, &less, -EFBIG, claim, msg);
                }
        }

        /* The cap never rises above Xen's own 1 GiB. */
        {
                _cleanup_synth_ SynthBuf k = synth_kernel(KP_FORMAT_LZ4, NULL);
                KpUnpackParams huge = { .max_output = UINT64_MAX };
                KpError e = {};
                ASSERT_OK(unpack_file(&k, &huge, &e, NULL, NULL));
        }
}

static void test_input_cap(void)
{
        _cleanup_synth_ SynthBuf k = synth_kernel(KP_FORMAT_ZSTD, NULL);
        KpUnpackParams o = { .max_input = k.size - 1 };
        char msg[128], pmsg[128];

        (void) snprintf(msg, sizeof(msg), "kernel of %zu bytes exceeds the input limit of %zu bytes", k.size,
                        k.size - 1);
        (void) snprintf(pmsg, sizeof(pmsg), "kernel is larger than the input limit of %zu bytes",
                        k.size - 1);
        ASSERT_REFUSED_BOTH(&k, &o, -EFBIG, msg, pmsg);

        o.max_input = k.size;
        {
                KpError e = {};
                ASSERT_OK(unpack_pipe(&k, &o, &e, NULL, NULL));
        }
}

/* ---- the caller's side ------------------------------------------------------------------ */

static void test_bad_output(void)
{
        _cleanup_synth_ SynthBuf k = synth_kernel(KP_FORMAT_LZ4, NULL);
        int p[2], out;
        KpError e = {};

        ASSERT_OK(pipe2(p, O_CLOEXEC));
        ASSERT_ERROR(kp_unpack(p[0], p[1], NULL, &e, NULL), -EINVAL);
        ASSERT_STREQ(e.message, "output is not a regular file");
        out = memfd_create("x", MFD_CLOEXEC);
        ASSERT_EQ(write(out, "x", 1), 1);
        ASSERT_ERROR(kp_unpack(p[0], out, NULL, &e, NULL), -EINVAL);
        ASSERT_STREQ(e.message, "output file is not empty");
        ASSERT_ERROR(kp_unpack(-1, out, NULL, &e, NULL), -EBADF);
        close(out);
        close(p[0]);
        close(p[1]);

        /* Without an output path nothing is kept, and the result is still reported. */
        {
                _cleanup_free_ char *in = NULL;
                KpUnpackInfo res = {};

                ASSERT_TRUE(asprintf(&in, "%s/kernel", test_dir) > 0);
                ASSERT_OK(kp_write_file_atomic(in, k.data, k.size, 0600, &e));
                ASSERT_OK(setenv("TMPDIR", test_dir, 1));
                ASSERT_OK(kp_unpack_path(in, NULL, NULL, &e, &res));
                ASSERT_EQ(res.format, KP_FORMAT_LZ4);
                ASSERT_EQ(test_dir_entries(), 1);
                ASSERT_OK(unlink(in));
                ASSERT_ERROR(kp_unpack_path(in, NULL, NULL, &e, &res), -ENOENT);
                ASSERT_CONTAINS(e.message, "cannot open");
                ASSERT_OK(unsetenv("TMPDIR"));
        }
}

int main(void)
{
        test_dir_setup();
        test_every_format();
        test_result_notes();
        test_elf32();
        test_not_xen();
        test_header_refusals();
        test_truncated_file();
        test_truncated_stream();
        test_size_trailer();
        test_trailing_garbage();
        test_nested();
        test_unknown_payload();
        test_output_cap();
        test_input_cap();
        test_bad_output();
        test_dir_cleanup();
        return 0;
}
