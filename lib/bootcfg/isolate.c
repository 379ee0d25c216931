/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bootcfg/bootfs.h"
#include "bootcfg/isolate.h"
#include "util/error.h"
#include "util/strv.h"
#include "util/syscall-filter.h"
#include "util/time-util.h"

/*
 * Sanitizers map terabytes of shadow memory: an RLIMIT_AS or RLIMIT_DATA
 * the child could live with does not exist there. Such builds run the
 * child with a CPU limit only, ten times the default (an unoptimised
 * build with AddressSanitizer runs the parsers about ten times slower),
 * and say so in KpIsolateStats.limited.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define KP_ISOLATE_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define KP_ISOLATE_SANITIZED 1
#endif
#endif
#ifndef KP_ISOLATE_SANITIZED
#define KP_ISOLATE_SANITIZED 0
#endif
#define DEFAULT_CPU_SEC (KP_ISOLATE_SANITIZED ? 10 * KP_ISOLATE_CPU_SEC : KP_ISOLATE_CPU_SEC)


/* How often the waiting parent looks at the deadline and check_stop. */
#define POLL_USEC (50 * USEC_PER_MSEC)

/* How long a child that sent its last frame may take to exit before it is killed. */
#define EXIT_GRACE_USEC (2 * USEC_PER_SEC)

/* An ANSWER's payload: a file of the parsers' size limit, or a listing one name past their limit. */
#define MAX_ANSWER (sizeof(int32_t) + MAX(KP_BOOTCFG_MAX_SIZE, (KP_BOOTCFG_MAX_ENTRIES + 1) * (KP_ISOLATE_MAX_NAME + 1)))

/* ---- the child ---- */

struct KpIsolateChild {
        int fd;
        KpBootFs fs;
        bool have_fs;
        bool replied;
};

/* Blocking I/O: the parent bounds the child's life, and the child has nothing else to do. */
static int child_write(int fd, const void *buf, size_t size)
{
        const char *p = buf;

        while (size > 0) {
                ssize_t n = send(fd, p, size, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -EPIPE;
                p += n;
                size -= (size_t) n;
        }
        return 0;
}

static int child_read(int fd, void *buf, size_t size)
{
        char *p = buf;

        while (size > 0) {
                ssize_t n = read(fd, p, size);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -EPIPE;
                p += n;
                size -= (size_t) n;
        }
        return 0;
}

static int child_send(int fd, uint32_t type, const void *a, size_t a_size, const void *b, size_t b_size)
{
        KpIsolateFrameHeader h = { .type = type, .size = (uint32_t) (a_size + b_size) };
        int r;

        r = child_write(fd, &h, sizeof(h));
        if (r >= 0 && a_size > 0)
                r = child_write(fd, a, a_size);
        if (r >= 0 && b_size > 0)
                r = child_write(fd, b, b_size);
        return r;
}

/* Sends a request and reads the ANSWER: its result, and its bytes (NUL-terminated) when it is 0. */
static int child_ask(KpIsolateChild *c, uint32_t type, uint64_t max, const char *path, char **ret_data,
                     size_t *ret_size)
{
        _cleanup_free_ char *data = NULL;
        size_t len = strlen(path);
        KpIsolateFrameHeader h;
        int32_t result;
        int r;

        if (len > KP_ISOLATE_MAX_PATH)
                return -ENAMETOOLONG;
        if (type == KP_ISOLATE_FRAME_READ)
                r = child_send(c->fd, type, &max, sizeof(max), path, len);
        else
                r = child_send(c->fd, type, NULL, 0, path, len);
        if (r < 0)
                return r;
        r = child_read(c->fd, &h, sizeof(h));
        if (r < 0)
                return r;
        if (h.type != KP_ISOLATE_FRAME_ANSWER || h.size < sizeof(result) || h.size > MAX_ANSWER)
                return -EPROTO;
        r = child_read(c->fd, &result, sizeof(result));
        if (r < 0)
                return r;
        data = malloc(h.size - sizeof(result) + 1);
        if (!data)
                return -ENOMEM;
        r = child_read(c->fd, data, h.size - sizeof(result));
        if (r < 0)
                return r;
        data[h.size - sizeof(result)] = '\0';
        if (result > 0 || result < -4095)
                return -EPROTO;
        if (result < 0)
                return result;
        *ret_data = TAKE_PTR(data);
        *ret_size = h.size - sizeof(result);
        return 0;
}

static int child_read_file(void *userdata, const char *path, size_t max, char **ret_data, size_t *ret_size)
{
        KpIsolateChild *c = userdata;
        _cleanup_free_ char *data = NULL;
        size_t size = 0;
        int r;

        r = child_ask(c, KP_ISOLATE_FRAME_READ, max, path, &data, &size);
        if (r < 0)
                return r;
        if (size > max)
                return -EPROTO;
        *ret_data = TAKE_PTR(data);
        *ret_size = size;
        return 0;
}

static int child_list_dir(void *userdata, const char *path, char ***ret_names)
{
        KpIsolateChild *c = userdata;
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ char *data = NULL;
        size_t size = 0;
        int r;

        r = child_ask(c, KP_ISOLATE_FRAME_LIST, 0, path, &data, &size);
        if (r < 0)
                return r;
        names = calloc(1, sizeof(char *));
        if (!names)
                return -ENOMEM;
        for (size_t pos = 0; pos < size;) {
                size_t len = strnlen(data + pos, size - pos);
                if (pos + len >= size)
                        return -EPROTO; /* the last name has no NUL */
                r = strv_extend(&names, data + pos);
                if (r < 0)
                        return r;
                pos += len + 1;
        }
        *ret_names = TAKE_PTR(names);
        return 0;
}

const KpBootFs *kp_isolate_child_fs(KpIsolateChild *c)
{
        return c->have_fs ? &c->fs : NULL;
}

int kp_isolate_child_reply(KpIsolateChild *c, const void *data, size_t size)
{
        if (c->replied)
                return -EALREADY;
        if (size > KP_ISOLATE_MAX_REPLY)
                return kp_isolate_child_fail(c, -E2BIG, "the result exceeds the limit of the reply");
        c->replied = true;
        return child_send(c->fd, KP_ISOLATE_FRAME_REPLY, NULL, 0, data, size);
}

int kp_isolate_child_fail(KpIsolateChild *c, int err, const char *message)
{
        int32_t e = err < 0 && err >= -4095 ? err : -EIO;

        if (c->replied)
                return -EALREADY;
        c->replied = true;
        return child_send(c->fd, KP_ISOLATE_FRAME_FAIL, &e, sizeof(e), message, strnlen(message, KP_ERROR_MESSAGE_MAX - 1));
}

typedef struct ChildLimits {
        uint64_t memory;
        unsigned cpu_sec;
        uint64_t vm_size;       /* the parent's address space and data at the fork, in bytes */
        uint64_t vm_data;
} ChildLimits;

/* VmSize and VmData of this process, from /proc/self/status; 0 when unknown. */
static void read_vm_sizes(uint64_t *ret_size, uint64_t *ret_data)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        unsigned long long kib;

        *ret_size = *ret_data = 0;
        while (f && fgets(line, sizeof(line), f)) {
                if (sscanf(line, "VmSize: %llu kB", &kib) == 1)
                        *ret_size = kib * 1024;
                else if (sscanf(line, "VmData: %llu kB", &kib) == 1)
                        *ret_data = kib * 1024;
        }
}

static int set_limit(int resource, uint64_t soft, uint64_t hard)
{
        struct rlimit rl = { .rlim_cur = soft, .rlim_max = hard };

        /* prlimit64 is in systemd's @default group; setrlimit (@resources) is refused by kunpackd's unit. */
        return prlimit(0, resource, &rl, NULL) < 0 ? -errno : 0;
}

/*
 * Everything the child does before it runs fn, in the child. It may only
 * use what is safe after a fork in a threaded process: system calls, and
 * memory of its own (glibc's fork() leaves malloc usable in the child, the
 * one thing fn needs besides the socket). It takes no lock of the parent's
 * (the session's mutex, libguestfs's) and touches no handle; it never
 * returns into the caller's code, and leaves through _exit(), so that no
 * atexit handler (libguestfs shuts its appliance down in one) runs here.
 */
static int child_setup(int fd, pid_t parent, const ChildLimits *l)
{
        struct sigaction sa = { .sa_handler = SIG_DFL };
        sigset_t all;
        int null;

        /* Dies with the parent, and not on any signal handler the parent installed. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                return -ESRCH;
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) sigaction(sig, &sa, NULL);
        sigemptyset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, NULL);

        /*
         * Nothing open but the socket (as fd 3) and /dev/null as 0, 1 and 2:
         * not the appliance's sockets, not the parent's output, not a bus.
         */
        if (fd != 3) {
                if (dup2(fd, 3) < 0)
                        return -errno;
        }
        null = open("/dev/null", O_RDWR | O_CLOEXEC);
        for (int i = 0; i < 3; i++) {
                if (null >= 0 && null != i)
                        (void) dup2(null, i);
                else if (null < 0)
                        (void) close(i);
        }
        if (close_range(4, ~0U, 0) < 0)
                for (int i = 4; i < 65536; i++)
                        (void) close(i);

        /* A core dump would hold the guest's text; a file write has no business here. */
        if (set_limit(RLIMIT_CORE, 0, 0) < 0 || set_limit(RLIMIT_FSIZE, 0, 0) < 0 ||
            set_limit(RLIMIT_NOFILE, 8, 8) < 0)
                return -errno;
        /* SIGXCPU at the limit, SIGKILL a second later should it be ignored. */
        if (set_limit(RLIMIT_CPU, l->cpu_sec, l->cpu_sec + 1) < 0)
                return -errno;
        if (!KP_ISOLATE_SANITIZED && l->vm_size > 0 &&
            (set_limit(RLIMIT_AS, l->vm_size + l->memory, l->vm_size + l->memory) < 0 ||
             set_limit(RLIMIT_DATA, l->vm_data + l->memory, l->vm_data + l->memory) < 0))
                return -errno;
        /*
         * Last, the system calls: a parser an input took over may read
         * and write its socket and its own memory, nothing else. (The
         * sanitizers' runtimes need more for their reports.)
         */
        if (!KP_ISOLATE_SANITIZED) {
                int r = kp_syscall_filter_compute_only();
                if (r < 0)
                        return r;
        }
        return 3;
}

_noreturn_ static void child_main(int fd, pid_t parent, const ChildLimits *l, const KpBootFs *fs, KpIsolateFunc fn,
                                  void *userdata)
{
        KpIsolateChild c = {};
        int r;

        r = child_setup(fd, parent, l);
        if (r < 0)
                _exit(2);
        c.fd = r;
        if (fs) {
                c.have_fs = true;
                c.fs = (KpBootFs) {
                        .userdata = &c,
                        .read_file = child_read_file,
                        .list_dir = child_list_dir,
                        .fs_uuid = fs->fs_uuid,
                        .fs_label = fs->fs_label,
                };
        }
        fn(&c, userdata);
        if (!c.replied)
                (void) kp_isolate_child_fail(&c, -EIO, "the parsing process gave no result");
        _exit(0);
}

/* ---- the parent ---- */

typedef struct Parent {
        int fd;
        pid_t pid;
        uint64_t deadline;
        const KpIsolateOptions *options;
        const KpBootFs *fs;
        KpError *error;
        KpIsolateStats stats;
        bool final;             /* the child sent its last frame */
} Parent;

/* Waits until fd is ready for events, the deadline passes or check_stop says stop. */
static int parent_wait(Parent *p, short events)
{
        for (;;) {
                struct pollfd pfd = { .fd = p->fd, .events = events };
                uint64_t left = kp_usec_left(p->deadline);
                int n, r;

                if (left == 0)
                        return kp_error_set(p->error, -ETIMEDOUT, "the parsing process did not finish before the deadline");
                if (p->options && p->options->check_stop) {
                        r = p->options->check_stop(p->options->userdata, p->error);
                        if (r < 0)
                                return r;
                }
                n = poll(&pfd, 1, (int) ((MIN(left, POLL_USEC) + USEC_PER_MSEC - 1) / USEC_PER_MSEC));
                if (n < 0 && errno != EINTR)
                        return kp_error_set_errno(p->error, -errno, "poll");
                if (n > 0)
                        return 0;
        }
}

static int parent_read(Parent *p, void *buf, size_t size)
{
        char *b = buf;

        while (size > 0) {
                ssize_t n = read(p->fd, b, size);
                if (n > 0) {
                        b += n;
                        size -= (size_t) n;
                        continue;
                }
                if (n == 0)
                        return -EPIPE; /* the child is gone: its status says why */
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return kp_error_set_errno(p->error, -errno, "cannot read from the parsing process");
                n = parent_wait(p, POLLIN);
                if (n < 0)
                        return (int) n;
        }
        return 0;
}

static int parent_write(Parent *p, const void *buf, size_t size)
{
        const char *b = buf;

        while (size > 0) {
                ssize_t n = send(p->fd, b, size, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n > 0) {
                        b += n;
                        size -= (size_t) n;
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EPIPE)
                        return -EPIPE;
                if (n < 0 && errno != EAGAIN)
                        return kp_error_set_errno(p->error, -errno, "cannot write to the parsing process");
                n = parent_wait(p, POLLOUT);
                if (n < 0)
                        return (int) n;
        }
        return 0;
}

static int parent_answer(Parent *p, int result, const void *data, size_t size)
{
        KpIsolateFrameHeader h = { .type = KP_ISOLATE_FRAME_ANSWER, .size = (uint32_t) (sizeof(int32_t) + size) };
        int32_t res = result;
        int r;

        r = parent_write(p, &h, sizeof(h));
        if (r >= 0)
                r = parent_write(p, &res, sizeof(res));
        if (r >= 0 && size > 0)
                r = parent_write(p, data, size);
        return r;
}

static int protocol_error(Parent *p, const char *what)
{
        return kp_error_set(p->error, -EPROTO, "the parsing process broke the protocol: %s", what);
}

/*
 * One READ: the parent's KpBootFs reads the file, within the parsers' own
 * limits (which the child keeps too: a child past them misbehaves).
 */
static int serve_read(Parent *p, const char *path, uint64_t max)
{
        _cleanup_free_ char *data = NULL;
        size_t size = 0;
        int r;

        if (max > KP_BOOTCFG_MAX_SIZE)
                return protocol_error(p, "a read bigger than the configuration limit");
        /* The child's reader refuses the file that takes it past its total: it never asks after that one. */
        if (p->stats.bytes_served > KP_BOOTCFG_MAX_READ_TOTAL)
                return protocol_error(p, "more bytes read than the parsers allow for one configuration");
        r = p->fs->read_file(p->fs->userdata, path, (size_t) max, &data, &size);
        if (r >= 0 && size > max)
                r = -EFBIG; /* a reader that did not keep to max */
        if (r < 0)
                return parent_answer(p, r < -4095 ? -EIO : r, NULL, 0);
        p->stats.bytes_served += size;
        return parent_answer(p, 0, data, size);
}

/* One LIST: names each with its NUL; one past the parsers' limit is enough for them to refuse. */
static int serve_list(Parent *p, const char *path)
{
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t used = 0, n = 0;
        int r;

        if (!p->fs->list_dir)
                return parent_answer(p, -ENOENT, NULL, 0);
        r = p->fs->list_dir(p->fs->userdata, path, &names);
        if (r < 0)
                return parent_answer(p, r < -4095 ? -EIO : r, NULL, 0);
        buf = malloc(MAX_ANSWER);
        if (!buf)
                return -ENOMEM;
        STRV_FOREACH(name, names) {
                size_t len = strlen(*name);
                if (n++ > KP_BOOTCFG_MAX_ENTRIES)
                        break;
                if (len > KP_ISOLATE_MAX_NAME)
                        return parent_answer(p, -ENAMETOOLONG, NULL, 0);
                memcpy(buf + used, *name, len + 1);
                used += len + 1;
        }
        return parent_answer(p, 0, buf, used);
}

/* Serves requests until the child's last frame: 1 with its reply, or the child's error. */
static int parent_serve(Parent *p, char **ret_reply, size_t *ret_size)
{
        for (;;) {
                _cleanup_free_ char *payload = NULL;
                KpIsolateFrameHeader h;
                uint32_t max;
                int r;

                r = parent_read(p, &h, sizeof(h));
                if (r < 0)
                        return r;
                switch (h.type) {
                case KP_ISOLATE_FRAME_READ:
                        max = sizeof(uint64_t) + KP_ISOLATE_MAX_PATH;
                        break;
                case KP_ISOLATE_FRAME_LIST:
                        max = KP_ISOLATE_MAX_PATH;
                        break;
                case KP_ISOLATE_FRAME_REPLY:
                        max = KP_ISOLATE_MAX_REPLY;
                        break;
                case KP_ISOLATE_FRAME_FAIL:
                        max = sizeof(int32_t) + KP_ERROR_MESSAGE_MAX;
                        break;
                default:
                        return protocol_error(p, "a frame of unknown type");
                }
                if (h.size > max)
                        return protocol_error(p, "a frame longer than its limit");
                payload = malloc((size_t) h.size + 1);
                if (!payload)
                        return -ENOMEM;
                r = parent_read(p, payload, h.size);
                if (r < 0)
                        return r;
                payload[h.size] = '\0';
                p->final = h.type == KP_ISOLATE_FRAME_REPLY || h.type == KP_ISOLATE_FRAME_FAIL;

                if (h.type == KP_ISOLATE_FRAME_REPLY) {
                        *ret_reply = TAKE_PTR(payload);
                        *ret_size = h.size;
                        return 1;
                }
                if (h.type == KP_ISOLATE_FRAME_FAIL) {
                        int32_t err;
                        if (h.size < sizeof(err))
                                return protocol_error(p, "a short error");
                        memcpy(&err, payload, sizeof(err));
                        if (err >= 0 || err < -4095)
                                return protocol_error(p, "an error that is no errno");
                        /* Guest text may be in it: control characters never leave. */
                        for (char *c = payload + sizeof(err); *c; c++)
                                if ((unsigned char) *c < ' ' || *c == 0x7f)
                                        *c = '?';
                        if (err == -ENOMEM)
                                return kp_error_set(p->error, -E2BIG,
                                                    "the parsing process ran out of its %" PRIu64 " MiB of memory (RLIMIT_AS, RLIMIT_DATA)",
                                                    (p->options && p->options->memory ? p->options->memory : KP_ISOLATE_MEMORY) >> 20);
                        return kp_error_set(p->error, err, "%s", payload + sizeof(err));
                }

                /* A request: a path without NUL bytes, and for READ the size before it. */
                size_t off = h.type == KP_ISOLATE_FRAME_READ ? sizeof(uint64_t) : 0;
                uint64_t want = 0;
                if (h.size < off || strlen(payload + off) != h.size - off)
                        return protocol_error(p, "a malformed request");
                if (!p->fs)
                        return protocol_error(p, "a request without a filesystem to read");
                if (++p->stats.requests > KP_BOOTCFG_MAX_FS_REQUESTS)
                        return protocol_error(p, "more requests than the parsers allow for one configuration");
                if (h.type == KP_ISOLATE_FRAME_READ) {
                        memcpy(&want, payload, sizeof(want));
                        r = serve_read(p, payload + off, want);
                } else
                        r = serve_list(p, payload + off);
                if (r < 0)
                        return r;
        }
}

static const char *signal_name(int sig)
{
        switch (sig) {
        case SIGKILL:
                return "SIGKILL";
        case SIGXCPU:
                return "SIGXCPU";
        case SIGSEGV:
                return "SIGSEGV";
        case SIGBUS:
                return "SIGBUS";
        case SIGABRT:
                return "SIGABRT";
        default:
                return NULL;
        }
}

/*
 * Why a child that ended without its last frame ended, from its status:
 * a limit it hit is named, anything else is said as it is.
 */
static int child_died(Parent *p, int status, unsigned cpu_sec, uint64_t memory)
{
        if (WIFEXITED(status))
                return kp_error_set(p->error, -EPROTO, "the parsing process exited with status %d without a result",
                                    WEXITSTATUS(status));
        if (!WIFSIGNALED(status))
                return kp_error_set(p->error, -EPROTO, "the parsing process ended without a result");

        int sig = WTERMSIG(status);
        const char *name = signal_name(sig);
        if (sig == SIGXCPU || (sig == SIGKILL && p->stats.cpu_usec >= cpu_sec * USEC_PER_SEC))
                return kp_error_set(p->error, -E2BIG, "the parsing process was killed by %s: it used its %u s of CPU time (RLIMIT_CPU)",
                                    name, cpu_sec);
        if ((sig == SIGSEGV || sig == SIGBUS) && !KP_ISOLATE_SANITIZED)
                return kp_error_set(p->error, -E2BIG,
                                    "the parsing process was killed by %s, as when its %" PRIu64 " MiB of memory (RLIMIT_AS, RLIMIT_DATA) run out",
                                    name, memory >> 20);
        if (name)
                return kp_error_set(p->error, -EPROTO, "the parsing process was killed by %s", name);
        return kp_error_set(p->error, -EPROTO, "the parsing process was killed by signal %d", sig);
}

/* Waits for the child (killing it first when kill_it), and fills the statistics. */
static int parent_reap(Parent *p, bool kill_it, int *ret_status)
{
        struct rusage ru = {};
        uint64_t grace = kp_now_usec(CLOCK_MONOTONIC) + EXIT_GRACE_USEC;
        int status = 0;
        pid_t w;

        if (kill_it)
                (void) kill(p->pid, SIGKILL);
        for (;;) {
                w = wait4(p->pid, &status, kill_it ? 0 : WNOHANG, &ru);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return -errno;
                if (w == p->pid)
                        break;
                /* Exiting after its last frame; past the grace it is killed. */
                if (kp_usec_left(grace) == 0) {
                        (void) kill(p->pid, SIGKILL);
                        kill_it = true;
                        continue;
                }
                (void) usleep(USEC_PER_MSEC);
        }
        p->stats.max_rss = (uint64_t) ru.ru_maxrss * 1024;
        p->stats.cpu_usec = kp_timespec_to_usec(&(struct timespec) { ru.ru_utime.tv_sec, ru.ru_utime.tv_usec * 1000 }) +
                            kp_timespec_to_usec(&(struct timespec) { ru.ru_stime.tv_sec, ru.ru_stime.tv_usec * 1000 });
        *ret_status = status;
        return 0;
}

int kp_isolate_run(KpIsolateFunc fn, void *userdata, const KpBootFs *fs, const KpIsolateOptions *options,
                   KpError *error, char **ret_reply, size_t *ret_size, KpIsolateStats *ret_stats)
{
        _cleanup_free_ char *reply = NULL;
        ChildLimits limits = {
                .memory = options && options->memory ? options->memory : KP_ISOLATE_MEMORY,
                .cpu_sec = options && options->cpu_sec ? options->cpu_sec : DEFAULT_CPU_SEC,
        };
        Parent p = {
                .fd = -EBADF,
                .options = options,
                .fs = fs,
                .error = error,
                .deadline = options && options->deadline ? options->deadline :
                            kp_now_usec(CLOCK_MONOTONIC) + KP_ISOLATE_DEFAULT_TIMEOUT_USEC,
                .stats.limited = !KP_ISOLATE_SANITIZED,
        };
        size_t size = 0;
        pid_t parent = getpid();
        int sv[2], status = 0, r, k;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return kp_error_set_errno(error, -errno, "cannot make a socket for the parsing process");
        read_vm_sizes(&limits.vm_size, &limits.vm_data);

        p.pid = fork();
        if (p.pid < 0) {
                r = -errno;
                safe_close(sv[0]);
                safe_close(sv[1]);
                return kp_error_set_errno(error, r, "cannot start the parsing process");
        }
        if (p.pid == 0) {
                safe_close(sv[0]);
                child_main(sv[1], parent, &limits, fs, fn, userdata);
        }
        safe_close(sv[1]);
        p.fd = sv[0];
        if (fcntl(p.fd, F_SETFL, O_NONBLOCK) < 0) {
                r = kp_error_set_errno(error, -errno, "cannot set up the parsing process's socket");
                (void) parent_reap(&p, true, &status);
                safe_close(p.fd);
                return r;
        }

        r = parent_serve(&p, &reply, &size);
        safe_close(p.fd);
        /*
         * A child that neither gave its last frame nor hung up is stuck or
         * hostile: killed. The others get a moment to exit.
         */
        k = parent_reap(&p, !p.final && r != -EPIPE, &status);
        if (ret_stats)
                *ret_stats = p.stats;
        if (k < 0)
                return kp_error_set_errno(error, k, "cannot wait for the parsing process");
        if (r == -EPIPE)
                return child_died(&p, status, limits.cpu_sec, limits.memory);
        if (r < 0)
                return r;
        *ret_reply = TAKE_PTR(reply);
        *ret_size = size;
        return 0;
}
