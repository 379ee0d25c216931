/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sys/stat.h>

#include "kernel/sink.h"
#include "tests.h"
#include "util/fileio.h"

#define PAGE KP_SINK_HOLE_SIZE

/* A file in $TMPDIR or /var/tmp (a filesystem with holes, unlike some /tmp). */
static int scratch(void)
{
        const char *dir = getenv("TMPDIR");
        int fd = kp_open_unnamed(dir && *dir ? dir : "/var/tmp");

        ASSERT_TRUE(fd >= 0);
        return fd;
}

/*
 * 64 pages: zeros in pages 0-3, 20-39 and 60-63 (the end), data elsewhere,
 * one byte of data alone in an otherwise zero page (30), handed over in
 * pieces that end anywhere but at page boundaries.
 */
static void test_holes(void)
{
        const size_t size = 64 * PAGE;
        _cleanup_free_ uint8_t *want = calloc(1, size), *got = malloc(size);
        _cleanup_close_ int fd = scratch();
        KpError error = {};
        KpSink s;
        struct stat st;
        size_t off = 0, step = 1;

        ASSERT_TRUE(want && got);
        for (size_t i = 4 * PAGE; i < 20 * PAGE; i++)
                want[i] = (uint8_t) (i * 7 + 1);
        for (size_t i = 40 * PAGE; i < 60 * PAGE; i++)
                want[i] = (uint8_t) (i * 13 + 5);
        want[30 * PAGE + 100] = 0xAA;

        ASSERT_OK(kp_sink_init(&s, fd, UINT64_MAX, false));
        while (off < size) {
                /* 1, 3001, 6001, ... bytes: pieces of every alignment, through both entry points. */
                size_t n = MIN(step, size - off);
                uint8_t *p;
                size_t room;

                if (step % 2) {
                        ASSERT_OK(kp_sink_write(&s, want + off, n, &error));
                } else {
                        ASSERT_OK(kp_sink_reserve(&s, n, &error, &p, &room));
                        n = MIN(n, room);
                        memcpy(p, want + off, n);
                        ASSERT_OK(kp_sink_commit(&s, n, &error));
                }
                off += n;
                step += 3000;
        }
        ASSERT_OK(kp_sink_finish(&s, &error));
        kp_sink_done(&s);

        ASSERT_OK(fstat(fd, &st));
        ASSERT_EQ_U64((uint64_t) st.st_size, size);
        ASSERT_EQ(pread(fd, got, size, 0), (ssize_t) size);
        ASSERT_MEMEQ(got, want, size);
        /* 37 pages have data (4-19, 30 with its byte, 40-59); the other 27 are holes. */
        ASSERT_TRUE((uint64_t) st.st_blocks * 512 <= 40 * PAGE);
        ASSERT_TRUE((uint64_t) st.st_blocks * 512 >= 37 * PAGE);
}

/* Nothing but zeros: no data at all, the size set at the end. */
static void test_all_zero(void)
{
        _cleanup_free_ uint8_t *zeros = calloc(1, 3 * PAGE + 17);
        _cleanup_close_ int fd = scratch();
        KpError error = {};
        KpSink s;
        struct stat st;

        ASSERT_TRUE(zeros);
        ASSERT_OK(kp_sink_init(&s, fd, UINT64_MAX, false));
        ASSERT_OK(kp_sink_write(&s, zeros, 3 * PAGE + 17, &error));
        ASSERT_OK(kp_sink_finish(&s, &error));
        kp_sink_done(&s);
        ASSERT_OK(fstat(fd, &st));
        ASSERT_EQ_U64((uint64_t) st.st_size, 3 * PAGE + 17);
        ASSERT_EQ_U64((uint64_t) st.st_blocks, 0);
}

int main(void)
{
        test_holes();
        test_all_zero();
        return 0;
}
