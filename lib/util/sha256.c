/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#if __has_include(<sys/platform/x86.h>)
#include <sys/platform/x86.h>
#endif
#endif

#include "util/sha256.h"

/*
 * SHA-256 as FIPS 180-4 specifies it, with the compression function done
 * by the CPU's SHA extensions (SHA-NI, x86-64) where present, in portable
 * C otherwise. Our own rather than libcrypto's: OpenSSL 3 costs every
 * process that links it about 3.4 MiB of RSS and 4 ms of start-up
 * (provider and config loading), which is most of kunpack-boot's budget,
 * and with SHA-NI both run at the same speed.
 */

/* Big enough to amortise the syscalls, small enough to stay out of the way. */
#define HASH_BUFFER_SIZE (1024 * 1024)
#define BLOCK_SIZE 64

struct KpSha256 {
        uint32_t h[8];
        uint8_t buf[BLOCK_SIZE];
        size_t used;               /* bytes in buf */
        uint64_t total;            /* bytes hashed so far */
};

/* FIPS 180-4, 4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
static const uint32_t K[64] __attribute__((aligned(16))) = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* FIPS 180-4, 5.3.3: the initial hash value. */
static const uint32_t H0[8] = {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static inline uint32_t ror(uint32_t x, unsigned n)
{
        return (x >> n) | (x << (32 - n));
}

static inline uint32_t load_be32(const uint8_t *p)
{
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | (uint32_t) p[3];
}

/* FIPS 180-4, 6.2.2, for n consecutive blocks. */
static void compress_portable(uint32_t h[8], const uint8_t *data, size_t n)
{
        for (; n > 0; n--, data += BLOCK_SIZE) {
                uint32_t w[64], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];

                for (unsigned t = 0; t < 16; t++)
                        w[t] = load_be32(data + 4 * t);
                for (unsigned t = 16; t < 64; t++) {
                        uint32_t s0 = ror(w[t - 15], 7) ^ ror(w[t - 15], 18) ^ (w[t - 15] >> 3);
                        uint32_t s1 = ror(w[t - 2], 17) ^ ror(w[t - 2], 19) ^ (w[t - 2] >> 10);
                        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
                }
                for (unsigned t = 0; t < 64; t++) {
                        uint32_t t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
                        uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
                        hh = g;
                        g = f;
                        f = e;
                        e = d + t1;
                        d = c;
                        c = b;
                        b = a;
                        a = t1 + t2;
                }
                h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
        }
}

#if defined(__x86_64__)
/*
 * The same with SHA-NI. The state lives in two registers as the
 * instructions want it, (A,B,E,F) and (C,D,G,H); each SHA256RNDS2 does two
 * rounds, SHA256MSG1/MSG2 compute the message schedule four words at a time.
 */
__attribute__((target("sha,sse4.1,ssse3")))
static void compress_shani(uint32_t h[8], const uint8_t *data, size_t n)
{
        const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
        __m128i abef, cdgh, tmp;

        tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *) &h[0]), 0xB1);  /* C D A B */
        cdgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *) &h[4]), 0x1B); /* E F G H */
        abef = _mm_alignr_epi8(tmp, cdgh, 8);                                    /* A B E F */
        cdgh = _mm_blend_epi16(cdgh, tmp, 0xF0);                                 /* C D G H */

        for (; n > 0; n--, data += BLOCK_SIZE) {
                __m128i abef_save = abef, cdgh_save = cdgh, w[4];

                for (unsigned g = 0; g < 16; g++) {
                        __m128i m;

                        if (g < 4)
                                w[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *) (data + 16 * g)), bswap);
                        else {
                                /* W(g) = msg2(msg1(W(g-4), W(g-3)) + W(g-2..g-1 shifted by one word), W(g-1)) */
                                __m128i t7 = _mm_alignr_epi8(w[(g + 3) % 4], w[(g + 2) % 4], 4);
                                w[g % 4] = _mm_sha256msg2_epu32(
                                        _mm_add_epi32(_mm_sha256msg1_epu32(w[g % 4], w[(g + 1) % 4]), t7),
                                        w[(g + 3) % 4]);
                        }
                        m = _mm_add_epi32(w[g % 4], _mm_load_si128((const __m128i *) &K[4 * g]));
                        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, m);
                        abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(m, 0x0E));
                }
                abef = _mm_add_epi32(abef, abef_save);
                cdgh = _mm_add_epi32(cdgh, cdgh_save);
        }

        tmp = _mm_shuffle_epi32(abef, 0x1B);                     /* F E B A */
        cdgh = _mm_shuffle_epi32(cdgh, 0xB1);                    /* D C H G */
        _mm_storeu_si128((__m128i *) &h[0], _mm_blend_epi16(tmp, cdgh, 0xF0)); /* D C B A */
        _mm_storeu_si128((__m128i *) &h[4], _mm_alignr_epi8(cdgh, tmp, 8));    /* H G F E */
}

/*
 * The code above needs SHA, SSSE3 and SSE4.1. glibc (2.33 and later) has
 * asked the CPU already, when the program started, and says what it found
 * in <sys/platform/x86.h>; asking again costs four CPUID instructions, and
 * under a hypervisor each is a trap: 25 us apiece in the VM we measured,
 * a tenth of kunpack-boot's own work on the hot path.
 */
static bool have_shani(void)
{
#ifdef CPU_FEATURE_ACTIVE
        return CPU_FEATURE_ACTIVE(SHA) && CPU_FEATURE_ACTIVE(SSSE3) && CPU_FEATURE_ACTIVE(SSE4_1);
#else
        unsigned a, b, c, d;

        /* CPUID.(EAX=7,ECX=0):EBX bit 29 is SHA; SSSE3 and SSE4.1 are in leaf 1, ECX. */
        if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & (1u << 29)))
                return false;
        if (!__get_cpuid(1, &a, &b, &c, &d))
                return false;
        return (c & bit_SSSE3) && (c & bit_SSE4_1);
#endif
}
#endif

static bool force_portable;

void kp_sha256_force_portable(bool b)
{
        force_portable = b;
}

static void compress(uint32_t h[8], const uint8_t *data, size_t n)
{
#if defined(__x86_64__)
        static int shani = -1;

        if (shani < 0)
                shani = have_shani();
        if (shani && !force_portable) {
                compress_shani(h, data, n);
                return;
        }
#endif
        compress_portable(h, data, n);
}

KpSha256 *kp_sha256_new(void)
{
        KpSha256 *s = calloc(1, sizeof(KpSha256));

        if (!s)
                return NULL;
        memcpy(s->h, H0, sizeof(H0));
        return s;
}

KpSha256 *kp_sha256_free(KpSha256 *s)
{
        free(s);
        return NULL;
}

void kp_sha256_update(KpSha256 *s, const void *data, size_t size)
{
        const uint8_t *p = data;

        s->total += size;
        if (s->used > 0) {
                size_t take = MIN(size, BLOCK_SIZE - s->used);
                memcpy(s->buf + s->used, p, take);
                s->used += take;
                p += take;
                size -= take;
                if (s->used < BLOCK_SIZE)
                        return;
                compress(s->h, s->buf, 1);
                s->used = 0;
        }
        if (size >= BLOCK_SIZE) {
                compress(s->h, p, size / BLOCK_SIZE);
                p += size - size % BLOCK_SIZE;
                size %= BLOCK_SIZE;
        }
        memcpy(s->buf, p, size);
        s->used = size;
}

/* FIPS 180-4, 5.1.1: a 1 bit, zeros, and the message length in bits as a big-endian u64. */
void kp_sha256_final(KpSha256 *s, uint8_t ret[KP_SHA256_SIZE])
{
        uint64_t bits = s->total * 8;

        s->buf[s->used++] = 0x80;
        if (s->used > BLOCK_SIZE - 8) {
                memset(s->buf + s->used, 0, BLOCK_SIZE - s->used);
                compress(s->h, s->buf, 1);
                s->used = 0;
        }
        memset(s->buf + s->used, 0, BLOCK_SIZE - 8 - s->used);
        for (unsigned i = 0; i < 8; i++)
                s->buf[BLOCK_SIZE - 1 - i] = (uint8_t) (bits >> (8 * i));
        compress(s->h, s->buf, 1);
        for (unsigned i = 0; i < 8; i++) {
                ret[4 * i] = (uint8_t) (s->h[i] >> 24);
                ret[4 * i + 1] = (uint8_t) (s->h[i] >> 16);
                ret[4 * i + 2] = (uint8_t) (s->h[i] >> 8);
                ret[4 * i + 3] = (uint8_t) s->h[i];
        }
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
