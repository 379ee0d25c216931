/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dlfcn.h>
#include <lz4.h>
#include <zlib.h>

#include "tests.h"
#include "util/dlopen.h"
#include "util/error.h"

/* What the build names (KP_SONAME_*, meson.build) is what this system installs, with the symbol we call. */
static void test_sonames(void)
{
        static const struct {
                const char *soname;
                const char *symbol;
        } table[] = {
                { KP_SONAME_LZ4, "LZ4_decompress_safe" },
                { KP_SONAME_ZSTD, "ZSTD_decompressStream" },
                { KP_SONAME_LZMA, "lzma_stream_decoder" },
                { KP_SONAME_ZLIB, "inflateInit2_" },
                { KP_SONAME_BZ2, "BZ2_bzDecompress" },
                { KP_SONAME_LZO, "lzo1x_decompress_safe" },
#if HAVE_GUESTFS
                { KP_SONAME_GUESTFS, "guestfs_create_flags" },
#endif
                { KP_SONAME_XENLIGHT, "libxl_list_domain" },
                { KP_SONAME_XLUTIL, "xlu_disk_parse" },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                void *handle = NULL, *p = NULL;
                KpError error = {};

                ASSERT_OK(kp_dlopen_many(&handle, table[i].soname, &error, &p, table[i].symbol, NULL));
                ASSERT_TRUE(handle != NULL);
                ASSERT_TRUE(p != NULL);
                ASSERT_TRUE(p == dlsym(handle, table[i].symbol));
        }
}

static void *lz4_handle;
static KP_DLSYM(LZ4_compressBound);
static KP_DLSYM(LZ4_versionNumber);

/* Loaded once; the pointers are the library's own functions and work. */
static void test_load_once(void)
{
        void *first;
        KpError error = {};

        ASSERT_OK(kp_dlopen_many(&lz4_handle, KP_SONAME_LZ4, &error, KP_DLSYM_ARG(LZ4_compressBound),
                                 KP_DLSYM_ARG(LZ4_versionNumber), NULL));
        first = lz4_handle;
        ASSERT_EQ(sym_LZ4_compressBound(1000), LZ4_COMPRESSBOUND(1000));
        ASSERT_TRUE(sym_LZ4_versionNumber() >= 10900);
        /* The second call finds the handle and touches nothing. */
        sym_LZ4_compressBound = NULL;
        ASSERT_OK(kp_dlopen_many(&lz4_handle, KP_SONAME_LZ4, &error, KP_DLSYM_ARG(LZ4_compressBound), NULL));
        ASSERT_TRUE(lz4_handle == first);
        ASSERT_TRUE(sym_LZ4_compressBound == NULL);
}

/* A library that is not there, or lacks a symbol: -ELIBACC, saying which, and nothing published. */
static void test_missing(void)
{
        void *handle = NULL, *p = NULL;
        KpError error = {};

        ASSERT_ERROR(kp_dlopen_many(&handle, "libkunpack-test-not-installed.so.0", &error, &p, "f", NULL),
                     -ELIBACC);
        ASSERT_EQ(error.code, -ELIBACC);
        ASSERT_CONTAINS(error.message, "cannot load libkunpack-test-not-installed.so.0 (");
        ASSERT_CONTAINS(error.message, "No such file or directory");
        ASSERT_TRUE(handle == NULL && p == NULL);

        error = (KpError) {};
        ASSERT_ERROR(kp_dlopen_many(&handle, KP_SONAME_ZLIB, &error, &p, "inflate", &p,
                                    "kp_test_no_such_symbol", NULL),
                     -ELIBACC);
        ASSERT_CONTAINS(error.message, KP_SONAME_ZLIB " has no kp_test_no_such_symbol (");
        ASSERT_TRUE(handle == NULL);
}

int main(void)
{
        test_sonames();
        test_load_once();
        test_missing();
        return 0;
}
