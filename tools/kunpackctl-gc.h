/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * kunpackctl gc [--dry-run]: asks kunpackd to remove the cache entries no
 * guest uses, and says how many it removed (or would) and kept.
 */

/* Returns a KPCTL_EXIT_* code. */
int verb_gc(int argc, char **argv);
