/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>

#if HAVE_SYSTEMD
#include <systemd/sd-journal.h>
#endif

#include "util/log.h"

static KpLogTarget log_target = KP_LOG_TARGET_AUTO;
static int log_max_level = LOG_INFO;

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

#if HAVE_SYSTEMD
static int log_to_journal(int level, int error, const char *const *fields, const char *message)
{
        struct iovec iov[32];
        char prio[32], errno_field[32];
        _cleanup_free_ char *msg = NULL;
        size_t n = 0;

        if (asprintf(&msg, "MESSAGE=%s", message) < 0)
                return -ENOMEM;
        (void) snprintf(prio, sizeof(prio), "PRIORITY=%i", level);
        iov[n++] = (struct iovec){ .iov_base = msg, .iov_len = strlen(msg) };
        iov[n++] = (struct iovec){ .iov_base = prio, .iov_len = strlen(prio) };
        if (error != 0) {
                (void) snprintf(errno_field, sizeof(errno_field), "ERRNO=%i", error < 0 ? -error : error);
                iov[n++] = (struct iovec){ .iov_base = errno_field, .iov_len = strlen(errno_field) };
        }
        for (size_t i = 0; fields && fields[i] && n < ELEMENTSOF(iov); i++)
                iov[n++] = (struct iovec){ .iov_base = (char *) fields[i], .iov_len = strlen(fields[i]) };

        return sd_journal_sendv(iov, (int) n);
}
#endif

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
#if HAVE_SYSTEMD
        if (journal && log_to_journal(level, error, fields, message) >= 0 &&
            log_target != KP_LOG_TARGET_JOURNAL_AND_STDERR) {
                errno = saved;
                return error;
        }
#else
        (void) journal;
#endif

        fprintf(stderr, "%s: %s", program_invocation_short_name, message);
        if (log_max_level >= LOG_DEBUG && fields && fields[0]) {
                fputs(" (", stderr);
                for (size_t i = 0; fields[i]; i++)
                        fprintf(stderr, "%s%s", i ? " " : "", fields[i]);
                fputc(')', stderr);
        }
        fputc('\n', stderr);

        errno = saved;
        return error;
}
