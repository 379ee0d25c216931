/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gzip payloads through zlib's streaming inflate. The kernel build writes
 * one member with `gzip -n -9` and appends nothing: the member's own
 * trailer (CRC32, then ISIZE, the size modulo 2^32) is the size the boot
 * code reads. zlib checks both; we name the sizes when ISIZE is wrong.
 *
 * Why zlib and not libdeflate, which decodes faster per byte: libdeflate
 * has no streaming interface, so it would need the whole payload and the
 * whole 66 MB output in memory at once, where inflate needs its 32 KiB
 * window; and zlib already decodes faster than gzip(1), our reference
 * (figures in README.md, "Benchmarks").
 */
#include <zlib.h>

#include "kernel/decompress.h"
#include "kernel/unaligned.h"
#include "util/dlopen.h"
#include "util/error.h"
#include "util/macro.h"

/* Loaded when the first payload in this format is met (util/dlopen.h). */
static void *zlib_dl;
static KP_DLSYM(inflateInit2_);
static KP_DLSYM(inflate);
static KP_DLSYM(inflateEnd);
static KP_DLSYM(zError);

static int dlopen_zlib(KpError *error)
{
        int r;

        r = kp_dlopen_many(&zlib_dl, KP_SONAME_ZLIB, error,
                           KP_DLSYM_ARG(inflateInit2_),
                           KP_DLSYM_ARG(inflate),
                           KP_DLSYM_ARG(inflateEnd),
                           KP_DLSYM_ARG(zError),
                           NULL);
        if (r < 0)
                return kp_error_prefix(error, r, "gzip");
        return 0;
}

/* windowBits for inflateInit2(): a 32 KiB window (15), gzip wrapper only (+16). */
#define GZIP_WINDOW_BITS (15 + 16)

static int gzip_error(int ret, z_stream *z, KpInput *in, KpSink *out, KpError *error)
{
        if (ret == Z_MEM_ERROR)
                return kp_error_set(error, -ENOMEM, "gzip: out of memory");
        if (ret == Z_DATA_ERROR && z->msg && streq(z->msg, "incorrect length check"))
                /* zlib has just consumed ISIZE, the member's last four bytes. */
                return kp_error_set(error, -EBADMSG,
                                    "size trailer says %" PRIu32
                                    " bytes, but the payload decompressed to %" PRIu64 " bytes",
                                    kp_le32(in->tail + sizeof(in->tail) - 4), out->size);
        if (ret == Z_DATA_ERROR && z->msg && streq(z->msg, "incorrect data check"))
                return kp_error_set(error, -EBADMSG, "gzip: CRC32 mismatch: data is corrupt");
        if (ret == Z_DATA_ERROR && z->msg && streq(z->msg, "incorrect header check"))
                return kp_error_set(error, -EBADMSG, "gzip: not a gzip stream");
        return kp_error_set(error, -EBADMSG, "gzip: data is corrupt (%s)", z->msg ? z->msg : sym_zError(ret));
}

int kp_decompress_gzip(KpInput *in, KpSink *out, KpError *error)
{
        z_stream z = {};
        int ret, r;

        r = dlopen_zlib(error);
        if (r < 0)
                return r;

        ret = sym_inflateInit2_(&z, GZIP_WINDOW_BITS, ZLIB_VERSION, (int) sizeof(z));
        if (ret != Z_OK)
                return kp_error_set(error, ret == Z_MEM_ERROR ? -ENOMEM : -EINVAL,
                                    "gzip: cannot set up zlib");

        for (;;) {
                const uint8_t *src;
                uint8_t *dst;
                size_t src_size, dst_size;

                r = kp_input_get(in, error, &src, &src_size);
                if (r < 0)
                        break;
                r = kp_sink_reserve(out, 1, error, &dst, &dst_size);
                if (r < 0)
                        break;

                /* Both sizes are bounded by the buffers (256 KiB and 1 MiB), far below uInt's range. */
                z.next_in = (Bytef *) src;
                z.avail_in = (uInt) src_size;
                z.next_out = dst;
                z.avail_out = (uInt) dst_size;
                ret = sym_inflate(&z, Z_NO_FLUSH);
                kp_input_consume(in, src_size - z.avail_in);
                r = kp_sink_commit(out, dst_size - z.avail_out, error);
                if (r < 0)
                        break;

                if (ret == Z_STREAM_END) {
                        r = 0;
                        break;
                }
                if (ret == Z_BUF_ERROR && src_size == 0) {
                        r = kp_error_set(error, -EBADMSG, "gzip: stream is truncated");
                        break;
                }
                if (ret != Z_OK && ret != Z_BUF_ERROR) {
                        r = gzip_error(ret, &z, in, out, error);
                        break;
                }
        }

        (void) sym_inflateEnd(&z);
        return r;
}
