/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "kernel/format.h"
#include "util/macro.h"

static const char *const format_names[_KP_FORMAT_MAX] = {
        [KP_FORMAT_UNKNOWN] = "unknown",
        [KP_FORMAT_ELF] = "elf",
        [KP_FORMAT_GZIP] = "gzip",
        [KP_FORMAT_BZIP2] = "bzip2",
        [KP_FORMAT_LZMA] = "lzma",
        [KP_FORMAT_XZ] = "xz",
        [KP_FORMAT_LZO] = "lzo",
        [KP_FORMAT_LZ4] = "lz4",
        [KP_FORMAT_ZSTD] = "zstd",
};

/*
 * The magics of the payloads the x86 build can write
 * (Documentation/arch/x86/boot.rst, "payload_offset"), and the ELF magic.
 * lzma has no magic of its own: 5D is the properties byte (lc=3 lp=0 pb=2)
 * that every lzma(1) preset writes, followed by the low bytes of a
 * dictionary size that is a multiple of 64 KiB.
 */
static const struct {
        KpFormat format;
        uint8_t magic[KP_FORMAT_MAGIC_MAX];
        size_t size;
} magics[] = {
        { KP_FORMAT_ELF, { 0x7f, 'E', 'L', 'F' }, 4 },
        { KP_FORMAT_GZIP, { 0x1f, 0x8b }, 2 },
        { KP_FORMAT_BZIP2, { 'B', 'Z', 'h' }, 3 },
        { KP_FORMAT_LZMA, { 0x5d, 0x00, 0x00 }, 3 },
        { KP_FORMAT_XZ, { 0xfd, '7', 'z', 'X', 'Z', 0x00 }, 6 },
        { KP_FORMAT_LZO, { 0x89, 'L', 'Z', 'O' }, 4 },
        { KP_FORMAT_LZ4, { 0x02, 0x21, 0x4c, 0x18 }, 4 },
        { KP_FORMAT_ZSTD, { 0x28, 0xb5, 0x2f, 0xfd }, 4 },
};

_public_ const char *kp_format_to_string(KpFormat format)
{
        if ((unsigned) format >= _KP_FORMAT_MAX)
                return format_names[KP_FORMAT_UNKNOWN];
        return format_names[format];
}

_public_ KpFormat kp_format_from_string(const char *s)
{
        if (!s)
                return KP_FORMAT_UNKNOWN;
        for (unsigned f = 0; f < _KP_FORMAT_MAX; f++)
                if (streq(s, format_names[f]))
                        return (KpFormat) f;
        return KP_FORMAT_UNKNOWN;
}

_public_ bool kp_format_pvgrub_can_load(KpFormat format)
{
        /*
         * GRUB's Xen loader (grub-core/loader/i386/xen_file.c) opens the
         * payload through the file filters GRUB has: gzio, xzio and lzopio.
         * A plain ELF needs no filter. Nothing else reaches it.
         */
        switch (format) {
        case KP_FORMAT_ELF:
        case KP_FORMAT_GZIP:
        case KP_FORMAT_XZ:
        case KP_FORMAT_LZO:
                return true;
        default:
                return false;
        }
}

KpFormat kp_format_sniff(const uint8_t *magic, size_t size)
{
        if (!magic)
                return KP_FORMAT_UNKNOWN;
        for (size_t i = 0; i < ELEMENTSOF(magics); i++)
                if (size >= magics[i].size && memcmp(magic, magics[i].magic, magics[i].size) == 0)
                        return magics[i].format;
        return KP_FORMAT_UNKNOWN;
}

bool kp_format_has_size_trailer(KpFormat format)
{
        /*
         * scripts/Makefile.lib runs size_append after every compressor but
         * gzip, whose own trailer already ends with the size (ISIZE).
         */
        switch (format) {
        case KP_FORMAT_BZIP2:
        case KP_FORMAT_LZMA:
        case KP_FORMAT_XZ:
        case KP_FORMAT_LZO:
        case KP_FORMAT_LZ4:
        case KP_FORMAT_ZSTD:
                return true;
        default:
                return false;
        }
}
