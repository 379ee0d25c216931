/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Line by line reading shared by the two line-oriented languages, GRUB
 * legacy's menu.lst and syslinux's extlinux.conf: one command per line,
 * leading blanks skipped, '#' lines are comments, carriage returns
 * dropped. A NUL byte anywhere is refused (-EBADMSG): both loaders read C
 * strings and would silently cut the line there.
 */

#include <stdbool.h>
#include <stddef.h>

#include "kunpack.h"

typedef struct KpLineReader {
        const char *data;
        size_t size;
        size_t pos;
        unsigned line;          /* of the line last returned */
        char *buf;              /* the line last returned, blanks trimmed at both ends */
        size_t indent;          /* bytes of blanks trimmed before buf[0] in the line as read */
} KpLineReader;

/*
 * Prepares reading data, which file named (for messages). -EFBIG past
 * KP_BOOTCFG_MAX_SIZE, -EBADMSG for a NUL byte.
 */
int kp_line_reader_init(KpLineReader *r, const char *file, const char *data, size_t size, KpError *error);
void kp_line_reader_done(KpLineReader *r);

/* The next line that is neither empty nor a comment; false at the end. NULL buf on ENOMEM (returns true). */
bool kp_line_reader_next(KpLineReader *r);

/*
 * Splits a line into its command and the rest: the command ends at a
 * blank, or at '=' when equals is true (GRUB legacy's "default=0"); blanks
 * (and with equals, one '=') after it are skipped. *ret_cmd is NUL-
 * terminated in place.
 */
void kp_line_split(char *line, bool equals, char **ret_cmd, char **ret_rest);
