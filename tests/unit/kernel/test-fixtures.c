/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The real thing: Debian's kernel recompressed with the real command-line
 * tools in every format the x86 build can produce ($KP_FIXTURES, built by
 * tests/fixtures/mkkernels.py). Each must unpack to the reference vmlinux,
 * byte for byte (sha256), and Xen's own readnotes must read the same notes
 * from our output as we do.
 */
#include <glob.h>
#include <sys/wait.h>

#include "unpack-helpers.h"
#include "util/sha256.h"

static const char *const formats[] = { "gzip", "bzip2", "lzma", "xz", "lzo", "lz4", "zstd" };

static void reference_sha256(const char *dir, char ret[KP_SHA256_HEX_SIZE])
{
        _cleanup_free_ char *path = NULL, *sums = NULL;
        KpError e = {};
        const char *line;

        ASSERT_TRUE(asprintf(&path, "%s/SHA256SUMS", dir) > 0);
        ASSERT_OK(kp_read_file(path, 1 << 16, &e, &sums, NULL));
        line = strstr(sums, "  vmlinux\n");
        ASSERT_TRUE(line && line - sums >= 64);
        memcpy(ret, line - 64, 64);
        ret[64] = '\0';
        ASSERT_TRUE(kp_sha256_hex_valid(ret));
}

/* Xen's readnotes (xen-utils), or NULL. */
static char *find_readnotes(void)
{
        glob_t g;
        char *r = NULL;

        if (glob("/usr/lib/xen-*/bin/readnotes", 0, NULL, &g) == 0 && g.gl_pathc > 0)
                r = strdup(g.gl_pathv[g.gl_pathc - 1]);
        globfree(&g);
        return r;
}

/* The value readnotes prints for a note name ("ENTRY: 0xffffffff830791c0 (8 bytes)" → "0xffffffff830791c0").
 */
static bool readnotes_value(const char *text, const char *name, char *ret, size_t size)
{
        char key[64];
        const char *p;
        size_t n = 0;

        (void) snprintf(key, sizeof(key), "\n%s: ", name);
        p = strstr(text, key);
        if (!p)
                return false;
        p += strlen(key);
        while (*p == ' ')
                p++;
        /* Numbers end at the first blank ("(8 bytes)" follows); strings run to the end of the line. */
        while (p[n] && p[n] != '\n' && !(p[0] == '0' && p[1] == 'x' && p[n] == ' '))
                n++;
        (void) snprintf(ret, size, "%.*s", (int) n, p);
        return true;
}

static void check_with_readnotes(const char *readnotes, const char *elf, const KpElfInfo *info)
{
        static const char *const compared[] = { "GUEST_OS", "XEN_VERSION", "LOADER", "VIRT_BASE", "ENTRY",
                                                "FEATURES", "PAE_MODE", "HV_START_LOW", "PADDR_OFFSET" };
        _cleanup_free_ char *cmd = NULL;
        char text[8192] = "\n", value[256];
        size_t n = 1;
        FILE *f;
        int status;

        ASSERT_TRUE(asprintf(&cmd, "'%s' '%s'", readnotes, elf) > 0);
        f = popen(cmd, "r");
        ASSERT_TRUE(f);
        n += fread(text + 1, 1, sizeof(text) - 2, f);
        text[n] = '\0';
        status = pclose(f);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

        for (size_t i = 0; i < ELEMENTSOF(compared); i++) {
                const char *ours = NULL;

                ASSERT_TRUE(readnotes_value(text, compared[i], value, sizeof(value)));
                for (size_t j = 0; j < info->n_xen_notes; j++)
                        if (streq(info->xen_notes[j].name, compared[i]))
                                ours = info->xen_notes[j].value;
                ASSERT_TRUE(ours);
                /* readnotes pads numbers with spaces ("PADDR_OFFSET:    0"): compare as numbers then. */
                if (startswith_lit(ours, "0x") && !startswith_lit(value, "0x"))
                        ASSERT_EQ_U64(strtoull(ours, NULL, 16), strtoull(value, NULL, 0));
                else
                        ASSERT_STREQ(ours, value);
        }
}

int main(void)
{
        const char *dir = test_fixture_dir("KP_FIXTURES");
        _cleanup_free_ char *readnotes = find_readnotes();
        char want[KP_SHA256_HEX_SIZE];

        reference_sha256(dir, want);
        if (!readnotes)
                fprintf(stderr, "readnotes (xen-utils) not installed: checking sha256 only\n");

        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                _cleanup_free_ char *kernel = NULL, *out = NULL;
                const KpUnpackParams o = { .want_output_sha256 = true };
                KpUnpackInfo res = {};
                KpError e = {};
                char got[KP_SHA256_HEX_SIZE];

                ASSERT_TRUE(asprintf(&kernel, "%s/bzImage-%s", dir, formats[i]) > 0);
                ASSERT_TRUE(asprintf(&out, "/var/tmp/kp-test-fixture-%s.%d", formats[i], (int) getpid()) >
                            0);

                if (kp_unpack_path(kernel, out, &o, &e, &res) < 0)
                        TEST_FAIL("%s: %s", kernel, e.message);
                kp_sha256_to_hex(res.output_sha256, got);
                fprintf(stderr, "%s: %s %" PRIu64 " -> %" PRIu64 " bytes, sha256 %s\n", formats[i],
                        kp_format_to_string(res.format), res.payload_size, res.output_size, got);
                ASSERT_STREQ(kp_format_to_string(res.format), formats[i]);
                ASSERT_STREQ(got, want);
                /* And what is on disk is what was hashed. */
                {
                        _cleanup_close_ int fd = open(out, O_RDONLY | O_CLOEXEC);
                        char disk[KP_SHA256_HEX_SIZE];
                        uint64_t size;

                        ASSERT_TRUE(fd >= 0);
                        ASSERT_OK(kp_sha256_fd(fd, UINT64_MAX, disk, &size));
                        ASSERT_STREQ(disk, want);
                        ASSERT_EQ_U64(size, res.output_size);
                }
                if (readnotes)
                        check_with_readnotes(readnotes, out, &res.elf);
                ASSERT_OK(unlink(out));
        }
        return 0;
}
