/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Paths inside a guest filesystem, as boot configurations write them.
 * They are only ever strings here: nothing is opened on the host. ".."
 * components are kept as written so that kp_boot_plan_validate() can
 * refuse them; everything else is normalised so that two spellings of one
 * file compare equal.
 */

#include <stdbool.h>

/*
 * Makes path absolute (relative paths are taken from base_dir, itself
 * absolute; base_dir NULL means "/"), collapses "//" and "/./" and drops a
 * trailing "/". -EINVAL for an empty path, -E2BIG past KP_BOOTCFG_MAX_PATH.
 */
int kp_guest_path_resolve(const char *base_dir, const char *path, char **ret);

/*
 * The same for a path relative to a configuration's directory, as
 * syslinux takes "LINUX ../vmlinuz-linux" from /boot/syslinux: ".." is
 * collapsed too, except where it would climb above "/", where it stays
 * (and kp_boot_plan_validate() refuses the path).
 */
int kp_guest_path_resolve_relative(const char *base_dir, const char *path, char **ret);

/* "/boot/grub/grub.cfg" -> "/boot/grub", "/grub.cfg" -> "/". */
int kp_guest_path_dirname(const char *path, char **ret);

/* Whether a path has a ".." component. */
bool kp_guest_path_has_dotdot(const char *path);
