/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A status line on standard error while a long operation runs (a scan,
 * an appliance launch: 10-30 s under emulation), redrawn in place every
 * second with the time so far, so that an admin at a terminal sees that
 * something is happening. Only when standard error is a terminal (and
 * TERM is not "dumb"): in a log file, a pipe or the journal the program's
 * ordinary lines say enough, and carriage returns would only garble them.
 *
 * One per process. Log lines (util/log.h) written to standard error while
 * it is shown clear it first and draw it again after, so the two never
 * share a line.
 */

#include "util/macro.h"

/*
 * Shows the status line, starting its clock. Returns 1 when it is shown,
 * 0 when standard error is no terminal (every other call is then a no-op),
 * a negative errno when its thread cannot be started.
 */
int kp_tty_progress_begin(void);

/* Replaces the text of the status line (at most a terminal's width of it is shown). */
void kp_tty_progress_set(const char *format, ...) _printf_(1, 2);

/* Clears the status line and stops its clock. */
void kp_tty_progress_end(void);

/* For util/log.c: around a line written to standard error. */
void kp_tty_progress_before_line(void);
void kp_tty_progress_after_line(void);
