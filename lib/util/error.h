/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * How the library reports failure: every function returns a negative errno
 * and, when the caller passed a KpError, a one-line reason. The reason is
 * written once, where the failure is understood; callers higher up may add
 * context in front ("lz4: block 3: ...") with kp_error_prefix().
 *
 *         if (size > limit)
 *                 return kp_error_set(error, -EFBIG, "payload of %" PRIu64 " bytes exceeds ...", size);
 */

#include <stdarg.h>

#include "kunpack.h"
#include "util/macro.h"

/* Records code and the formatted reason in error (which may be NULL). Returns code. */
int kp_error_set(KpError *error, int code, const char *format, ...) _printf_(3, 4);
int kp_error_setv(KpError *error, int code, const char *format, va_list ap) _printf_(3, 0);

/*
 * Like kp_error_set(), with ": <strerror(-code)>" appended: for failures of
 * the operating system (open, write, fsync) where errno is the reason.
 */
int kp_error_set_errno(KpError *error, int code, const char *format, ...) _printf_(3, 4);

/* Puts "<context>: " in front of the recorded reason. Returns error->code (or code if none). */
int kp_error_prefix(KpError *error, int code, const char *format, ...) _printf_(3, 4);

/* Forgets any recorded reason. */
void kp_error_clear(KpError *error);

/* The recorded reason, or strerror(-code) when none was recorded. Never NULL. */
const char *kp_error_message(const KpError *error, int code);
