/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tests.h"
#include "util/error.h"
#include "util/fileio.h"

static char dir[] = "/tmp/kp-test-fileio-XXXXXX";

static size_t count_entries(void)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t n = 0;

        ASSERT_TRUE(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

static void test_commit_and_replace(void)
{
        _cleanup_free_ char *path = NULL, *data = NULL;
        KpError error = {};
        struct stat st;
        size_t size;

        ASSERT_TRUE(asprintf(&path, "%s/out", dir) > 0);
        ASSERT_OK(kp_write_file_atomic(path, "first\n", 6, 0640, &error));
        ASSERT_OK(kp_read_file(path, 100, &error, &data, &size));
        ASSERT_EQ(size, 6);
        ASSERT_STREQ(data, "first\n");
        ASSERT_OK(stat(path, &st));
        ASSERT_EQ(st.st_mode & 07777, 0640);
        free(data);

        ASSERT_OK(kp_write_file_atomic(path, "second", 6, 0600, &error));
        ASSERT_OK(kp_read_file(path, 100, &error, &data, &size));
        ASSERT_STREQ(data, "second");
        ASSERT_EQ(count_entries(), 1);
}

static void test_discard_leaves_nothing(void)
{
        _cleanup_free_ char *path = NULL;
        KpAtomicFile f = KP_ATOMIC_FILE_INIT;
        KpError error = {};

        ASSERT_TRUE(asprintf(&path, "%s/discarded", dir) > 0);
        ASSERT_OK(kp_atomic_file_open(path, 0600, &error, &f));
        ASSERT_OK(kp_loop_write(f.fd, "partial", 7));
        kp_atomic_file_discard(&f);
        kp_atomic_file_discard(&f);
        ASSERT_TRUE(access(path, F_OK) < 0 && errno == ENOENT);
        ASSERT_EQ(count_entries(), 1); /* only "out" from the previous test */
}

static void test_noreplace(void)
{
        _cleanup_free_ char *path = NULL, *data = NULL;
        KpAtomicFile f = KP_ATOMIC_FILE_INIT;
        KpError error = {};

        ASSERT_TRUE(asprintf(&path, "%s/out", dir) > 0);
        ASSERT_OK(kp_atomic_file_open(path, 0600, &error, &f));
        ASSERT_OK(kp_loop_write(f.fd, "third", 5));
        ASSERT_ERROR(kp_atomic_file_commit(&f, false, &error), -EEXIST);
        ASSERT_CONTAINS(error.message, "already exists");
        ASSERT_OK(kp_read_file(path, 100, &error, &data, NULL));
        ASSERT_STREQ(data, "second");
        ASSERT_EQ(count_entries(), 1);
}

static void test_read_limits(void)
{
        _cleanup_free_ char *path = NULL, *data = NULL;
        KpError error = {};

        ASSERT_TRUE(asprintf(&path, "%s/out", dir) > 0);
        ASSERT_ERROR(kp_read_file(path, 5, &error, &data, NULL), -EFBIG);
        ASSERT_CONTAINS(error.message, "more than the limit of 5");
        ASSERT_ERROR(kp_read_file(dir, 5, &error, &data, NULL), -EBADFD);
        ASSERT_CONTAINS(error.message, "not a regular file");
        ASSERT_ERROR(kp_read_file("/nonexistent/x", 5, &error, &data, NULL), -ENOENT);
        ASSERT_STREQ(error.message, "cannot open /nonexistent/x: No such file or directory");
}

static void test_error_prefix(void)
{
        KpError error = {};

        ASSERT_ERROR(kp_error_set(&error, -EINVAL, "bad %s", "thing"), -EINVAL);
        ASSERT_ERROR(kp_error_prefix(&error, -EINVAL, "block %d", 3), -EINVAL);
        ASSERT_STREQ(error.message, "block 3: bad thing");
        kp_error_clear(&error);
        ASSERT_ERROR(kp_error_prefix(&error, -ENOSPC, "cache"), -ENOSPC);
        ASSERT_STREQ(error.message, "cache: No space left on device");
        ASSERT_ERROR(kp_error_set(NULL, -EIO, "ignored"), -EIO);
}

static void test_open_unnamed(void)
{
        struct stat st;
        char buf[5] = {};
        size_t before = count_entries();
        int fd;

        fd = kp_open_unnamed(dir);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(count_entries(), before);
        ASSERT_EQ(write(fd, "data", 4), 4);
        ASSERT_EQ(pread(fd, buf, 4, 0), 4);
        ASSERT_STREQ(buf, "data");
        ASSERT_EQ(fstat(fd, &st), 0);
        ASSERT_EQ(st.st_mode & 07777, 0600u);
        ASSERT_EQ(st.st_nlink, 0u);
        close(fd);
        ASSERT_EQ(kp_open_unnamed("/nonexistent-kunpack-dir"), -ENOENT);
}

/* A link between two directories of one filesystem works; between two bind mounts of it, it does not. */
static void test_link_probe(void)
{
        _cleanup_free_ char *a = NULL, *b = NULL;
        size_t before;
        KpError error = {};
        int status;
        pid_t pid;

        ASSERT_TRUE(asprintf(&a, "%s/probe-a", dir) > 0);
        ASSERT_TRUE(asprintf(&b, "%s/probe-b", dir) > 0);
        ASSERT_OK(mkdir(a, 0700));
        ASSERT_OK(mkdir(b, 0700));
        before = count_entries();
        ASSERT_EQ(kp_link_probe(a, b, &error), 1);
        ASSERT_EQ(count_entries(), before);
        ASSERT_ERROR(kp_link_probe(a, "/nonexistent-kunpack-dir", &error), -ENOENT);
        ASSERT_CONTAINS(error.message, "cannot link from");

        /* kunpackd.service's sandbox makes its cache and /var/lib/xen bind mounts of their own. */
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
                    mount(b, b, NULL, MS_BIND, NULL) < 0)
                        _exit(77);
                ASSERT_EQ(kp_link_probe(a, b, &error), 0);
                ASSERT_CONTAINS(error.message, "are on different mounts: a link is refused (EXDEV)");
                _exit(0);
        }
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77)
                fprintf(stderr, "no mount namespace here (not root?): the bind-mount case was not run\n");
        else
                ASSERT_EQ(WEXITSTATUS(status), 0);
        ASSERT_EQ(rmdir(a), 0);
        ASSERT_EQ(rmdir(b), 0);
}

int main(void)
{
        ASSERT_TRUE(mkdtemp(dir));
        test_commit_and_replace();
        test_discard_leaves_nothing();
        test_noreplace();
        test_read_limits();
        test_error_prefix();
        test_open_unnamed();
        test_link_probe();
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        ASSERT_EQ(system(cmd), 0);
        return 0;
}
