/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <string.h>

#include "bootcfg/bootplan.h"
#include "util/grow.h"
#include "bootcfg/grub/lexer.h"
#include "util/error.h"
#include "util/macro.h"

void grub_word_done(GrubWord *w)
{
        /* A plain word's text is its only part's (see lex_word()). */
        if (w->n_parts == 0 || w->plain != w->parts[0].text)
                free(w->plain);
        for (size_t i = 0; i < w->n_parts; i++)
                free(w->parts[i].text);
        free(w->parts);
        *w = (GrubWord) {};
}

void grub_token_done(GrubToken *t)
{
        grub_word_done(&t->word);
        *t = (GrubToken) {};
}

int grub_lexer_init(GrubLexer *l, const char *file, const char *data, size_t size, GrubBudget *budget,
                    KpError *error)
{
        unsigned line = 1;
        bool line_start = true, dropping = false;
        size_t j = 0;
        char *buf;
        int r;

        *l = (GrubLexer) { .file = file, .error = error, .line = 1, .budget = budget };
        if (size > KP_BOOTCFG_MAX_SIZE)
                return kp_error_set(error, -EFBIG, "%s: %zu bytes exceeds the limit of %d bytes", file, size,
                                    KP_BOOTCFG_MAX_SIZE);
        /* Reading the text is work too: a file sourced a thousand times is parsed a thousand times. */
        r = grub_budget_copy(budget, size, file, 1, error);
        if (r < 0)
                return r;
        buf = malloc(size + 1);
        if (!buf)
                return -ENOMEM;

        for (size_t i = 0; i < size; i++) {
                char c = data[i];

                if (c == '\0') {
                        free(buf);
                        return kp_error_set(error, -EBADMSG, "%s:%u: NUL byte in configuration", file, line);
                }
                /* GRUB's line reader skips every carriage return. */
                if (c == '\r')
                        continue;
                /* ... and read_config_file_getline() skips lines starting with '#'. */
                if (line_start && c == '#')
                        dropping = true;
                line_start = c == '\n';
                if (c == '\n') {
                        line++;
                        dropping = false;
                        buf[j++] = c;
                        continue;
                }
                if (!dropping)
                        buf[j++] = c;
        }
        buf[j] = '\0';
        l->buf = buf;
        l->size = j;
        return 0;
}

void grub_lexer_done(GrubLexer *l)
{
        free(l->buf);
        l->buf = NULL;
}

int grub_lexer_charge(GrubLexer *l, size_t bytes)
{
        int r = grub_budget_hold(l->budget, bytes, l->file, l->line, l->error);

        if (r < 0)
                return r;
        l->bytes += bytes;
        return 0;
}

/* A growing text buffer for the part being read. */
typedef struct TextBuf {
        char *s;
        size_t len, cap;
} TextBuf;

static int textbuf_add(TextBuf *b, const char *s, size_t n)
{
        if (b->len + n + 1 > b->cap) {
                size_t cap = MAX(b->cap * 2, b->len + n + 1);
                char *ns = realloc(b->s, MAX(cap, (size_t) 32));
                if (!ns)
                        return -ENOMEM;
                b->s = ns;
                b->cap = MAX(cap, (size_t) 32);
        }
        memcpy(b->s + b->len, s, n);
        b->len += n;
        b->s[b->len] = '\0';
        return 0;
}

static int word_add_part(GrubLexer *l, GrubWord *w, GrubPartKind kind, const char *text, size_t n)
{
        GrubPart *np;
        char *t;
        int r;

        /* The text, and the part's slot with the room kp_grow() keeps beside it. */
        r = grub_lexer_charge(l, grub_alloc_cost(n + 1) + 2 * sizeof(GrubPart));
        if (r < 0)
                return r;
        t = strndup(text ?: "", n);
        if (!t)
                return -ENOMEM;
        np = kp_grow(w->parts, w->n_parts, sizeof(GrubPart));
        if (!np) {
                free(t);
                return -ENOMEM;
        }
        w->parts = np;
        w->parts[w->n_parts++] = (GrubPart) { kind, t };
        return 0;
}

/* Moves the pending unquoted text into a part. */
static int flush_text(GrubLexer *l, GrubWord *w, TextBuf *b)
{
        int r;

        if (b->len == 0)
                return 0;
        r = word_add_part(l, w, GRUB_PART_TEXT, b->s, b->len);
        b->len = 0;
        return r;
}

static bool is_name_start(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_name_char(char c)
{
        return is_name_start(c) || (c >= '0' && c <= '9');
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static bool is_special(char c)
{
        return c == '?' || c == '#' || c == '*' || c == '@';
}

/* Length of a variable name at s: a NAME, DIGITS or one SPECIAL character; 0 if none. */
static size_t var_name_length(const char *s, const char *end)
{
        const char *p = s;

        if (p >= end)
                return 0;
        if (is_special(*p))
                return 1;
        if (is_digit(*p)) {
                while (p < end && is_digit(*p))
                        p++;
                return (size_t) (p - s);
        }
        if (is_name_start(*p)) {
                while (p < end && is_name_char(*p))
                        p++;
                return (size_t) (p - s);
        }
        return 0;
}

static int lex_error(GrubLexer *l, unsigned line, const char *what)
{
        return kp_error_set(l->error, -EBADMSG, "%s:%u: syntax error: %s", l->file, line, what);
}

/* Reads a variable reference after '$' at l->pos. */
static int lex_variable(GrubLexer *l, GrubWord *w, GrubPartKind kind)
{
        const char *s = l->buf + l->pos, *end = l->buf + l->size;
        size_t n;

        if (s < end && *s == '{') {
                n = var_name_length(s + 1, end);
                if (n == 0 || s + 1 + n >= end || s[1 + n] != '}')
                        return lex_error(l, l->line, "bad ${...} variable reference");
                l->pos += n + 2;
                return word_add_part(l, w, kind, s + 1, n);
        }
        n = var_name_length(s, end);
        if (n == 0)
                return lex_error(l, l->line, "'$' starts no variable reference");
        l->pos += n;
        return word_add_part(l, w, kind, s, n);
}

static int lex_double_quoted(GrubLexer *l, GrubWord *w)
{
        unsigned start_line = l->line;
        TextBuf b = {};
        int r;

        /* An opening quote makes the argument exist, even as "". */
        r = word_add_part(l, w, GRUB_PART_QUOTED, "", 0);
        for (; r >= 0;) {
                char c;

                if (l->pos >= l->size) {
                        free(b.s);
                        return lex_error(l, start_line, "unterminated double quote");
                }
                c = l->buf[l->pos];
                if (c == '"') {
                        l->pos++;
                        break;
                }
                if (c == '\\' && l->pos + 1 < l->size) {
                        char n = l->buf[l->pos + 1];
                        if (n == '$' || n == '\\' || n == '"') {
                                r = textbuf_add(&b, &n, 1);
                                l->pos += 2;
                                continue;
                        }
                        if (n == '\n') {
                                l->line++;
                                l->pos += 2;
                                continue;
                        }
                        /* Any other backslash stays, and the next character is read normally. */
                        r = textbuf_add(&b, "\\", 1);
                        l->pos++;
                        continue;
                }
                if (c == '$') {
                        if (b.len > 0) {
                                r = word_add_part(l, w, GRUB_PART_QUOTED, b.s, b.len);
                                b.len = 0;
                                if (r < 0)
                                        break;
                        }
                        l->pos++;
                        r = lex_variable(l, w, GRUB_PART_DQVAR);
                        continue;
                }
                if (c == '\n')
                        l->line++;
                r = textbuf_add(&b, &c, 1);
                l->pos++;
        }
        if (r >= 0 && b.len > 0)
                r = word_add_part(l, w, GRUB_PART_QUOTED, b.s, b.len);
        free(b.s);
        return r;
}

static bool ends_word(char c)
{
        return strchr(" \t\n;{}|&<>", c) != NULL;
}

static int lex_word(GrubLexer *l, GrubToken *ret)
{
        GrubWord w = { .line = l->line };
        size_t start = l->pos;
        const char *nl;
        int r = 0;

        /*
         * Only '#' lines and carriage returns were dropped from buf, so
         * the column is the source's unless a '\r' precedes the word on
         * its line; whoever uses it compares the bytes there. Words come
         * in order, so only the bytes since the last word are searched
         * for a newline: a line of 500,000 words costs one pass, not one
         * pass back to the line's start per word.
         */
        nl = start > l->scanned ? memrchr(l->buf + l->scanned, '\n', start - l->scanned) : NULL;
        if (nl)
                l->line_start = (size_t) (nl - l->buf) + 1;
        l->scanned = start;
        w.column = start - l->line_start;
        bool plain = true;
        TextBuf b = {};

        while (r >= 0 && l->pos < l->size && !ends_word(l->buf[l->pos])) {
                char c = l->buf[l->pos];

                if (c == '\\') {
                        plain = false;
                        if (l->pos + 1 >= l->size) {
                                r = lex_error(l, l->line, "backslash at end of file");
                                break;
                        }
                        if (l->buf[l->pos + 1] == '\n') {
                                /* Backslash-newline joins the lines. */
                                l->line++;
                                l->pos += 2;
                                continue;
                        }
                        r = textbuf_add(&b, &l->buf[l->pos + 1], 1);
                        l->pos += 2;
                } else if (c == '\'') {
                        const char *q, *s = l->buf + l->pos + 1;
                        unsigned start_line = l->line;

                        plain = false;
                        r = flush_text(l, &w, &b);
                        if (r < 0)
                                break;
                        q = memchr(s, '\'', l->size - l->pos - 1);
                        if (!q) {
                                r = lex_error(l, start_line, "unterminated single quote");
                                break;
                        }
                        for (const char *p = s; p < q; p++)
                                if (*p == '\n')
                                        l->line++;
                        r = word_add_part(l, &w, GRUB_PART_QUOTED, s, (size_t) (q - s));
                        l->pos = (size_t) (q - l->buf) + 1;
                } else if (c == '"' || (c == '$' && l->pos + 1 < l->size && l->buf[l->pos + 1] == '"')) {
                        /* $"..." is GRUB's translatable string; with no translations it reads as "...". */
                        plain = false;
                        r = flush_text(l, &w, &b);
                        if (r < 0)
                                break;
                        l->pos += c == '$' ? 2 : 1;
                        r = lex_double_quoted(l, &w);
                } else if (c == '$') {
                        plain = false;
                        r = flush_text(l, &w, &b);
                        if (r < 0)
                                break;
                        l->pos++;
                        r = lex_variable(l, &w, GRUB_PART_VAR);
                } else {
                        r = textbuf_add(&b, &c, 1);
                        l->pos++;
                }
        }
        if (r >= 0)
                r = flush_text(l, &w, &b);
        free(b.s);
        /*
         * A plain word (no quote, escape or variable) is one text part
         * holding exactly what was written: its plain form is that part's
         * text, not a copy. Most words of a grub.cfg are plain, and a copy
         * of each made a third of the parse tree.
         */
        if (r >= 0 && plain) {
                assert(w.n_parts == 1 && strlen(w.parts[0].text) == l->pos - start);
                w.plain = w.parts[0].text;
        }
        if (r < 0) {
                grub_word_done(&w);
                return r;
        }
        /* "[[" and "]]" alone are tokens of GRUB's lexer that its grammar refuses. */
        if (w.plain && (streq(w.plain, "[[") || streq(w.plain, "]]"))) {
                *ret = (GrubToken) { .kind = GRUB_TOKEN_UNSUPPORTED, .line = w.line,
                                     .text = streq(w.plain, "[[") ? "[[" : "]]" };
                grub_word_done(&w);
                return 0;
        }
        *ret = (GrubToken) { .kind = GRUB_TOKEN_WORD, .line = w.line, .word = w };
        return 0;
}

int grub_lexer_next(GrubLexer *l, GrubToken *ret)
{
        for (;;) {
                char c, n;

                while (l->pos < l->size && (l->buf[l->pos] == ' ' || l->buf[l->pos] == '\t'))
                        l->pos++;
                if (l->pos >= l->size) {
                        *ret = (GrubToken) { .kind = GRUB_TOKEN_EOF, .line = l->line };
                        return 0;
                }
                c = l->buf[l->pos];
                n = l->pos + 1 < l->size ? l->buf[l->pos + 1] : '\0';

                switch (c) {
                case '#':
                        while (l->pos < l->size && l->buf[l->pos] != '\n')
                                l->pos++;
                        continue;
                case '\\':
                        if (n == '\n') {
                                /* A line continuation between words. */
                                l->line++;
                                l->pos += 2;
                                continue;
                        }
                        return lex_word(l, ret);
                case '\n':
                        *ret = (GrubToken) { .kind = GRUB_TOKEN_NEWLINE, .line = l->line++ };
                        l->pos++;
                        return 0;
                case ';':
                        if (n == ';') {
                                *ret = (GrubToken) { .kind = GRUB_TOKEN_UNSUPPORTED, .line = l->line, .text = ";;" };
                                l->pos += 2;
                                return 0;
                        }
                        *ret = (GrubToken) { .kind = GRUB_TOKEN_SEMI, .line = l->line };
                        l->pos++;
                        return 0;
                case '{':
                        *ret = (GrubToken) { .kind = GRUB_TOKEN_LBRACE, .line = l->line };
                        l->pos++;
                        return 0;
                case '}':
                        *ret = (GrubToken) { .kind = GRUB_TOKEN_RBRACE, .line = l->line };
                        l->pos++;
                        return 0;
                case '|':
                case '&':
                        *ret = (GrubToken) { .kind = GRUB_TOKEN_UNSUPPORTED, .line = l->line };
                        if (n == c) {
                                ret->text = c == '|' ? "||" : "&&";
                                l->pos += 2;
                        } else {
                                ret->text = c == '|' ? "|" : "&";
                                l->pos++;
                        }
                        return 0;
                case '<':
                case '>':
                        *ret = (GrubToken) { .kind = GRUB_TOKEN_UNSUPPORTED, .line = l->line,
                                             .text = c == '<' ? "<" : ">" };
                        l->pos++;
                        return 0;
                default:
                        return lex_word(l, ret);
                }
        }
}
