/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libkunpack's promises to programs built against other versions of it,
 * through libkunpack.so and <kunpack.h> alone: the size-versioned options
 * (too small refused, a newer caller's unknown fields refused unless 0,
 * everything else honoured) and the opaque result's accessors, on a real
 * kernel.
 */
#include <fcntl.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <kunpack.h>

#include "tests.h"

static char kernel[4096], reference_sha256[65];
static uint64_t kernel_size, reference_size;

static void load_fixtures(void)
{
        const char *dir = getenv("KP_FIXTURES");
        char path[4096], line[256];
        struct stat st;
        FILE *f;

        ASSERT_TRUE(dir);
        (void) snprintf(kernel, sizeof(kernel), "%s/bzImage-zstd", dir);
        ASSERT_OK(stat(kernel, &st));
        kernel_size = (uint64_t) st.st_size;
        (void) snprintf(path, sizeof(path), "%s/vmlinux", dir);
        ASSERT_OK(stat(path, &st));
        reference_size = (uint64_t) st.st_size;
        (void) snprintf(path, sizeof(path), "%s/SHA256SUMS", dir);
        f = fopen(path, "re");
        ASSERT_TRUE(f);
        while (fgets(line, sizeof(line), f))
                if (strlen(line) > 66 && streq(line + 66, "vmlinux\n"))
                        memcpy(reference_sha256, line, 64);
        fclose(f);
        ASSERT_EQ(strlen(reference_sha256), 64);
}

static int unpack(const KpUnpackOptions *o, KpError *error, KpUnpackResult **ret)
{
        return kp_unpack_file(kernel, NULL, o, error, ret);
}

static void test_accessors(void)
{
        KpUnpackResult *r = NULL;
        KpError error = {};
        uint8_t sha[32];
        const char *name = NULL, *value = NULL;
        uint32_t type = 0;
        bool loader = false;

        ASSERT_OK(unpack(NULL, &error, &r));
        ASSERT_EQ(kp_unpack_result_get_format(r), KP_FORMAT_ZSTD);
        ASSERT_TRUE(kp_unpack_result_get_boot_protocol(r) >= 0x020f);
        ASSERT_EQ_U64(kp_unpack_result_get_input_size(r), kernel_size);
        ASSERT_TRUE(kp_unpack_result_get_payload_size(r) > 0 && kp_unpack_result_get_payload_size(r) < kernel_size);
        ASSERT_EQ_U64(kp_unpack_result_get_output_size(r), reference_size);
        /* Not asked for. */
        ASSERT_ERROR(kp_unpack_result_get_output_sha256(r, sha), -ENODATA);
        ASSERT_EQ(kp_unpack_result_get_elf_class(r), 64);
        ASSERT_EQ(kp_unpack_result_get_elf_machine(r), 62);
        /* e_entry of a Linux vmlinux is startup_64's physical address (CONFIG_PHYSICAL_START). */
        ASSERT_EQ_U64(kp_unpack_result_get_elf_entry(r), UINT64_C(0x1000000));
        ASSERT_FALSE(kp_unpack_result_get_xen_guest_section(r));

        ASSERT_TRUE(kp_unpack_result_get_n_xen_notes(r) >= 10);
        for (size_t i = 0; i < kp_unpack_result_get_n_xen_notes(r); i++) {
                ASSERT_OK(kp_unpack_result_get_xen_note(r, i, &type, &name, &value));
                if (type == KP_XEN_ELFNOTE_LOADER) {
                        ASSERT_STREQ(name, "LOADER");
                        ASSERT_STREQ(value, "generic");
                        loader = true;
                }
        }
        ASSERT_TRUE(loader);
        ASSERT_ERROR(kp_unpack_result_get_xen_note(r, kp_unpack_result_get_n_xen_notes(r), &type, &name, &value),
                     -ERANGE);
        ASSERT_TRUE(kp_unpack_result_free(r) == NULL);
        ASSERT_TRUE(kp_unpack_result_free(NULL) == NULL);

        /* No result wanted: the work is the same. */
        ASSERT_OK(unpack(NULL, &error, NULL));
}

static void test_options(void)
{
        KpUnpackOptions o = KP_UNPACK_OPTIONS_INIT;
        KpUnpackResult *r = NULL;
        KpError error = {};
        uint8_t sha[32];
        char hex[65];

        ASSERT_EQ_U64(o.struct_size, sizeof(KpUnpackOptions));
        o.want_output_sha256 = true;
        ASSERT_OK(unpack(&o, &error, &r));
        ASSERT_OK(kp_unpack_result_get_output_sha256(r, sha));
        for (size_t i = 0; i < 32; i++)
                (void) snprintf(hex + 2 * i, 3, "%02x", sha[i]);
        ASSERT_STREQ(hex, reference_sha256);
        r = kp_unpack_result_free(r);

        /* Limits are honoured. */
        o = (KpUnpackOptions) KP_UNPACK_OPTIONS_INIT;
        o.max_output = reference_size - 1;
        ASSERT_ERROR(unpack(&o, &error, &r), -EFBIG);
        ASSERT_TRUE(r == NULL);
        o.max_output = reference_size;
        ASSERT_OK(unpack(&o, &error, NULL));
        o = (KpUnpackOptions) KP_UNPACK_OPTIONS_INIT;
        o.max_input = kernel_size - 1;
        ASSERT_ERROR(unpack(&o, &error, NULL), -EFBIG);

        /* Without KP_UNPACK_OPTIONS_INIT the size is 0: refused, with the way out named. */
        o = (KpUnpackOptions) { .want_output_sha256 = true };
        error = (KpError) {};
        ASSERT_ERROR(unpack(&o, &error, &r), -EINVAL);
        ASSERT_CONTAINS(error.message, "KP_UNPACK_OPTIONS_INIT");
        /* Smaller than the first version's fields. */
        o = (KpUnpackOptions) KP_UNPACK_OPTIONS_INIT;
        o.struct_size = offsetof(KpUnpackOptions, want_output_sha256);
        ASSERT_ERROR(unpack(&o, &error, NULL), -EINVAL);
        /* Exactly the first version's fields (no tail padding): every one is read. */
        o.struct_size = offsetof(KpUnpackOptions, want_output_sha256) + sizeof(bool);
        o.want_output_sha256 = true;
        ASSERT_OK(unpack(&o, &error, &r));
        ASSERT_OK(kp_unpack_result_get_output_sha256(r, sha));
        r = kp_unpack_result_free(r);
}

/* A caller built against a later <kunpack.h>, with one more option. */
typedef struct FutureOptions {
        KpUnpackOptions known;
        uint64_t unknown_option;
} FutureOptions;

static void test_newer_caller(void)
{
        FutureOptions f;
        KpError error = {};

        /* Its new option at 0 (its default): nothing this library would have to ignore. */
        memset(&f, 0, sizeof(f));
        f.known.struct_size = sizeof(f);
        ASSERT_OK(unpack(&f.known, &error, NULL));
        /* Set: this library cannot honour it, so it says so rather than drop it. */
        f.unknown_option = 1;
        error = (KpError) {};
        ASSERT_ERROR(unpack(&f.known, &error, NULL), -E2BIG);
        ASSERT_CONTAINS(error.message, "does not know");
}

int main(void)
{
        load_fixtures();
        test_accessors();
        test_options();
        test_newer_caller();
        return 0;
}
