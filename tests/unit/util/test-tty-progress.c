/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/tty-progress: a status line on a real terminal (a pty), redrawn
 * with its clock, cleared around log lines and at the end; nothing of it
 * on a pipe.
 */
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests.h"
#include "util/log.h"
#include "util/tty-progress.h"

/* In the child, stderr on fd: a second and a half of a scan, a log line in the middle. */
static void child(int fd)
{
        if (dup2(fd, STDERR_FILENO) < 0)
                _exit(10);
        (void) setenv("TERM", "xterm", 1);
        kp_log_set_target(KP_LOG_TARGET_STDERR);
        if (kp_tty_progress_begin() != (isatty(STDERR_FILENO) ? 1 : 0))
                _exit(11);
        kp_tty_progress_set("web1: launching the appliance %u%%", 40u);
        log_info("web1: appliance ready");
        kp_tty_progress_set("web1: looking at\nits filesystems");
        (void) usleep(1500 * 1000);
        kp_tty_progress_end();
        /* Ended: a no-op now. */
        kp_tty_progress_set("never shown");
        _exit(0);
}

/* Everything the child wrote to the other end of fd, until it exits. */
static char *collect(int fd, pid_t pid)
{
        static char buf[8192];
        size_t n = 0;
        int status;

        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                ssize_t k;

                if (poll(&p, 1, 5000) <= 0)
                        break;
                k = read(fd, buf + n, sizeof(buf) - 1 - n);
                if (k <= 0) /* EIO: the pty's last writer is gone */
                        break;
                n += (size_t) k;
        }
        buf[n] = '\0';
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0);
        return buf;
}

static void test_terminal(void)
{
        struct winsize ws = { .ws_row = 24, .ws_col = 100 };
        int master, slave;
        pid_t pid;
        char *out, *log_line;

        ASSERT_OK(openpty(&master, &slave, NULL, NULL, &ws));
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                close(master);
                child(slave);
        }
        close(slave);
        out = collect(master, pid);
        close(master);

        /* The line as set, with its clock; cleared before the log line, drawn again after it. */
        ASSERT_CONTAINS(out, "\r\033[Kweb1: launching the appliance 40% (0 s)");
        log_line = strstr(out, "\r\033[Ktest-tty-progress: web1: appliance ready\r\n");
        ASSERT_TRUE(log_line != NULL);
        /* A newline in the text would break the line in two: shown as '?'. */
        ASSERT_CONTAINS(log_line, "\r\033[Kweb1: looking at?its filesystems (0 s)");
        /* The clock ticked at least once while nothing was set. */
        ASSERT_CONTAINS(log_line, "\r\033[Kweb1: looking at?its filesystems (1 s)");
        /* Cleared at the end, and nothing after. */
        ASSERT_TRUE(strlen(out) >= 4 && streq(out + strlen(out) - 4, "\r\033[K"));
        ASSERT_TRUE(strstr(out, "never shown") == NULL);
}

/* A narrow terminal: the text is cut so that the line never wraps (a wrapped line cannot be redrawn). */
static void test_narrow(void)
{
        struct winsize ws = { .ws_row = 24, .ws_col = 30 };
        int master, slave;
        pid_t pid;
        char *out;

        ASSERT_OK(openpty(&master, &slave, NULL, NULL, &ws));
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                close(master);
                child(slave);
        }
        close(slave);
        out = collect(master, pid);
        close(master);
        /* 29 columns: 23 of text and " (0 s)". */
        ASSERT_CONTAINS(out, "\r\033[Kweb1: launching the app (0 s)\r\033[K");
}

/* Not a terminal: the log line alone, no carriage return, no escape. */
static void test_pipe(void)
{
        int p[2];
        pid_t pid;
        char *out;

        ASSERT_OK(pipe2(p, O_CLOEXEC));
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                child(p[1]);
        }
        close(p[1]);
        out = collect(p[0], pid);
        close(p[0]);
        ASSERT_STREQ(out, "test-tty-progress: web1: appliance ready\n");
}

int main(void)
{
        test_terminal();
        test_narrow();
        test_pipe();
        return 0;
}
