/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "tests.h"
#include "util/fileio.h"
#include "util/log.h"

/* journald's native protocol, as systemd.io/JOURNAL_NATIVE_PROTOCOL writes it down, byte for byte. */
static void test_journal_datagram(void)
{
        char dir[] = "/tmp/test-log-XXXXXX", path[128], buf[4096];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        static const char want[] = "MESSAGE=disk gone: 42\n"
                                   "PRIORITY=4\n"
                                   "ERRNO=2\n"
                                   "DISK\n\x0a\0\0\0\0\0\0\0/a\nb/c.img\n"
                                   "GUEST=web1\n";
        ssize_t n;

        ASSERT_TRUE(mkdtemp(dir));
        (void) snprintf(path, sizeof(path), "%s/socket", dir);
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(bind(fd, (struct sockaddr *) &sa, sizeof(sa)));

        kp_log_set_journal_socket(path);
        kp_log_set_target(KP_LOG_TARGET_JOURNAL);
        /* A guest's disk path may hold a newline: the field goes in the binary form. */
        ASSERT_EQ(log_struct(LOG_WARNING, -ENOENT, KP_FIELDS("DISK=/a\nb/c.img", "GUEST=web1"), "disk gone: %d", 42),
                  -ENOENT);
        n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        ASSERT_EQ(n, (ssize_t) sizeof(want) - 1);
        ASSERT_MEMEQ(buf, want, sizeof(want) - 1);

        /* Below the level: nothing sent. */
        ASSERT_EQ(log_debug("not shown"), 0);
        ASSERT_ERROR(recv(fd, buf, sizeof(buf), MSG_DONTWAIT) < 0 ? -errno : 0, -EAGAIN);

        (void) unlink(path);
        (void) rmdir(dir);
}

/* No journal to reach: the message goes to stderr, as "program: message". */
static void test_journal_unreachable(void)
{
        _cleanup_close_ int mem = memfd_create("stderr", MFD_CLOEXEC), saved = dup(STDERR_FILENO);
        char buf[256] = {};

        ASSERT_TRUE(mem >= 0 && saved >= 0);
        kp_log_set_journal_socket("/nonexistent/kunpack-test/socket");
        kp_log_set_target(KP_LOG_TARGET_JOURNAL);
        ASSERT_TRUE(dup2(mem, STDERR_FILENO) == STDERR_FILENO);
        log_error("no journal here");
        fflush(stderr);
        ASSERT_TRUE(dup2(saved, STDERR_FILENO) == STDERR_FILENO);
        ASSERT_TRUE(pread(mem, buf, sizeof(buf) - 1, 0) > 0);
        ASSERT_STREQ(buf, "test-log: no journal here\n");
        kp_log_set_journal_socket(NULL);
}

int main(void)
{
        test_journal_datagram();
        test_journal_unreachable();
        return 0;
}
