/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writes the seed corpus of tests/fuzz/fuzz-unpack.c: one small synthetic
 * kernel per payload format, and plain ELFs with notes in each place Xen
 * looks. Usage: mkcorpus-unpack DIR (the files are checked in; rerun only
 * when the synthetic kernels change).
 */
#include <stdio.h>

#include "kernel/format.h"
#include "synth.h"
#include "tests.h"
#include "util/error.h"
#include "util/fileio.h"

/* libFuzzer runs with -max_len=65536; every seed must fit well inside. */
#define SEED_MAX (60 * 1024)

static void write_seed(const char *dir, const char *name, const SynthBuf *b)
{
        _cleanup_free_ char *path = NULL;
        KpError e = {};

        if (b->size > SEED_MAX)
                TEST_FAIL("%s: %zu bytes is too big for a seed", name, b->size);
        ASSERT_TRUE(asprintf(&path, "%s/%s", dir, name) > 0);
        ASSERT_OK(kp_write_file_atomic(path, b->data, b->size, 0644, &e));
        printf("%s: %zu bytes\n", path, b->size);
}

int main(int argc, char **argv)
{
        static const KpFormat formats[] = { KP_FORMAT_GZIP, KP_FORMAT_BZIP2, KP_FORMAT_LZMA, KP_FORMAT_XZ,
                                            KP_FORMAT_LZO,  KP_FORMAT_LZ4,   KP_FORMAT_ZSTD };
        const SynthElf small = { .body_size = 4096 };
        const SynthElf small32 = { .body_size = 4096, .elf32 = true };
        const SynthElf section = { .body_size = 2048, .notes = SYNTH_NOTES_SECTION };
        const SynthElf legacy = { .body_size = 2048, .notes = SYNTH_NOTES_LEGACY };

        if (argc != 2) {
                fprintf(stderr, "usage: %s DIR\n", argv[0]);
                return 2;
        }

        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                _cleanup_synth_ SynthBuf k = synth_kernel(formats[i], &small);
                _cleanup_free_ char *name = NULL;

                ASSERT_TRUE(asprintf(&name, "bzimage-%s", kp_format_to_string(formats[i])) > 0);
                write_seed(argv[1], name, &k);
        }
        {
                _cleanup_synth_ SynthBuf k = synth_kernel(KP_FORMAT_XZ, &small32);
                write_seed(argv[1], "bzimage-xz-elf32", &k);
        }
        {
                _cleanup_synth_ SynthBuf e = synth_elf(&small);
                write_seed(argv[1], "elf64-notes-segment", &e);
        }
        {
                _cleanup_synth_ SynthBuf e = synth_elf(&section);
                write_seed(argv[1], "elf64-notes-section", &e);
        }
        {
                _cleanup_synth_ SynthBuf e = synth_elf(&legacy);
                write_seed(argv[1], "elf64-xen-guest", &e);
        }
        return 0;
}
