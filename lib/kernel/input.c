/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>
#include <unistd.h>

#include "kernel/input.h"
#include "util/error.h"
#include "util/macro.h"

int kp_input_init(KpInput *in, int fd, uint64_t max)
{
        *in = (KpInput) {
                .fd = fd,
                .max = max,
                .window = KP_INPUT_NO_WINDOW,
        };
        in->buf = malloc(KP_INPUT_BUFFER_SIZE);
        if (!in->buf)
                return -ENOMEM;
        return 0;
}

void kp_input_done(KpInput *in)
{
        free(in->buf);
        in->buf = NULL;
}

void kp_input_set_window(KpInput *in, uint64_t end)
{
        in->window = end;
}

uint64_t kp_input_window_left(const KpInput *in)
{
        if (in->window == KP_INPUT_NO_WINDOW)
                return UINT64_MAX;
        return in->window > in->offset ? in->window - in->offset : 0;
}

/* Bytes buffered and inside the window. */
static size_t visible(const KpInput *in)
{
        return (size_t) MIN((uint64_t) (in->end - in->start), kp_input_window_left(in));
}

/*
 * One read(2) into dst of at most size bytes, counted against max. We ask
 * for one byte more than max allows so that a longer input is noticed
 * rather than silently cut.
 */
static ssize_t read_some(KpInput *in, uint8_t *dst, size_t size, KpError *error)
{
        uint64_t allowed = in->max - MIN(in->read, in->max) + 1;
        ssize_t n;

        if (in->eof)
                return 0;
        size = (size_t) MIN((uint64_t) size, allowed);
        for (;;) {
                n = read(in->fd, dst, MIN(size, (size_t) SSIZE_MAX));
                if (n >= 0)
                        break;
                if (errno != EINTR)
                        return kp_error_set_errno(error, negative_errno(), "cannot read the kernel");
        }
        if (n == 0) {
                in->eof = true;
                return 0;
        }
        in->read += (uint64_t) n;
        if (in->read > in->max)
                return kp_error_set(error, -EFBIG,
                                    "kernel is larger than the input limit of %" PRIu64 " bytes", in->max);
        return n;
}

/* Tops the buffer up until want bytes are buffered, or end of file. */
static int fill(KpInput *in, size_t want, KpError *error)
{
        want = MIN(want, (size_t) KP_INPUT_BUFFER_SIZE);
        if (in->end - in->start >= want)
                return 0;
        if (in->start > 0) {
                memmove(in->buf, in->buf + in->start, in->end - in->start);
                in->end -= in->start;
                in->start = 0;
        }
        while (in->end < want) {
                ssize_t n = read_some(in, in->buf + in->end, KP_INPUT_BUFFER_SIZE - in->end, error);
                if (n < 0)
                        return (int) n;
                if (n == 0)
                        break;
                in->end += (size_t) n;
        }
        return 0;
}

ssize_t kp_input_peek(KpInput *in, size_t want, KpError *error, const uint8_t **ret_ptr)
{
        int r;

        want = (size_t) MIN((uint64_t) want, kp_input_window_left(in));
        r = fill(in, want, error);
        if (r < 0)
                return r;
        *ret_ptr = in->buf + in->start;
        return (ssize_t) MIN(visible(in), want);
}

int kp_input_get(KpInput *in, KpError *error, const uint8_t **ret_ptr, size_t *ret_size)
{
        int r;

        if (visible(in) == 0 && kp_input_window_left(in) > 0) {
                r = fill(in, 1, error);
                if (r < 0)
                        return r;
        }
        *ret_ptr = in->buf + in->start;
        *ret_size = visible(in);
        return 0;
}

/* Keeps the last bytes consumed, for a decoder that must quote a trailer it already passed. */
static void remember(KpInput *in, const uint8_t *p, size_t n)
{
        const size_t t = sizeof(in->tail);

        if (n >= t) {
                memcpy(in->tail, p + n - t, t);
                return;
        }
        memmove(in->tail, in->tail + n, t - n);
        memcpy(in->tail + t - n, p, n);
}

void kp_input_consume(KpInput *in, size_t n)
{
        if (n > visible(in))
                n = visible(in); /* a caller bug; never step past the window */
        remember(in, in->buf + in->start, n);
        in->start += n;
        in->offset += n;
        if (in->start == in->end)
                in->start = in->end = 0;
}

int kp_input_read_exact(KpInput *in, void *buf, size_t size, KpError *error, size_t *ret_got)
{
        uint8_t *p = buf;
        size_t got, want;

        want = (size_t) MIN((uint64_t) size, kp_input_window_left(in));
        got = MIN(visible(in), want);
        memcpy(p, in->buf + in->start, got);
        kp_input_consume(in, got);

        while (got < want) {
                ssize_t n = read_some(in, p + got, want - got, error);
                if (n < 0)
                        return (int) n;
                if (n == 0)
                        break;
                remember(in, p + got, (size_t) n);
                got += (size_t) n;
                in->offset += (uint64_t) n;
        }
        if (ret_got)
                *ret_got = got;
        if (got < size)
                return -ENODATA;
        return 0;
}

int kp_input_skip(KpInput *in, uint64_t n, KpError *error)
{
        while (n > 0) {
                const uint8_t *p;
                size_t avail;
                int r;

                r = kp_input_get(in, error, &p, &avail);
                if (r < 0)
                        return r;
                if (avail == 0)
                        return -ENODATA;
                avail = (size_t) MIN((uint64_t) avail, n);
                kp_input_consume(in, avail);
                n -= avail;
        }
        return 0;
}

int kp_input_drain(KpInput *in, KpError *error)
{
        for (;;) {
                const uint8_t *p;
                size_t avail;
                int r;

                r = kp_input_get(in, error, &p, &avail);
                if (r < 0)
                        return r;
                if (avail == 0)
                        return 0;
                kp_input_consume(in, avail);
        }
}
