/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzzes GRUB legacy menu.lst (its /boot/grub/default is the same input). */
#include "fuzz-bootcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        fuzz_parse(KP_BOOT_CONFIG_GRUB_LEGACY, "/boot/grub/menu.lst", data, size);
        return 0;
}
