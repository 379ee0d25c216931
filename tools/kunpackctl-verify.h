/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * kunpackctl verify: asks kunpackd to re-hash its cache and remove the
 * damaged entries; exits 1 when it found any.
 */

/* Returns a KPCTL_EXIT_* code. */
int verb_verify(int argc, char **argv);
