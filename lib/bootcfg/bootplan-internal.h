/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Helpers the boot-config parsers share to build a KpBootPlan: ownership
 * of entries and files, bounded lists, warnings. Not for use outside
 * lib/bootcfg/.
 */

#include <stdarg.h>

#include "bootcfg/bootplan.h"

void kp_file_info_done(KpFileInfo *f);
void kp_device_spec_done(KpDeviceSpec *d);
int kp_device_spec_copy(const KpDeviceSpec *src, KpDeviceSpec *dst);
bool kp_device_spec_equal(const KpDeviceSpec *a, const KpDeviceSpec *b);
void kp_boot_entry_done(KpBootEntry *e);

/*
 * Moves *entry to the end of plan->entries (*entry is zeroed). -E2BIG past
 * KP_BOOTCFG_MAX_ENTRIES, -ENOSPC when its strings would take the plan's
 * text past KP_BOOTCFG_MAX_PLAN_TEXT (the caller says where, with
 * KP_BOOTCFG_PLAN_TEXT_MESSAGE, as -E2BIG).
 */
int kp_boot_plan_take_entry(KpBootPlan *plan, KpBootEntry *entry);
#define KP_BOOTCFG_PLAN_TEXT_MESSAGE \
        "plan budget of %d bytes exceeded (titles, paths and command lines of all entries)"

/* Appends a copy of path to the entry's initrds. -E2BIG past KP_BOOTCFG_MAX_INITRDS. */
int kp_boot_entry_add_initrd(KpBootEntry *e, const char *path);

/* Replaces plan->reason_detail with the formatted text. */
int kp_boot_plan_set_detail(KpBootPlan *plan, const char *format, ...) _printf_(2, 3);

/*
 * Warnings gathered while parsing: duplicates are dropped, and past
 * KP_BOOTCFG_MAX_WARNINGS - 1 they are only counted, so a hostile config
 * cannot make the plan big by repeating a mistake.
 */
typedef struct KpWarnings {
        char **list;
        size_t n;
        size_t dropped;
} KpWarnings;

int kp_warnings_add(KpWarnings *w, const char *format, ...) _printf_(2, 3);
int kp_warnings_addv(KpWarnings *w, const char *format, va_list ap) _printf_(2, 0);
/* Moves the warnings into *ret (a strv, "N more warnings" last when some were dropped). */
int kp_warnings_finish(KpWarnings *w, char ***ret);
void kp_warnings_done(KpWarnings *w);
