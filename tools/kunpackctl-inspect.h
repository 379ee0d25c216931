/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * kunpackctl inspect DISK[,format=qcow2]...: what a guest would boot, found
 * inside the libguestfs appliance, without kunpackd.
 */

/* Returns a KPCTL_EXIT_* code. */
int verb_inspect(int argc, char **argv);
