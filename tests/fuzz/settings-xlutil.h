/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The reference for lib/settings/xlcfg.c: kunpack.conf and its syntax as
 * libxlutil reads them (settings-xlutil.c). Only the fuzzer and the unit
 * tests link it, and with it libxlutil.
 */

#include <stdbool.h>
#include <stddef.h>

#include "kunpack.h"
#include "util/macro.h"
#include "settings/settings.h"

/* kunpack.conf as lib/settings/settings.c read it with libxlutil: same results, same messages. */
int ref_settings_parse(const char *path, const char *text, size_t size, KpError *error, KpSettings **ret);

/* The old loader's scan for the statements' names and lines (names cut at 63 bytes). */
typedef struct ConfigKey {
        char name[64];
        unsigned line;
} ConfigKey;
int ref_scan_keys(const char *text, size_t size, ConfigKey **ret_keys, size_t *ret_n);

/* libxlutil's reading of a text: -errno and its first report line, as KpXlcfg's refusals read. */
typedef struct RefXlcfg RefXlcfg;
int ref_xlcfg_parse(const char *source, const char *text, size_t size, KpError *error, RefXlcfg **ret);
RefXlcfg *ref_xlcfg_free(RefXlcfg *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(RefXlcfg *, ref_xlcfg_free);

/* What libxlutil answers for a name: the last statement's value, joined to those before by "+=". */
typedef struct RefValue {
        bool is_list;
        const char *string; /* !is_list */
        const char **items; /* is_list: n_items entries (NULL for a nested list); free() the array */
        size_t n_items;
        unsigned line;  /* the last statement's, from libxlutil's warning */
        int long_error; /* xlu_cfg_get_long()'s answer: 0 or an errno */
        long long_value;
} RefValue;

/* -ENOENT when libxlutil has no statement of that name. */
int ref_xlcfg_lookup(RefXlcfg *r, const char *name, RefValue *ret);
