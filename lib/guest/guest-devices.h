/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Resolving an entry's KpDeviceSpec to one of the guest's filesystems (guest-devices.c). */

#include "bootcfg/bootplan.h"
#include "guest/guest-internal.h"

/*
 * The filesystem root names among guest's filesystems: by UUID (any case)
 * or label (blkid's, as GRUB's search sees them), by the first filesystem
 * holding a file (search --file), by GRUB device name ("hd0,msdos1",
 * "hd1,gpt2", "hd0" for a whole disk, "lvm/VG-LV"). A spec that matches
 * nothing gives config_fs with *ret_matched false, for the caller to warn
 * about. Errors only when the appliance fails or the session is stopped.
 */
int kp_guest_resolve_root(KpGuestSession *s, size_t guest, size_t config_fs, const KpDeviceSpec *root,
                          KpError *error, size_t *ret_fs, bool *ret_matched);
