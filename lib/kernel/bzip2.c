/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bzip2 payloads through libbz2 (`bzip2 -9`: 900 kB blocks, ~3.7 MB of
 * decoder state in the fast mode). One stream, as the kernel's bunzip2
 * reads; a second concatenated stream is trailing garbage.
 */
#include <bzlib.h>

#include "kernel/decompress.h"
#include "util/dlopen.h"
#include "util/error.h"
#include "util/macro.h"

/* Loaded when the first payload in this format is met (util/dlopen.h). */
static void *bz2_dl;
static KP_DLSYM(BZ2_bzDecompressInit);
static KP_DLSYM(BZ2_bzDecompress);
static KP_DLSYM(BZ2_bzDecompressEnd);

static int dlopen_bz2(KpError *error)
{
        int r;

        r = kp_dlopen_many(&bz2_dl, KP_SONAME_BZ2, error,
                           KP_DLSYM_ARG(BZ2_bzDecompressInit),
                           KP_DLSYM_ARG(BZ2_bzDecompress),
                           KP_DLSYM_ARG(BZ2_bzDecompressEnd),
                           NULL);
        if (r < 0)
                return kp_error_prefix(error, r, "bzip2");
        return 0;
}

int kp_decompress_bzip2(KpInput *in, KpSink *out, KpError *error)
{
        bz_stream bz = {};
        int ret, r;

        r = dlopen_bz2(error);
        if (r < 0)
                return r;

        /* verbosity 0, small 0: the fast decoder, whose memory is bounded by the 900 kB block size. */
        ret = sym_BZ2_bzDecompressInit(&bz, 0, 0);
        if (ret != BZ_OK)
                return kp_error_set(error, ret == BZ_MEM_ERROR ? -ENOMEM : -EINVAL,
                                    "bzip2: cannot set up libbz2");

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

                bz.next_in = (char *) src;
                bz.avail_in = (unsigned) src_size;
                bz.next_out = (char *) dst;
                bz.avail_out = (unsigned) dst_size;
                ret = sym_BZ2_bzDecompress(&bz);
                kp_input_consume(in, src_size - bz.avail_in);
                r = kp_sink_commit(out, dst_size - bz.avail_out, error);
                if (r < 0)
                        break;

                if (ret == BZ_STREAM_END) {
                        r = 0;
                        break;
                }
                if (ret == BZ_DATA_ERROR_MAGIC) {
                        r = kp_error_set(error, -EBADMSG, "bzip2: not a bzip2 stream");
                        break;
                }
                if (ret == BZ_DATA_ERROR) {
                        r = kp_error_set(error, -EBADMSG, "bzip2: data is corrupt");
                        break;
                }
                if (ret == BZ_MEM_ERROR) {
                        r = kp_error_set(error, -ENOMEM, "bzip2: out of memory");
                        break;
                }
                if (ret != BZ_OK) {
                        r = kp_error_set(error, -EBADMSG, "bzip2: decoder failed (libbz2 error %d)", ret);
                        break;
                }
                if (src_size == 0 && dst_size == bz.avail_out) {
                        r = kp_error_set(error, -EBADMSG, "bzip2: stream is truncated");
                        break;
                }
        }

        (void) sym_BZ2_bzDecompressEnd(&bz);
        return r;
}
