/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <openssl/evp.h>

#include "util/sha256.h"

/* Big enough to amortise the syscalls, small enough to stay out of the way. */
#define HASH_BUFFER_SIZE (1024 * 1024)

struct KpSha256 {
        EVP_MD_CTX *ctx;
};

KpSha256 *kp_sha256_new(void)
{
        KpSha256 *s = calloc(1, sizeof(KpSha256));

        if (!s)
                return NULL;
        s->ctx = EVP_MD_CTX_new();
        if (!s->ctx || EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL) != 1)
                return kp_sha256_free(s);
        return s;
}

KpSha256 *kp_sha256_free(KpSha256 *s)
{
        if (!s)
                return NULL;
        EVP_MD_CTX_free(s->ctx);
        free(s);
        return NULL;
}

void kp_sha256_update(KpSha256 *s, const void *data, size_t size)
{
        (void) EVP_DigestUpdate(s->ctx, data, size);
}

void kp_sha256_final(KpSha256 *s, uint8_t ret[KP_SHA256_SIZE])
{
        unsigned int len = KP_SHA256_SIZE;

        (void) EVP_DigestFinal_ex(s->ctx, ret, &len);
}

void kp_sha256_to_hex(const uint8_t digest[KP_SHA256_SIZE], char ret[KP_SHA256_HEX_SIZE])
{
        static const char hex[] = "0123456789abcdef";

        for (size_t i = 0; i < KP_SHA256_SIZE; i++) {
                ret[2 * i] = hex[digest[i] >> 4];
                ret[2 * i + 1] = hex[digest[i] & 15];
        }
        ret[2 * KP_SHA256_SIZE] = '\0';
}

bool kp_sha256_hex_valid(const char *s)
{
        size_t i;

        if (!s)
                return false;
        for (i = 0; s[i]; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return i == 2 * KP_SHA256_SIZE;
}

int kp_sha256_fd(int fd, uint64_t max, char ret_hex[KP_SHA256_HEX_SIZE], uint64_t *ret_size)
{
        _cleanup_(kp_sha256_freep) KpSha256 *s = kp_sha256_new();
        _cleanup_free_ uint8_t *buf = malloc(HASH_BUFFER_SIZE);
        uint8_t digest[KP_SHA256_SIZE];
        uint64_t off = 0;

        if (!s || !buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = pread(fd, buf, HASH_BUFFER_SIZE, (off_t) off);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                off += (uint64_t) n;
                if (off > max)
                        return -EFBIG;
                kp_sha256_update(s, buf, (size_t) n);
        }
        kp_sha256_final(s, digest);
        kp_sha256_to_hex(digest, ret_hex);
        if (ret_size)
                *ret_size = off;
        return 0;
}
