/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * pvgrub mode's changes in a guest, read from the guest's own disk in the
 * libguestfs appliance, with or without kunpackd. Two verbs live in one
 * file because they are one concept: both name the guest the same way
 * (GUEST, an xl domain config, or --disk=), resolve it to the disk pvgrub
 * mode writes with the same code, and read the record kunpack keeps in
 * the guest (docs/pvgrub-mode.md); one undoes what it lists, the other
 * only lists it.
 */

/* kunpackctl revert GUEST | --disk=DISK: undo pvgrub mode. Returns a KPCTL_EXIT_* code. */
int verb_revert(int argc, char **argv);

/*
 * kunpackctl show GUEST --changes: list what pvgrub mode changed. verb_show
 * (kunpackctl-show.c) hands over here when it sees --changes. Returns a
 * KPCTL_EXIT_* code.
 */
int verb_show_changes(int argc, char **argv);
