/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* File facts (guest-facts.c): size, sha256 and payload format of a guest file, once per session. */

#include "bootcfg/bootplan.h"
#include "guest/guest-internal.h"

/*
 * Facts about path on filesystem fs, computed on first request and
 * remembered (failures too: a missing kernel is looked for once). The
 * returned pointer lives as long as the session and is invalidated by the
 * next call. -EFBIG over KP_MAX_INPUT_DEFAULT (kernels) or
 * KP_GUEST_MAX_INITRD, -EMEDIUMTYPE for a kernel that is neither a bzImage
 * nor an ELF, and the lookup's errors.
 */
int kp_guest_file_facts(KpGuestSession *s, size_t fs, const char *path, bool kernel, KpError *error,
                        const KpGuestFileFacts **ret);

/*
 * Copies facts f of a file on filesystem fs into info, with the device as
 * plans name it (the guest-relative name, see KpGuestFs.name). -ENOMEM.
 */
int kp_guest_file_info_fill(KpGuestSession *s, size_t fs, const KpGuestFileFacts *f, KpFileInfo *info);
