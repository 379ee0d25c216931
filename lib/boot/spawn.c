/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "boot/spawn.h"
#include "util/error.h"
#include "util/time-util.h"

int kp_scan_helper_path(KpError *error, char **ret)
{
        char self[PATH_MAX], *slash, *p = NULL;
        ssize_t n;

        n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n > 0) {
                self[n] = '\0';
                slash = strrchr(self, '/');
                if (slash) {
                        *slash = '\0';
                        if (asprintf(&p, "%s/kunpack-scan", self) < 0)
                                return kp_error_set(error, -ENOMEM, "out of memory");
                        if (access(p, X_OK) == 0) {
                                *ret = p;
                                return 0;
                        }
                        p = mfree(p);
                }
        }
        if (asprintf(&p, "%s/kunpack-scan", KP_LIBEXECDIR) < 0)
                return kp_error_set(error, -ENOMEM, "out of memory");
        if (access(p, X_OK) < 0) {
                int r = negative_errno();
                free(p);
                return kp_error_set_errno(error, r, "cannot run %s/kunpack-scan", KP_LIBEXECDIR);
        }
        *ret = p;
        return 0;
}

void kp_helper_run_done(KpHelperRun *r)
{
        r->out = mfree(r->out);
        r->err = mfree(r->err);
}

static _noreturn_ void child(char *const argv[], int out, int err)
{
        sigset_t none;
        int null;

        /* A group of its own: killing it takes qemu and libguestfs's helpers along. */
        (void) setpgid(0, 0);
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
            dup2(err, STDERR_FILENO) < 0)
                _exit(127);
        execv(argv[0], argv);
        _exit(127);
}

/* Appends what is readable on fd; false at end of file. */
static bool drain(int fd, char *buf, size_t *used, size_t cap, bool tail, bool *truncated)
{
        for (;;) {
                char chunk[8192];
                ssize_t n = read(fd, chunk, sizeof(chunk));

                if (n < 0)
                        return errno == EAGAIN || errno == EINTR;
                if (n == 0)
                        return false;
                if (tail && (size_t) n >= cap) {
                        memcpy(buf, chunk + n - cap, cap);
                        *used = cap;
                } else if (tail && *used + (size_t) n > cap) {
                        size_t drop = *used + (size_t) n - cap;
                        memmove(buf, buf + drop, *used - drop);
                        memcpy(buf + *used - drop, chunk, (size_t) n);
                        *used = cap;
                } else if (!tail && *used + (size_t) n > cap) {
                        memcpy(buf + *used, chunk, cap - *used);
                        *used = cap;
                        *truncated = true;
                } else {
                        memcpy(buf + *used, chunk, (size_t) n);
                        *used += (size_t) n;
                }
        }
}

int kp_helper_run(char *const argv[], uint64_t deadline_usec, const sigset_t *stop, KpError *error,
                  KpHelperRun *ret)
{
        _cleanup_close_ int out_r = -EBADF, out_w = -EBADF, err_r = -EBADF, err_w = -EBADF, pidfd = -EBADF,
                            sigfd = -EBADF;
        _cleanup_free_ char *out = NULL, *err = NULL;
        size_t out_used = 0, err_used = 0;
        bool out_open = true, err_open = true, exited = false, truncated = false, timed_out = false,
             stopped = false;
        int pipes[2], status, stop_signal = 0, r;
        pid_t pid;

        out = malloc(KP_HELPER_MAX_OUTPUT + 1);
        err = malloc(KP_HELPER_STDERR_TAIL + 1);
        if (!out || !err)
                return kp_error_set(error, -ENOMEM, "out of memory");
        if (pipe2(pipes, O_CLOEXEC) < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot create a pipe");
        out_r = pipes[0], out_w = pipes[1];
        if (pipe2(pipes, O_CLOEXEC) < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot create a pipe");
        err_r = pipes[0], err_w = pipes[1];
        if (stop) {
                sigfd = signalfd(-1, stop, SFD_CLOEXEC | SFD_NONBLOCK);
                if (sigfd < 0)
                        return kp_error_set_errno(error, negative_errno(), "cannot watch for signals");
        }

        pid = fork();
        if (pid < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot start %s", argv[0]);
        if (pid == 0)
                child(argv, out_w, err_w);
        /* Also in the parent, so that a kill cannot race with the child's own setpgid(). */
        (void) setpgid(pid, pid);
        out_w = safe_close(out_w);
        err_w = safe_close(err_w);
        (void) fcntl(out_r, F_SETFL, O_NONBLOCK);
        (void) fcntl(err_r, F_SETFL, O_NONBLOCK);
        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);

        while (!exited) {
                struct pollfd p[4];
                nfds_t n = 0;
                int i_out = -1, i_err = -1, i_pid = -1, i_sig = -1;
                uint64_t left = kp_usec_left(deadline_usec);
                int timeout_ms;

                if (left == 0) {
                        timed_out = true;
                        break;
                }
                /* Without a pidfd (old kernels), look for the exit every 50 ms. */
                timeout_ms = (int) MIN((left + 999) / 1000, pidfd >= 0 ? (uint64_t) INT_MAX : UINT64_C(50));
                if (out_open)
                        p[i_out = (int) n++] = (struct pollfd){ .fd = out_r, .events = POLLIN };
                if (err_open)
                        p[i_err = (int) n++] = (struct pollfd){ .fd = err_r, .events = POLLIN };
                if (pidfd >= 0)
                        p[i_pid = (int) n++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
                if (sigfd >= 0)
                        p[i_sig = (int) n++] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
                if (poll(p, n, timeout_ms) < 0 && errno != EINTR)
                        return kp_error_set_errno(error, negative_errno(), "poll");

                if (i_out >= 0 && p[i_out].revents)
                        out_open = drain(out_r, out, &out_used, KP_HELPER_MAX_OUTPUT, false, &truncated);
                if (i_err >= 0 && p[i_err].revents)
                        err_open = drain(err_r, err, &err_used, KP_HELPER_STDERR_TAIL, true, &(bool){ false });
                if (i_sig >= 0 && p[i_sig].revents) {
                        struct signalfd_siginfo si;
                        /* Taken off the pending set: the caller decides what the signal means. */
                        stopped = read(sigfd, &si, sizeof(si)) == (ssize_t) sizeof(si);
                        stop_signal = stopped ? (int) si.ssi_signo : 0;
                        if (stopped)
                                break;
                }
                if (i_pid >= 0 && p[i_pid].revents)
                        exited = true;
                else if (pidfd < 0) {
                        siginfo_t si = {};
                        exited = waitid(P_PID, (id_t) pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
                }
        }

        /*
         * The helper is gone (a zombie still owns its pid, so the group id
         * cannot have been reused), or it must go. Either way nothing of its
         * group may outlive it: a qemu it left behind is killed too.
         */
        (void) kill(-pid, SIGKILL);
        if (waitpid(pid, &status, 0) != pid)
                return kp_error_set_errno(error, negative_errno(), "cannot reap %s", argv[0]);
        /* What it wrote before it ended. */
        if (out_open)
                (void) drain(out_r, out, &out_used, KP_HELPER_MAX_OUTPUT, false, &truncated);
        if (err_open)
                (void) drain(err_r, err, &err_used, KP_HELPER_STDERR_TAIL, true, &(bool){ false });
        out[out_used] = '\0';
        err[err_used] = '\0';

        if (stopped)
                return kp_error_set(error, -EINTR, "stopped by %s while %s ran", sigabbrev_np(stop_signal) ?: "a signal",
                                    argv[0]);

        r = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        *ret = (KpHelperRun){ .status = r, .timed_out = timed_out, .out = TAKE_PTR(out),
                              .out_truncated = truncated, .err = TAKE_PTR(err) };
        return 0;
}
