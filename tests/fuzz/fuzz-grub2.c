/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzzes grub.cfg: the lexer, the parser and the evaluator, with grubenv,
 * sourced files and BLS snippets being the same hostile input. Seeds in
 * corpus/grub2/ are configs as distributions write them.
 */
#include "fuzz-bootcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        fuzz_parse(KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg", data, size);
        return 0;
}
