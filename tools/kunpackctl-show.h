/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * kunpackctl show GUEST: one guest in full as kunpackd knows it (disks,
 * status, last scan, plan). With --changes it reads the guest's own disk
 * instead (verb_show_changes, kunpackctl-revert.h).
 */

/* Returns a KPCTL_EXIT_* code. */
int verb_show(int argc, char **argv);
