/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <unistd.h>

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

static bool is_zero(const uint8_t *p, size_t n)
{
        /* Each byte equals the next and the first is 0: libc's memcmp does the scanning. */
        return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

static int write_run(KpSink *s, const uint8_t *p, size_t n, uint64_t offset, KpError *error)
{
        int r;

        r = kp_loop_pwrite(s->fd, p, n, offset);
        if (r < 0)
                return kp_error_set_errno(error, r, "cannot write the decompressed kernel");
        s->file_end = offset + n;
        return 0;
}

/*
 * Writes data at the end of what was handed to the file so far, leaving
 * each page-aligned page of zeros a hole: runs of other pages go out in
 * one pwrite() each.
 */
static int write_out(KpSink *s, const void *data, size_t n, KpError *error)
{
        const uint8_t *p = data;
        size_t i = 0, run = 0;
        bool in_run = false;
        int r;

        if (s->sha256)
                kp_sha256_update(s->sha256, data, n);

        while (i < n) {
                /* Up to the next page boundary of the file, so holes fall on whole pages. */
                size_t piece = KP_SINK_HOLE_SIZE - (size_t) ((s->written + i) % KP_SINK_HOLE_SIZE);

                piece = MIN(piece, n - i);
                if (!is_zero(p + i, piece)) {
                        if (!in_run) {
                                run = i;
                                in_run = true;
                        }
                } else if (in_run) {
                        r = write_run(s, p + run, i - run, s->written + run, error);
                        if (r < 0)
                                return r;
                        in_run = false;
                }
                i += piece;
        }
        if (in_run) {
                r = write_run(s, p + run, n - run, s->written + run, error);
                if (r < 0)
                        return r;
        }
        s->written += n;
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

int kp_sink_finish(KpSink *s, KpError *error)
{
        int r;

        r = kp_sink_flush(s, error);
        if (r < 0)
                return r;
        /* The output ends in zeros: the file gets its size, the rest stays a hole. */
        if (s->file_end < s->written) {
                if (s->written > (uint64_t) INT64_MAX)
                        return kp_error_set(error, -EFBIG, "decompressed kernel is too large for a file");
                if (ftruncate(s->fd, (off_t) s->written) < 0)
                        return kp_error_set_errno(error, negative_errno(), "cannot write the decompressed kernel");
                s->file_end = s->written;
        }
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
