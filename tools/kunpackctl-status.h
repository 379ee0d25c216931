/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * kunpackctl status: what kunpackd is doing (its version, paths, guests,
 * scans and starts served), or its Status answer as it is with --json.
 */

/* Returns a KPCTL_EXIT_* code. */
int verb_status(int argc, char **argv);
