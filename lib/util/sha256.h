/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * SHA-256 (FIPS 180-4), with the CPU's SHA extensions where present: cache
 * keys are the sha256 of compressed kernels and initrds, as computed inside
 * the libguestfs appliance; cache entries are re-verified against the
 * sha256 of what was stored.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/macro.h"

#define KP_SHA256_SIZE 32
#define KP_SHA256_HEX_SIZE 65 /* 64 hex digits and a NUL */

typedef struct KpSha256 KpSha256;

KpSha256 *kp_sha256_new(void);
KpSha256 *kp_sha256_free(KpSha256 *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(KpSha256 *, kp_sha256_free);
void kp_sha256_update(KpSha256 *s, const void *data, size_t size);
/* Ends the hash; s may only be freed afterwards. */
void kp_sha256_final(KpSha256 *s, uint8_t ret[KP_SHA256_SIZE]);
/* For tests: compute without the CPU's SHA extensions, to compare both ways. */
void kp_sha256_force_portable(bool b);

void kp_sha256_to_hex(const uint8_t digest[KP_SHA256_SIZE], char ret[KP_SHA256_HEX_SIZE]);
/* True for exactly 64 lowercase hex digits: what a cache key must look like. */
bool kp_sha256_hex_valid(const char *s);

/*
 * Hashes a file from offset 0 to its end with pread (the fd's position is
 * left alone). Reads at most max bytes: a longer file gives -EFBIG.
 */
int kp_sha256_fd(int fd, uint64_t max, char ret_hex[KP_SHA256_HEX_SIZE], uint64_t *ret_size);
