/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * kunpackctl list: the guests kunpackd knows, one a line (or a JSON
 * array), with their origin, autostart, status and kernel.
 */

/* Returns a KPCTL_EXIT_* code. */
int verb_list(int argc, char **argv);
