/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A direct request (libxl's --kernel= and --ramdisk=, from the guest
 * config's kernel/ramdisk when a bootloader is set): the named guest files
 * are used as they are, no boot configuration is read, as pygrub does.
 */

#include "bootcfg/bootplan.h"
#include "guest/session.h"

/*
 * Finds kernel (and ramdisk, may be NULL) on the guest's filesystems, in
 * the inspection's order (inspect.h), inside the appliance: the first
 * filesystem that holds the kernel is the one, and the ramdisk is taken
 * from the same filesystem. pygrub takes the first filesystem it can open
 * whether or not the kernel is there; this finds a kernel on a separate
 * /boot too. Returns a plan of one entry (kind "direct", reason "direct",
 * command line empty) with the files' size, sha256 and format, validated.
 * -ENOENT when no filesystem holds the kernel, -EMEDIUMTYPE when it is no
 * kernel, and the session's errors.
 */
int kp_guest_session_inspect_direct(KpGuestSession *s, size_t guest, const char *kernel, const char *ramdisk,
                                    KpError *error, KpBootPlan **ret_plan);
