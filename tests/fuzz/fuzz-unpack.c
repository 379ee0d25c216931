/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzzes what a guest controls most directly: a kernel file. Every input
 * goes through the setup-header parser, the payload sniffer and the whole
 * unpack flow (every decompressor, the size trailer, the ELF and Xen-note
 * check), with the output capped at 8 MiB so a bomb costs little.
 *
 * The seed corpus in corpus/unpack/ is small synthetic kernels in every
 * format (plain ELFs too), written by tests/unit/kernel/mkcorpus-unpack.c:
 *   ninja -C build tests/unit/kernel/mkcorpus-unpack &&
 *     build/tests/unit/kernel/mkcorpus-unpack tests/fuzz/corpus/unpack
 */
#include <sys/mman.h>

#include "kernel/bzimage.h"
#include "kernel/format.h"
#include "kernel/unpack.h"
#include "kunpack.h"
#include "util/fileio.h"
#include "util/macro.h"

/* Low enough that decompression bombs are cheap, high enough for the seeds. */
#define FUZZ_MAX_OUTPUT (UINT64_C(8) * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const KpUnpackParams options = { .max_output = FUZZ_MAX_OUTPUT, .want_output_sha256 = true };
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        KpBzImageHeader h;
        KpUnpackInfo result;
        KpError error = {};
        int r;

        (void) kp_format_sniff(data, size);
        r = kp_bzimage_parse_header(data, MIN(size, (size_t) KP_BZIMAGE_HEADER_READ), size, &error, &h);
        if (r >= 0 && (h.payload_offset + h.payload_length > size || h.payload_length == 0))
                abort(); /* the parser promised a payload inside the file */

        in = memfd_create("fuzz-in", MFD_CLOEXEC);
        out = memfd_create("fuzz-out", MFD_CLOEXEC);
        if (in < 0 || out < 0)
                return 0;
        if (kp_loop_write(in, data, size) < 0 || lseek(in, 0, SEEK_SET) < 0)
                return 0;

        r = kp_unpack(in, out, &options, &error, &result);
        if (r < 0) {
                /* A refusal always explains itself. */
                if (error.code != r || error.message[0] == '\0')
                        abort();
        } else if (result.output_size > FUZZ_MAX_OUTPUT || result.input_size != size)
                abort();
        return 0;
}
