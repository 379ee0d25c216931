/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * zstd payloads. The kernel build runs `zstd -22 --ultra` on a pipe, so the
 * one frame it writes carries no content size and asks for a 128 MiB window
 * (windowLog 27). We stream it: the decoder keeps that window itself and
 * touches only as much of it as the kernel is long (66 MB for Debian's), so
 * memory follows the format's own need, as with zstd(1).
 *
 * Exactly one frame: the kernel's decompressor (lib/decompress_unzstd.c)
 * reads one, and anything after it in the payload is trailing garbage.
 */
#include <zstd.h>
#include <zstd_errors.h>

#include "kernel/decompress.h"
#include "util/dlopen.h"
#include "util/error.h"
#include "util/macro.h"

/* Loaded when the first payload in this format is met (util/dlopen.h). */
static void *zstd_dl;
static KP_DLSYM(ZSTD_createDCtx);
static KP_DLSYM(ZSTD_freeDCtx);
static KP_DLSYM(ZSTD_DCtx_setParameter);
static KP_DLSYM(ZSTD_decompressStream);
static KP_DLSYM(ZSTD_DStreamOutSize);
static KP_DLSYM(ZSTD_isError);
static KP_DLSYM(ZSTD_getErrorCode);
static KP_DLSYM(ZSTD_getErrorName);

static int dlopen_zstd(KpError *error)
{
        int r;

        r = kp_dlopen_many(&zstd_dl, KP_SONAME_ZSTD, error,
                           KP_DLSYM_ARG(ZSTD_createDCtx),
                           KP_DLSYM_ARG(ZSTD_freeDCtx),
                           KP_DLSYM_ARG(ZSTD_DCtx_setParameter),
                           KP_DLSYM_ARG(ZSTD_decompressStream),
                           KP_DLSYM_ARG(ZSTD_DStreamOutSize),
                           KP_DLSYM_ARG(ZSTD_isError),
                           KP_DLSYM_ARG(ZSTD_getErrorCode),
                           KP_DLSYM_ARG(ZSTD_getErrorName),
                           NULL);
        if (r < 0)
                return kp_error_prefix(error, r, "zstd");
        return 0;
}

/*
 * The largest window we allow: 2^27 = 128 MiB, what `zstd -22 --ultra`
 * asks for, and also zstd(1)'s own default limit (--memory=128MB). A larger
 * window is refused rather than allocated: a guest chooses it.
 */
#define KP_ZSTD_WINDOW_LOG_MAX 27

static ZSTD_DCtx *dctx_free(ZSTD_DCtx *d)
{
        /* NULL when the library could not be loaded: nothing to free. */
        if (d)
                (void) sym_ZSTD_freeDCtx(d);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(ZSTD_DCtx *, dctx_free);

static int zstd_error(size_t ret, KpError *error)
{
        switch (sym_ZSTD_getErrorCode(ret)) {
        case ZSTD_error_frameParameter_windowTooLarge:
                return kp_error_set(error, -EFBIG, "zstd: frame needs a window larger than %u MiB",
                                    1u << (KP_ZSTD_WINDOW_LOG_MAX - 20));
        case ZSTD_error_memory_allocation:
                return kp_error_set(error, -ENOMEM, "zstd: out of memory");
        case ZSTD_error_checksum_wrong:
                return kp_error_set(error, -EBADMSG, "zstd: checksum mismatch: data is corrupt");
        case ZSTD_error_frameParameter_unsupported:
                return kp_error_set(error, -EOPNOTSUPP, "zstd: unsupported frame parameter");
        case ZSTD_error_dictionary_wrong:
                return kp_error_set(error, -EOPNOTSUPP, "zstd: frame needs a dictionary");
        default:
                return kp_error_set(error, -EBADMSG, "zstd: data is corrupt (%s)", sym_ZSTD_getErrorName(ret));
        }
}

int kp_decompress_zstd(KpInput *in, KpSink *out, KpError *error)
{
        _cleanup_(dctx_freep) ZSTD_DCtx *dctx = NULL;
        size_t ret;
        int r;

        r = dlopen_zstd(error);
        if (r < 0)
                return r;

        dctx = sym_ZSTD_createDCtx();
        if (!dctx)
                return kp_error_set(error, -ENOMEM, "zstd: out of memory");
        ret = sym_ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, KP_ZSTD_WINDOW_LOG_MAX);
        if (sym_ZSTD_isError(ret))
                return zstd_error(ret, error);

        for (;;) {
                const uint8_t *src;
                uint8_t *dst;
                size_t src_size, dst_size;
                ZSTD_inBuffer ib;
                ZSTD_outBuffer ob;

                r = kp_input_get(in, error, &src, &src_size);
                if (r < 0)
                        return r;
                r = kp_sink_reserve(out, sym_ZSTD_DStreamOutSize(), error, &dst, &dst_size);
                if (r < 0)
                        return r;

                ib = (ZSTD_inBuffer) { .src = src, .size = src_size };
                ob = (ZSTD_outBuffer) { .dst = dst, .size = dst_size };
                ret = sym_ZSTD_decompressStream(dctx, &ob, &ib);
                kp_input_consume(in, ib.pos);
                if (sym_ZSTD_isError(ret))
                        return zstd_error(ret, error);
                r = kp_sink_commit(out, ob.pos, error);
                if (r < 0)
                        return r;

                /* 0: the frame is complete and everything it decoded has been handed out. */
                if (ret == 0)
                        return 0;
                if (src_size == 0 && ob.pos == 0)
                        return kp_error_set(error, -EBADMSG, "zstd: stream is truncated");
        }
}
