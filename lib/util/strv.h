/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* NULL-terminated arrays of owned strings ("strv"), as in systemd. */

#include "util/macro.h"

char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)

size_t strv_length(char *const *l);
/* Appends value, taking ownership of it (freed on failure). */
int strv_consume(char ***l, char *value);
/* Appends a copy of value. */
int strv_extend(char ***l, const char *value);
/* Appends a formatted string. */
int kp_strv_extendf(char ***l, const char *format, ...) _printf_(2, 3);
bool strv_contains(char *const *l, const char *value);
/* A deep copy; NULL copies to an empty list. */
char **strv_copy(char *const *l);

#define STRV_FOREACH(s, l) for (char *const *s = (l); s && *s; s++)
