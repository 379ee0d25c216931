/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Where a decompressor's output goes: a file written front to back in large
 * writes, counted against the output cap (a guest's payload may claim or
 * produce anything), optionally hashed as it passes. Decompressors write
 * straight into the sink's buffer (kp_sink_reserve() + kp_sink_commit()), or
 * hand over whole blocks (kp_sink_write()), which go to the file without a
 * copy when they are large.
 *
 * The file is written sparse: a page of zeros is left a hole rather than
 * written, as lz4(1) and zstd(1) do. Half of an x86-64 vmlinux is such
 * pages (33.8 of Debian 12's 65.9 MB: the padding that aligns its
 * sections), so the page cache, tmpfs and the kernel cache hold half as
 * much, and readers see the same bytes.
 */

#include <stdbool.h>
#include <stdint.h>

#include "kunpack.h"
#include "util/sha256.h"

/*
 * 1 MiB per write(2): a 66 MB kernel takes ~63 writes, and every
 * decompressor's natural unit (zstd's 128 KiB blocks, lzop's 256 KiB)
 * fits several times over.
 */
#define KP_SINK_BUFFER_SIZE (1024 * 1024)
/* The unit of holes: a page, what a filesystem can leave unallocated. */
#define KP_SINK_HOLE_SIZE 4096

typedef struct KpSink {
        int fd;
        uint8_t *buf;
        size_t fill;       /* bytes in buf not yet written */
        uint64_t size;     /* bytes produced so far, buffered ones included */
        uint64_t written;  /* bytes handed to the file, holes included */
        uint64_t file_end; /* end of the last bytes actually written: the file's size so far */
        uint64_t max;      /* the output cap */
        KpSha256 *sha256;  /* NULL unless asked for */
} KpSink;

int kp_sink_init(KpSink *s, int fd, uint64_t max, bool want_sha256);
void kp_sink_done(KpSink *s);

/*
 * Free contiguous space in the buffer, at least min bytes (at most
 * KP_SINK_BUFFER_SIZE), writing buffered bytes out first if needed.
 */
int kp_sink_reserve(KpSink *s, size_t min, KpError *error, uint8_t **ret_ptr, size_t *ret_size);

/* Accounts for n bytes written into the space kp_sink_reserve() gave. -EFBIG past the cap. */
int kp_sink_commit(KpSink *s, size_t n, KpError *error);

/* Appends data; -EFBIG past the cap (then nothing of data is written). */
int kp_sink_write(KpSink *s, const void *data, size_t n, KpError *error);

/* Writes out what is buffered. */
int kp_sink_flush(KpSink *s, KpError *error);

/* After the last byte: writes out what is buffered and gives the file its full size, a final hole included. */
int kp_sink_finish(KpSink *s, KpError *error);

/* After the last flush: the sha256 of everything written (only if asked for at init). */
void kp_sink_sha256(KpSink *s, uint8_t ret[KP_SHA256_SIZE]);
