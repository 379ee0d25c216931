/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * kunpackctl doctor: checks this host's setup for kunpack, one line per
 * check (settings, pvgrub, hard links from the cache to /var/lib/xen,
 * kunpackd, a timed appliance launch, the units, the bare bootloader name,
 * each guest config's bootloader); exit 0 when all pass, 1 otherwise.
 */

/* Returns a KPCTL_EXIT_* code. */
int verb_doctor(int argc, char **argv);
