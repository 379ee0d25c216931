/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The benchmark's measuring helper (tests/bench/bench.py runs it):
 *
 *   bench-unpack KERNEL OUTPUT
 *       kp_unpack() from KERNEL into OUTPUT created as a plain file, with
 *       no fsync: measured the way the reference CLIs write (`lz4 -dc > out`).
 *   bench-unpack --libdeflate GZIP OUTPUT
 *       the alternative we measured for gzip: libdeflate, which has no
 *       streaming interface, so the whole payload and the whole output sit
 *       in memory.
 */
#include <fcntl.h>
#include <stdio.h>

#include "kernel/unpack.h"
#include "kunpack.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/macro.h"

#if HAVE_LIBDEFLATE
#include <libdeflate.h>

static int run_libdeflate(const char *in_path, const char *out_path)
{
        _cleanup_free_ char *in = NULL;
        _cleanup_free_ uint8_t *out = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct libdeflate_decompressor *d;
        size_t in_size, out_size, actual;
        KpError e = {};
        int r;

        r = kp_read_file(in_path, 256u << 20, &e, &in, &in_size);
        if (r < 0 || in_size < 18) {
                fprintf(stderr, "%s: %s\n", in_path, kp_error_message(&e, r < 0 ? r : -EBADMSG));
                return 1;
        }
        /* ISIZE, the gzip trailer's last field: trusted here only because this is a benchmark. */
        out_size = (size_t) ((uint8_t) in[in_size - 4] | (uint8_t) in[in_size - 3] << 8 |
                             (uint8_t) in[in_size - 2] << 16 | (uint32_t) (uint8_t) in[in_size - 1] << 24);
        out = malloc(out_size);
        d = libdeflate_alloc_decompressor();
        if (!out || !d)
                return 1;
        if (libdeflate_gzip_decompress(d, in, in_size, out, out_size, &actual) != LIBDEFLATE_SUCCESS ||
            actual != out_size) {
                fprintf(stderr, "%s: libdeflate failed\n", in_path);
                return 1;
        }
        libdeflate_free_decompressor(d);
        fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || kp_loop_write(fd, out, out_size) < 0) {
                perror(out_path);
                return 1;
        }
        return 0;
}
#endif

int main(int argc, char **argv)
{
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        KpUnpackInfo result;
        KpError e = {};
        int r;

        if (argc == 4 && streq(argv[1], "--libdeflate")) {
#if HAVE_LIBDEFLATE
                return run_libdeflate(argv[2], argv[3]);
#else
                fprintf(stderr, "built without libdeflate\n");
                return 77;
#endif
        }
        if (argc != 3) {
                fprintf(stderr, "usage: %s KERNEL OUTPUT | --libdeflate GZIP OUTPUT\n", argv[0]);
                return 2;
        }

        in = open(argv[1], O_RDONLY | O_CLOEXEC);
        if (in < 0) {
                perror(argv[1]);
                return 1;
        }
        out = open(argv[2], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (out < 0) {
                perror(argv[2]);
                return 1;
        }
        r = kp_unpack(in, out, NULL, &e, &result);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", argv[1], kp_error_message(&e, r));
                return 1;
        }
        return 0;
}
