/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * GRUB's environment block (/boot/grub/grubenv): the signature line
 * "# GRUB Environment Block", then "name=value" lines with '\' escaping
 * '\' and newline, padded with '#' to 1024 bytes by grub-editenv. Read as
 * GRUB 2.06's grub_envblk_iterate() reads it, quirks included: a name runs
 * to the first '=' (newlines and all), lines starting with '#' are
 * skipped, and a block that ends inside a line ends the iteration.
 */

#include <stddef.h>

#include "kunpack.h"
#include "util/macro.h"

/* Variables in one grubenv: a real one holds a handful. */
#define KP_GRUBENV_MAX_VARIABLES 1024

typedef struct KpGrubEnvVar {
        char *name;
        char *value;
} KpGrubEnvVar;

typedef struct KpGrubEnv {
        KpGrubEnvVar *vars;
        size_t n_vars;
} KpGrubEnv;

/*
 * Parses data (size bytes, at most KP_BOOTCFG_MAX_SIZE). -EBADMSG when the
 * signature is missing (GRUB: "invalid environment block"), -E2BIG past
 * KP_GRUBENV_MAX_VARIABLES. A NUL inside a name or value ends it, as in
 * GRUB's C strings. A later line for a name replaces the earlier value.
 */
int kp_grubenv_parse(const char *data, size_t size, KpError *error, KpGrubEnv **ret);

/* The value of name, or NULL. */
const char *kp_grubenv_get(const KpGrubEnv *env, const char *name);

KpGrubEnv *kp_grubenv_free(KpGrubEnv *env);
DEFINE_TRIVIAL_CLEANUP_FUNC(KpGrubEnv *, kp_grubenv_free);
