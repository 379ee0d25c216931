/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A boot plan as JSON: what `kunpackctl inspect --json` prints and what
 * state files keep. The shape is a contract (issue 3):
 *
 * {
 *   "selected": ENTRY or null,
 *   "entries": [ENTRY, ...],               every entry, menu order, submenus flattened
 *   "config": { "file": "/boot/grub/grub.cfg" or null,
 *               "filesystem": "/dev/sda1" or null,   (filled by the inspection)
 *               "kind": "grub2" },                    kp_boot_config_kind_to_string()
 *   "reason": "default-index",                        kp_select_reason_to_string()
 *   "reason_detail": "default=\"0\"" or null,
 *   "warnings": ["...", ...]
 * }
 *
 * ENTRY:
 * {
 *   "index": 3,                            position in "entries"
 *   "title": "Ubuntu, with Linux 5.4.0-26-generic",
 *   "menu_path": "Advanced options for Ubuntu>Ubuntu, with Linux 5.4.0-26-generic",
 *   "id": "gnulinux-5.4.0-26-generic-advanced-..." or null,
 *   "kernel": "/boot/vmlinuz-5.4.0-26-generic" or null (the entry loads no Linux kernel),
 *   "initrds": ["/boot/initrd.img-5.4.0-26-generic"],
 *   "cmdline": "root=UUID=... ro quiet splash",
 *   "format": "zstd" or null,              kp_format_to_string(); null until inspected
 *   "size": 11534336 or null,              the kernel's; null until inspected
 *   "sha256": "ab12..." or null,           the kernel's; null until inspected
 *   "root": { "kind": "uuid", "value": "..." or null },   kp_device_kind_to_string()
 *   "kernel_device": "/dev/sda1" or null,
 *   "initrd_files": [ { "path": ..., "device": ... or null, "size": ... or null, "sha256": ... or null } ]
 * }
 *
 * The keys after "sha256" are extras that make the round trip through a
 * state file exact; readers of the contract may ignore them.
 */

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "bootcfg/bootplan.h"

/* A state file bigger than this is refused: 1024 entries of generous size. */
#define KP_BOOTPLAN_JSON_MAX (32 * 1024 * 1024)
/* Arrays and objects nested deeper than this are refused before parsing (the plan needs 4). */
#define KP_BOOTPLAN_JSON_MAX_DEPTH 32

/* Writes the plan as one JSON object. -EINVAL when yajl refuses a string (invalid UTF-8 with validation on). */
int kp_boot_plan_to_json(const KpBootPlan *plan, yajl_gen g);

/* The same into a new NUL-terminated string, indented when pretty. */
int kp_boot_plan_format_json(const KpBootPlan *plan, bool pretty, char **ret);

/*
 * Reads a plan back. -EBADMSG (with the reason) for anything that is not
 * the shape above, -EFBIG past KP_BOOTPLAN_JSON_MAX, -E2BIG past the
 * limits of bootplan.h. The plan is not validated: call
 * kp_boot_plan_validate() before using it.
 */
int kp_boot_plan_from_json(const char *text, size_t size, KpError *error, KpBootPlan **ret);

/*
 * The same from a document already parsed, for records that embed a plan
 * (the per-disk state). The caller has bounded the text's size and depth.
 */
int kp_boot_plan_from_json_value(yajl_val root, KpError *error, KpBootPlan **ret);
