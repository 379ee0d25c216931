/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * GRUB 2 script syntax (grub-core/script/parser.y in GRUB 2.06) into a
 * tree the evaluator walks. Nothing is evaluated here.
 *
 *   script    := { command | function } separated by ';' or newlines
 *   command   := word { word } [ '{' commands '}' ]
 *              | if commands; then commands; [ elif ...; | else commands; ] fi
 *              | for NAME in words; do commands; done
 *              | while|until commands; do commands; done
 *   function  := function NAME { commands; }
 *
 * Keywords are only keywords as plain unquoted words; elsewhere than at
 * the start of a command they are ordinary arguments, as in GRUB. A block
 * (menuentry, submenu) must hold at least one command. Nesting deeper than
 * KP_BOOTCFG_MAX_DEPTH is refused.
 */

#include <stddef.h>

#include "bootcfg/grub/budget.h"
#include "bootcfg/grub/lexer.h"
#include "kunpack.h"
#include "util/macro.h"

typedef struct GrubScript GrubScript;

typedef enum GrubCmdKind {
        GRUB_CMD_SIMPLE,
        GRUB_CMD_IF,
        GRUB_CMD_FUNCTION,
        GRUB_CMD_LOOP, /* for/while/until: parsed, never run */
} GrubCmdKind;

typedef struct GrubCmd {
        GrubCmdKind kind;
        unsigned line;

        /* GRUB_CMD_SIMPLE */
        GrubWord *words;
        size_t n_words;
        GrubScript *block;      /* the { ... } after the words, or NULL */

        /* GRUB_CMD_IF: else_part holds one GRUB_CMD_IF for "elif" */
        GrubScript *cond;
        GrubScript *then_part;
        GrubScript *else_part;

        /* GRUB_CMD_FUNCTION */
        char *name;
        GrubScript *body;

        /* GRUB_CMD_LOOP */
        const char *keyword;
} GrubCmd;

struct GrubScript {
        GrubCmd *cmds;
        size_t n_cmds;
        size_t bytes;           /* the whole tree's charge to the budget (the top script only) */
};

/*
 * Parses data (the content of file, for messages). -EBADMSG with
 * "file:line: syntax error: ..." for anything GRUB's parser refuses,
 * -ELOOP for nesting past KP_BOOTCFG_MAX_DEPTH, -EFBIG past
 * KP_BOOTCFG_MAX_SIZE.
 */
int grub_script_parse(const char *file, const char *data, size_t size, KpError *error, GrubScript **ret);
/*
 * The same, with the tree charged to budget as it grows (held until the
 * evaluation ends; given back when the parse fails): -E2BIG when the
 * memory budget is spent, and the reading charged as work.
 */
int grub_script_parse_budget(const char *file, const char *data, size_t size, GrubBudget *budget, KpError *error,
                             GrubScript **ret);

GrubScript *grub_script_free(GrubScript *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(GrubScript *, grub_script_free);
