/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The forked parsing process (bootcfg/isolate.h) with children that
 * misbehave on purpose: past their memory or CPU limit, hanging, sending
 * garbage or an over-long reply, leaving without an answer, asking too
 * much. Each must end in a clear refusal, never a hang of the parent.
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bootcfg/bootfs.h"
#include "bootcfg/isolate.h"
#include "memfs.h"
#include "tests.h"
#include "util/error.h"
#include "util/strv.h"
#include "util/time-util.h"

/* The child's socket: what child_setup() leaves it at. */
#define CHILD_FD 3

static int run(KpIsolateFunc fn, void *userdata, MemFs *m, const KpIsolateOptions *o, KpError *e, char **ret,
               KpIsolateStats *st)
{
        size_t size = 0;

        *ret = NULL;
        return kp_isolate_run(fn, userdata, m ? &m->fs : NULL, o, e, ret, &size, st);
}

static void child_hello(KpIsolateChild *c, void *userdata)
{
        (void) kp_isolate_child_reply(c, "hello", 5);
}

/* Replies with its limits and whether anything but the socket and stdio is open. */
static void child_limits(KpIsolateChild *c, void *userdata)
{
        struct rlimit cpu, as, core, nofile;
        char buf[256];
        int open_fds = 0;

        ASSERT_TRUE(getrlimit(RLIMIT_CPU, &cpu) == 0 && getrlimit(RLIMIT_AS, &as) == 0 &&
                    getrlimit(RLIMIT_CORE, &core) == 0 && getrlimit(RLIMIT_NOFILE, &nofile) == 0);
        for (int fd = 4; fd < 1024; fd++)
                if (fcntl(fd, F_GETFD) >= 0)
                        open_fds++;
        snprintf(buf, sizeof(buf), "cpu=%llu/%llu as=%s core=%llu nofile=%llu open=%d", (unsigned long long) cpu.rlim_cur,
                 (unsigned long long) cpu.rlim_max, as.rlim_cur == RLIM_INFINITY ? "infinity" : "limited",
                 (unsigned long long) core.rlim_cur, (unsigned long long) nofile.rlim_cur, open_fds);
        (void) kp_isolate_child_reply(c, buf, strlen(buf));
}

static void test_reply_and_limits(void)
{
        _cleanup_free_ char *reply = NULL;
        KpIsolateStats st = {};
        KpError e = {};
        int extra = open("/dev/null", O_RDONLY | O_CLOEXEC);

        ASSERT_OK(run(child_hello, NULL, NULL, NULL, &e, &reply, &st));
        ASSERT_STREQ(reply, "hello");
        ASSERT_EQ(st.requests, 0);
        ASSERT_TRUE(st.max_rss > 0);
        reply = mfree(reply);

        /* The parent's other descriptors are not the child's; its limits are the ones of isolate.h. */
        ASSERT_TRUE(extra >= 0);
        ASSERT_OK(run(child_limits, NULL, NULL, NULL, &e, &reply, &st));
        if (st.limited)
                ASSERT_STREQ(reply, "cpu=4/5 as=limited core=0 nofile=8 open=0");
        else
                ASSERT_STREQ(reply, "cpu=40/41 as=infinity core=0 nofile=8 open=0");
        close(extra);
}

/* Tries what a parser taken over by its input would: open a file, make a socket, signal its parent, start a program. */
static void child_escape(KpIsolateChild *c, void *userdata)
{
        char buf[128];
        int o, s, k, x;

        o = open("/etc/passwd", O_RDONLY | O_CLOEXEC) < 0 ? errno : 0;
        s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) < 0 ? errno : 0;
        k = kill(getppid(), 0) < 0 ? errno : 0;
        x = execl("/bin/true", "true", NULL) < 0 ? errno : 0;
        snprintf(buf, sizeof(buf), "open=%d socket=%d kill=%d exec=%d", o, s, k, x);
        (void) kp_isolate_child_reply(c, buf, strlen(buf));
}

static void test_system_calls(void)
{
        _cleanup_free_ char *reply = NULL;
        KpIsolateStats st = {};
        KpError e = {};

        /* With sanitizers there is no filter, and the exec would succeed. */
        ASSERT_OK(run(child_hello, NULL, NULL, NULL, &e, &reply, &st));
#if defined(__x86_64__) || defined(__aarch64__)
        if (st.limited) {
                reply = mfree(reply);
                ASSERT_OK(run(child_escape, NULL, NULL, NULL, &e, &reply, &st));
                ASSERT_STREQ(reply, "open=1 socket=1 kill=1 exec=1"); /* EPERM, each */
                return;
        }
#endif
        fprintf(stderr, "no system call filter here\n");
}

/* Allocates and touches MiB after MiB until malloc fails, then says so as the parsers would. */
static void child_allocate(KpIsolateChild *c, void *userdata)
{
        for (size_t i = 0; i < 4096; i++) {
                char *p = malloc(1024 * 1024);
                if (!p) {
                        (void) kp_isolate_child_fail(c, -ENOMEM, "out of memory");
                        return;
                }
                memset(p, 'x', 1024 * 1024);
        }
        (void) kp_isolate_child_reply(c, "4 GiB", 5);
}

/* Allocates without looking: the first failed malloc is a crash. */
static void child_allocate_blindly(KpIsolateChild *c, void *userdata)
{
        for (size_t i = 0; i < 4096; i++) {
                volatile char *p = malloc(1024 * 1024);
                for (size_t k = 0; k < 1024 * 1024; k += 4096)
                        p[k] = 'x';
        }
        (void) kp_isolate_child_reply(c, "4 GiB", 5);
}

static void test_memory_limit(void)
{
        _cleanup_free_ char *reply = NULL;
        KpIsolateOptions o = { .memory = 32 * 1024 * 1024 };
        KpIsolateStats st = {};
        KpError e = {};

        ASSERT_OK(run(child_hello, NULL, NULL, NULL, &e, &reply, &st));
        if (!st.limited) {
                fprintf(stderr, "built with a sanitizer: no RLIMIT_AS to test\n");
                return;
        }
        ASSERT_ERROR(run(child_allocate, NULL, NULL, &o, &e, &reply, &st), -E2BIG);
        ASSERT_STREQ(e.message, "the parsing process ran out of its 32 MiB of memory (RLIMIT_AS, RLIMIT_DATA)");
        ASSERT_TRUE(st.max_rss < 64 * 1024 * 1024);

        ASSERT_ERROR(run(child_allocate_blindly, NULL, NULL, &o, &e, &reply, &st), -E2BIG);
        ASSERT_STREQ(e.message, "the parsing process was killed by SIGSEGV, as when its 32 MiB of memory (RLIMIT_AS, "
                                "RLIMIT_DATA) run out");
}

static void child_spin(KpIsolateChild *c, void *userdata)
{
        for (volatile unsigned long i = 0;; i++)
                ;
}

static void test_cpu_limit(void)
{
        _cleanup_free_ char *reply = NULL;
        KpIsolateOptions o = { .cpu_sec = 1 };
        KpIsolateStats st = {};
        KpError e = {};

        ASSERT_ERROR(run(child_spin, NULL, NULL, &o, &e, &reply, &st), -E2BIG);
        ASSERT_STREQ(e.message, "the parsing process was killed by SIGXCPU: it used its 1 s of CPU time (RLIMIT_CPU)");
        /*
         * The kernel checks the limit against its tick-sampled estimate,
         * which on a busy machine can be well off the time wait4() reports.
         */
        ASSERT_TRUE(st.cpu_usec > 0);
        fprintf(stderr, "spinning child killed after %" PRIu64 " µs of CPU\n", st.cpu_usec);
}

static void child_hang(KpIsolateChild *c, void *userdata)
{
        for (;;)
                pause();
}

static int stop_after_first(void *userdata, KpError *error)
{
        unsigned *calls = userdata;

        if (++*calls < 2)
                return 0;
        return kp_error_set(error, -ECANCELED, "cancelled");
}

static void test_deadline_and_stop(void)
{
        _cleanup_free_ char *reply = NULL;
        uint64_t start = kp_now_usec(CLOCK_MONOTONIC);
        KpIsolateOptions o = { .deadline = start + 300 * USEC_PER_MSEC };
        KpIsolateStats st = {};
        unsigned calls = 0;
        KpError e = {};

        ASSERT_ERROR(run(child_hang, NULL, NULL, &o, &e, &reply, &st), -ETIMEDOUT);
        ASSERT_STREQ(e.message, "the parsing process did not finish before the deadline");
        ASSERT_TRUE(kp_now_usec(CLOCK_MONOTONIC) - start >= 300 * USEC_PER_MSEC);
        ASSERT_TRUE(kp_now_usec(CLOCK_MONOTONIC) - start < 5 * USEC_PER_SEC);

        o = (KpIsolateOptions) { .check_stop = stop_after_first, .userdata = &calls };
        ASSERT_ERROR(run(child_hang, NULL, NULL, &o, &e, &reply, &st), -ECANCELED);
        ASSERT_STREQ(e.message, "cancelled");
        ASSERT_EQ(calls, 2);
}

static void child_garbage(KpIsolateChild *c, void *userdata)
{
        ASSERT_TRUE(write(CHILD_FD, "GARBAGE!GARBAGE!", 16) == 16);
        for (;;)
                pause();
}

/* Announces a reply one byte over the limit (and would send it). */
static void child_long_reply(KpIsolateChild *c, void *userdata)
{
        KpIsolateFrameHeader h = { KP_ISOLATE_FRAME_REPLY, KP_ISOLATE_MAX_REPLY + 1 };

        ASSERT_TRUE(write(CHILD_FD, &h, sizeof(h)) == sizeof(h));
        for (;;)
                pause();
}

/* A READ whose path holds a NUL byte. */
static void child_bad_request(KpIsolateChild *c, void *userdata)
{
        struct {
                KpIsolateFrameHeader h;
                uint64_t max;
                char path[4];
        } f = { { KP_ISOLATE_FRAME_READ, sizeof(uint64_t) + 4 }, 100, { '/', 'a', '\0', 'b' } };

        ASSERT_TRUE(write(CHILD_FD, &f, sizeof(f)) == sizeof(f));
        for (;;)
                pause();
}

static void child_exit(KpIsolateChild *c, void *userdata)
{
        _exit(3);
}

/* Hangs up but stays: the parent waits a moment, then kills it. */
static void child_hang_up(KpIsolateChild *c, void *userdata)
{
        close(CHILD_FD);
        for (;;)
                pause();
}

static void test_protocol(void)
{
        _cleanup_free_ char *reply = NULL;
        MemFs *m = memfs_new();
        KpIsolateStats st = {};
        KpError e = {};
        uint64_t start;

        ASSERT_ERROR(run(child_garbage, NULL, NULL, NULL, &e, &reply, &st), -EPROTO);
        ASSERT_STREQ(e.message, "the parsing process broke the protocol: a frame of unknown type");

        ASSERT_ERROR(run(child_long_reply, NULL, NULL, NULL, &e, &reply, &st), -EPROTO);
        ASSERT_STREQ(e.message, "the parsing process broke the protocol: a frame longer than its limit");

        ASSERT_ERROR(run(child_bad_request, NULL, m, NULL, &e, &reply, &st), -EPROTO);
        ASSERT_STREQ(e.message, "the parsing process broke the protocol: a malformed request");
        memfs_free(m);

        ASSERT_ERROR(run(child_exit, NULL, NULL, NULL, &e, &reply, &st), -EPROTO);
        ASSERT_STREQ(e.message, "the parsing process exited with status 3 without a result");

        start = kp_now_usec(CLOCK_MONOTONIC);
        ASSERT_ERROR(run(child_hang_up, NULL, NULL, NULL, &e, &reply, &st), -EPROTO);
        ASSERT_STREQ(e.message, "the parsing process was killed by SIGKILL");
        ASSERT_TRUE(kp_now_usec(CLOCK_MONOTONIC) - start < 10 * USEC_PER_SEC);
}

/* Reads a file, a missing file, a directory, and lists one: answers as the parent's KpBootFs gave them. */
static void child_requests(KpIsolateChild *c, void *userdata)
{
        const KpBootFs *fs = kp_isolate_child_fs(c);
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ char *data = NULL, *out = NULL;
        size_t size = 0;
        int a, b, d, l, p;

        a = fs->read_file(fs->userdata, "/boot/grub/grubenv", KP_BOOTCFG_MAX_SIZE, &data, &size);
        b = fs->read_file(fs->userdata, "/boot/missing", KP_BOOTCFG_MAX_SIZE, &(char *) { NULL }, &size);
        d = fs->read_file(fs->userdata, "/boot", KP_BOOTCFG_MAX_SIZE, &(char *) { NULL }, &size);
        p = fs->read_file(fs->userdata, "/boot/grub/grubenv", 0, &(char *) { NULL }, &size);
        l = fs->list_dir(fs->userdata, "/boot/grub", &names);
        ASSERT_TRUE(asprintf(&out, "%d:%s %d %d %d %d:%s %s", a, data, b, d, p, l, names[0], fs->fs_uuid) >= 0);
        (void) kp_isolate_child_reply(c, out, strlen(out));
}

static void child_too_many(KpIsolateChild *c, void *userdata)
{
        const KpBootFs *fs = kp_isolate_child_fs(c);
        size_t size;

        for (;;)
                (void) fs->read_file(fs->userdata, "/boot/missing", 100, &(char *) { NULL }, &size);
}

static void test_requests(void)
{
        _cleanup_free_ char *reply = NULL;
        MemFs *m = memfs_new();
        KpIsolateStats st = {};
        KpError e = {};

        memfs_add_str(m, "/boot/grub/grubenv", "env");
        m->fs.fs_uuid = "1234-5678";
        ASSERT_OK(run(child_requests, NULL, m, NULL, &e, &reply, &st));
        ASSERT_STREQ(reply, "0:env -2 -21 -27 0:grubenv 1234-5678");
        ASSERT_EQ(st.requests, 5);
        ASSERT_EQ(st.bytes_served, 3);

        /* A child past the parsers' own request budget misbehaves. */
        reply = mfree(reply);
        ASSERT_ERROR(run(child_too_many, NULL, m, NULL, &e, &reply, &st), -EPROTO);
        ASSERT_STREQ(e.message, "the parsing process broke the protocol: more requests than the parsers allow for one "
                                "configuration");
        ASSERT_EQ(st.requests, KP_BOOTCFG_MAX_FS_REQUESTS + 1);
        memfs_free(m);
}

int main(void)
{
        test_reply_and_limits();
        test_system_calls();
        test_memory_limit();
        test_cpu_limit();
        test_deadline_and_stop();
        test_protocol();
        test_requests();
        return 0;
}
