/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/client's outcomes: what kunpack-boot and kunpackctl branch on. The
 * daemon's side is a real sd-bus server in a child process on a unix
 * socket, answering Prepare as each case says; the client connects to it
 * as kunpack-boot does, by path.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "client/bus-api.h"
#include "client/client.h"
#include "tests.h"

static char dir[] = "/tmp/kp-test-client-XXXXXX";

typedef enum Answer {
        ANSWER_RESULT,        /* a reply, as a served start */
        ANSWER_ERROR_NAME,    /* one of org.kunpack.Error.* */
        ANSWER_ERRNO,         /* an errno-mapped error, as bus_reply_errno() sends for the others */
        ANSWER_NONE,          /* the daemon dies with the call in hand */
        ANSWER_AFTER_SCAN,    /* PrepareWaiting first, a reply a "scan" later: a cold start */
        ANSWER_NEVER,         /* an impostor: the client must not even ask */
} Answer;

/* How long the pretend scan of ANSWER_AFTER_SCAN takes. */
#define SCAN_USEC (300 * UINT64_C(1000))

typedef struct Server {
        Answer answer;
        const char *error_name;
        int error_errno;
} Server;

static const KpPrepareDisk disk = { .path = "/srv/xen/web1.img", .format = "qcow2" };

static const KpPrepareRequest request = {
        .disks = &disk,
        .n_disks = 1,
        .mode = "direct",
        .args = "console=hvc0",
        .output_directory = "/var/run/xen/bootloader.7.d",
        .timeout_usec = 10 * UINT64_C(1000000),
        .domid = 7,
};

/* In the child: the request must arrive as the client built it. */
static bool request_as_sent(sd_bus_message *m)
{
        const char *path, *format, *entry, *mode, *kernel, *ramdisk, *args, *outdir;
        uint64_t timeout, flags;
        uint32_t domid;

        return sd_bus_message_enter_container(m, 'a', "(ss)") >= 0 &&
               sd_bus_message_read(m, "(ss)", &path, &format) > 0 && sd_bus_message_exit_container(m) >= 0 &&
               sd_bus_message_read(m, "ssssssttu", &entry, &mode, &kernel, &ramdisk, &args, &outdir, &timeout,
                                   &flags, &domid) >= 0 &&
               streq(path, disk.path) && streq(format, "qcow2") && streq(entry, "") &&
               streq(mode, "direct") && streq(kernel, "") && streq(args, "console=hvc0") &&
               streq(outdir, request.output_directory) && timeout == request.timeout_usec && flags == 0 &&
               domid == request.domid;
}

static int on_message(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        const Server *s = userdata;

        if (!sd_bus_message_is_method_call(m, KP_BUS_INTERFACE, "Prepare"))
                return 0;
        if (!request_as_sent(m))
                _exit(2);
        switch (s->answer) {
        case ANSWER_RESULT:
                (void) sd_bus_reply_method_return(m, "sssbsss", "/var/run/xen/bootloader.7.d/kernel.x1", "",
                                                  "root=/dev/xvda1 console=hvc0", 1,
                                                  "/boot/vmlinuz-6.1.0-13-amd64", "5d1f", "Debian GNU/Linux");
                break;
        case ANSWER_ERROR_NAME:
                (void) sd_bus_reply_method_errorf(m, s->error_name, "as %s says", s->error_name);
                break;
        case ANSWER_ERRNO:
                (void) sd_bus_reply_method_errnof(m, s->error_errno, "nothing bootable");
                break;
        case ANSWER_NONE:
                _exit(0);
        case ANSWER_AFTER_SCAN:
                (void) sd_bus_emit_signal(sd_bus_message_get_bus(m), KP_BUS_PATH, KP_BUS_INTERFACE,
                                          "PrepareWaiting", "ss", disk.path, "the image was modified since the scan");
                (void) sd_bus_flush(sd_bus_message_get_bus(m));
                (void) usleep(SCAN_USEC);
                (void) sd_bus_reply_method_return(m, "sssbsss", "/var/run/xen/bootloader.7.d/kernel.x2", "",
                                                  "console=hvc0", 0, "/boot/vmlinuz-5.4.0-42-generic", "77aa",
                                                  "Ubuntu");
                break;
        case ANSWER_NEVER:
                _exit(5);
        }
        return 1;
}

/* One connection, served until the client hangs up. */
static void serve(int listen_fd, const Server *s)
{
        sd_bus *bus = NULL;
        sd_id128_t id;
        int fd, r;

        fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
                _exit(3);
        r = sd_id128_randomize(&id);
        if (r >= 0)
                r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_fd(bus, fd, fd);
        if (r >= 0)
                r = sd_bus_set_server(bus, 1, id);
        if (r >= 0)
                r = sd_bus_add_filter(bus, NULL, on_message, (void *) s);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0)
                _exit(4);
        for (;;) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        _exit(0); /* the client went away */
                if (r == 0 && sd_bus_wait(bus, UINT64_MAX) < 0)
                        _exit(0);
        }
}

/* Binds path; listens too unless asked not to (a socket a dead daemon left). */
static int bind_at(const char *path, bool listening)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        ASSERT_TRUE(fd >= 0);
        ASSERT_TRUE(strlen(path) < sizeof(sa.sun_path));
        strcpy(sa.sun_path, path);
        ASSERT_OK(bind(fd, (struct sockaddr *) &sa, sizeof(sa)));
        if (listening)
                ASSERT_OK(listen(fd, 1));
        return fd;
}

/* Runs one Prepare against a server that answers as s says. */
static KpClientOutcome prepare_request_against(const Server *s, const KpPrepareRequest *req, KpError *error,
                                               KpPrepareReply *reply)
{
        _cleanup_free_ char *path = NULL;
        KpClientOutcome o;
        int fd, status;
        pid_t pid;

        ASSERT_TRUE(asprintf(&path, "%s/kunpackd.sock", dir) > 0);
        fd = bind_at(path, true);
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0)
                serve(fd, s);
        close(fd);

        o = kp_client_prepare(path, req, error, reply);

        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0); /* 2: the request arrived other than it was sent */
        ASSERT_OK(unlink(path));
        return o;
}

static KpClientOutcome prepare_against(const Server *s, KpError *error, KpPrepareReply *reply)
{
        return prepare_request_against(s, &request, error, reply);
}

static uint64_t now_usec(void)
{
        struct timespec ts;

        ASSERT_OK(clock_gettime(CLOCK_MONOTONIC, &ts));
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

typedef struct Waiting {
        unsigned calls;
        char disk[256];
        char why[256];
        uint64_t at;
} Waiting;

static void on_waiting(const char *d, const char *why, void *userdata)
{
        Waiting *w = userdata;

        w->calls++;
        (void) snprintf(w->disk, sizeof(w->disk), "%s", d);
        (void) snprintf(w->why, sizeof(w->why), "%s", why);
        w->at = now_usec();
}

/*
 * A cold start through the daemon: the caller hears that it waits for a
 * scan, and why, while the call is still open, a scan's length before the
 * answer; the answer is then read as any other.
 */
static void test_told_while_waiting(void)
{
        _cleanup_(kp_prepare_reply_done) KpPrepareReply reply = {};
        Server s = { .answer = ANSWER_AFTER_SCAN };
        Waiting w = {};
        KpPrepareRequest req = request;
        KpError error = {};
        uint64_t answered;

        req.on_waiting = on_waiting;
        req.userdata = &w;
        ASSERT_EQ(prepare_request_against(&s, &req, &error, &reply), KP_CLIENT_ANSWERED);
        answered = now_usec();
        ASSERT_EQ(w.calls, 1u);
        ASSERT_STREQ(w.disk, "/srv/xen/web1.img");
        ASSERT_STREQ(w.why, "the image was modified since the scan");
        ASSERT_TRUE(answered - w.at >= SCAN_USEC * 8 / 10);
        ASSERT_STREQ(reply.kernel, "/var/run/xen/bootloader.7.d/kernel.x2");
        ASSERT_FALSE(reply.hot);
        ASSERT_STREQ(reply.detail, "Ubuntu");

        /* Without a callback the signal is read and dropped: the answer is the same. */
        kp_prepare_reply_done(&reply);
        ASSERT_EQ(prepare_against(&s, &error, &reply), KP_CLIENT_ANSWERED);
        ASSERT_STREQ(reply.kernel, "/var/run/xen/bootloader.7.d/kernel.x2");
        ASSERT_EQ(w.calls, 1u);
}

static void test_answered(void)
{
        _cleanup_(kp_prepare_reply_done) KpPrepareReply reply = {};
        Server s = { .answer = ANSWER_RESULT };
        KpError error = {};

        ASSERT_EQ(prepare_against(&s, &error, &reply), KP_CLIENT_ANSWERED);
        ASSERT_STREQ(reply.kernel, "/var/run/xen/bootloader.7.d/kernel.x1");
        ASSERT_TRUE(reply.ramdisk == NULL); /* "" on the wire: the entry has none */
        ASSERT_STREQ(reply.args, "root=/dev/xvda1 console=hvc0");
        ASSERT_TRUE(reply.hot);
        ASSERT_STREQ(reply.guest_kernel, "/boot/vmlinuz-6.1.0-13-amd64");
        ASSERT_STREQ(reply.kernel_sha256, "5d1f");
        ASSERT_STREQ(reply.detail, "Debian GNU/Linux");
}

static void test_daemon_answers(void)
{
        static const struct {
                Server server;
                KpClientOutcome outcome;
                int code;
        } cases[] = {
                { { ANSWER_ERROR_NAME, KP_BUS_ERROR_NOT_SUPPORTED, 0 }, KP_CLIENT_DECLINED, -EOPNOTSUPP },
                { { ANSWER_ERROR_NAME, KP_BUS_ERROR_ACCESS_DENIED, 0 }, KP_CLIENT_REFUSED, -EACCES },
                { { ANSWER_ERROR_NAME, KP_BUS_ERROR_SHUTTING_DOWN, 0 }, KP_CLIENT_LOST, -ESHUTDOWN },
                { { ANSWER_ERROR_NAME, KP_BUS_ERROR_SCAN_FAILED, 0 }, KP_CLIENT_FAILED, -EIO },
                { { ANSWER_ERROR_NAME, KP_BUS_ERROR_TIMEOUT, 0 }, KP_CLIENT_FAILED, -ETIMEDOUT },
                { { ANSWER_ERROR_NAME, KP_BUS_ERROR_NO_SUCH_GUEST, 0 }, KP_CLIENT_FAILED, -ENOENT },
                /* The daemon's -ENOENT is an answer, never "no daemon"; nor is its -ECONNREFUSED. */
                { { ANSWER_ERRNO, NULL, ENOENT }, KP_CLIENT_FAILED, -ENOENT },
                { { ANSWER_ERRNO, NULL, ECONNREFUSED }, KP_CLIENT_FAILED, -ECONNREFUSED },
                { { ANSWER_ERRNO, NULL, EOPNOTSUPP }, KP_CLIENT_DECLINED, -EOPNOTSUPP },
                { { ANSWER_ERRNO, NULL, EINVAL }, KP_CLIENT_FAILED, -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                KpPrepareReply reply = {};
                KpError error = {};

                ASSERT_EQ(prepare_against(&cases[i].server, &error, &reply), cases[i].outcome);
                ASSERT_EQ(error.code, cases[i].code);
                ASSERT_TRUE(reply.kernel == NULL && reply.args == NULL); /* untouched */
                if (cases[i].server.answer == ANSWER_ERRNO)
                        ASSERT_STREQ(error.message, "kunpackd: nothing bootable");
                else
                        ASSERT_CONTAINS(error.message, cases[i].server.error_name);
        }
}

static void test_daemon_dies_mid_call(void)
{
        Server s = { .answer = ANSWER_NONE };
        KpPrepareReply reply = {};
        KpError error = {};

        /* sd-bus reports it as an error reply of its own (System.Error.ECONNRESET): still no answer. */
        ASSERT_EQ(prepare_against(&s, &error, &reply), KP_CLIENT_LOST);
        ASSERT_TRUE(error.code == -ECONNRESET || error.code == -EPIPE || error.code == -ENOTCONN);
        ASSERT_TRUE(strncmp(error.message, "kunpackd: ", 10) == 0);
}

static void test_no_daemon(void)
{
        _cleanup_free_ char *path = NULL, *want = NULL;
        KpPrepareReply reply = {};
        KpError error = {};
        int fd;

        /* No socket at all. */
        ASSERT_TRUE(asprintf(&path, "%s/none.sock", dir) > 0);
        ASSERT_EQ(kp_client_prepare(path, &request, &error, &reply), KP_CLIENT_NO_DAEMON);
        ASSERT_EQ(error.code, -ENOENT);
        ASSERT_TRUE(asprintf(&want, "kunpackd is not running (%s: No such file or directory)", path) > 0);
        ASSERT_STREQ(error.message, want);

        /* A socket file nobody listens on, as a daemon killed with SIGKILL leaves it. */
        fd = bind_at(path, false);
        error = (KpError) {};
        ASSERT_EQ(kp_client_prepare(path, &request, &error, &reply), KP_CLIENT_NO_DAEMON);
        ASSERT_EQ(error.code, -ECONNREFUSED);
        ASSERT_CONTAINS(error.message, "kunpackd is not running (");
        close(fd);
        ASSERT_OK(unlink(path));

        /* Not a socket path kunpack accepts: a failure of the caller's, not a missing daemon. */
        error = (KpError) {};
        ASSERT_EQ(kp_client_prepare("run/kunpackd.sock", &request, &error, &reply), KP_CLIENT_FAILED);
        ASSERT_EQ(error.code, -EINVAL);
}

/*
 * Something else listens on the socket, as uid 65534 (SO_PEERCRED gives
 * the listener's credentials at listen()): nothing is asked, and the
 * caller is told to do the work itself.
 */
static void test_untrusted_listener(void)
{
        _cleanup_free_ char *path = NULL;
        KpPrepareReply reply = {};
        KpError error = {};
        Server s = { .answer = ANSWER_NEVER };
        int fd, ready[2], status;
        char byte;
        pid_t pid;

        ASSERT_TRUE(asprintf(&path, "%s/impostor.sock", dir) > 0);
        fd = bind_at(path, false);
        ASSERT_OK(pipe2(ready, O_CLOEXEC));
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0 || listen(fd, 1) < 0)
                        _exit(6);
                if (write(ready[1], "1", 1) != 1)
                        _exit(7);
                serve(fd, &s);
        }
        close(fd);
        close(ready[1]);
        ASSERT_EQ(read(ready[0], &byte, 1), 1);
        close(ready[0]);

        ASSERT_EQ(kp_client_prepare(path, &request, &error, &reply), KP_CLIENT_UNTRUSTED);
        ASSERT_EQ(error.code, -EPERM);
        ASSERT_CONTAINS(error.message, "is served by uid 65534");
        ASSERT_CONTAINS(error.message, "not root: not kunpackd, not asked");
        ASSERT_TRUE(reply.kernel == NULL);

        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0); /* 5: the impostor was asked */
        ASSERT_OK(unlink(path));
}

static void test_call_outcome(void)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;

        /* No error message at all (the call could not even be built): the errno. */
        ASSERT_EQ(kp_client_call_outcome(-ENOTCONN, &e), KP_CLIENT_LOST);
        ASSERT_EQ(kp_client_call_outcome(-ENOMEM, &e), KP_CLIENT_FAILED);
        /* Never "no daemon" from a call: that is the daemon's own -ENOENT. */
        ASSERT_EQ(kp_client_call_outcome(-ENOENT, NULL), KP_CLIENT_FAILED);

        /* sd-bus's own errors, as sd_bus_call() leaves them: a lost connection, a timeout. */
        (void) sd_bus_error_set_errno(&e, ECONNRESET);
        ASSERT_EQ(kp_client_call_outcome(-ECONNRESET, &e), KP_CLIENT_LOST);
        sd_bus_error_free(&e);
        (void) sd_bus_error_set_errno(&e, ETIMEDOUT);
        ASSERT_EQ(kp_client_call_outcome(-ETIMEDOUT, &e), KP_CLIENT_FAILED);
        sd_bus_error_free(&e);

        /* An answer: what it says, whatever errno the call returned with it. */
        (void) sd_bus_error_set(&e, KP_BUS_ERROR_ACCESS_DENIED, "kunpackd serves root only");
        ASSERT_EQ(kp_client_call_outcome(-EACCES, &e), KP_CLIENT_REFUSED);
        sd_bus_error_free(&e);
        (void) sd_bus_error_set(&e, SD_BUS_ERROR_ACCESS_DENIED, "refused");
        ASSERT_EQ(kp_client_call_outcome(-EACCES, &e), KP_CLIENT_REFUSED);
        sd_bus_error_free(&e);
        (void) sd_bus_error_set(&e, KP_BUS_ERROR_NO_SUCH_GUEST, "no guest named \"g9\"");
        ASSERT_EQ(kp_client_call_outcome(-ENOENT, &e), KP_CLIENT_FAILED);
        sd_bus_error_free(&e);
}

int main(void)
{
        /* A child that dies mid-call must not take the test with it. */
        (void) signal(SIGPIPE, SIG_IGN);
        ASSERT_TRUE(mkdtemp(dir));

        test_call_outcome();
        test_no_daemon();
        test_answered();
        test_daemon_answers();
        test_daemon_dies_mid_call();
        test_told_while_waiting();
        if (geteuid() == 0)
                test_untrusted_listener();
        else
                fprintf(stderr, "not root: no listener of another uid to test against\n");

        ASSERT_OK(rmdir(dir));
        return 0;
}
