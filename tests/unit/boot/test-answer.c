/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sys/stat.h>

#include "boot/answer.h"
#include "boot/fallback.h"
#include "tests.h"
#include "util/error.h"
#include "util/fileio.h"

static char dir[] = "/tmp/kp-test-answer-XXXXXX";

static char *path_in(const char *name)
{
        char *p;
        ASSERT_TRUE(asprintf(&p, "%s/%s", dir, name) > 0);
        return p;
}

static char *write_file(const char *name, const void *data, size_t size)
{
        char *p = path_in(name);
        ASSERT_OK(kp_write_file_atomic(p, data, size, 0600, NULL));
        return p;
}

static void test_format_names(void)
{
        KpAnswerFormat f;

        ASSERT_OK(kp_answer_format_from_string("simple0", &f));
        ASSERT_EQ(f, KP_ANSWER_SIMPLE0);
        ASSERT_OK(kp_answer_format_from_string("simple", &f));
        ASSERT_EQ(f, KP_ANSWER_SIMPLE);
        ASSERT_ERROR(kp_answer_format_from_string("sxp", &f), -EINVAL);
}

static void test_join_args(void)
{
        _cleanup_free_ char *s = NULL, *big = NULL;
        KpError error = {};

        ASSERT_OK(kp_answer_join_args("root=/dev/xvda1 ro", "console=hvc0", &error, &s));
        ASSERT_STREQ(s, "root=/dev/xvda1 ro console=hvc0");
        s = mfree(s);
        ASSERT_OK(kp_answer_join_args("root=/dev/xvda1 ro", NULL, &error, &s));
        ASSERT_STREQ(s, "root=/dev/xvda1 ro");
        s = mfree(s);
        ASSERT_OK(kp_answer_join_args("", "console=hvc0", &error, &s));
        ASSERT_STREQ(s, "console=hvc0");
        s = mfree(s);
        ASSERT_OK(kp_answer_join_args(NULL, "", &error, &s));
        ASSERT_TRUE(s == NULL);

        /* XSA-198: a newline in either part could add a record. */
        ASSERT_ERROR(kp_answer_join_args("ro\nkernel /etc/shadow", "x", &error, &s), -EBADMSG);
        ASSERT_CONTAINS(error.message, "the entry's command line contains a control character (0x0a at offset 2)");
        ASSERT_ERROR(kp_answer_join_args("ro", "quiet\033[2J", &error, &s), -EBADMSG);
        ASSERT_CONTAINS(error.message, "--args contains a control character (0x1b at offset 5)");
        ASSERT_ERROR(kp_answer_join_args("ro", "a\177", &error, &s), -EBADMSG);

        /* libxl drops a record over 8191 bytes: refused rather than booting without a command line. */
        big = malloc(KP_ANSWER_MAX_RECORD);
        ASSERT_TRUE(big);
        memset(big, 'a', KP_ANSWER_MAX_RECORD - 5);
        big[KP_ANSWER_MAX_RECORD - 5] = '\0';
        ASSERT_OK(kp_answer_join_args(big, NULL, &error, &s)); /* "args " + 8186 = 8191 */
        s = mfree(s);
        ASSERT_ERROR(kp_answer_join_args(big, "b", &error, &s), -E2BIG);
        ASSERT_CONTAINS(error.message, "is 8188 bytes; libxl drops a record over 8191 bytes");
}

static void test_records(void)
{
        KpAnswer a = { .kernel = (char *) "/var/lib/xen/bootloader.7.d/kernel.0123456789abcdef",
                       .ramdisk = (char *) "/var/lib/xen/bootloader.7.d/ramdisk.fedcba9876543210",
                       .args = (char *) "root=UUID=1 ro quiet console=hvc0" };
        static const char expect0[] = "kernel /var/lib/xen/bootloader.7.d/kernel.0123456789abcdef\0"
                                      "ramdisk /var/lib/xen/bootloader.7.d/ramdisk.fedcba9876543210\0"
                                      "args root=UUID=1 ro quiet console=hvc0\0";
        _cleanup_free_ char *text = NULL;
        KpError error = {};
        size_t size;

        /* Records end with the separator, and one more ends the answer (pygrub's layout). */
        ASSERT_OK(kp_answer_format(&a, KP_ANSWER_SIMPLE0, &error, &text, &size));
        ASSERT_EQ(size, sizeof(expect0));
        ASSERT_MEMEQ(text, expect0, sizeof(expect0));
        text = mfree(text);

        ASSERT_OK(kp_answer_format(&a, KP_ANSWER_SIMPLE, &error, &text, &size));
        ASSERT_STREQ(text, "kernel /var/lib/xen/bootloader.7.d/kernel.0123456789abcdef\n"
                           "ramdisk /var/lib/xen/bootloader.7.d/ramdisk.fedcba9876543210\n"
                           "args root=UUID=1 ro quiet console=hvc0\n\n");
        text = mfree(text);

        /* No ramdisk, no args: only the kernel record. */
        a.ramdisk = NULL;
        a.args = (char *) "";
        ASSERT_OK(kp_answer_format(&a, KP_ANSWER_SIMPLE0, &error, &text, &size));
        ASSERT_EQ(size, strlen(a.kernel) + 9);
        ASSERT_MEMEQ(text, "kernel /var", 11);
        ASSERT_EQ(text[size - 1], '\0');
        ASSERT_EQ(text[size - 2], '\0');
        text = mfree(text);

        /* Nothing with a separator or another control character reaches the output. */
        a.args = (char *) "ro\0kernel /etc/shadow"; /* a C string ends at the NUL: only "ro" */
        ASSERT_OK(kp_answer_format(&a, KP_ANSWER_SIMPLE0, &error, &text, &size));
        ASSERT_TRUE(memmem(text, size, "shadow", 6) == NULL);
        text = mfree(text);
        a.args = (char *) "ro\nkernel /etc/shadow";
        ASSERT_ERROR(kp_answer_format(&a, KP_ANSWER_SIMPLE, &error, &text, &size), -EBADMSG);
        ASSERT_CONTAINS(error.message, "the args record contains a control character");
        a.args = NULL;
        a.kernel = (char *) "/tmp/k\nramdisk /etc/shadow";
        ASSERT_ERROR(kp_answer_format(&a, KP_ANSWER_SIMPLE0, &error, &text, &size), -EBADMSG);
        a.kernel = NULL;
        ASSERT_ERROR(kp_answer_format(&a, KP_ANSWER_SIMPLE0, &error, &text, &size), -EINVAL);
        ASSERT_TRUE(text == NULL);
}

static void test_publish(void)
{
        _cleanup_(kp_output_dir_done) KpOutputDir out = KP_OUTPUT_DIR_INIT;
        _cleanup_free_ char *src = write_file("elf", "\177ELF-kernel", 11), *outdir = path_in("out"), *pub = NULL,
                            *cat = NULL, *a = write_file("i1", "12345", 5), *b = write_file("i2", "abcdefgh", 8),
                            *data = NULL;
        _cleanup_close_ int fd = open(src, O_RDONLY | O_CLOEXEC), fa = open(a, O_RDONLY | O_CLOEXEC),
                            fb = open(b, O_RDONLY | O_CLOEXEC);
        struct stat s1, s2;
        KpError error = {};
        size_t size;

        /* Missing: created, as pygrub does. */
        ASSERT_OK(kp_output_dir_open(outdir, &error, &out));
        ASSERT_STREQ(out.path, outdir);
        ASSERT_OK(kp_answer_publish(&out, "kernel", fd, &error, &pub));
        ASSERT_TRUE(strncmp(pub, outdir, strlen(outdir)) == 0);
        ASSERT_TRUE(strncmp(pub + strlen(outdir), "/kernel.", 8) == 0);
        ASSERT_EQ(strlen(pub), strlen(outdir) + 8 + 16);
        /* Same filesystem: the very inode, no copy. */
        ASSERT_OK(stat(pub, &s1));
        ASSERT_OK(stat(src, &s2));
        ASSERT_EQ_U64((uint64_t) s1.st_ino, (uint64_t) s2.st_ino);

        /* Two initrds: one copy, the first padded to 4 bytes, as GRUB loads them. */
        ASSERT_OK(kp_answer_publish_initrds(&out, "ramdisk", (int[]){ fa, fb }, 2, &error, &cat));
        ASSERT_OK(kp_read_file(cat, 1024, &error, &data, &size));
        ASSERT_EQ(size, 16);
        ASSERT_MEMEQ(data, "12345\0\0\0abcdefgh", 16);
        ASSERT_OK(stat(cat, &s1));
        ASSERT_EQ(s1.st_mode & 07777, 0600);
}

static void test_write(void)
{
        _cleanup_free_ char *p = write_file("answer.out", "old content that is longer", 27), *data = NULL;
        _cleanup_close_ int fd = open(p, O_WRONLY | O_CLOEXEC);
        KpError error = {};
        size_t size;

        ASSERT_OK(kp_answer_write(fd, "kernel /x\0\0", 11, &error));
        ASSERT_OK(kp_read_file(p, 1024, &error, &data, &size));
        ASSERT_EQ(size, 11);
        ASSERT_MEMEQ(data, "kernel /x\0\0", 11);
}

static void test_fallback(void)
{
        _cleanup_(kp_output_dir_done) KpOutputDir out = KP_OUTPUT_DIR_INIT;
        _cleanup_(kp_answer_done) KpAnswer a = {};
        _cleanup_free_ char *pvgrub = write_file("grub-x86_64-xen.bin", "pvgrub image", 12), *outdir = path_in("fb"),
                            *data = NULL;
        KpError error = {};
        size_t size;

        ASSERT_OK(kp_output_dir_open(outdir, &error, &out));
        ASSERT_OK(kp_boot_fallback_answer(pvgrub, &out, "console=hvc0", &error, &a));
        ASSERT_TRUE(a.ramdisk == NULL);
        ASSERT_STREQ(a.args, "console=hvc0");
        ASSERT_OK(kp_read_file(a.kernel, 1024, &error, &data, &size));
        ASSERT_EQ(size, 12);
        ASSERT_MEMEQ(data, "pvgrub image", 12);
        kp_answer_done(&a);

        ASSERT_OK(kp_boot_fallback_answer(pvgrub, &out, NULL, &error, &a));
        ASSERT_TRUE(a.args == NULL);
        kp_answer_done(&a);

        ASSERT_ERROR(kp_boot_fallback_answer("/nonexistent/grub-x86_64-xen.bin", &out, NULL, &error, &a), -ENOENT);
        ASSERT_CONTAINS(error.message, "cannot open pvgrub image /nonexistent/grub-x86_64-xen.bin");
        ASSERT_ERROR(kp_boot_fallback_answer("grub-x86_64-xen.bin", &out, NULL, &error, &a), -EINVAL);
        ASSERT_ERROR(kp_boot_fallback_answer(dir, &out, NULL, &error, &a), -EMEDIUMTYPE);
        ASSERT_ERROR(kp_boot_fallback_answer(pvgrub, &out, "x\ny", &error, &a), -EBADMSG);
        ASSERT_TRUE(a.kernel == NULL);
}

int main(void)
{
        char cmd[128];

        ASSERT_TRUE(mkdtemp(dir));
        test_format_names();
        test_join_args();
        test_records();
        test_publish();
        test_write();
        test_fallback();
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        ASSERT_EQ(system(cmd), 0);
        return 0;
}
