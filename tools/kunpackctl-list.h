/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * kunpackctl list: the guests kunpackd knows, one a line (or a JSON
 * array): whether each one's next start is served from the cache (and
 * why not), what it boots, and what that kernel allows (pvgrub2 loading
 * it as it is, PVH).
 */

/* Returns a KPCTL_EXIT_* code. */
int verb_list(int argc, char **argv);
