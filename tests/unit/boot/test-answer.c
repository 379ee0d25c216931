/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

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

/* Initrds over libxl's 1 GiB together are refused before a byte is copied (sparse files: no space used). */
static void test_initrds_too_big(void)
{
        _cleanup_(kp_output_dir_done) KpOutputDir out = KP_OUTPUT_DIR_INIT;
        _cleanup_free_ char *outdir = path_in("big"), *a = write_file("big1", "", 0), *b = write_file("big2", "", 0),
                            *cat = NULL;
        _cleanup_close_ int fa = open(a, O_RDWR | O_CLOEXEC), fb = open(b, O_RDWR | O_CLOEXEC);
        KpError error = {};
        int entries = 0;
        DIR *d;

        ASSERT_OK(ftruncate(fa, 512 * 1024 * 1024 + 1));
        ASSERT_OK(ftruncate(fb, 512 * 1024 * 1024 - 3));
        ASSERT_OK(kp_output_dir_open(outdir, &error, &out));
        /* 512 MiB + 1, padded to 512 MiB + 4 as GRUB loads it, and 512 MiB - 3: 1 GiB and one byte. */
        ASSERT_ERROR(kp_answer_publish_initrds(&out, "ramdisk", (int[]){ fa, fb }, 2, &error, &cat), -EFBIG);
        ASSERT_STREQ(error.message, "the initrds together are larger than 1073741824 bytes; nothing copied");
        ASSERT_TRUE(cat == NULL);
        d = opendir(outdir);
        ASSERT_TRUE(d);
        for (struct dirent *de; (de = readdir(d));)
                entries += de->d_name[0] != '.';
        closedir(d);
        ASSERT_EQ(entries, 0);
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
        KpFallbackPublished how;
        KpError error = {};
        size_t size;

        ASSERT_OK(kp_output_dir_open(outdir, &error, &out));
        ASSERT_OK(kp_boot_fallback_answer(pvgrub, NULL, &out, "console=hvc0", &error, &a, &how));
        ASSERT_EQ(how, KP_FALLBACK_LINKED); /* one filesystem: a link */
        ASSERT_TRUE(a.ramdisk == NULL);
        ASSERT_STREQ(a.args, "console=hvc0");
        ASSERT_OK(kp_read_file(a.kernel, 1024, &error, &data, &size));
        ASSERT_EQ(size, 12);
        ASSERT_MEMEQ(data, "pvgrub image", 12);
        kp_answer_done(&a);

        ASSERT_OK(kp_boot_fallback_answer(pvgrub, NULL, &out, NULL, &error, &a, NULL));
        ASSERT_TRUE(a.args == NULL);
        kp_answer_done(&a);

        ASSERT_ERROR(kp_boot_fallback_answer("/nonexistent/grub-x86_64-xen.bin", NULL, &out, NULL, &error, &a, NULL),
                     -ENOENT);
        ASSERT_CONTAINS(error.message, "cannot open pvgrub image /nonexistent/grub-x86_64-xen.bin");
        ASSERT_ERROR(kp_boot_fallback_answer("grub-x86_64-xen.bin", NULL, &out, NULL, &error, &a, NULL), -EINVAL);
        ASSERT_ERROR(kp_boot_fallback_answer(dir, NULL, &out, NULL, &error, &a, NULL), -EMEDIUMTYPE);
        ASSERT_ERROR(kp_boot_fallback_answer(pvgrub, NULL, &out, "x\ny", &error, &a, NULL), -EBADMSG);
        ASSERT_TRUE(a.kernel == NULL);
}

/* Fills the filesystem of dir to the last block. */
static void fill(const char *dir_path)
{
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -EBADF;
        static const char block[4096];

        ASSERT_TRUE(asprintf(&p, "%s/filler", dir_path) > 0);
        fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        ASSERT_TRUE(fd >= 0);
        while (write(fd, block, sizeof(block)) > 0)
                ;
        ASSERT_EQ(errno, ENOSPC);
}

/*
 * libxl's directory on a full /var, pvgrub on another filesystem: the
 * image cannot be linked there nor copied, but the copy staged in the
 * cache (on /var) can be linked. Without it, or with it written to since
 * it was staged, or for another image, there is no answer but a copy,
 * which fails.
 */
static void full_var_case(void)
{
        _cleanup_(kp_output_dir_done) KpOutputDir out = KP_OUTPUT_DIR_INIT;
        _cleanup_(kp_answer_done) KpAnswer a = {};
        _cleanup_free_ char *image = NULL, *pvgrub = path_in("pvgrub-image.bin"), *var = path_in("var"),
                            *cache = NULL, *outdir = NULL, *staged_dir = NULL, *data = NULL;
        _cleanup_close_ int fd = -EBADF;
        const struct timespec later[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = 1000 } };
        KpFallbackPublished how;
        KpError error = {};
        struct stat st;
        size_t size;

        image = malloc(1024 * 1024);
        ASSERT_TRUE(image);
        for (size_t i = 0; i < 1024 * 1024; i++)
                image[i] = (char) (i * 7);
        ASSERT_OK(kp_write_file_atomic(pvgrub, image, 1024 * 1024, 0644, &error));
        ASSERT_OK(mkdir(var, 0700));
        if (mount("tmpfs", var, "tmpfs", 0, "size=4m,mode=0700") < 0)
                _exit(77);
        ASSERT_TRUE(asprintf(&cache, "%s/cache", var) > 0 && asprintf(&outdir, "%s/bootloader.7.d", var) > 0 &&
                    asprintf(&staged_dir, "%s/pvgrub", cache) > 0);
        ASSERT_OK(mkdir(cache, 0700));
        ASSERT_OK(kp_output_dir_open(outdir, &error, &out));

        /* Staged once (kunpack-scan does it), again: nothing to do. */
        ASSERT_EQ(kp_boot_fallback_stage(pvgrub, cache, &error), 1);
        ASSERT_EQ(kp_boot_fallback_stage(pvgrub, cache, &error), 0);
        fill(var);

        ASSERT_OK(kp_boot_fallback_answer(pvgrub, cache, &out, "console=hvc0", &error, &a, &how));
        ASSERT_EQ(how, KP_FALLBACK_LINKED_STAGED);
        ASSERT_OK(kp_read_file(a.kernel, 2 * 1024 * 1024, &error, &data, &size));
        ASSERT_EQ(size, 1024 * 1024);
        ASSERT_MEMEQ(data, image, size);
        ASSERT_OK(unlink(a.kernel)); /* as libxl does */
        kp_answer_done(&a);

        /* Written to since it was staged: not linked. A copy is tried, and finds /var full. */
        {
                _cleanup_close_ int dfd = open(staged_dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
                DIR *d = fdopendir(fcntl(dfd, F_DUPFD_CLOEXEC, 3));
                struct dirent *de;

                ASSERT_TRUE(d);
                while ((de = readdir(d)))
                        if (de->d_name[0] != '.')
                                ASSERT_OK(utimensat(dfd, de->d_name, later, 0));
                closedir(d);
        }
        ASSERT_ERROR(kp_boot_fallback_answer(pvgrub, cache, &out, NULL, &error, &a, &how), -ENOSPC);
        ASSERT_TRUE(a.kernel == NULL);

        /* A new image (a package upgrade): the old copy is not its copy. */
        ASSERT_EQ(kp_boot_fallback_stage(pvgrub, cache, &error), -ENOSPC); /* and no room to stage it */
        fd = open(pvgrub, O_WRONLY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(fstat(fd, &st));
        ASSERT_EQ(pwrite(fd, "x", 1, 0), 1);
        ASSERT_ERROR(kp_boot_fallback_answer(pvgrub, cache, &out, NULL, &error, &a, &how), -ENOSPC);
}

static void test_fallback_full_var(void)
{
        int status;
        pid_t pid = fork();

        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                        _exit(77);
                full_var_case();
                _exit(0);
        }
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77)
                fprintf(stderr, "no mount namespace here: full /var case not run\n");
        else
                ASSERT_EQ(WEXITSTATUS(status), 0);
}

int main(void)
{
        char cmd[128];

        ASSERT_TRUE(mkdtemp(dir));
        test_format_names();
        test_join_args();
        test_records();
        test_publish();
        test_initrds_too_big();
        test_write();
        test_fallback();
        test_fallback_full_var();
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        ASSERT_EQ(system(cmd), 0);
        return 0;
}
