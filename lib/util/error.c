/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "util/error.h"

int kp_error_setv(KpError *error, int code, const char *format, va_list ap)
{
        if (error) {
                error->code = code;
                (void) vsnprintf(error->message, sizeof(error->message), format, ap);
        }
        return code;
}

int kp_error_set(KpError *error, int code, const char *format, ...)
{
        va_list ap;

        va_start(ap, format);
        kp_error_setv(error, code, format, ap);
        va_end(ap);
        return code;
}

int kp_error_set_errno(KpError *error, int code, const char *format, ...)
{
        va_list ap;
        size_t n;

        if (!error)
                return code;

        va_start(ap, format);
        kp_error_setv(error, code, format, ap);
        va_end(ap);

        n = strlen(error->message);
        (void) snprintf(error->message + n, sizeof(error->message) - n, ": %s", strerror(code < 0 ? -code : code));
        return code;
}

int kp_error_prefix(KpError *error, int code, const char *format, ...)
{
        char prefix[KP_ERROR_MESSAGE_MAX], old[KP_ERROR_MESSAGE_MAX];
        va_list ap;

        if (!error)
                return code;
        if (error->code == 0) {
                /* Nothing recorded yet: the reason is the errno itself. */
                error->code = code;
                (void) snprintf(error->message, sizeof(error->message), "%s", strerror(code < 0 ? -code : code));
        }

        va_start(ap, format);
        (void) vsnprintf(prefix, sizeof(prefix), format, ap);
        va_end(ap);

        memcpy(old, error->message, sizeof(old));
        (void) snprintf(error->message, sizeof(error->message), "%s: %s", prefix, old);
        return error->code;
}

void kp_error_clear(KpError *error)
{
        if (!error)
                return;
        error->code = 0;
        error->message[0] = '\0';
}

const char *kp_error_message(const KpError *error, int code)
{
        if (error && error->code != 0 && error->message[0])
                return error->message;
        return strerror(code < 0 ? -code : code);
}
