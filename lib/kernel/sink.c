/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "kernel/sink.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/macro.h"

int kp_sink_init(KpSink *s, int fd, uint64_t max, bool want_sha256)
{
        *s = (KpSink) {
                .fd = fd,
                .max = max,
        };
        s->buf = malloc(KP_SINK_BUFFER_SIZE);
        if (!s->buf)
                return -ENOMEM;
        if (want_sha256) {
                s->sha256 = kp_sha256_new();
                if (!s->sha256) {
                        kp_sink_done(s);
                        return -ENOMEM;
                }
        }
        return 0;
}

void kp_sink_done(KpSink *s)
{
        free(s->buf);
        s->buf = NULL;
        s->sha256 = kp_sha256_free(s->sha256);
}

static int check_cap(KpSink *s, size_t n, KpError *error)
{
        uint64_t total;

        if (ADD_OVERFLOW(s->size, (uint64_t) n, &total) || total > s->max)
                return kp_error_set(error, -EFBIG,
                                    "decompressed kernel exceeds the output limit of %" PRIu64 " bytes",
                                    s->max);
        return 0;
}

static int write_out(KpSink *s, const void *data, size_t n, KpError *error)
{
        int r;

        if (s->sha256)
                kp_sha256_update(s->sha256, data, n);
        r = kp_loop_write(s->fd, data, n);
        if (r < 0)
                return kp_error_set_errno(error, r, "cannot write the decompressed kernel");
        return 0;
}

int kp_sink_flush(KpSink *s, KpError *error)
{
        int r;

        if (s->fill == 0)
                return 0;
        r = write_out(s, s->buf, s->fill, error);
        if (r < 0)
                return r;
        s->fill = 0;
        return 0;
}

int kp_sink_reserve(KpSink *s, size_t min, KpError *error, uint8_t **ret_ptr, size_t *ret_size)
{
        int r;

        min = MIN(min, (size_t) KP_SINK_BUFFER_SIZE);
        if (KP_SINK_BUFFER_SIZE - s->fill < MAX(min, (size_t) 1)) {
                r = kp_sink_flush(s, error);
                if (r < 0)
                        return r;
        }
        *ret_ptr = s->buf + s->fill;
        *ret_size = KP_SINK_BUFFER_SIZE - s->fill;
        return 0;
}

int kp_sink_commit(KpSink *s, size_t n, KpError *error)
{
        int r;

        r = check_cap(s, n, error);
        if (r < 0)
                return r;
        s->fill += n;
        s->size += n;
        return 0;
}

int kp_sink_write(KpSink *s, const void *data, size_t n, KpError *error)
{
        int r;

        r = check_cap(s, n, error);
        if (r < 0)
                return r;

        if (n >= KP_SINK_BUFFER_SIZE) {
                /* A whole block: write it as it is rather than copy it through the buffer. */
                r = kp_sink_flush(s, error);
                if (r < 0)
                        return r;
                r = write_out(s, data, n, error);
                if (r < 0)
                        return r;
                s->size += n;
                return 0;
        }

        if (KP_SINK_BUFFER_SIZE - s->fill < n) {
                r = kp_sink_flush(s, error);
                if (r < 0)
                        return r;
        }
        memcpy(s->buf + s->fill, data, n);
        s->fill += n;
        s->size += n;
        return 0;
}

void kp_sink_sha256(KpSink *s, uint8_t ret[KP_SHA256_SIZE])
{
        if (s->sha256)
                kp_sha256_final(s->sha256, ret);
}
