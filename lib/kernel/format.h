/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Which format a kernel payload is in, told by its first bytes. The public
 * names (kp_format_to_string() ...) are declared in kunpack.h.
 */

#include <stddef.h>
#include <stdint.h>

#include "kunpack.h"

/* The longest magic kp_format_sniff() looks at (xz: FD 37 7A 58 5A 00). */
#define KP_FORMAT_MAGIC_MAX 6

/*
 * The format whose magic starts magic[0..size): a compressed payload as the
 * x86 kernel build writes it, or KP_FORMAT_ELF for a plain ELF. Returns
 * KP_FORMAT_UNKNOWN when nothing matches, including when size is too short
 * for the magic that would match. Looking at KP_FORMAT_MAGIC_MAX bytes is
 * always enough.
 */
KpFormat kp_format_sniff(const uint8_t *magic, size_t size);

/* Whether the kernel build appends the uncompressed size (a little-endian u32) to this format. */
bool kp_format_has_size_trailer(KpFormat format);
