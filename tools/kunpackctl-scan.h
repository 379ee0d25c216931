/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * kunpackctl scan ARGS...: kunpack-scan, which lives in libexecdir (off
 * PATH), run with the same arguments: kunpackctl execs it.
 */

/* Returns a KPCTL_EXIT_* code only when kunpack-scan cannot be run. */
int verb_scan(int argc, char **argv);
