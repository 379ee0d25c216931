/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Fixed-endian loads from byte buffers at any alignment: kernel headers are
 * little-endian (x86, ELF for x86), lzop's are big-endian.
 */

#include <stdint.h>
#include <string.h>

static inline uint16_t kp_le16(const uint8_t *p)
{
        return (uint16_t) (p[0] | (uint16_t) p[1] << 8);
}

static inline uint32_t kp_le32(const uint8_t *p)
{
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static inline uint64_t kp_le64(const uint8_t *p)
{
        return (uint64_t) kp_le32(p) | (uint64_t) kp_le32(p + 4) << 32;
}

static inline uint16_t kp_be16(const uint8_t *p)
{
        return (uint16_t) ((uint16_t) p[0] << 8 | p[1]);
}

static inline uint32_t kp_be32(const uint8_t *p)
{
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | (uint32_t) p[3];
}
