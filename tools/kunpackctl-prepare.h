/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * kunpackctl prepare GUEST|--disk=DISK...: asks kunpackd what a start of
 * the guest boots, through the client call kunpack-boot uses (lib/client);
 * with --dry-run it says whether that start would be hot or cold.
 */

/* Returns a KPCTL_EXIT_* code. */
int verb_prepare(int argc, char **argv);
