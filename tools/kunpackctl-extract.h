/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * kunpackctl extract KERNEL -o OUTPUT: decompresses a kernel to the ELF a
 * Xen PV loader boots, atomically; extract --check KERNEL says what the
 * kernel is without keeping the output. Needs no daemon and no appliance.
 */

/* Returns a KPCTL_EXIT_* code. */
int verb_extract(int argc, char **argv);
