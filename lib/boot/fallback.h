/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The answer that boots a guest exactly as it booted before kunpack:
 * pvgrub2 as the kernel, no ramdisk, and libxl's own --args. pvgrub then
 * reads the guest's boot configuration itself. kunpack-boot gives it
 * whenever it cannot give a better one and on_failure = "pvgrub" (the
 * default), so that nothing kunpack does leaves a guest unbootable that
 * would have booted without it.
 */

#include "boot/answer.h"

/* pvgrub2 images are about 2 MiB; anything far bigger is not one. */
#define KP_FALLBACK_MAX_SIZE (64 * 1024 * 1024)

/*
 * Publishes pvgrub_path into dir (a link or copy, as libxl unlinks it)
 * and fills ret. Refuses a pvgrub_path that is not an absolute path to a
 * regular file.
 */
int kp_boot_fallback_answer(const char *pvgrub_path, const KpOutputDir *dir, const char *extra_args,
                            KpError *error, KpAnswer *ret);
