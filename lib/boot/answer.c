/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "boot/answer.h"
#include "boot/request.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/string-table.h"

/* libxl's --output-format= values (libxl_bootloader.c). */
static const char *const answer_format_table[] = {
        [KP_ANSWER_SIMPLE] = "simple",
        [KP_ANSWER_SIMPLE0] = "simple0",
};
KP_DEFINE_STRING_TABLE_FROM_STRING(kp_answer_format, KpAnswerFormat, answer_format_table);

void kp_answer_done(KpAnswer *a)
{
        a->kernel = mfree(a->kernel);
        a->ramdisk = mfree(a->ramdisk);
        a->args = mfree(a->args);
}

int kp_answer_check_text(const char *what, const char *s, KpError *error)
{
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < ' ' || *p == 0x7f)
                        return kp_error_set(error, -EBADMSG,
                                            "%s contains a control character (0x%02x at offset %zu): refused, it "
                                            "could add a record to libxl's bootloader output",
                                            what, *p, (size_t) ((const char *) p - s));
        return 0;
}

int kp_answer_join_args(const char *cmdline, const char *extra, KpError *error, char **ret)
{
        bool have_cmdline = cmdline && *cmdline, have_extra = extra && *extra;
        char *s = NULL;
        int r;

        if (have_cmdline) {
                r = kp_answer_check_text("the entry's command line", cmdline, error);
                if (r < 0)
                        return r;
        }
        if (have_extra) {
                r = kp_answer_check_text("--args", extra, error);
                if (r < 0)
                        return r;
        }
        if (!have_cmdline && !have_extra) {
                *ret = NULL;
                return 0;
        }
        if (asprintf(&s, "%s%s%s", have_cmdline ? cmdline : "", have_cmdline && have_extra ? " " : "",
                     have_extra ? extra : "") < 0)
                return kp_error_set(error, -ENOMEM, "out of memory");
        if (strlen(s) + STRLEN("args ") > KP_ANSWER_MAX_RECORD) {
                size_t n = strlen(s);
                free(s);
                return kp_error_set(error, -E2BIG,
                                    "the command line is %zu bytes; libxl drops a record over %d bytes and would "
                                    "boot the guest without one",
                                    n, KP_ANSWER_MAX_RECORD);
        }
        *ret = s;
        return 0;
}

int kp_output_dir_open(const char *path, KpError *error, KpOutputDir *ret)
{
        KpOutputDir d = KP_OUTPUT_DIR_INIT;
        char *real;
        int r;

        if (!path || !*path)
                return kp_error_set(error, -EINVAL, "no output directory given");
        r = kp_answer_check_text("the output directory", path, error);
        if (r < 0)
                return r;
        /* libxl creates it; pygrub creates it when missing, and so do we. */
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return kp_error_set_errno(error, negative_errno(), "cannot create output directory %s", path);
        d.fd = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (d.fd < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot open output directory %s", path);
        /* The paths in the answer are absolute and name the directory we opened. */
        real = realpath(path, NULL);
        if (!real) {
                r = negative_errno();
                kp_output_dir_done(&d);
                return kp_error_set_errno(error, r, "cannot resolve output directory %s", path);
        }
        if (strlen(real) + 64 >= PATH_MAX || !kp_string_is_printable(real)) {
                free(real);
                kp_output_dir_done(&d);
                return kp_error_set(error, -EINVAL, "output directory %s resolves to an unusable path", path);
        }
        /* realpath() never ends in '/' except for "/" itself. */
        if (streq(real, "/"))
                real[0] = '\0';
        d.path = real;
        *ret = d;
        return 0;
}

void kp_output_dir_done(KpOutputDir *d)
{
        d->fd = safe_close(d->fd);
        d->path = mfree(d->path);
}

static int make_path(const KpOutputDir *dir, const char *name, KpError *error, char **ret)
{
        if (asprintf(ret, "%s/%s", dir->path, name) < 0)
                return kp_error_set(error, -ENOMEM, "out of memory");
        return 0;
}

int kp_answer_publish(const KpOutputDir *dir, const char *prefix, int fd, KpError *error, char **ret_path)
{
        _cleanup_free_ char *name = NULL;
        int r;

        r = kp_link_or_copy_fd(fd, dir->fd, prefix, 0600, error, &name);
        if (r < 0)
                return kp_error_prefix(error, r, "%s", dir->path);
        return make_path(dir, name, error, ret_path);
}

int kp_answer_publish_initrds(const KpOutputDir *dir, const char *prefix, const int *fds, size_t n, KpError *error,
                              char **ret_path)
{
        static const uint8_t zeros[KP_ANSWER_INITRD_ALIGN] = {};
        _cleanup_(kp_atomic_file_discard) KpAtomicFile f = KP_ATOMIC_FILE_INIT;
        _cleanup_free_ char *name = NULL;
        uint64_t total = 0, rnd;
        int r;

        if (n == 0)
                return kp_error_set(error, -EINVAL, "no initrd to publish");
        if (n == 1)
                return kp_answer_publish(dir, prefix, fds[0], error, ret_path);

        /* Their sum, as one file, before a byte is copied into libxl's directory. */
        for (size_t i = 0; i < n; i++) {
                struct stat st;
                uint64_t size;

                if (fstat(fds[i], &st) < 0)
                        return kp_error_set_errno(error, negative_errno(), "cannot stat initrd %zu", i + 1);
                size = (uint64_t) st.st_size;
                if (i + 1 < n && size % KP_ANSWER_INITRD_ALIGN)
                        size += KP_ANSWER_INITRD_ALIGN - size % KP_ANSWER_INITRD_ALIGN;
                if (size > KP_ANSWER_MAX_FILE - total)
                        return kp_error_set(error, -EFBIG,
                                            "the initrds together are larger than %" PRIu64
                                            " bytes; nothing copied",
                                            KP_ANSWER_MAX_FILE);
                total += size;
        }
        total = 0;

        /* The same naming as kp_link_or_copy_fd(): unpredictable, so no one can prepare the name. */
        if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
                rnd = ((uint64_t) getpid() << 32) ^ (uint64_t) (uintptr_t) &rnd;
        if (asprintf(&name, "%s.%016" PRIx64, prefix, rnd) < 0)
                return kp_error_set(error, -ENOMEM, "out of memory");
        r = kp_atomic_file_openat(dir->fd, name, 0600, error, &f);
        if (r < 0)
                return kp_error_prefix(error, r, "%s", dir->path);

        for (size_t i = 0; i < n; i++) {
                uint64_t size;

                r = kp_copy_fd(fds[i], f.fd, KP_ANSWER_MAX_FILE - total, &size);
                if (r == -EFBIG)
                        return kp_error_set(error, r, "the initrds together are larger than %" PRIu64 " bytes",
                                            KP_ANSWER_MAX_FILE);
                if (r < 0)
                        return kp_error_set_errno(error, r, "cannot copy initrd %zu into %s", i + 1, dir->path);
                total += size;
                if (i + 1 < n && size % KP_ANSWER_INITRD_ALIGN) {
                        size_t pad = KP_ANSWER_INITRD_ALIGN - size % KP_ANSWER_INITRD_ALIGN;
                        r = kp_loop_write(f.fd, zeros, pad);
                        if (r < 0)
                                return kp_error_set_errno(error, r, "cannot write into %s", dir->path);
                        total += pad;
                }
        }
        r = kp_atomic_file_commit(&f, false, error);
        if (r < 0)
                return r;
        return make_path(dir, name, error, ret_path);
}

static int add_record(FILE *f, const char *key, const char *value, char sep, KpError *error)
{
        char what[32];
        int r;

        (void) snprintf(what, sizeof(what), "the %s record", key);
        r = kp_answer_check_text(what, value, error);
        if (r < 0)
                return r;
        if (strlen(key) + 1 + strlen(value) > KP_ANSWER_MAX_RECORD)
                return kp_error_set(error, -E2BIG, "the %s record is longer than the %d bytes libxl reads", key,
                                    KP_ANSWER_MAX_RECORD);
        fprintf(f, "%s %s%c", key, value, sep);
        return 0;
}

int kp_answer_format(const KpAnswer *a, KpAnswerFormat format, KpError *error, char **ret_text, size_t *ret_size)
{
        char sep = format == KP_ANSWER_SIMPLE0 ? '\0' : '\n';
        char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        if (!a->kernel)
                return kp_error_set(error, -EINVAL, "an answer needs a kernel");
        f = open_memstream(&buf, &size);
        if (!f)
                return kp_error_set(error, -ENOMEM, "out of memory");
        r = add_record(f, "kernel", a->kernel, sep, error);
        if (r >= 0 && a->ramdisk)
                r = add_record(f, "ramdisk", a->ramdisk, sep, error);
        if (r >= 0 && a->args && *a->args)
                r = add_record(f, "args", a->args, sep, error);
        if (r >= 0)
                fputc(sep, f);
        if (fclose(f) != 0 && r >= 0)
                r = kp_error_set(error, -ENOMEM, "out of memory");
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret_text = buf;
        *ret_size = size;
        return 0;
}

int kp_answer_write(int fd, const char *text, size_t size, KpError *error)
{
        struct stat st;
        int r;

        if (fstat(fd, &st) < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot stat the output");
        /*
         * libxl creates the file empty: then there is nothing to cut, and
         * cutting anyway is not free. On ext4, truncating a file to 0 marks
         * it for writeback at close (auto_da_alloc), which put a block
         * allocation and a writeback into every hot start.
         */
        if (S_ISREG(st.st_mode) && st.st_size > 0) {
                if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
                        return kp_error_set_errno(error, negative_errno(), "cannot rewrite the output file");
        }
        r = kp_loop_write(fd, text, size);
        if (r < 0)
                return kp_error_set_errno(error, r, "cannot write the answer");
        return 0;
}
