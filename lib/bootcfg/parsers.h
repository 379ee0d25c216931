/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The parsers behind kp_boot_config_parse(), one per configuration
 * language. Each returns a plan with every entry, the selected one and
 * the reason, or an error naming file and line. Callers outside
 * lib/bootcfg/ use kp_boot_config_parse().
 */

#include "bootcfg/bootplan.h"

/* grub.cfg (GRUB 2, blscfg included): grub/grub2.c. */
int kp_grub2_parse(const char *path, const char *data, size_t size, const KpBootFs *fs, KpBootParseFlags flags,
                   KpError *error, KpBootPlan **ret);

/* menu.lst / grub.conf (GRUB legacy 0.97): grub-legacy.c. */
int kp_grub_legacy_parse(const char *path, const char *data, size_t size, const KpBootFs *fs, KpError *error,
                         KpBootPlan **ret);

/* extlinux.conf / syslinux.cfg / isolinux.cfg: extlinux.c. */
int kp_extlinux_parse(const char *path, const char *data, size_t size, const KpBootFs *fs, KpError *error,
                      KpBootPlan **ret);

/* No configuration: the newest kernel in /boot (or / of a separate /boot): newest-kernel.c. */
int kp_fallback_parse(const KpBootFs *fs, KpError *error, KpBootPlan **ret);
