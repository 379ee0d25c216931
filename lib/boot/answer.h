/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The answer a bootloader gives libxl (tools/libs/light/libxl_bootloader.c,
 * parse_bootloader_result()): records "kernel PATH", "ramdisk PATH" and
 * "args CMDLINE", each ended by a NUL (--output-format=simple0, what libxl
 * asks for) or a newline (simple, as pygrub writes it for humans). libxl
 * mmaps and unlinks the kernel and ramdisk it is given, so they are new
 * names inside --output-directory, never a cache file.
 *
 * Nothing the guest wrote may add a record (XSA-198): every string that
 * goes into one is refused if it holds NUL, a newline or any other control
 * character, and the only paths in an answer are ours.
 */

#include <stdbool.h>
#include <stddef.h>

#include "kunpack.h"
#include "util/macro.h"

typedef enum KpAnswerFormat {
        KP_ANSWER_SIMPLE0,     /* NUL-separated: what libxl reads */
        KP_ANSWER_SIMPLE,      /* newline-separated: for humans */
        _KP_ANSWER_FORMAT_MAX,
} KpAnswerFormat;

/* "simple0", "simple"; -EINVAL for anything else (pygrub's "sxp" included: libxl never asks for it). */
int kp_answer_format_from_string(const char *s, KpAnswerFormat *ret);

/*
 * libxl reads each record into a buffer of 2 * PATH_MAX bytes and skips
 * (with a warning) any longer one, so a longer "args" would silently boot
 * the guest without a command line. Records must stay below this.
 */
#define KP_ANSWER_MAX_RECORD (2 * 4096 - 1)

/* A kernel or initrd handed to libxl: the largest libxenguest accepts (XC_DOM_DECOMPRESS_MAX). */
#define KP_ANSWER_MAX_FILE (UINT64_C(1024) * 1024 * 1024)

/* Initrds are concatenated as GRUB loads them: each padded with zeros to a multiple of this. */
#define KP_ANSWER_INITRD_ALIGN 4

typedef struct KpAnswer {
        char *kernel;          /* absolute path inside the output directory */
        char *ramdisk;         /* the same, or NULL */
        char *args;            /* the command line, or NULL when there is none */
} KpAnswer;

void kp_answer_done(KpAnswer *a);

/* Refuses (-EBADMSG) a string that holds a control character (NUL cannot occur in a C string). */
int kp_answer_check_text(const char *what, const char *s, KpError *error);

/*
 * The command line libxl passes to the kernel: the entry's own, then
 * libxl's --args (the guest config's extra/cmdline), joined by one space
 * as pygrub joins them; either may be NULL or empty. NULL in *ret when
 * both are empty. Refuses control characters and lines that would not fit
 * in a record (-E2BIG).
 */
int kp_answer_join_args(const char *cmdline, const char *extra, KpError *error, char **ret);

/*
 * The output directory libxl names (--output-directory). It is created
 * (mode 0700) if missing, as pygrub does, and opened once; every file is
 * published relative to that fd.
 */
typedef struct KpOutputDir {
        int fd;
        char *path;            /* without a trailing slash */
} KpOutputDir;

#define KP_OUTPUT_DIR_INIT { .fd = -EBADF }

int kp_output_dir_open(const char *path, KpError *error, KpOutputDir *ret);
void kp_output_dir_done(KpOutputDir *d);

/*
 * Gives the open file fd a new name "<prefix>.<random>" in the output
 * directory (a hard link to the very inode, or a copy where the
 * filesystems differ) and returns its absolute path.
 */
int kp_answer_publish(const KpOutputDir *dir, const char *prefix, int fd, KpError *error, char **ret_path);

/*
 * The same for several initrds: one file, their concatenation as GRUB
 * loads them (each padded to KP_ANSWER_INITRD_ALIGN), always a copy. With
 * one initrd this is kp_answer_publish(). Their sum is checked against
 * KP_ANSWER_MAX_FILE before anything is copied (-EFBIG).
 */
int kp_answer_publish_initrds(const KpOutputDir *dir, const char *prefix, const int *fds, size_t n, KpError *error,
                              char **ret_path);

/*
 * The answer as libxl reads it: kernel, then ramdisk and args when
 * present, each record ended by the separator, and one more separator at
 * the end (pygrub's layout). Refuses (-EBADMSG) any string holding a
 * control character and (-E2BIG) records too long for libxl.
 */
int kp_answer_format(const KpAnswer *a, KpAnswerFormat format, KpError *error, char **ret_text, size_t *ret_size);

/*
 * Writes the answer into fd (libxl's pre-created --output file, or
 * standard output): from offset 0, replacing what was there.
 */
int kp_answer_write(int fd, const char *text, size_t size, KpError *error);
