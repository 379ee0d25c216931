/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "bootcfg/bootplan.h"
#include "util/grow.h"
#include "bootcfg/grub/parser.h"
#include "bootcfg/text.h"
#include "util/error.h"

typedef struct Parser {
        GrubLexer lex;
        GrubToken tok;
        bool have_tok;
        unsigned depth;
        const char *file;
        KpError *error;
} Parser;

static void cmd_done(GrubCmd *c);

GrubScript *grub_script_free(GrubScript *s)
{
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_cmds; i++)
                cmd_done(&s->cmds[i]);
        free(s->cmds);
        free(s);
        return NULL;
}

static void cmd_done(GrubCmd *c)
{
        for (size_t i = 0; i < c->n_words; i++)
                grub_word_done(&c->words[i]);
        free(c->words);
        grub_script_free(c->block);
        grub_script_free(c->cond);
        grub_script_free(c->then_part);
        grub_script_free(c->else_part);
        free(c->name);
        grub_script_free(c->body);
        *c = (GrubCmd) {};
}

static GrubToken *peek(Parser *p, int *r)
{
        if (!p->have_tok) {
                *r = grub_lexer_next(&p->lex, &p->tok);
                if (*r < 0)
                        return NULL;
                p->have_tok = true;
        }
        *r = 0;
        return &p->tok;
}

/* Drops the current token (after peek()). */
static void consume(Parser *p)
{
        grub_token_done(&p->tok);
        p->have_tok = false;
}

static bool is_keyword(const GrubToken *t, const char *kw)
{
        return t->kind == GRUB_TOKEN_WORD && t->word.plain && streq(t->word.plain, kw);
}

static const char *const reserved_words[] = {
        "case", "do", "done", "elif", "else", "esac", "fi", "for", "function",
        "if", "in", "select", "then", "until", "while",
};

static bool is_reserved(const GrubToken *t)
{
        for (size_t i = 0; i < ELEMENTSOF(reserved_words); i++)
                if (is_keyword(t, reserved_words[i]))
                        return true;
        return false;
}

static int unexpected(Parser *p, const GrubToken *t)
{
        _cleanup_free_ char *shown = NULL;

        switch (t->kind) {
        case GRUB_TOKEN_EOF:
                return kp_error_set(p->error, -EBADMSG, "%s:%u: syntax error: unexpected end of file", p->file,
                                    t->line);
        case GRUB_TOKEN_NEWLINE:
                return kp_error_set(p->error, -EBADMSG, "%s:%u: syntax error: unexpected newline", p->file,
                                    t->line);
        case GRUB_TOKEN_SEMI:
                return kp_error_set(p->error, -EBADMSG, "%s:%u: syntax error: unexpected ';'", p->file, t->line);
        case GRUB_TOKEN_LBRACE:
                return kp_error_set(p->error, -EBADMSG, "%s:%u: syntax error: unexpected '{'", p->file, t->line);
        case GRUB_TOKEN_RBRACE:
                return kp_error_set(p->error, -EBADMSG, "%s:%u: syntax error: unexpected '}'", p->file, t->line);
        case GRUB_TOKEN_UNSUPPORTED:
                return kp_error_set(p->error, -EBADMSG, "%s:%u: syntax error: '%s' is not supported by GRUB",
                                    p->file, t->line, t->text);
        case GRUB_TOKEN_WORD:
        default:
                shown = kp_text_escape_short(t->word.plain ?: (t->word.n_parts > 0 ? t->word.parts[0].text : ""));
                return kp_error_set(p->error, -EBADMSG, "%s:%u: syntax error: unexpected '%s'", p->file, t->line,
                                    shown ?: "?");
        }
}

static int enter(Parser *p, unsigned line)
{
        if (p->depth >= KP_BOOTCFG_MAX_DEPTH)
                return kp_error_set(p->error, -ELOOP, "%s:%u: nesting deeper than %d levels", p->file, line,
                                    KP_BOOTCFG_MAX_DEPTH);
        p->depth++;
        return 0;
}

/* A new empty script, charged to the budget. */
static GrubScript *script_new(Parser *p, int *r)
{
        GrubScript *s;

        *r = grub_lexer_charge(&p->lex, grub_alloc_cost(sizeof(GrubScript)));
        if (*r < 0)
                return NULL;
        s = calloc(1, sizeof(GrubScript));
        if (!s)
                *r = -ENOMEM;
        return s;
}

static int script_append(Parser *p, GrubScript *s, GrubCmd *c)
{
        GrubCmd *n;
        int r;

        /* The command's slot, with the room kp_grow() keeps beside it. */
        r = grub_lexer_charge(&p->lex, 2 * sizeof(GrubCmd));
        if (r < 0)
                return r;
        n = kp_grow(s->cmds, s->n_cmds, sizeof(GrubCmd));
        if (!n)
                return -ENOMEM;
        s->cmds = n;
        s->cmds[s->n_cmds++] = *c;
        *c = (GrubCmd) {};
        return 0;
}

static int skip_newlines(Parser *p)
{
        GrubToken *t;
        int r;

        while ((t = peek(p, &r)) && t->kind == GRUB_TOKEN_NEWLINE)
                consume(p);
        return r;
}

/* What ends a list of commands. */
typedef struct Terminators {
        const char *words[3];   /* keywords */
        bool rbrace;
        bool need_delimiter;    /* GRUB's delimiters1 (vs delimiters0) before the terminator */
} Terminators;

static bool is_terminator(const GrubToken *t, const Terminators *term)
{
        if (t->kind == GRUB_TOKEN_RBRACE)
                return term->rbrace;
        for (size_t i = 0; i < ELEMENTSOF(term->words) && term->words[i]; i++)
                if (is_keyword(t, term->words[i]))
                        return true;
        return false;
}

static int parse_command(Parser *p, GrubCmd *ret);

/* commands1 followed by the delimiters the terminator needs; stops before the terminator. */
static int parse_commands(Parser *p, const Terminators *term, GrubScript **ret)
{
        _cleanup_(grub_script_freep) GrubScript *s = NULL;
        GrubToken *t;
        int r;

        s = script_new(p, &r);
        if (!s)
                return r;
        r = skip_newlines(p);
        if (r < 0)
                return r;

        for (;;) {
                GrubCmd c = {};
                bool delimited = false;

                t = peek(p, &r);
                if (!t)
                        return r;
                /* A list holds at least one command. */
                if (is_terminator(t, term) || t->kind == GRUB_TOKEN_EOF)
                        return unexpected(p, t);

                r = parse_command(p, &c);
                if (r < 0)
                        return r;
                r = script_append(p, s, &c);
                if (r < 0) {
                        cmd_done(&c);
                        return r;
                }

                t = peek(p, &r);
                if (!t)
                        return r;
                if (t->kind == GRUB_TOKEN_SEMI || t->kind == GRUB_TOKEN_NEWLINE) {
                        consume(p);
                        delimited = true;
                        r = skip_newlines(p);
                        if (r < 0)
                                return r;
                        t = peek(p, &r);
                        if (!t)
                                return r;
                }
                if (is_terminator(t, term)) {
                        if (term->need_delimiter && !delimited)
                                return unexpected(p, t);
                        break;
                }
                if (!delimited)
                        return unexpected(p, t);
        }
        *ret = TAKE_PTR(s);
        return 0;
}

static int expect_keyword(Parser *p, const char *kw)
{
        GrubToken *t;
        int r;

        t = peek(p, &r);
        if (!t)
                return r;
        if (!is_keyword(t, kw))
                return unexpected(p, t);
        consume(p);
        return 0;
}

static int expect_rbrace(Parser *p)
{
        GrubToken *t;
        int r;

        t = peek(p, &r);
        if (!t)
                return r;
        if (t->kind != GRUB_TOKEN_RBRACE)
                return unexpected(p, t);
        consume(p);
        return 0;
}

/* After "if" or "elif": cond; then body; [elif ... | else body;] fi */
static int parse_if_clause(Parser *p, unsigned line, GrubCmd *ret)
{
        static const Terminators then_term = { { "then" }, false, true };
        static const Terminators body_term = { { "elif", "else", "fi" }, false, true };
        static const Terminators else_term = { { "fi" }, false, true };
        GrubCmd c = { .kind = GRUB_CMD_IF, .line = line };
        GrubToken *t;
        int r;

        r = enter(p, line);
        if (r < 0)
                return r;
        r = parse_commands(p, &then_term, &c.cond);
        if (r >= 0)
                r = expect_keyword(p, "then");
        if (r >= 0)
                r = parse_commands(p, &body_term, &c.then_part);
        if (r >= 0) {
                t = peek(p, &r);
                if (t && is_keyword(t, "fi"))
                        consume(p);
                else if (t && is_keyword(t, "else")) {
                        consume(p);
                        r = parse_commands(p, &else_term, &c.else_part);
                        if (r >= 0)
                                r = expect_keyword(p, "fi");
                } else if (t && is_keyword(t, "elif")) {
                        GrubCmd inner = {};
                        unsigned l = t->line;

                        consume(p);
                        c.else_part = script_new(p, &r);
                        if (r >= 0)
                                r = parse_if_clause(p, l, &inner);
                        if (r >= 0)
                                r = script_append(p, c.else_part, &inner);
                        cmd_done(&inner);
                }
        }
        p->depth--;
        if (r < 0) {
                cmd_done(&c);
                return r;
        }
        *ret = c;
        return 0;
}

static bool is_identifier(const char *s)
{
        if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
                return false;
        for (s++; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' || (*s >= '0' && *s <= '9')))
                        return false;
        return true;
}

static int parse_function(Parser *p, GrubCmd *ret)
{
        static const Terminators body_term = { {}, true, true };
        GrubCmd c = { .kind = GRUB_CMD_FUNCTION, .line = p->tok.line };
        GrubToken *t;
        int r;

        consume(p); /* "function" */
        t = peek(p, &r);
        if (!t)
                return r;
        if (t->kind != GRUB_TOKEN_WORD || !is_identifier(t->word.plain) || is_reserved(t))
                return unexpected(p, t);
        /* The name is the plain word's only part: taken from there. */
        c.name = TAKE_PTR(t->word.parts[0].text);
        t->word.plain = NULL;
        consume(p);

        r = enter(p, c.line);
        if (r < 0) {
                cmd_done(&c);
                return r;
        }
        r = skip_newlines(p);
        if (r >= 0) {
                t = peek(p, &r);
                if (t && t->kind != GRUB_TOKEN_LBRACE)
                        r = unexpected(p, t);
                else if (t)
                        consume(p);
        }
        if (r >= 0)
                r = parse_commands(p, &body_term, &c.body);
        if (r >= 0)
                r = expect_rbrace(p);
        p->depth--;
        if (r < 0) {
                cmd_done(&c);
                return r;
        }
        *ret = c;
        return 0;
}

/* for NAME in words; do ...; done and while/until ...; do ...; done: kept only as "a loop was here". */
static int parse_loop(Parser *p, GrubCmd *ret)
{
        static const Terminators do_term = { { "do" }, false, true };
        static const Terminators done_term = { { "done" }, false, true };
        GrubCmd c = { .kind = GRUB_CMD_LOOP, .line = p->tok.line };
        _cleanup_(grub_script_freep) GrubScript *cond = NULL, *body = NULL;
        bool is_for = is_keyword(&p->tok, "for");
        GrubToken *t;
        int r;

        c.keyword = is_for ? "for" : is_keyword(&p->tok, "while") ? "while" : "until";
        consume(p);
        r = enter(p, c.line);
        if (r < 0)
                return r;

        if (is_for) {
                t = peek(p, &r);
                if (t && (t->kind != GRUB_TOKEN_WORD || !is_identifier(t->word.plain) || is_reserved(t)))
                        r = unexpected(p, t);
                else if (t)
                        consume(p);
                if (r >= 0)
                        r = expect_keyword(p, "in");
                while (r >= 0 && (t = peek(p, &r)) && t->kind == GRUB_TOKEN_WORD)
                        consume(p);
                if (r >= 0 && t && t->kind != GRUB_TOKEN_SEMI && t->kind != GRUB_TOKEN_NEWLINE)
                        r = unexpected(p, t);
                else if (r >= 0) {
                        consume(p);
                        r = skip_newlines(p);
                }
        } else
                r = parse_commands(p, &do_term, &cond);
        if (r >= 0)
                r = expect_keyword(p, "do");
        if (r >= 0)
                r = parse_commands(p, &done_term, &body);
        if (r >= 0)
                r = expect_keyword(p, "done");
        p->depth--;
        if (r < 0)
                return r;
        *ret = c;
        return 0;
}

static int word_append(Parser *p, GrubCmd *c, GrubWord *w)
{
        GrubWord *n;
        int r;

        r = grub_lexer_charge(&p->lex, 2 * sizeof(GrubWord));
        if (r < 0)
                return r;
        n = kp_grow(c->words, c->n_words, sizeof(GrubWord));
        if (!n)
                return -ENOMEM;
        c->words = n;
        c->words[c->n_words++] = *w;
        *w = (GrubWord) {};
        return 0;
}

static int parse_command(Parser *p, GrubCmd *ret)
{
        static const Terminators block_term = { {}, true, false };
        GrubCmd c = { .kind = GRUB_CMD_SIMPLE };
        GrubToken *t;
        int r;

        t = peek(p, &r);
        if (!t)
                return r;
        if (t->kind != GRUB_TOKEN_WORD)
                return unexpected(p, t);
        if (is_keyword(t, "if")) {
                unsigned line = t->line;
                consume(p);
                return parse_if_clause(p, line, ret);
        }
        if (is_keyword(t, "for") || is_keyword(t, "while") || is_keyword(t, "until"))
                return parse_loop(p, ret);
        if (is_reserved(t))
                return unexpected(p, t);

        c.line = t->line;
        while ((t = peek(p, &r)) && t->kind == GRUB_TOKEN_WORD) {
                r = word_append(p, &c, &t->word);
                consume(p);
                if (r < 0)
                        break;
        }
        if (r >= 0 && t && t->kind == GRUB_TOKEN_LBRACE) {
                unsigned line = t->line;
                consume(p);
                r = enter(p, line);
                if (r >= 0) {
                        r = parse_commands(p, &block_term, &c.block);
                        if (r >= 0)
                                r = expect_rbrace(p);
                        p->depth--;
                }
        }
        if (r < 0) {
                cmd_done(&c);
                return r;
        }
        *ret = c;
        return 0;
}

int grub_script_parse_budget(const char *file, const char *data, size_t size, GrubBudget *budget, KpError *error,
                             GrubScript **ret)
{
        _cleanup_(grub_script_freep) GrubScript *s = NULL;
        Parser p = { .file = file, .error = error };
        GrubToken *t;
        int r;

        r = grub_lexer_init(&p.lex, file, data, size, budget, error);
        if (r < 0)
                return r;
        s = script_new(&p, &r);
        if (!s)
                goto finish;

        for (;;) {
                GrubCmd c = {};

                r = skip_newlines(&p);
                if (r < 0)
                        goto finish;
                t = peek(&p, &r);
                if (!t)
                        goto finish;
                if (t->kind == GRUB_TOKEN_EOF)
                        break;

                if (is_keyword(t, "function"))
                        r = parse_function(&p, &c);
                else
                        r = parse_command(&p, &c);
                if (r < 0)
                        goto finish;
                r = script_append(&p, s, &c);
                if (r < 0) {
                        cmd_done(&c);
                        goto finish;
                }

                t = peek(&p, &r);
                if (!t)
                        goto finish;
                if (t->kind == GRUB_TOKEN_SEMI || t->kind == GRUB_TOKEN_NEWLINE)
                        consume(&p);
                else if (t->kind != GRUB_TOKEN_EOF) {
                        r = unexpected(&p, t);
                        goto finish;
                }
        }
        s->bytes = p.lex.bytes;
        *ret = TAKE_PTR(s);
        r = 0;
finish:
        if (p.have_tok)
                grub_token_done(&p.tok);
        /* What a failed parse charged is freed with it. */
        if (r < 0)
                grub_budget_release(budget, p.lex.bytes);
        grub_lexer_done(&p.lex);
        return r;
}

int grub_script_parse(const char *file, const char *data, size_t size, KpError *error, GrubScript **ret)
{
        GrubBudget budget = {};

        return grub_script_parse_budget(file, data, size, &budget, error, ret);
}
