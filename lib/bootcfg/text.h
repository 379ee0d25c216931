/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Guest text, as the boot-config parsers meet it: anything may be in it.
 * These helpers decide whether a string may leave the process as it is and
 * render it harmlessly inside a human message when it may not.
 */

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..len) holds no byte below 0x20, no DEL and no NUL. */
bool kp_text_is_printable(const char *s, size_t len);

/* True when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
bool kp_text_is_utf8(const char *s, size_t len);

/*
 * A copy of s[0..len) for a message: control characters, DEL, backslash,
 * double quotes and bytes of invalid UTF-8 become C escapes ("\n", "\x1b"),
 * and more than max input bytes are cut with "...". NULL on ENOMEM.
 */
char *kp_text_escape(const char *s, size_t len, size_t max);

/* The same for a NUL-terminated string, at most 64 bytes of it: for quoting guest text in errors. */
char *kp_text_escape_short(const char *s);

/*
 * Appends title to a '>' menu path (GRUB's syntax for set default=):
 * a '>' inside title is doubled. prefix may be NULL (top level).
 */
char *kp_menu_path_append(const char *prefix, const char *title);
