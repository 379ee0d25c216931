/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kunpack-example KERNEL OUTPUT: decompress a kernel into the ELF a Xen PV
 * loader boots, and say what it was. Built against the installed
 * <kunpack.h> and libkunpack.so only (pkg-config libkunpack).
 */
#include <inttypes.h>
#include <stdio.h>

#include <kunpack.h>

int main(int argc, char *argv[])
{
        KpUnpackOptions options = KP_UNPACK_OPTIONS_INIT;
        KpUnpackResult *result = NULL;
        KpError error = {};
        uint8_t sha256[32];
        KpFormat format;
        int r;

        if (argc != 3) {
                fprintf(stderr, "usage: %s KERNEL OUTPUT\n", argv[0]);
                return 2;
        }

        /* Ask for the ELF's sha256 on the way; every limit stays at its default. */
        options.want_output_sha256 = true;

        r = kp_unpack_file(argv[1], argv[2], &options, &error, &result);
        if (r < 0) {
                /* r is a negative errno; error.message says what it means for this kernel. */
                fprintf(stderr, "%s: %s\n", argv[1], error.message);
                return 1;
        }

        format = kp_unpack_result_get_format(result);
        printf("format: %s%s\n", kp_format_to_string(format),
               kp_format_pvgrub_can_load(format) ? "" : " (pvgrub cannot load it)");
        printf("output: %" PRIu64 " bytes\n", kp_unpack_result_get_output_size(result));
        if (kp_unpack_result_get_output_sha256(result, sha256) >= 0) {
                printf("sha256: ");
                for (size_t i = 0; i < sizeof(sha256); i++)
                        printf("%02x", sha256[i]);
                printf("\n");
        }
        for (size_t i = 0; i < kp_unpack_result_get_n_xen_notes(result); i++) {
                const char *name, *value;

                if (kp_unpack_result_get_xen_note(result, i, NULL, &name, &value) >= 0)
                        printf("Xen note %s: %s\n", name, value);
        }

        kp_unpack_result_free(result);
        return 0;
}
