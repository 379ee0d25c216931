/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The x86 boot protocol's setup header (Documentation/arch/x86/boot.rst):
 * just enough of it to find the compressed kernel (the "payload") inside a
 * bzImage. Everything here is read from a guest's file and is hostile.
 */

#include <stdint.h>

#include "kunpack.h"

/*
 * Bytes a caller should read from the start of a file before calling
 * kp_bzimage_parse_header(): the setup header ends at 0x250 (payload_length
 * is its last field we read), well inside the first 1024 bytes.
 */
#define KP_BZIMAGE_HEADER_READ 1024

/* file_size for a stream whose size is not known yet (a pipe). */
#define KP_BZIMAGE_SIZE_UNKNOWN UINT64_MAX

/* Offsets in the setup header (boot.rst, "The real-mode kernel header"). */
#define KP_BZIMAGE_OFF_SETUP_SECTS 0x1f1
#define KP_BZIMAGE_OFF_SYSSIZE 0x1f4
#define KP_BZIMAGE_OFF_BOOT_FLAG 0x1fe
#define KP_BZIMAGE_OFF_HEADER 0x202
#define KP_BZIMAGE_OFF_VERSION 0x206
#define KP_BZIMAGE_OFF_PAYLOAD_OFFSET 0x248
#define KP_BZIMAGE_OFF_PAYLOAD_LENGTH 0x24c
#define KP_BZIMAGE_HEADER_END 0x250

/* payload_offset and payload_length exist from boot protocol 2.08 on. */
#define KP_BZIMAGE_PROTOCOL_PAYLOAD 0x0208

typedef struct KpBzImageHeader {
        uint16_t version;        /* boot protocol, e.g. 0x020f for 2.15 */
        unsigned setup_sects;    /* 512-byte setup sectors after the boot sector (0 in the file means 4) */
        uint64_t payload_offset; /* absolute offset of the payload in the file */
        uint64_t payload_length; /* bytes of payload, the kernel build's size trailer included */
} KpBzImageHeader;

/*
 * Validates the setup header in buf (the first size bytes of a file of
 * file_size bytes, or KP_BZIMAGE_SIZE_UNKNOWN) and locates the payload.
 * The first KP_BZIMAGE_HEADER_READ bytes of the file are always enough.
 *
 * Refuses, with the reason in error:
 *   -EMEDIUMTYPE      not an x86 boot image (no 0xAA55 boot flag, no "HdrS")
 *   -EPROTONOSUPPORT  boot protocol older than 2.08 (no payload fields)
 *   -EBADMSG          header cut short, zero payload length, payload outside the file
 */
int kp_bzimage_parse_header(const uint8_t *buf, size_t size, uint64_t file_size, KpError *error,
                            KpBzImageHeader *ret);
