/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A bounded, strictly sequential reader over a kernel's bytes. The input
 * may be a pipe (libguestfs streams a guest's file to us), so nothing here
 * seeks: skipping means reading and discarding. Two bounds apply:
 *
 *  - max: the whole input may not be longer (the compressed-kernel limit);
 *    reading past it fails with -EFBIG.
 *  - a window end, set by whoever parses a region (the payload, its stream
 *    without the size trailer): reads stop there as if at end of file, so a
 *    decompressor cannot wander into the next region, and what it leaves
 *    unread is measurable trailing garbage.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "kunpack.h"

/*
 * Bytes buffered per read(2). 256 KiB amortises syscalls (a 15 MB payload
 * takes ~60 reads) and matches lzop's block size, the largest unit a
 * decompressor here asks to see at once from the buffer.
 */
#define KP_INPUT_BUFFER_SIZE (256 * 1024)

typedef struct KpInput {
        int fd;
        uint8_t *buf;
        size_t start, end;  /* unconsumed bytes are buf[start..end) */
        uint64_t offset;    /* bytes consumed so far: the file offset of buf[start] */
        uint64_t read;      /* bytes read from fd so far */
        uint64_t max;       /* the input may not be longer than this */
        uint64_t window;    /* reads stop at this offset (UINT64_MAX: no window) */
        bool eof;           /* fd reported end of file */
        uint8_t tail[8];    /* the last 8 bytes consumed (gzip's trailer, when a check fails) */
} KpInput;

#define KP_INPUT_NO_WINDOW UINT64_MAX

int kp_input_init(KpInput *in, int fd, uint64_t max);
void kp_input_done(KpInput *in);

/* Limits reads to end before the given file offset; KP_INPUT_NO_WINDOW lifts the limit. */
void kp_input_set_window(KpInput *in, uint64_t end);
/* Bytes left before the window ends (UINT64_MAX without a window). */
uint64_t kp_input_window_left(const KpInput *in);

/*
 * Makes at least want bytes (at most KP_INPUT_BUFFER_SIZE) visible at
 * *ret_ptr without consuming them, fewer only at end of file or window.
 * Returns the number visible, or a negative errno.
 */
ssize_t kp_input_peek(KpInput *in, size_t want, KpError *error, const uint8_t **ret_ptr);

/*
 * What a streaming decompressor wants: whatever is buffered, refilled when
 * empty. *ret_size is 0 only at end of file or window. Consume what was used
 * with kp_input_consume().
 */
int kp_input_get(KpInput *in, KpError *error, const uint8_t **ret_ptr, size_t *ret_size);
void kp_input_consume(KpInput *in, size_t n);

/*
 * Copies exactly size bytes to buf: the buffered part first, the rest with
 * read(2) straight into buf. Ending early (file or window) gives -ENODATA
 * with *ret_got (may be NULL) set to the bytes copied.
 */
int kp_input_read_exact(KpInput *in, void *buf, size_t size, KpError *error, size_t *ret_got);

/* Reads and discards n bytes; -ENODATA if the input ends first. */
int kp_input_skip(KpInput *in, uint64_t n, KpError *error);

/* Reads and discards everything up to end of file (or the window). */
int kp_input_drain(KpInput *in, KpError *error);
