/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xz and legacy lzma payloads, both through liblzma. The kernel build
 * writes xz with a CRC32 check, the x86 BCJ filter and a 32 MiB dictionary
 * (scripts/xz_wrap.sh), and lzma as `lzma -9` (64 MiB dictionary, unknown
 * size, end marker). One stream each: the kernel reads one, and what
 * follows it in the payload is trailing garbage (no LZMA_CONCATENATED).
 */
#include <lzma.h>

#include "kernel/decompress.h"
#include "util/dlopen.h"
#include "util/error.h"
#include "util/macro.h"

/* Loaded when the first payload in this format is met (util/dlopen.h). */
static void *lzma_dl;
static KP_DLSYM(lzma_stream_decoder);
static KP_DLSYM(lzma_alone_decoder);
static KP_DLSYM(lzma_code);
static KP_DLSYM(lzma_end);
static KP_DLSYM(lzma_memusage);

static int dlopen_lzma(KpError *error)
{
        int r;

        r = kp_dlopen_many(&lzma_dl, KP_SONAME_LZMA, error,
                           KP_DLSYM_ARG(lzma_stream_decoder),
                           KP_DLSYM_ARG(lzma_alone_decoder),
                           KP_DLSYM_ARG(lzma_code),
                           KP_DLSYM_ARG(lzma_end),
                           KP_DLSYM_ARG(lzma_memusage),
                           NULL);
        if (r < 0)
                return kp_error_prefix(error, r, "lzma");
        return 0;
}

/*
 * The dictionary we allow, 128 MiB: twice what `lzma -9` uses and four
 * times xz_wrap.sh's, the same bound as zstd's window. liblzma allocates the
 * whole dictionary up front, and a guest chooses its size, so it is capped;
 * pages are touched only as output is produced. The extra MiB covers the
 * decoders' own state (LZMA_MEMUSAGE_BASE and the probability tables).
 */
#define KP_LZMA_DICT_MAX (UINT64_C(128) * 1024 * 1024)
#define KP_LZMA_MEMLIMIT (KP_LZMA_DICT_MAX + UINT64_C(1024) * 1024)

static int lzma_error(lzma_ret ret, const char *name, lzma_stream *strm, KpError *error)
{
        switch (ret) {
        case LZMA_MEM_ERROR:
                return kp_error_set(error, -ENOMEM, "%s: out of memory", name);
        case LZMA_MEMLIMIT_ERROR:
                return kp_error_set(error, -EFBIG,
                                    "%s: needs %" PRIu64
                                    " MiB of dictionary, more than the limit of %" PRIu64 " MiB",
                                    name, (uint64_t) sym_lzma_memusage(strm) >> 20, KP_LZMA_DICT_MAX >> 20);
        case LZMA_FORMAT_ERROR:
                return kp_error_set(error, -EBADMSG, "%s: not an %s stream", name, name);
        case LZMA_OPTIONS_ERROR:
                return kp_error_set(error, -EOPNOTSUPP, "%s: unsupported options (filter or check)", name);
        case LZMA_DATA_ERROR:
                return kp_error_set(error, -EBADMSG, "%s: data is corrupt", name);
        case LZMA_BUF_ERROR:
                return kp_error_set(error, -EBADMSG, "%s: stream is truncated", name);
        default:
                return kp_error_set(error, -EBADMSG, "%s: decoder failed (liblzma error %d)", name,
                                    (int) ret);
        }
}

static int decode(lzma_stream *strm, const char *name, KpInput *in, KpSink *out, KpError *error)
{
        for (;;) {
                const uint8_t *src;
                uint8_t *dst;
                size_t src_size, dst_size;
                lzma_ret ret;
                int r;

                r = kp_input_get(in, error, &src, &src_size);
                if (r < 0)
                        return r;
                r = kp_sink_reserve(out, 1, error, &dst, &dst_size);
                if (r < 0)
                        return r;

                strm->next_in = src;
                strm->avail_in = src_size;
                strm->next_out = dst;
                strm->avail_out = dst_size;
                /* LZMA_FINISH once the window is exhausted: a stream cut short then fails with
                 * LZMA_BUF_ERROR. */
                ret = sym_lzma_code(strm, src_size == 0 ? LZMA_FINISH : LZMA_RUN);
                kp_input_consume(in, src_size - strm->avail_in);
                r = kp_sink_commit(out, dst_size - strm->avail_out, error);
                if (r < 0)
                        return r;

                if (ret == LZMA_STREAM_END)
                        return 0;
                if (ret != LZMA_OK)
                        return lzma_error(ret, name, strm, error);
        }
}

int kp_decompress_xz(KpInput *in, KpSink *out, KpError *error)
{
        lzma_stream strm = LZMA_STREAM_INIT;
        lzma_ret ret;
        int r;

        r = dlopen_lzma(error);
        if (r < 0)
                return r;

        ret = sym_lzma_stream_decoder(&strm, KP_LZMA_MEMLIMIT, 0);
        if (ret != LZMA_OK)
                return lzma_error(ret, "xz", &strm, error);
        r = decode(&strm, "xz", in, out, error);
        sym_lzma_end(&strm);
        return r;
}

int kp_decompress_lzma(KpInput *in, KpSink *out, KpError *error)
{
        lzma_stream strm = LZMA_STREAM_INIT;
        lzma_ret ret;
        int r;

        r = dlopen_lzma(error);
        if (r < 0)
                return r;

        ret = sym_lzma_alone_decoder(&strm, KP_LZMA_MEMLIMIT);
        if (ret != LZMA_OK)
                return lzma_error(ret, "lzma", &strm, error);
        r = decode(&strm, "lzma", in, out, error);
        sym_lzma_end(&strm);
        return r;
}
