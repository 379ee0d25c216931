/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * pvgrub mode's change to a guest's boot configuration, computed on the
 * host from the configuration's bytes and the plan the parsers and the
 * inspection made of them; nothing here touches a guest.
 *
 * pvgrub2's Xen loader (grub-core/loader/i386/xen_file.c) takes an ELF, or
 * a bzImage whose payload it can open through GRUB's gzip, xz or lzop
 * filters; anything else ends in "not xen image". For every entry whose
 * kernel it cannot load, the kernel's file name token in the configuration
 * is replaced by the name of a decompressed copy beside it
 * ("/boot/vmlinuz-5.4.0-26-generic" -> "/boot/vmlinux-5.4.0-26-generic");
 * every other byte stays as it was, so titles, arguments, initrds and the
 * default entry are what they were.
 *
 * Refused, so that the caller applies the failure policy instead of
 * guessing: configurations pvgrub does not read (extlinux, BLS snippets,
 * none), a kernel name that is not one literal token of the configuration
 * file (a variable, a quoted or escaped word, a sourced file, a function),
 * bytes at the recorded position that are not that token, and a kernel on
 * another filesystem than the configuration.
 */

#include <stdbool.h>
#include <stddef.h>

#include "bootcfg/bootplan.h"
#include "kunpack.h"

/* One kernel to decompress beside itself. */
typedef struct KpPvgrubConversion {
        char *source;    /* the compressed kernel, as the plan names it */
        char *target;    /* the ELF kunpack writes beside it */
        char sha256[65]; /* of source, from the inspection */
        KpFormat format;
        uint64_t size;
} KpPvgrubConversion;

typedef struct KpPvgrubRewrite {
        KpPvgrubConversion *conversions;
        size_t n_conversions;
        size_t n_tokens; /* kernel names replaced in the configuration */
        char *config;    /* the new configuration (a copy of the old one when nothing changed) */
        size_t config_size;
} KpPvgrubRewrite;

void kp_pvgrub_rewrite_done(KpPvgrubRewrite *r);

/* Payloads pvgrub2 loads itself: ELF, gzip, xz, lzo. */
bool kp_pvgrub_can_load(KpFormat format);

/* Whether some entry of plan has a kernel the inspection found in a payload pvgrub cannot load. */
bool kp_pvgrub_needs_rewrite(const KpBootPlan *plan);

/*
 * The name of the decompressed copy of source: "vmlinuz" at the start of
 * the file name becomes "vmlinux"; any other name gets ".elf" appended.
 */
int kp_pvgrub_target_path(const char *source, char **ret);

/*
 * Computes the rewrite of data (the configuration plan was parsed from,
 * size bytes) for every entry of plan whose kernel the inspection found
 * (KpFileInfo.have_info) to be a bzImage with a payload pvgrub cannot load
 * (bzip2, lzma, lz4, zstd). Entries whose kernel is missing or not a
 * kernel are left as they are (pvgrub fails on them as it did before).
 * Errors: -EOPNOTSUPP (a configuration pvgrub does not read, a kernel
 * name that is not a literal), -EBADMSG (the bytes at a recorded
 * position are not the kernel's name), -EXDEV (a kernel on another
 * filesystem than the configuration), each with the entry in the message.
 */
int kp_pvgrub_rewrite(const KpBootPlan *plan, const char *data, size_t size, KpError *error,
                      KpPvgrubRewrite *ret);
