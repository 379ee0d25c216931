/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The whole of unpacking: read a kernel front to back, find and sniff its
 * payload, decompress it into the output with the format's decompressor,
 * check the size trailer, and check that the result is an ELF a Xen PV
 * loader accepts.
 */
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "kernel/bzimage.h"
#include "kernel/decompress.h"
#include "kernel/elf.h"
#include "kernel/format.h"
#include "kernel/input.h"
#include "kernel/sink.h"
#include "kernel/unpack.h"
#include "kernel/unaligned.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/macro.h"

/* The size trailer scripts/Makefile.lib appends (size_append): a little-endian u32. */
#define SIZE_TRAILER 4

typedef int (*DecompressFunc)(KpInput *in, KpSink *out, KpError *error);

static const DecompressFunc decompressors[_KP_FORMAT_MAX] = {
        [KP_FORMAT_GZIP] = kp_decompress_gzip,
        [KP_FORMAT_BZIP2] = kp_decompress_bzip2,
        [KP_FORMAT_LZMA] = kp_decompress_lzma,
        [KP_FORMAT_XZ] = kp_decompress_xz,
        [KP_FORMAT_LZO] = kp_decompress_lzo,
        [KP_FORMAT_LZ4] = kp_decompress_lz4,
        [KP_FORMAT_ZSTD] = kp_decompress_zstd,
};

/* "0x1f8b0800..." for an error message. */
static void hex_bytes(const uint8_t *p, size_t n, char *buf, size_t size)
{
        size_t k = 0;

        for (size_t i = 0; i < n && k + 3 <= size; i++)
                k += (size_t) snprintf(buf + k, size - k, "%02x", p[i]);
        if (n == 0)
                (void) snprintf(buf, size, "(none)");
}

static int payload_past_eof(KpInput *in, const KpBzImageHeader *h, KpError *error)
{
        return kp_error_set(error, -EBADMSG,
                            "payload runs past end of file: %" PRIu64 " bytes at offset %" PRIu64
                            ", file has %" PRIu64,
                            h->payload_length, h->payload_offset, in->read);
}

/* An ELF given as the kernel itself: copied as it is, then checked like any other output. */
static int copy_elf(KpInput *in, KpSink *out, KpError *error)
{
        for (;;) {
                const uint8_t *p;
                size_t n;
                int r;

                r = kp_input_get(in, error, &p, &n);
                if (r < 0)
                        return r;
                if (n == 0)
                        return 0;
                r = kp_sink_write(out, p, n, error);
                if (r < 0)
                        return r;
                kp_input_consume(in, n);
        }
}

static int unpack_payload(KpInput *in, KpSink *out, uint64_t file_size, uint64_t max_input, KpError *error,
                          KpBzImageHeader *ret_header, KpFormat *ret_format)
{
        const uint8_t *p;
        KpBzImageHeader h;
        KpFormat format;
        uint64_t stream_end, payload_end;
        uint8_t trailer[SIZE_TRAILER];
        char hex[2 * KP_FORMAT_MAGIC_MAX + 1];
        size_t got;
        ssize_t n;
        int r;

        n = kp_input_peek(in, KP_BZIMAGE_HEADER_READ, error, &p);
        if (n < 0)
                return (int) n;
        r = kp_bzimage_parse_header(p, (size_t) n, file_size, error, &h);
        if (r < 0)
                return r;
        payload_end = h.payload_offset + h.payload_length; /* checked for overflow by the parser */
        if (payload_end > max_input)
                return kp_error_set(error, -EFBIG,
                                    "payload ends at byte %" PRIu64 ", beyond the input limit of %" PRIu64
                                    " bytes",
                                    payload_end, max_input);

        r = kp_input_skip(in, h.payload_offset, error);
        if (r == -ENODATA)
                return kp_error_set(error, -EBADMSG,
                                    "payload offset %" PRIu64 " is past the end of the file (%" PRIu64
                                    " bytes)",
                                    h.payload_offset, in->read);
        if (r < 0)
                return r;

        kp_input_set_window(in, payload_end);
        n = kp_input_peek(in, KP_FORMAT_MAGIC_MAX, error, &p);
        if (n < 0)
                return (int) n;
        format = kp_format_sniff(p, (size_t) n);
        if (format == KP_FORMAT_UNKNOWN || format == KP_FORMAT_ELF) {
                /* An uncompressed ELF is not something the x86 build writes as a payload. */
                hex_bytes(p, (size_t) n, hex, sizeof(hex));
                return kp_error_set(error, -EPROTONOSUPPORT, "unknown payload format 0x%s", hex);
        }

        stream_end = payload_end;
        if (kp_format_has_size_trailer(format)) {
                if (h.payload_length <= SIZE_TRAILER)
                        return kp_error_set(error, -EBADMSG,
                                            "payload of %" PRIu64
                                            " bytes is too short for %s data and its size trailer",
                                            h.payload_length, kp_format_to_string(format));
                stream_end -= SIZE_TRAILER;
        }

        kp_input_set_window(in, stream_end);
        r = decompressors[format](in, out, error);
        if (r < 0) {
                /* From a pipe we learn only now that the file was shorter than its header said. */
                if (in->eof && in->read < stream_end && r == -EBADMSG)
                        return payload_past_eof(in, &h, error);
                return r;
        }

        if (kp_input_window_left(in) > 0) {
                uint64_t left = kp_input_window_left(in);

                r = kp_input_skip(in, left, error);
                if (r == -ENODATA)
                        return payload_past_eof(in, &h, error);
                if (r < 0)
                        return r;
                return kp_error_set(error, -EBADMSG,
                                    "%" PRIu64 " bytes of trailing garbage after the %s stream", left,
                                    kp_format_to_string(format));
        }

        if (kp_format_has_size_trailer(format)) {
                kp_input_set_window(in, payload_end);
                r = kp_input_read_exact(in, trailer, sizeof(trailer), error, &got);
                if (r == -ENODATA)
                        return payload_past_eof(in, &h, error);
                if (r < 0)
                        return r;
                /* The guest wrote this number: it is compared, never used. */
                if ((uint64_t) kp_le32(trailer) != out->size)
                        return kp_error_set(error, -EBADMSG,
                                            "size trailer says %" PRIu32
                                            " bytes, but the payload decompressed to %" PRIu64 " bytes",
                                            kp_le32(trailer), out->size);
        }

        kp_input_set_window(in, KP_INPUT_NO_WINDOW);
        *ret_header = h;
        *ret_format = format;
        return 0;
}

/* The output must be an ELF; if it is not, say what it is (a payload compressed twice, say). */
static int check_output_is_elf(int fd, uint64_t size, KpFormat format, KpError *error)
{
        uint8_t magic[KP_FORMAT_MAGIC_MAX];
        char hex[2 * KP_FORMAT_MAGIC_MAX + 1];
        ssize_t n;
        KpFormat inner;

        n = pread(fd, magic, (size_t) MIN(size, (uint64_t) sizeof(magic)), 0);
        if (n < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot read the decompressed kernel");
        inner = kp_format_sniff(magic, (size_t) n);
        if (inner == KP_FORMAT_ELF)
                return 0;

        hex_bytes(magic, (size_t) n, hex, sizeof(hex));
        if (inner != KP_FORMAT_UNKNOWN)
                return kp_error_set(
                        error, -EBADMSG,
                        "%s payload decompresses to %s data (0x%s), not an ELF: nested compression",
                        kp_format_to_string(format), kp_format_to_string(inner), hex);
        return kp_error_set(error, -EBADMSG,
                            "%s payload decompresses to %" PRIu64 " bytes starting 0x%s, not an ELF",
                            kp_format_to_string(format), size, hex);
}

int kp_unpack(int in_fd, int out_fd, const KpUnpackParams *params, KpError *error, KpUnpackInfo *ret_info)
{
        KpUnpackParams o = params ? *params : (KpUnpackParams) {};
        KpUnpackInfo result = {};
        KpInput in = {};
        KpSink out = {};
        KpBzImageHeader h = {};
        uint64_t file_size = KP_BZIMAGE_SIZE_UNKNOWN;
        const uint8_t *p;
        struct stat st;
        ssize_t n;
        int r;

        if (in_fd < 0 || out_fd < 0)
                return kp_error_set(error, -EBADF, "invalid file descriptor");
        o.max_input = o.max_input == 0 ? KP_MAX_INPUT_DEFAULT : MIN(o.max_input, KP_MAX_INPUT_DEFAULT);
        o.max_output = o.max_output == 0 ? KP_MAX_OUTPUT_DEFAULT : MIN(o.max_output, KP_MAX_OUTPUT_DEFAULT);

        if (fstat(out_fd, &st) < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot stat the output");
        if (!S_ISREG(st.st_mode))
                return kp_error_set(error, -EINVAL, "output is not a regular file");
        /* Holes are skipped with pwrite(), which O_APPEND would turn into appends. */
        if (fcntl(out_fd, F_GETFL) & O_APPEND)
                return kp_error_set(error, -EINVAL, "output is open with O_APPEND");
        if (st.st_size != 0)
                return kp_error_set(error, -EINVAL, "output file is not empty");

        if (fstat(in_fd, &st) < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot stat the kernel");
        if (S_ISREG(st.st_mode)) {
                file_size = (uint64_t) st.st_size;
                if (file_size > o.max_input)
                        return kp_error_set(error, -EFBIG,
                                            "kernel of %" PRIu64 " bytes exceeds the input limit of %" PRIu64
                                            " bytes",
                                            file_size, o.max_input);
        }

        r = kp_input_init(&in, in_fd, o.max_input);
        if (r < 0)
                return kp_error_set(error, r, "out of memory");
        r = kp_sink_init(&out, out_fd, o.max_output, o.want_output_sha256);
        if (r < 0) {
                kp_input_done(&in);
                return kp_error_set(error, r, "out of memory");
        }

        n = kp_input_peek(&in, KP_FORMAT_MAGIC_MAX, error, &p);
        if (n < 0) {
                r = (int) n;
                goto finish;
        }
        if (kp_format_sniff(p, (size_t) n) == KP_FORMAT_ELF) {
                result.format = KP_FORMAT_ELF;
                r = copy_elf(&in, &out, error);
        } else
                r = unpack_payload(&in, &out, file_size, o.max_input, error, &h, &result.format);
        if (r < 0)
                goto finish;

        /* Read the rest of the bzImage too: it counts against the input limit, and a pipe's writer wants it
         * taken. */
        r = kp_input_drain(&in, error);
        if (r < 0)
                goto finish;
        r = kp_sink_finish(&out, error);
        if (r < 0)
                goto finish;

        r = check_output_is_elf(out_fd, out.size, result.format, error);
        if (r < 0)
                goto finish;
        r = kp_elf_check(out_fd, out.size, !o.skip_xen_check, error, &result.elf);
        if (r < 0)
                goto finish;

        result.boot_protocol = h.version;
        result.input_size = in.offset;
        result.payload_size = h.payload_length;
        result.output_size = out.size;
        if (o.want_output_sha256) {
                kp_sink_sha256(&out, result.output_sha256);
                result.have_output_sha256 = true;
        }
        if (ret_info)
                *ret_info = result;
        r = 0;

finish:
        kp_sink_done(&out);
        kp_input_done(&in);
        return r;
}

/* An unnamed file for a check that keeps no output: in $TMPDIR, else /var/tmp (disk, not RAM). */
static const char *scratch_dir(void)
{
        const char *dir = getenv("TMPDIR");

        return dir && *dir ? dir : "/var/tmp";
}

static int open_scratch(KpError *error)
{
        const char *dir = scratch_dir();
        int fd;

        fd = kp_open_unnamed(dir);
        if (fd < 0)
                return kp_error_set_errno(error, fd, "cannot create a scratch file in %s", dir);
        return fd;
}

/*
 * Before a byte is written: what the payload claims it decompresses to
 * (the last 4 bytes of every payload the x86 build makes: size_append, or
 * gzip's ISIZE) must be within the output limit and fit in dir, where the
 * output goes. Then the output is held to the claim, so a payload that
 * holds more stops there; the size check after the decompression refuses
 * one that holds less (gzip's own, below, is only checked against the
 * free space). A small file that decompresses to up to the output
 * limit (a 10 MB bzImage to 1000 MiB) is accepted when it fits: the
 * limit, not a ratio, bounds what a kernel may take (docs/design.md,
 * "Limits"). Only a regular file has an end to read first: a pipe, an
 * ELF or something that is not a kernel at all goes to kp_unpack() as it
 * is, which says what it is.
 */
static int check_claim(int in_fd, const char *dir, KpUnpackParams *o, KpError *error)
{
        uint8_t head[KP_BZIMAGE_HEADER_READ], trailer[4], magic[KP_FORMAT_MAGIC_MAX];
        KpFormat format;
        bool gzip;
        uint64_t claim, limit = o->max_output == 0 ? KP_MAX_OUTPUT_DEFAULT : MIN(o->max_output, KP_MAX_OUTPUT_DEFAULT);
        KpBzImageHeader h;
        struct statvfs sv;
        struct stat st;
        KpError e = {};
        ssize_t n;

        if (fstat(in_fd, &st) < 0 || !S_ISREG(st.st_mode))
                return 0;
        n = pread(in_fd, head, sizeof(head), 0);
        if (n < 0 || kp_bzimage_parse_header(head, (size_t) n, (uint64_t) st.st_size, &e, &h) < 0 ||
            h.payload_length < sizeof(trailer))
                return 0;
        if (pread(in_fd, trailer, sizeof(trailer), (off_t) (h.payload_offset + h.payload_length - sizeof(trailer))) !=
            (ssize_t) sizeof(trailer))
                return 0;
        claim = kp_le32(trailer);
        if (claim == 0)
                return 0; /* no ELF is empty: the size check after the decompression says so */
        /* A payload in no format the build writes has no claim: kp_unpack() says what it is. */
        if (pread(in_fd, magic, sizeof(magic), (off_t) h.payload_offset) != (ssize_t) sizeof(magic))
                return 0;
        format = kp_format_sniff(magic, sizeof(magic));
        if (format == KP_FORMAT_UNKNOWN || format == KP_FORMAT_ELF)
                return 0;
        /*
         * gzip's claim is the end of its own stream (ISIZE): a cut stream
         * ends in deflate data, whose "claim" is noise. Such a payload is
         * held to the limit only, and the decompression says what is wrong.
         */
        gzip = format == KP_FORMAT_GZIP;
        if (gzip && claim > limit)
                return 0;
        if (claim > limit)
                return kp_error_set(error, -EFBIG,
                                    "its payload claims %" PRIu64 " bytes of ELF, more than the output limit of %" PRIu64
                                    " bytes; nothing written",
                                    claim, limit);
        if (statvfs(dir, &sv) >= 0 && claim > (uint64_t) sv.f_bavail * sv.f_frsize)
                return kp_error_set(error, -ENOSPC,
                                    "its payload claims %" PRIu64 " bytes of ELF, and %s has %" PRIu64
                                    " bytes free; nothing written",
                                    claim, dir, (uint64_t) sv.f_bavail * sv.f_frsize);
        if (!gzip)
                o->max_output = claim;
        return 0;
}

int kp_unpack_path(const char *kernel_path, const char *output_path, const KpUnpackParams *params, KpError *error,
                   KpUnpackInfo *ret_info)
{
        KpUnpackParams o = params ? *params : (KpUnpackParams) {};
        _cleanup_free_ char *output_copy = NULL;
        const char *dir;
        _cleanup_(kp_atomic_file_discard) KpAtomicFile f = KP_ATOMIC_FILE_INIT;
        _cleanup_close_ int in_fd = -EBADF, scratch_fd = -EBADF;
        KpUnpackInfo result;
        int r;

        if (!kernel_path)
                return kp_error_set(error, -EINVAL, "no kernel given");

        in_fd = open(kernel_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (in_fd < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot open %s", kernel_path);

        if (output_path) {
                output_copy = strdup(output_path);
                if (!output_copy)
                        return kp_error_set(error, -ENOMEM, "out of memory");
                dir = dirname(output_copy);
        } else
                dir = scratch_dir();
        r = check_claim(in_fd, dir, &o, error);
        if (r < 0)
                return r;

        if (!output_path) {
                scratch_fd = open_scratch(error);
                if (scratch_fd < 0)
                        return scratch_fd;
                return kp_unpack(in_fd, scratch_fd, &o, error, ret_info);
        }

        r = kp_atomic_file_open(output_path, 0644, error, &f);
        if (r < 0)
                return r;
        r = kp_unpack(in_fd, f.fd, &o, error, &result);
        if (r < 0)
                return r; /* the temporary is discarded: nothing appears at output_path */
        r = kp_atomic_file_commit(&f, true, error);
        if (r < 0)
                return r;
        if (ret_info)
                *ret_info = result;
        return 0;
}
