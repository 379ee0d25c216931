/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "guest/qmp.h"
#include "util/error.h"
#include "util/json.h"

struct KpQmp {
        int fd;
        uint64_t next_id;
        int broken;             /* 0, or why the connection was given up (every call fails with it) */
        uint64_t skipped;
        size_t have;            /* bytes in buf */
        char buf[KP_QMP_MAX_LINE + 1];
};

KpQmp *kp_qmp_free(KpQmp *q)
{
        if (!q)
                return NULL;
        safe_close(q->fd);
        free(q);
        return NULL;
}

uint64_t kp_qmp_skipped(const KpQmp *q)
{
        return q->skipped;
}

static uint64_t effective_deadline(uint64_t deadline)
{
        uint64_t own = kp_now_usec(CLOCK_MONOTONIC) + KP_QMP_COMMAND_TIMEOUT_USEC;

        return deadline == 0 || deadline > own ? own : deadline;
}

/* poll() for events on the socket until deadline: 0 ready, -ETIMEDOUT, or the error. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
        for (;;) {
                struct pollfd p = { .fd = fd, .events = events };
                uint64_t left = kp_usec_left(deadline);
                int n;

                if (left == 0)
                        return -ETIMEDOUT;
                n = poll(&p, 1, (int) MIN((left + USEC_PER_MSEC - 1) / USEC_PER_MSEC, (uint64_t) INT32_MAX));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n > 0)
                        return 0;
        }
}

static int broken(KpQmp *q, KpError *error, int r, const char *format, ...) _printf_(4, 5);
static int broken(KpQmp *q, KpError *error, int r, const char *format, ...)
{
        char message[KP_ERROR_MESSAGE_MAX];
        va_list ap;

        q->broken = r;
        va_start(ap, format);
        (void) vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);
        return kp_error_set(error, r, "QMP: %s", message);
}

/*
 * The next line (without its "\r\n") as a NUL-terminated string in q->buf,
 * its length in *ret_len; the caller consumes it with consume_line().
 */
static int read_line(KpQmp *q, uint64_t deadline, KpError *error, size_t *ret_len)
{
        for (;;) {
                char *nl = memchr(q->buf, '\n', q->have);
                ssize_t n;
                int r;

                if (nl) {
                        size_t len = (size_t) (nl - q->buf);

                        *nl = '\0';
                        if (len > 0 && q->buf[len - 1] == '\r')
                                q->buf[len - 1] = '\0';
                        *ret_len = len;
                        return 0;
                }
                if (q->have >= KP_QMP_MAX_LINE)
                        return broken(q, error, -EMSGSIZE, "qemu sent a message longer than %d bytes",
                                      KP_QMP_MAX_LINE);
                r = wait_fd(q->fd, POLLIN, deadline);
                if (r == -ETIMEDOUT)
                        return broken(q, error, r, "qemu did not answer in time");
                if (r < 0)
                        return broken(q, error, r, "cannot wait for qemu: %s", strerror(-r));
                n = read(q->fd, q->buf + q->have, KP_QMP_MAX_LINE - q->have);
                if (n < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (n < 0)
                        return broken(q, error, negative_errno(), "cannot read from qemu: %m");
                if (n == 0)
                        return broken(q, error, -ECONNRESET, "qemu closed its monitor (the appliance is gone?)");
                q->have += (size_t) n;
        }
}

static void consume_line(KpQmp *q, size_t len)
{
        size_t used = MIN(len + 1, q->have);

        memmove(q->buf, q->buf + used, q->have - used);
        q->have -= used;
}

static int write_all(KpQmp *q, const char *text, size_t size, uint64_t deadline, KpError *error)
{
        while (size > 0) {
                ssize_t n = send(q->fd, text, size, MSG_NOSIGNAL);
                int r;

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN) {
                        r = wait_fd(q->fd, POLLOUT, deadline);
                        if (r < 0)
                                return broken(q, error, r, "cannot send to qemu: %s", strerror(-r));
                        continue;
                }
                if (n < 0)
                        return broken(q, error, negative_errno(), "cannot send to qemu: %m");
                text += n;
                size -= (size_t) n;
        }
        return 0;
}

/* qemu's error description, printable and short, for a message of ours. */
static void describe_error(yajl_val err, char *buf, size_t size)
{
        const char *cls = kp_json_get_string(err, "class"), *desc = kp_json_get_string(err, "desc");

        (void) snprintf(buf, size, "%s: %s", cls ? cls : "error", desc ? desc : "no description");
        for (char *p = buf; *p; p++)
                if ((unsigned char) *p < ' ' || *p == 0x7f)
                        *p = '?';
}

/*
 * Reads messages until the reply with id (or, id 0, the greeting),
 * skipping at most KP_QMP_MAX_SKIPPED others.
 */
static int read_reply(KpQmp *q, const char *command, uint64_t id, uint64_t deadline, KpError *error,
                      yajl_val *ret_tree)
{
        for (unsigned skipped = 0;; skipped++) {
                _cleanup_(yajl_tree_freep) yajl_val v = NULL;
                size_t len = 0;
                uint64_t got;
                int r;

                if (skipped > KP_QMP_MAX_SKIPPED)
                        return broken(q, error, -EPROTO,
                                      "more than %d messages from qemu while waiting for the reply to %s",
                                      KP_QMP_MAX_SKIPPED, command);
                r = read_line(q, deadline, error, &len);
                if (r < 0)
                        return r;
                r = kp_json_parse(q->buf, NULL, &v);
                consume_line(q, len);
                if (r < 0 || !YAJL_IS_OBJECT(v))
                        return broken(q, error, -EPROTO, "qemu sent something that is not a QMP message");

                if (id == 0) {
                        if (!kp_json_get(v, "QMP"))
                                return broken(q, error, -EPROTO, "no QMP greeting on the socket");
                        *ret_tree = TAKE_PTR(v);
                        return 0;
                }
                /* Events, and replies to no command of ours: counted, dropped. */
                if (kp_json_get(v, "event") || kp_json_get_uint(v, "id", &got) < 0 || got != id) {
                        q->skipped++;
                        continue;
                }
                if (kp_json_get(v, "error")) {
                        char why[KP_ERROR_MESSAGE_MAX / 2];

                        describe_error(kp_json_get(v, "error"), why, sizeof(why));
                        return kp_error_set(error, -EIO, "QMP: qemu refused %s: %s", command, why);
                }
                if (!kp_json_get(v, "return"))
                        return broken(q, error, -EPROTO, "the reply to %s has neither return nor error", command);
                *ret_tree = TAKE_PTR(v);
                return 0;
        }
}

int kp_qmp_execute(KpQmp *q, const char *command, const char *arguments, uint64_t deadline, KpError *error,
                   yajl_val *ret_tree, yajl_val *ret_return)
{
        _cleanup_(yajl_tree_freep) yajl_val tree = NULL;
        _cleanup_free_ char *text = NULL;
        uint64_t id;
        int n, r;

        if (q->broken)
                return kp_error_set(error, q->broken, "QMP: the connection to qemu was given up earlier");
        deadline = effective_deadline(deadline);
        id = ++q->next_id;
        /* command is one of ours (a constant); arguments come from a JSON generator. */
        n = asprintf(&text, "{\"execute\":\"%s\",\"arguments\":%s,\"id\":%" PRIu64 "}\n", command,
                     arguments ? arguments : "{}", id);
        if (n < 0) {
                text = NULL;
                return kp_error_set(error, -ENOMEM, "out of memory");
        }
        r = write_all(q, text, (size_t) n, deadline, error);
        if (r < 0)
                return r;
        r = read_reply(q, command, id, deadline, error, &tree);
        if (r < 0)
                return r;
        if (ret_return)
                *ret_return = kp_json_get(tree, "return");
        if (ret_tree)
                *ret_tree = TAKE_PTR(tree);
        return 0;
}

int kp_qmp_connect(const char *path, uint64_t deadline, KpError *error, KpQmp **ret)
{
        _cleanup_(kp_qmp_freep) KpQmp *q = NULL;
        _cleanup_(yajl_tree_freep) yajl_val greeting = NULL;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return kp_error_set(error, -ENAMETOOLONG, "QMP: socket path %s is too long", path);
        memcpy(sa.sun_path, path, strlen(path) + 1);

        q = calloc(1, sizeof(KpQmp));
        if (!q)
                return kp_error_set(error, -ENOMEM, "out of memory");
        q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (q->fd < 0)
                return kp_error_set_errno(error, negative_errno(), "QMP: cannot make a socket");
        /* A local listener accepts at once (or refuses); from here on every wait is bounded by poll(). */
        if (connect(q->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return kp_error_set_errno(error, negative_errno(), "QMP: cannot connect to %s", path);
        if (fcntl(q->fd, F_SETFL, O_NONBLOCK) < 0)
                return kp_error_set_errno(error, negative_errno(), "QMP: cannot make the socket non-blocking");

        deadline = effective_deadline(deadline);
        r = read_reply(q, "the greeting", 0, deadline, error, &greeting);
        if (r < 0)
                return r;
        r = kp_qmp_execute(q, "qmp_capabilities", NULL, deadline, error, NULL, NULL);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(q);
        return 0;
}
