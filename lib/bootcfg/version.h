/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Version order for kernel file names and BLS snippets: the rpm rules
 * that Fedora's blscfg uses to sort /boot/loader/entries and that give
 * the same answer as `sort -V` for the names distributions give kernels.
 * Strings are cut into runs of digits and runs of letters (anything else
 * separates); digit runs compare as numbers (more digits wins, leading
 * zeros ignored), letter runs as strings, a digit run beats a letter run;
 * '~' sorts before everything, even the end, and '+' after the end.
 */

/* <0, 0, >0 as a is older than, the same as, newer than b. */
int kp_version_compare(const char *a, const char *b);

/*
 * Compares two BLS entry names ("<machine-id>-<version>-<release>") as
 * Fedora's blscfg does: name, then version, then release, each with
 * kp_version_compare(), the fields being cut at the last two '-'.
 */
int kp_version_compare_nvr(const char *a, const char *b);

/*
 * The kernel release a kernel's file name carries, as GRUB's 10_linux and
 * the kernel's own `make install` name them: "5.4.0-42-generic" for
 * /boot/vmlinuz-5.4.0-42-generic (also vmlinux-, kernel-, bzImage-). A
 * pointer into path; NULL when the name carries none (/boot/vmlinuz). The
 * name is the guest's word, not the kernel's own version string.
 */
const char *kp_kernel_version_from_path(const char *path);
