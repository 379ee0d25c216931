/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers shared by the boot-config tests: parse a data case or a text, check an entry. */

#include "bootcfg/bootplan.h"
#include "memfs.h"
#include "tests.h"

/*
 * Loads tests/unit/bootcfg/data/<name> into a MemFs (returned in
 * *ret_fs when not NULL) and parses config_path from it as kind.
 * Returns the plan; aborts on failure with the parser's message.
 */
KpBootPlan *parse_case(const char *name, KpBootConfigKind kind, const char *config_path, const char *fs_uuid,
                       KpBootParseFlags flags, MemFs **ret_fs);

/* Parses text as config_path of kind over m (may be NULL). Returns the parser's result. */
int parse_text(KpBootConfigKind kind, const char *config_path, const char *text, MemFs *m, KpError *error,
               KpBootPlan **ret);

/* Checks one entry: initrds is a space-separated list ("" for none); NULL fields are not checked. */
void check_entry(const KpBootEntry *e, const char *title, const char *menu_path, const char *kernel,
                 const char *initrds, const char *cmdline);

/* The selected entry, which must exist. */
const KpBootEntry *selected(const KpBootPlan *plan);

/* Whether some warning contains needle. */
bool has_warning(const KpBootPlan *plan, const char *needle);
