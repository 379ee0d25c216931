/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * GRUB 2 script words, as grub-core/script/yylex.l (GRUB 2.06) cuts them.
 *
 * Outside quotes a word runs until a blank, a newline or one of ; { } | &
 * < >. Inside it: '...' is literal (newlines included); "..." keeps
 * everything but expands $var, and a backslash there only escapes $, ", \
 * and newline (it is kept before anything else); a backslash elsewhere
 * escapes the next character, and backslash-newline joins lines. $name,
 * ${name}, $1, ${10}, $?, $#, $*, $@ are variable references; a '$'
 * that starts none of them is a syntax error, as in GRUB. A '#' that
 * starts a word starts a comment. Before lexing, carriage returns are
 * dropped and lines that begin with '#' removed, as GRUB's config reader
 * (grub_file_getline(), read_config_file_getline()) does.
 *
 * The lexer keeps the parts of a word apart so the evaluator can do what
 * GRUB's grub_script_arglist_to_argv() does: split unquoted variables at
 * blanks, keep quoted empty strings as arguments, drop unquoted empty ones.
 */

#include <stdbool.h>
#include <stddef.h>

#include "bootcfg/grub/budget.h"
#include "kunpack.h"

typedef enum GrubPartKind {
        GRUB_PART_TEXT,   /* unquoted text, escapes resolved */
        GRUB_PART_QUOTED, /* text from '...' or "...": makes the argument exist even when empty */
        GRUB_PART_VAR,    /* unquoted $name: its value is split at blanks */
        GRUB_PART_DQVAR,  /* $name inside "...": one piece */
} GrubPartKind;

typedef struct GrubPart {
        GrubPartKind kind;
        char *text;       /* the text, or the variable's name */
} GrubPart;

typedef struct GrubWord {
        GrubPart *parts;
        size_t n_parts;
        /*
         * The word as written, when it is a plain unquoted name: how
         * keywords are recognised. It is the text of the word's only part,
         * not a copy of its own.
         */
        char *plain;
        unsigned line;
        size_t column;    /* bytes from the start of its line to the word's first byte */
} GrubWord;

typedef enum GrubTokenKind {
        GRUB_TOKEN_EOF,
        GRUB_TOKEN_NEWLINE,
        GRUB_TOKEN_SEMI,
        GRUB_TOKEN_LBRACE,
        GRUB_TOKEN_RBRACE,
        GRUB_TOKEN_WORD,
        /* | & < > || && ;; [[ ]]: GRUB's lexer knows them, its grammar refuses them. */
        GRUB_TOKEN_UNSUPPORTED,
} GrubTokenKind;

typedef struct GrubToken {
        GrubTokenKind kind;
        unsigned line;
        GrubWord word;    /* GRUB_TOKEN_WORD only; owned by the token */
        const char *text; /* GRUB_TOKEN_UNSUPPORTED: the operator */
} GrubToken;

typedef struct GrubLexer {
        char *buf;        /* the cleaned text: no '\r', no '#' lines */
        size_t size;
        size_t pos;
        unsigned line;
        size_t line_start; /* where the line of the last word began in buf */
        size_t scanned;    /* buf was searched for newlines up to here */
        const char *file; /* for messages */
        KpError *error;
        /*
         * The memory budget the tokens and the tree they become count
         * against: charged as they are allocated (grub_lexer_charge()),
         * all bytes together, even for tokens the parser then drops.
         */
        GrubBudget *budget;
        size_t bytes;     /* what this parse charged so far */
} GrubLexer;

/*
 * Prepares lexing data as config file file. -EBADMSG for a NUL byte
 * (GRUB would silently cut the line there), -EFBIG past KP_BOOTCFG_MAX_SIZE.
 */
int grub_lexer_init(GrubLexer *l, const char *file, const char *data, size_t size, GrubBudget *budget,
                    KpError *error);
void grub_lexer_done(GrubLexer *l);

/* The next token. -EBADMSG (with file:line) on a lexical error. */
int grub_lexer_next(GrubLexer *l, GrubToken *ret);

/*
 * Charges bytes of the parse tree to the lexer's budget (with the line
 * being read in the message). -E2BIG when the budget is spent.
 */
int grub_lexer_charge(GrubLexer *l, size_t bytes);

void grub_word_done(GrubWord *w);
void grub_token_done(GrubToken *t);
