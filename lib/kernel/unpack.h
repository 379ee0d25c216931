/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Unpacking as the rest of kunpack calls it: plain structs on the stack,
 * no versioning. kunpack.h's kp_unpack_fd() and kp_unpack_file() are the
 * public face of these two functions (api.c): the same work, with the
 * options size-versioned and the result opaque, so the library's ABI
 * survives new fields. Errors are the ones kunpack.h lists.
 */

#include <stdbool.h>
#include <stdint.h>

#include "kernel/elf.h"
#include "kunpack.h"
#include "util/sha256.h"

typedef struct KpUnpackParams {
        uint64_t max_input;                  /* 0: KP_MAX_INPUT_DEFAULT; never above it */
        uint64_t max_output;                 /* 0: KP_MAX_OUTPUT_DEFAULT; never above it */
        bool skip_xen_check;                 /* accept an ELF without Xen notes */
        bool want_output_sha256;             /* fill KpUnpackInfo.output_sha256 */
} KpUnpackParams;

typedef struct KpUnpackInfo {
        KpFormat format;                     /* the payload's format, or KP_FORMAT_ELF */
        uint16_t boot_protocol;              /* 0x020f for 2.15; 0 for an ELF input */
        uint64_t input_size;                 /* bytes read from the kernel file */
        uint64_t payload_size;               /* compressed payload incl. size trailer; 0 for ELF */
        uint64_t output_size;                /* bytes of ELF produced */
        bool have_output_sha256;             /* with want_output_sha256 */
        uint8_t output_sha256[KP_SHA256_SIZE];
        KpElfInfo elf;
} KpUnpackInfo;

/* kp_unpack_fd() (kunpack.h), with params NULL for every default. */
int kp_unpack(int in_fd, int out_fd, const KpUnpackParams *params, KpError *error, KpUnpackInfo *ret_info);

/* kp_unpack_file() (kunpack.h). */
int kp_unpack_path(const char *kernel_path, const char *output_path, const KpUnpackParams *params, KpError *error,
                   KpUnpackInfo *ret_info);
