/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The QMP client's reader against a scripted peer on a real Unix socket:
 * what qemu really sends (a greeting, replies with ids, events in
 * between), and what a qemu driven by a compromised appliance could make
 * it send (floods of events, endless lines, silence, garbage). Every case
 * ends with the error it must, in bounded time. The client against the
 * real qemu is tested in tests/integration/test-pool.py.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "guest/qmp.h"
#include "tests.h"
#include "util/error.h"
#include "util/json.h"
#include "util/time-util.h"

static char dir[] = "/tmp/kp-test-qmp-XXXXXX";
static char path[128];

/* What the peer does after it answered qmp_capabilities and read one command. */
typedef struct Script {
        bool greet;             /* send qemu's greeting first */
        const char *reply;      /* then, for the command, these bytes (NULL: nothing) */
        size_t repeat;          /* ... this many times */
        size_t long_line;       /* then a line of this many bytes, no newline (0: none) */
        bool hold;              /* then keep the connection open until the client closes it */
} Script;

static const char greeting[] =
        "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, \"package\": \"\"}, "
        "\"capabilities\": [\"oob\"]}}\r\n";

static int listen_fd = -1;

static void read_command(int fd)
{
        char c;

        while (read(fd, &c, 1) == 1 && c != '\n')
                ;
}

/* Runs with its own copy of the script (run() allocates it): a detached peer outlives the caller's. */
static void *peer(void *userdata)
{
        _cleanup_free_ Script *s = userdata;
        int fd = accept(listen_fd, NULL, NULL);
        char c;

        ASSERT_TRUE(fd >= 0);
        if (s->greet) {
                ASSERT_TRUE(write(fd, greeting, sizeof(greeting) - 1) == (ssize_t) (sizeof(greeting) - 1));
                read_command(fd);
                ASSERT_TRUE(write(fd, "{\"return\": {}, \"id\": 1}\r\n", 25) == 25);
                read_command(fd);
        }
        for (size_t i = 0; s->reply && i < s->repeat; i++) {
                size_t n = strlen(s->reply);
                if (write(fd, s->reply, n) != (ssize_t) n)
                        break;
        }
        if (s->long_line) {
                char *line = malloc(s->long_line);
                ASSERT_TRUE(line);
                memset(line, 'x', s->long_line);
                if (write(fd, line, s->long_line) < 0)
                        { /* the client gave up first */ }
                free(line);
        }
        if (s->hold)
                while (read(fd, &c, 1) > 0)
                        ;
        close(fd);
        return NULL;
}

/* A peer thread playing a copy of s. */
static void start_peer(const Script *s, pthread_t *ret)
{
        Script *copy = malloc(sizeof(Script));

        ASSERT_TRUE(copy);
        *copy = *s;
        ASSERT_TRUE(pthread_create(ret, NULL, peer, copy) == 0);
}

/* Connects a client to a peer playing s and runs one command; returns its result. */
static int run(const Script *s, uint64_t timeout_usec, KpError *error, KpQmp **ret_client, yajl_val *ret_tree)
{
        _cleanup_(kp_qmp_freep) KpQmp *q = NULL;
        yajl_val ret_value = NULL;
        pthread_t t;
        int r;

        start_peer(s, &t);
        kp_error_clear(error);
        r = kp_qmp_connect(path, 0, error, &q);
        if (r >= 0)
                r = kp_qmp_execute(q, "query-status", NULL, kp_now_usec(CLOCK_MONOTONIC) + timeout_usec, error,
                                   ret_tree, &ret_value);
        if (r >= 0)
                ASSERT_TRUE(ret_value != NULL);
        if (ret_client)
                *ret_client = TAKE_PTR(q);
        else
                q = kp_qmp_free(q);
        /* The peer of a held connection ends when the client closes it. */
        if (!ret_client || !*ret_client)
                ASSERT_TRUE(pthread_join(t, NULL) == 0);
        else
                (void) pthread_detach(t);
        return r;
}

int main(void)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        KpError e = {};

        signal(SIGPIPE, SIG_IGN);
        ASSERT_TRUE(mkdtemp(dir));
        (void) snprintf(path, sizeof(path), "%s/qmp", dir);
        (void) snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT_TRUE(listen_fd >= 0);
        ASSERT_TRUE(bind(listen_fd, (struct sockaddr *) &sa, sizeof(sa)) == 0);
        ASSERT_TRUE(listen(listen_fd, 4) == 0);

        {
                /* qemu's own manner: events before the reply, \r\n line ends. */
                Script s = { .greet = true,
                             .reply = "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"RESET\"}\r\n",
                             .repeat = 3, .hold = true };
                _cleanup_(kp_qmp_freep) KpQmp *q = NULL;
                _cleanup_(yajl_tree_freep) yajl_val tree = NULL;
                pthread_t t;
                yajl_val v = NULL;

                start_peer(&s, &t);
                ASSERT_OK(kp_qmp_connect(path, 0, &e, &q));
                /* The peer sends three events, then nothing: the reply comes after them. */
                ASSERT_ERROR(kp_qmp_execute(q, "query-status", NULL, kp_now_usec(CLOCK_MONOTONIC) + 300 * USEC_PER_MSEC,
                                            &e, &tree, &v),
                             -ETIMEDOUT);
                ASSERT_EQ_U64(kp_qmp_skipped(q), 3);
                ASSERT_STREQ(e.message, "QMP: qemu did not answer in time");
                /* A connection given up stays given up. */
                ASSERT_ERROR(kp_qmp_execute(q, "query-status", NULL, 0, &e, NULL, NULL), -ETIMEDOUT);
                ASSERT_STREQ(e.message, "QMP: the connection to qemu was given up earlier");
                q = kp_qmp_free(q);
                ASSERT_TRUE(pthread_join(t, NULL) == 0);
        }
        {
                /* Events, a stray reply, then ours, and the value it returns. */
                Script s = { .greet = true,
                             .reply = "{\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": \"x\"}}\r\n"
                                      "{\"return\": {}, \"id\": 77}\r\n"
                                      "{\"return\": {\"status\": \"running\", \"running\": true}, \"id\": 2}\r\n",
                             .repeat = 1 };
                _cleanup_(yajl_tree_freep) yajl_val tree = NULL;
                ASSERT_OK(run(&s, USEC_PER_SEC, &e, NULL, &tree));
                ASSERT_STREQ(kp_json_get_string(kp_json_get(tree, "return"), "status"), "running");
        }
        {
                /* qemu's refusal: its class and description, control characters replaced. */
                Script s = { .greet = true,
                             .reply = "{\"id\": 2, \"error\": {\"class\": \"GenericError\", "
                                      "\"desc\": \"Bus 'scsi.0' not found\\n\"}}\r\n",
                             .repeat = 1 };
                ASSERT_ERROR(run(&s, USEC_PER_SEC, &e, NULL, NULL), -EIO);
                ASSERT_STREQ(e.message, "QMP: qemu refused query-status: GenericError: Bus 'scsi.0' not found?");
        }
        {
                /* A flood of events: given up after KP_QMP_MAX_SKIPPED, not read forever. */
                Script s = { .greet = true, .reply = "{\"event\": \"RTC_CHANGE\", \"data\": {\"offset\": 1}}\r\n",
                             .repeat = KP_QMP_MAX_SKIPPED + 50, .hold = false };
                uint64_t t0 = kp_now_usec(CLOCK_MONOTONIC);
                ASSERT_ERROR(run(&s, 5 * USEC_PER_SEC, &e, NULL, NULL), -EPROTO);
                ASSERT_STREQ(e.message, "QMP: more than 256 messages from qemu while waiting for the reply to "
                                        "query-status");
                ASSERT_TRUE(kp_now_usec(CLOCK_MONOTONIC) - t0 < 2 * USEC_PER_SEC);
        }
        {
                /* A line that never ends: refused at KP_QMP_MAX_LINE, whatever follows. */
                Script s = { .greet = true, .long_line = KP_QMP_MAX_LINE + 4096, .hold = true };
                KpQmp *q = NULL;
                ASSERT_ERROR(run(&s, 5 * USEC_PER_SEC, &e, &q, NULL), -EMSGSIZE);
                ASSERT_STREQ(e.message, "QMP: qemu sent a message longer than 65536 bytes");
                kp_qmp_free(q);
        }
        {
                /* Silence: the deadline, not a hang. */
                Script s = { .greet = true, .hold = true };
                KpQmp *q = NULL;
                uint64_t t0 = kp_now_usec(CLOCK_MONOTONIC), took;
                ASSERT_ERROR(run(&s, 200 * USEC_PER_MSEC, &e, &q, NULL), -ETIMEDOUT);
                took = kp_now_usec(CLOCK_MONOTONIC) - t0;
                ASSERT_TRUE(took >= 190 * USEC_PER_MSEC && took < USEC_PER_SEC);
                kp_qmp_free(q);
        }
        {
                /* qemu gone: the end of the stream. */
                Script s = { .greet = true };
                ASSERT_ERROR(run(&s, USEC_PER_SEC, &e, NULL, NULL), -ECONNRESET);
                ASSERT_STREQ(e.message, "QMP: qemu closed its monitor (the appliance is gone?)");
        }
        {
                /* Not JSON, and JSON that is not an object. */
                Script s = { .greet = true, .reply = "}{ not json\r\n", .repeat = 1 };
                ASSERT_ERROR(run(&s, USEC_PER_SEC, &e, NULL, NULL), -EPROTO);
                ASSERT_STREQ(e.message, "QMP: qemu sent something that is not a QMP message");
                s.reply = "[1, 2]\r\n";
                ASSERT_ERROR(run(&s, USEC_PER_SEC, &e, NULL, NULL), -EPROTO);
        }
        {
                /* Something else on the socket: no greeting. */
                Script s = { .greet = false, .reply = "{\"hello\": 1}\r\n", .repeat = 1 };
                ASSERT_ERROR(run(&s, USEC_PER_SEC, &e, NULL, NULL), -EPROTO);
                ASSERT_STREQ(e.message, "QMP: no QMP greeting on the socket");
        }
        {
                KpQmp *q = NULL;
                /* Nobody listening. */
                ASSERT_ERROR(kp_qmp_connect("/nonexistent/qmp", 0, &e, &q), -ENOENT);
        }

        close(listen_fd);
        unlink(path);
        rmdir(dir);
        return 0;
}
