/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libkunpack's public unpacking functions (kunpack.h): the versioned
 * options checked and copied into the library's own KpUnpackParams, the
 * work done by kp_unpack() (unpack.c), and what it found handed out as an
 * opaque KpUnpackResult with accessors. Nothing here decides anything
 * about kernels.
 */
#include <stddef.h>

#include "kernel/unpack.h"
#include "util/error.h"
#include "util/macro.h"

struct KpUnpackResult {
        KpUnpackInfo info;
};

/*
 * The smallest KpUnpackOptions a caller may pass: the fields of libkunpack
 * 0.1, the first version. Anything smaller cannot be one of ours.
 */
#define KP_UNPACK_OPTIONS_SIZE_0_1 (offsetof(KpUnpackOptions, want_output_sha256) + sizeof(bool))

/*
 * Reads the caller's options into params. Fields past the caller's
 * struct_size stay 0 (their defaults); bytes past our own struct must be
 * 0, since they are options of a newer libkunpack that this one would
 * silently ignore.
 */
static int load_options(const KpUnpackOptions *options, KpError *error, KpUnpackParams *ret)
{
        KpUnpackOptions o = {};
        const uint8_t *p = (const uint8_t *) options;

        if (!options) {
                *ret = (KpUnpackParams) {};
                return 0;
        }
        if (options->struct_size < KP_UNPACK_OPTIONS_SIZE_0_1)
                return kp_error_set(error, -EINVAL,
                                    "KpUnpackOptions.struct_size is %zu, less than any version's (%zu): "
                                    "initialise it with KP_UNPACK_OPTIONS_INIT",
                                    options->struct_size, (size_t) KP_UNPACK_OPTIONS_SIZE_0_1);
        for (size_t i = sizeof(KpUnpackOptions); i < options->struct_size; i++)
                if (p[i] != 0)
                        return kp_error_set(error, -E2BIG,
                                            "KpUnpackOptions sets an option this libkunpack does not know "
                                            "(byte %zu of %zu; it knows %zu)",
                                            i, options->struct_size, sizeof(KpUnpackOptions));
        memcpy(&o, options, MIN(options->struct_size, sizeof(KpUnpackOptions)));

        *ret = (KpUnpackParams) {
                .max_input = o.max_input,
                .max_output = o.max_output,
                .skip_xen_check = o.skip_xen_check,
                .want_output_sha256 = o.want_output_sha256,
        };
        return 0;
}

static int hand_out(const KpUnpackInfo *info, KpError *error, KpUnpackResult **ret_result)
{
        KpUnpackResult *result;

        if (!ret_result)
                return 0;
        result = malloc(sizeof(KpUnpackResult));
        if (!result)
                return kp_error_set(error, -ENOMEM, "out of memory");
        result->info = *info;
        *ret_result = result;
        return 0;
}

_public_ int kp_unpack_fd(int in_fd, int out_fd, const KpUnpackOptions *options, KpError *error,
                          KpUnpackResult **ret_result)
{
        KpUnpackParams params;
        KpUnpackInfo info;
        int r;

        r = load_options(options, error, &params);
        if (r < 0)
                return r;
        r = kp_unpack(in_fd, out_fd, &params, error, &info);
        if (r < 0)
                return r;
        return hand_out(&info, error, ret_result);
}

_public_ int kp_unpack_file(const char *kernel_path, const char *output_path, const KpUnpackOptions *options,
                            KpError *error, KpUnpackResult **ret_result)
{
        KpUnpackParams params;
        KpUnpackInfo info;
        int r;

        r = load_options(options, error, &params);
        if (r < 0)
                return r;
        r = kp_unpack_path(kernel_path, output_path, &params, error, &info);
        if (r < 0)
                return r;
        return hand_out(&info, error, ret_result);
}

_public_ KpUnpackResult *kp_unpack_result_free(KpUnpackResult *result)
{
        free(result);
        return NULL;
}

_public_ KpFormat kp_unpack_result_get_format(const KpUnpackResult *result)
{
        return result->info.format;
}

_public_ uint16_t kp_unpack_result_get_boot_protocol(const KpUnpackResult *result)
{
        return result->info.boot_protocol;
}

_public_ uint64_t kp_unpack_result_get_input_size(const KpUnpackResult *result)
{
        return result->info.input_size;
}

_public_ uint64_t kp_unpack_result_get_payload_size(const KpUnpackResult *result)
{
        return result->info.payload_size;
}

_public_ uint64_t kp_unpack_result_get_output_size(const KpUnpackResult *result)
{
        return result->info.output_size;
}

_public_ int kp_unpack_result_get_output_sha256(const KpUnpackResult *result, uint8_t ret_sha256[32])
{
        if (!result->info.have_output_sha256)
                return -ENODATA;
        memcpy(ret_sha256, result->info.output_sha256, sizeof(result->info.output_sha256));
        return 0;
}

_public_ unsigned kp_unpack_result_get_elf_class(const KpUnpackResult *result)
{
        return result->info.elf.elf_class;
}

_public_ unsigned kp_unpack_result_get_elf_machine(const KpUnpackResult *result)
{
        return result->info.elf.machine;
}

_public_ uint64_t kp_unpack_result_get_elf_entry(const KpUnpackResult *result)
{
        return result->info.elf.entry;
}

_public_ bool kp_unpack_result_get_xen_guest_section(const KpUnpackResult *result)
{
        return result->info.elf.xen_guest_section;
}

_public_ size_t kp_unpack_result_get_n_xen_notes(const KpUnpackResult *result)
{
        return result->info.elf.n_xen_notes;
}

_public_ int kp_unpack_result_get_xen_note(const KpUnpackResult *result, size_t i, uint32_t *ret_type,
                                           const char **ret_name, const char **ret_value)
{
        const KpXenNote *n;

        if (i >= result->info.elf.n_xen_notes)
                return -ERANGE;
        n = &result->info.elf.xen_notes[i];
        if (ret_type)
                *ret_type = n->type;
        if (ret_name)
                *ret_name = n->name;
        if (ret_value)
                *ret_value = n->value;
        return 0;
}
