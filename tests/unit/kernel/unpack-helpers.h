/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Running kp_unpack_path() and kp_unpack() on synthetic kernels, the
 * way callers do: from a file into a named output (which must not exist
 * after a refusal, nor any temporary beside it), and from a pipe into an
 * unnamed file.
 */

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kernel/unpack.h"
#include "synth.h"
#include "tests.h"
#include "util/error.h"
#include "util/fileio.h"

static char test_dir[] = "/tmp/kp-test-unpack-XXXXXX";

static inline void test_dir_setup(void)
{
        ASSERT_TRUE(mkdtemp(test_dir));
        /* A reader that stops early must not kill the test with SIGPIPE. */
        signal(SIGPIPE, SIG_IGN);
}

static inline size_t test_dir_entries(void)
{
        DIR *d = opendir(test_dir);
        struct dirent *de;
        size_t n = 0;

        ASSERT_TRUE(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

static inline void test_dir_cleanup(void)
{
        ASSERT_EQ(test_dir_entries(), 0);
        ASSERT_OK(rmdir(test_dir));
}

/* kp_unpack_path() from test_dir/kernel to test_dir/out; a refusal must leave nothing behind. */
static inline int unpack_file(const SynthBuf *kernel, const KpUnpackParams *o, KpError *error,
                              KpUnpackInfo *result, SynthBuf *ret_output)
{
        _cleanup_free_ char *in = NULL, *out = NULL;
        KpError e = {};
        int r;

        ASSERT_TRUE(asprintf(&in, "%s/kernel", test_dir) > 0);
        ASSERT_TRUE(asprintf(&out, "%s/out", test_dir) > 0);
        ASSERT_OK(kp_write_file_atomic(in, kernel->data, kernel->size, 0600, &e));

        kp_error_clear(error);
        r = kp_unpack_path(in, out, o, error, result);
        if (r >= 0) {
                char *data;
                size_t size;

                ASSERT_OK(kp_read_file(out, SIZE_MAX - 1, &e, &data, &size));
                if (ret_output) {
                        ret_output->data = (uint8_t *) data;
                        ret_output->size = size;
                } else
                        free(data);
                ASSERT_OK(unlink(out));
        } else {
                ASSERT_EQ(error->code, r);
                /* No output, no temporary: only the kernel we wrote. */
                ASSERT_EQ(test_dir_entries(), 1);
        }
        ASSERT_OK(unlink(in));
        return r;
}

/* kp_unpack() reading kernel from a pipe (fed by a child) into a memfd. */
static inline int unpack_pipe(const SynthBuf *kernel, const KpUnpackParams *o, KpError *error,
                              KpUnpackInfo *result, SynthBuf *ret_output)
{
        int p[2], out, r, status;
        pid_t pid;

        ASSERT_OK(pipe2(p, O_CLOEXEC));
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                (void) kp_loop_write(p[1], kernel->data, kernel->size);
                _exit(0);
        }
        close(p[1]);
        out = memfd_create("kp-test-out", MFD_CLOEXEC);
        ASSERT_TRUE(out >= 0);

        kp_error_clear(error);
        r = kp_unpack(p[0], out, o, error, result);
        close(p[0]);
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        if (r >= 0 && ret_output) {
                struct stat st;

                ASSERT_OK(fstat(out, &st));
                ret_output->size = (size_t) st.st_size;
                ret_output->data = malloc(ret_output->size + 1);
                ASSERT_TRUE(ret_output->data);
                ASSERT_EQ(pread(out, ret_output->data, ret_output->size, 0), (ssize_t) ret_output->size);
        }
        if (r < 0)
                ASSERT_EQ(error->code, r);
        close(out);
        return r;
}

/*
 * The kernel is refused with err and message, from a file and from a pipe
 * (pipe_message, when the pipe learns it another way; NULL: the same).
 */
#define ASSERT_REFUSED_BOTH(kernel_, opts_, err_, msg_, pipe_msg_)                                      \
        do {                                                                                               \
                KpError _e = {};                                                                           \
                const char *_m = (msg_), *_pm = (pipe_msg_);                                               \
                ASSERT_ERROR(unpack_file((kernel_), (opts_), &_e, NULL, NULL), (err_));                   \
                ASSERT_STREQ(_e.message, _m);                                                              \
                ASSERT_ERROR(unpack_pipe((kernel_), (opts_), &_e, NULL, NULL), (err_));                   \
                ASSERT_STREQ(_e.message, _pm ? _pm : _m);                                                  \
        } while (0)

#define ASSERT_REFUSED(kernel_, opts_, err_, msg_) ASSERT_REFUSED_BOTH(kernel_, opts_, err_, msg_, NULL)
