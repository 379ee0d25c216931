/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzzes extlinux.conf/syslinux.cfg (every INCLUDE reads the same input). */
#include "fuzz-bootcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        fuzz_parse(KP_BOOT_CONFIG_EXTLINUX, "/boot/extlinux/extlinux.conf", data, size);
        return 0;
}
