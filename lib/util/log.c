/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>

#include "util/log.h"
#include "util/tty-progress.h"

/* Where journald reads native messages (systemd.io/JOURNAL_NATIVE_PROTOCOL). */
#define KP_JOURNAL_SOCKET "/run/systemd/journal/socket"
/* Fields of one message: MESSAGE, PRIORITY, ERRNO and the caller's. */
#define KP_LOG_MAX_FIELDS 32

static KpLogTarget log_target = KP_LOG_TARGET_AUTO;
static int log_max_level = LOG_INFO;
static const char *journal_socket = KP_JOURNAL_SOCKET;

void kp_log_set_journal_socket(const char *path)
{
        journal_socket = path ?: KP_JOURNAL_SOCKET;
}

void kp_log_set_target(KpLogTarget target)
{
        log_target = target;
}

void kp_log_set_max_level(int level)
{
        log_max_level = level;
}

int kp_log_get_max_level(void)
{
        return log_max_level;
}

/* systemd sets JOURNAL_STREAM=<dev>:<ino> when stderr is connected to journald. */
static bool stderr_is_journal(void)
{
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

/*
 * One "KEY=value" field in the journal's native format: "KEY=value\n", or,
 * when the value holds a newline, "KEY\n", the value's length as 64-bit
 * little-endian, the value and "\n". Fills up to KP_JOURNAL_FIELD_IOVECS
 * iovecs and returns how many.
 */
#define KP_JOURNAL_FIELD_IOVECS 5
static size_t journal_field(struct iovec *iov, const char *field, uint8_t size_le[8])
{
        const char *eq = strchr(field, '=');
        uint64_t value;

        if (!eq || !strchr(eq + 1, '\n')) {
                iov[0] = (struct iovec) { .iov_base = (char *) field, .iov_len = strlen(field) };
                iov[1] = (struct iovec) { .iov_base = (char *) "\n", .iov_len = 1 };
                return 2;
        }
        value = strlen(eq + 1);
        for (size_t i = 0; i < 8; i++)
                size_le[i] = (uint8_t) (value >> (8 * i));
        iov[0] = (struct iovec) { .iov_base = (char *) field, .iov_len = (size_t) (eq - field) };
        iov[1] = (struct iovec) { .iov_base = (char *) "\n", .iov_len = 1 };
        iov[2] = (struct iovec) { .iov_base = size_le, .iov_len = 8 };
        iov[3] = (struct iovec) { .iov_base = (char *) eq + 1, .iov_len = (size_t) value };
        iov[4] = (struct iovec) { .iov_base = (char *) "\n", .iov_len = 1 };
        return 5;
}

/*
 * One datagram to journald, in its native protocol: what
 * sd_journal_sendv() sends, without linking libsystemd for it (its
 * loading alone was half of kunpack-boot's hot start). A message too big
 * for one datagram fails here and goes to stderr instead.
 */
static int log_to_journal(int level, int error, const char *const *fields, const char *message)
{
        _cleanup_free_ char *msg = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *all[KP_LOG_MAX_FIELDS];
        struct iovec iov[KP_JOURNAL_FIELD_IOVECS * KP_LOG_MAX_FIELDS];
        uint8_t sizes[KP_LOG_MAX_FIELDS][8];
        char prio[32], errno_field[32];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct msghdr mh = {
                .msg_name = &sa,
                .msg_namelen = sizeof(sa),
                .msg_iov = iov,
        };
        size_t n = 0, k = 0;

        if (strlen(journal_socket) >= sizeof(sa.sun_path))
                return -EINVAL;
        strcpy(sa.sun_path, journal_socket);
        if (asprintf(&msg, "MESSAGE=%s", message) < 0)
                return -ENOMEM;
        (void) snprintf(prio, sizeof(prio), "PRIORITY=%i", level);
        all[n++] = msg;
        all[n++] = prio;
        if (error != 0) {
                (void) snprintf(errno_field, sizeof(errno_field), "ERRNO=%i", error < 0 ? -error : error);
                all[n++] = errno_field;
        }
        for (size_t i = 0; fields && fields[i] && n < ELEMENTSOF(all); i++)
                all[n++] = fields[i];
        for (size_t i = 0; i < n; i++)
                k += journal_field(iov + k, all[i], sizes[i]);
        mh.msg_iovlen = k;

        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
                return negative_errno();
        return 0;
}

int kp_log_internal(int level, int error, const char *const *fields, const char *format, ...)
{
        char message[2048];
        va_list ap;
        bool journal;
        int saved = errno;

        if (level > log_max_level)
                return error;

        va_start(ap, format);
        (void) vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);

        journal = log_target == KP_LOG_TARGET_JOURNAL || log_target == KP_LOG_TARGET_JOURNAL_AND_STDERR ||
                  (log_target == KP_LOG_TARGET_AUTO && stderr_is_journal());
        if (journal && log_to_journal(level, error, fields, message) >= 0 &&
            log_target != KP_LOG_TARGET_JOURNAL_AND_STDERR) {
                errno = saved;
                return error;
        }

        kp_tty_progress_before_line();
        fprintf(stderr, "%s: %s", program_invocation_short_name, message);
        if (log_max_level >= LOG_DEBUG && fields && fields[0]) {
                fputs(" (", stderr);
                for (size_t i = 0; fields[i]; i++)
                        fprintf(stderr, "%s%s", i ? " " : "", fields[i]);
                fputc(')', stderr);
        }
        fputc('\n', stderr);
        kp_tty_progress_after_line();

        errno = saved;
        return error;
}
