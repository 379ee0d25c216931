/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Logging for the programs (kunpackd, kunpack-boot, kunpackctl). Library
 * code never logs: it returns a negative errno and a KpError, and the
 * program decides, in one place, what to say.
 *
 * Messages go to the journal with structured fields when stderr is
 * connected to it (systemd sets JOURNAL_STREAM) or when asked, and to stderr
 * as "program: message" otherwise, so `journalctl -u kunpackd GUEST=web1`
 * shows one guest's history.
 */

#include <stdarg.h>
#include <syslog.h>

#include "util/macro.h"

typedef enum KpLogTarget {
        KP_LOG_TARGET_AUTO,    /* journal if stderr is the journal's stream, else stderr */
        KP_LOG_TARGET_STDERR,
        KP_LOG_TARGET_JOURNAL,
        /*
         * The journal when it is reachable, and stderr always: for
         * kunpack-boot, whose stderr libxl keeps in
         * /var/log/xen/bootloader.<domid>.log while admins look in the journal.
         */
        KP_LOG_TARGET_JOURNAL_AND_STDERR,
} KpLogTarget;

void kp_log_set_target(KpLogTarget target);
/* Where journal messages go: journald's socket unless a test names another (NULL: journald's again). */
void kp_log_set_journal_socket(const char *path);
void kp_log_set_max_level(int level);   /* LOG_ERR .. LOG_DEBUG; default LOG_INFO */
int kp_log_get_max_level(void);

/*
 * Logs a message at level with extra journal fields. fields is a NULL-
 * terminated list of "KEY=value" strings (may be NULL); they are shown on
 * stderr only as " (KEY=value ...)" at debug level. Returns error (a
 * negative errno, or 0) so callers can write "return log_error_errno(r, ...)".
 */
int kp_log_internal(int level, int error, const char *const *fields, const char *format, ...) _printf_(4, 5);

#define log_full_errno(level, error, ...) kp_log_internal((level), (error), NULL, __VA_ARGS__)
#define log_debug(...) kp_log_internal(LOG_DEBUG, 0, NULL, __VA_ARGS__)
#define log_info(...) kp_log_internal(LOG_INFO, 0, NULL, __VA_ARGS__)
#define log_notice(...) kp_log_internal(LOG_NOTICE, 0, NULL, __VA_ARGS__)
#define log_warning(...) kp_log_internal(LOG_WARNING, 0, NULL, __VA_ARGS__)
#define log_error(...) kp_log_internal(LOG_ERR, 0, NULL, __VA_ARGS__)
#define log_debug_errno(e, ...) kp_log_internal(LOG_DEBUG, (e), NULL, __VA_ARGS__)
#define log_warning_errno(e, ...) kp_log_internal(LOG_WARNING, (e), NULL, __VA_ARGS__)
#define log_error_errno(e, ...) kp_log_internal(LOG_ERR, (e), NULL, __VA_ARGS__)

/* With structured fields: log_struct(LOG_ERR, r, KP_FIELDS("GUEST=web1", "DISK=/dev/vg/web1"), "..."). */
#define KP_FIELDS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define log_struct(level, error, fields, ...) kp_log_internal((level), (error), (fields), __VA_ARGS__)
