/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Synthetic kernels for the unit tests and the fuzz corpus: a tiny ELF with
 * Xen notes, compressed in-process with the real libraries' own compressors
 * the way the kernel build does it (size trailer and all), wrapped in a
 * bzImage setup header. Small enough to build hundreds per test run.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kunpack.h"

typedef struct SynthBuf {
        uint8_t *data;
        size_t size;
} SynthBuf;

void synth_buf_free(SynthBuf *b);
#define _cleanup_synth_ __attribute__((cleanup(synth_buf_free)))

/* Where the Xen notes of a synthetic ELF are. */
typedef enum SynthNotes {
        SYNTH_NOTES_SEGMENT,  /* PT_NOTE segment (what Linux does) */
        SYNTH_NOTES_SECTION,  /* only an SHT_NOTE section */
        SYNTH_NOTES_LEGACY,   /* only a __xen_guest section */
        SYNTH_NOTES_NONE,     /* a plain ELF */
} SynthNotes;

typedef struct SynthElf {
        bool elf32;              /* ELF32 i386 instead of ELF64 x86-64 */
        SynthNotes notes;
        const char *loader;      /* default "generic" */
        const char *guest_os;    /* default "linux" */
        const char *xen_version; /* default "xen-3.0" */
        const char *features;    /* default "!writable_page_tables|pae_pgdir_above_4gb" */
        bool no_pae;             /* leave out PAE_MODE */
        uint64_t entry_delta;    /* ENTRY = start of the kernel + this (default 0x40) */
        size_t body_size;        /* bytes of the loadable segment (default 48 KiB) */
        unsigned extra_loads;    /* more PT_LOAD headers repeating the first (at most 4) */
} SynthElf;

/* Virtual start of the synthetic kernel (what ENTRY is relative to). */
#define SYNTH_VIRT_START_64 UINT64_C(0xffffffff81000000)
#define SYNTH_VIRT_START_32 UINT64_C(0xc0100000)

SynthBuf synth_elf(const SynthElf *opts);

/* data compressed as the kernel build does for format, with its size trailer (not for gzip). */
SynthBuf synth_compress(KpFormat format, const uint8_t *data, size_t size);
/* The compressed stream alone, without the size trailer. */
SynthBuf synth_compress_stream(KpFormat format, const uint8_t *data, size_t size);

/* Bytes of setup and of code around the payload in synth_bzimage(). */
#define SYNTH_SETUP_SECTS 4
#define SYNTH_PAYLOAD_OFFSET 0x200 /* relative to the protected-mode code */
#define SYNTH_PAYLOAD_START ((SYNTH_SETUP_SECTS + 1) * 512 + SYNTH_PAYLOAD_OFFSET)
#define SYNTH_CODE_AFTER 0x300

/* A bzImage (boot protocol 2.15) around payload. */
SynthBuf synth_bzimage(const uint8_t *payload, size_t size);

/* The common case: an ELF from opts (NULL: defaults), compressed with format, in a bzImage. */
SynthBuf synth_kernel(KpFormat format, const SynthElf *opts);

/* Little-endian stores, for tests that patch headers. */
void synth_put_le16(uint8_t *p, uint16_t v);
void synth_put_le32(uint8_t *p, uint32_t v);
