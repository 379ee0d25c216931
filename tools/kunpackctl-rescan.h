/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * kunpackctl rescan GUEST...|--all [--wait]: asks kunpackd to scan guests
 * again; with --wait it follows their progress and reports each result.
 */

/* Returns a KPCTL_EXIT_* code. */
int verb_rescan(int argc, char **argv);
