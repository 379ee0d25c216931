/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A reader for the part of the xl.cfg(5) syntax that kunpack.conf uses, so
 * that reading the settings needs no Xen library. For every text it
 * accepts and refuses what libxlutil's xlu_cfg_readdata() (Xen 4.17)
 * accepts and refuses, and a refusal reads as libxlutil's first report
 * line does ("FILE:LINE: config parsing error near `TEXT': REASON"), so an
 * admin sees the same report from kunpack as from xl.
 * tests/fuzz/fuzz-settings.c holds it to that. The grammar, and why it is
 * all kunpack.conf needs, is described at the top of xlcfg.c.
 *
 * xl domain configs are not read with this: lib/xl/domain.c keeps using
 * libxlutil, whose disk, vif and pci parsers it needs as well.
 */

#include <stdbool.h>
#include <stddef.h>

#include "kunpack.h"
#include "util/macro.h"

/* The largest text read: kunpack.conf's own limit (KP_SETTINGS_MAX_SIZE in lib/settings/settings.c). */
#define KP_XLCFG_MAX_SIZE (256 * 1024)

/*
 * libxlutil's parser (bison's default YYMAXDEPTH) gives up with "memory
 * exhausted" once its stack would hold this many states. Each list nested
 * in another costs at least two ("[" and the newlines after it), so lists
 * nest about 5000 deep. The reader counts the states the same way and
 * refuses the same files with the same report.
 */
#define KP_XLCFG_MAX_PARSER_STATES 10000
#define KP_XLCFG_MAX_DEPTH         ((KP_XLCFG_MAX_PARSER_STATES - 4) / 2)

/*
 * Every other count follows from the size, and the reader sizes its arrays
 * from the text once instead of growing them: a statement needs an "=" of
 * its own and takes at least four bytes ("a=1;"), a list item needs a "["
 * or "," of its own and takes at least two ("1,"), a string cannot be
 * longer than the text. These are the most a text of KP_XLCFG_MAX_SIZE
 * bytes can hold; raising the size raises them.
 */
#define KP_XLCFG_MAX_STATEMENTS ((KP_XLCFG_MAX_SIZE + 1) / 4)
#define KP_XLCFG_MAX_ITEMS      (KP_XLCFG_MAX_SIZE / 2)
#define KP_XLCFG_MAX_STRING     KP_XLCFG_MAX_SIZE

typedef struct KpXlcfgStatement {
        const char *name;
        unsigned line; /* the line of the name, as libxlutil records it */
        bool append;   /* written "NAME += VALUE" */
        bool is_list;
        const char *string;       /* !is_list: a string without its quotes, or a number as written */
        const char *const *items; /* is_list: each item's string, NULL for an item that is itself a list */
        size_t n_items;
} KpXlcfgStatement;

typedef struct KpXlcfg {
        /*
         * In the order written, repeated names included: libxlutil looks up
         * the last statement of a name. A "+=" statement holds its own value
         * only; libxlutil would join it to the value before, which a caller
         * that refuses repeated names (kunpack.conf does) never needs. Its
         * type is checked against the statement before, as libxlutil does.
         */
        KpXlcfgStatement *statements;
        size_t n_statements;

        /*
         * libxlutil silently ignores one byte that starts no token when it is
         * the very last byte of the text (its lexer reaches the end before it
         * reports the byte). The reader ignores it too and says so here: the
         * byte (0 when there is none), its line, and whether it stood where a
         * statement could start, where it looks like the start of a name.
         */
        char stray;
        unsigned stray_line;
        bool stray_at_statement_start;

        /* Storage for the above. */
        const char **item_storage;
        char *string_storage;
        unsigned *name_slots; /* name -> last statement index + 1, open addressing */
        size_t n_name_slots;
} KpXlcfg;

/*
 * Reads text (size bytes, a NUL at text[size] not required) as xl.cfg
 * syntax. source names the text in the refusal, as the file name does in
 * libxlutil's report. Refuses with -EINVAL and libxlutil's report line for
 * anything libxlutil refuses; with -EINVAL "SOURCE: contains a NUL byte"
 * for a NUL (libxlutil would read a string only up to it); with -EFBIG
 * past KP_XLCFG_MAX_SIZE.
 */
int kp_xlcfg_parse(const char *source, const char *text, size_t size, KpError *error, KpXlcfg **ret);

KpXlcfg *kp_xlcfg_free(KpXlcfg *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(KpXlcfg *, kp_xlcfg_free);

/*
 * A statement's value as a number, the way xl reads one
 * (xlu_cfg_get_long()): C's strtol() in base 0 over the whole string, so
 * "0x10" is 16, "010" is 8 and " 7" is 7, quoted or not. -EINVAL for a
 * list, a "+=" statement, an empty string or trailing characters; -ERANGE
 * outside long.
 */
int kp_xlcfg_statement_long(const KpXlcfgStatement *s, long *ret);
