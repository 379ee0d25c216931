/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The xl.cfg syntax of kunpack.conf, read as libxlutil (Xen 4.17,
 * tools/libs/util/libxlu_cfg_l.l and libxlu_cfg_y.y) reads it.
 *
 * kunpack.conf's values are strings, numbers and lists of strings. To
 * refuse a file exactly where and as xl would, the reader must still parse
 * all that libxlutil parses (lists of lists, "+=") and leave it to
 * lib/settings/settings.c to refuse what kunpack.conf gives no meaning. So
 * the subset is libxlutil's config syntax and nothing built on it: none of
 * the disk, vif or pci parsers that xl domain configs (lib/xl/domain.c)
 * need. The reader accepts what libxlutil accepts, refuses what it refuses
 * and reports the first refusal as libxlutil's first report line.
 *
 * Tokens (the longest match wins; between tokens only spaces and tabs):
 *
 *   name      [a-z][._0-9a-z]*                  upper case is not a name
 *   number    [0-9][0-9a-fx]*                   kept as written: "0x1f", "08"
 *   string    '...' or "..." on one line; a backslash escapes the next
 *             byte: \" \' \\ \a \b \f \n \r \t \v; \x is always refused
 *             (libxlutil's hex escape cannot succeed); \0 to \7 must be
 *             followed by more digits and then stand for nothing
 *             (libxlutil checks them with strtoul() in base 10 and writes
 *             no byte); any other escape is refused
 *   newline   "\n", or "#" up to and including the next "\n": a "#" with no
 *             newline after it on its line is no comment
 *   = += ; [ ] ,
 *
 * Any other byte (a carriage return, "-", ".", upper case, a quote that
 * does not close on its line) is a lexical error reported with the run of
 * bytes up to the next blank, except when it is the very last byte of the
 * text: libxlutil's lexer then reaches the end first and never reports it
 * (KpXlcfg.stray records it).
 *
 * Grammar:
 *
 *   file       = { [ statement ] ( newline | ";" ) } [ statement ]
 *   statement  = name ( "=" | "+=" ) value
 *   value      = string | number | "[" { newline } [ items ] "]"
 *   items      = value { newline } { "," { newline } value { newline } } [ "," { newline } ]
 *
 * So a value starts on the line of its name, a list may span lines and end
 * with a comma, and lists may hold lists (kunpack.conf refuses those later,
 * item by item, as it did with libxlutil). A "+=" statement must have the
 * type (string or list) of the last statement of its name, if any.
 *
 * Reports. The first problem ends the reading; it is reported as
 * "SOURCE:LINE: config parsing error near `TEXT': REASON" where REASON is
 * "lexical error", an escape's complaint, "can't add [list] to \"string\" or
 * vice versa", "memory exhausted", or bison's "syntax error, unexpected X,
 * expecting Y". Which tokens Y lists follows bison's tables for
 * libxlutil's grammar: at the start of a statement "$end or IDENT or
 * NEWLINE or ';'", after a name "+= or '='", after "=" "STRING or NUMBER or
 * '['", after a whole value "$end", inside a list "']'" (bison first
 * reduces what it can, which leaves only "]"). LINE and TEXT are
 * libxlutil's too, odd as they can be: a token that is a newline is
 * reported as "near <newline>" on the line before the newline's own
 * (libxlutil subtracts one line for the newline twice), and at the end of
 * the text LINE is that of the last token and TEXT empty or the stray byte.
 * "memory exhausted" comes when bison's stack would hold
 * KP_XLCFG_MAX_PARSER_STATES states; the reader counts the states bison
 * pushes and pops for this grammar to refuse at the same token.
 */
#include <assert.h>
#include <string.h>

#include "util/error.h"
#include "settings/xlcfg.h"

typedef enum TokenKind {
        TOKEN_END,
        TOKEN_IDENT,
        TOKEN_STRING,
        TOKEN_NUMBER,
        TOKEN_NEWLINE,
        TOKEN_ADD,
        TOKEN_ASSIGN,
        TOKEN_SEMICOLON,
        TOKEN_LBRACKET,
        TOKEN_RBRACKET,
        TOKEN_COMMA,
} TokenKind;

/* The names bison gives them in libxlutil's reports. */
static const char *const token_names[] = {
        [TOKEN_END] = "$end",      [TOKEN_IDENT] = "IDENT",     [TOKEN_STRING] = "STRING",
        [TOKEN_NUMBER] = "NUMBER", [TOKEN_NEWLINE] = "NEWLINE", [TOKEN_ADD] = "+=",
        [TOKEN_ASSIGN] = "'='",    [TOKEN_SEMICOLON] = "';'",   [TOKEN_LBRACKET] = "'['",
        [TOKEN_RBRACKET] = "']'",  [TOKEN_COMMA] = "','",
};

typedef struct Token {
        TokenKind kind;
        const char *text; /* as written, for reports */
        size_t len;
        int line;          /* where libxlutil locates it (a newline: the line it ends) */
        const char *value; /* IDENT, NUMBER, STRING: the NUL-terminated value, not yet kept */
} Token;

/* Where a list's parse stands, for the states bison would hold. */
typedef enum ListState {
        LIST_OPEN,  /* after "[" and newlines */
        LIST_ITEM,  /* after an item and newlines */
        LIST_COMMA, /* after "," and newlines */
} ListState;

typedef struct Parser {
        const char *source;
        const char *text;
        size_t size;
        size_t pos;
        int line;  /* 1 + the newlines consumed */
        Token tok; /* the last token read */
        char stray[1];
        unsigned stray_line;
        size_t string_used;
        size_t string_size;
        size_t statements_size;
        size_t items_used;
        size_t items_size;
        KpXlcfg *cfg;
        KpError *error;
        /* For each list being read, whether it opened after a "," (which costs bison three more states). */
        bool after_comma[KP_XLCFG_MAX_DEPTH + 1];
} Parser;

static bool is_name_start(char c)
{
        return c >= 'a' && c <= 'z';
}

static bool is_name_char(char c)
{
        return is_name_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '_';
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static bool is_number_char(char c)
{
        return is_digit(c) || (c >= 'a' && c <= 'f') || c == 'x';
}

static bool is_blank(char c)
{
        return c == ' ' || c == '\t';
}

/* isspace() in the C locale, which strtoul() skips. */
static bool is_c_space(char c)
{
        return c == ' ' || (c >= '\t' && c <= '\r');
}

/*
 * Reports as libxlutil's xlu__cfg_yyerror() does: a trailing newline in the
 * text becomes "<newline>" (or is dropped) and takes one from the line,
 * trailing blanks are dropped. At the end of the text the report always
 * quotes, empty or not (flex counts the end as a byte of the text).
 */
static int report(Parser *p, int line, const char *text, size_t len, bool at_end, const char *reason)
{
        bool newline = false, quote;

        if (!at_end && len > 0 && text[len - 1] == '\n') {
                len--;
                line--;
                newline = len == 0;
        }
        while (!at_end && len > 0 && is_blank(text[len - 1]))
                len--;
        quote = at_end || len > 0;
        return kp_error_set(p->error, -EINVAL, "%s:%d: config parsing error near %s%.*s%s%s: %s", p->source,
                            line, quote ? "`" : "", (int) len, text, quote ? "'" : "",
                            newline ? "<newline>" : "", reason);
}

/* A report about the last token read: syntax errors, "memory exhausted", a "+=" of the wrong type. */
static int report_token(Parser *p, const char *reason)
{
        return report(p, p->tok.line, p->tok.text, p->tok.len, p->tok.kind == TOKEN_END, reason);
}

static int syntax_error(Parser *p, const char *expecting)
{
        char reason[128];

        (void) snprintf(reason, sizeof(reason), "syntax error, unexpected %s, expecting %s",
                        token_names[p->tok.kind], expecting);
        return report_token(p, reason);
}

/* Bison pushes a state: refused, as bison refuses, once the stack would hold too many. */
static int push(Parser *p, unsigned height)
{
        if (height < KP_XLCFG_MAX_PARSER_STATES)
                return 0;
        return report_token(p, "memory exhausted");
}

/* Where the next value is written; it is kept only by keep(). */
static char *scratch(Parser *p)
{
        return p->cfg->string_storage + p->string_used;
}

static const char *keep(Parser *p, const char *value)
{
        assert(value == scratch(p));
        p->string_used += strlen(value) + 1;
        assert(p->string_used <= p->string_size);
        return value;
}

static void set_token(Parser *p, TokenKind kind, size_t start, size_t end)
{
        p->tok = (Token){
                .kind = kind,
                .text = p->text + start,
                .len = end - start,
                .line = p->line,
        };
        p->pos = end;
}

static void set_token_value(Parser *p, TokenKind kind, size_t start, size_t end)
{
        char *out = scratch(p);

        memcpy(out, p->text + start, end - start);
        out[end - start] = '\0';
        set_token(p, kind, start, end);
        p->tok.value = out;
}

/* The end of a string token starting at start, or 0 when the quote does not close on its line. */
static size_t match_string(const Parser *p, size_t start)
{
        char quote = p->text[start];

        for (size_t i = start + 1; i < p->size;) {
                char c = p->text[i];

                if (c == quote)
                        return i + 1;
                if (c == '\n')
                        return 0;
                if (c == '\\') {
                        if (i + 1 >= p->size || p->text[i + 1] == '\n')
                                return 0;
                        i += 2;
                } else
                        i++;
        }
        return 0;
}

/*
 * libxlutil's check of "\N..." (N from 0 to 7): strtoul() in base 10 over
 * the (at most three) bytes after N, up to and including the closing quote,
 * must take at least two of them. Returns how many it takes, 0 if too few.
 */
static size_t octal_escape_length(const char *s, size_t avail)
{
        size_t n = MIN(avail, (size_t) 3), i = 0;

        while (i < n && is_c_space(s[i]))
                i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
                i++;
        if (i >= n || !is_digit(s[i]))
                return 0;
        while (i < n && is_digit(s[i]))
                i++;
        return i >= 2 ? i : 0;
}

/* Takes the quotes and escapes off the string token [start, end), as libxlutil's xlu__cfgl_dequote(). */
static int dequote(Parser *p, size_t start, size_t end)
{
        const char *s = p->text;
        char *out = scratch(p), *o = out;
        const char *why = NULL;

        for (size_t i = start + 1; i < end - 1;) {
                char c = s[i++], nc;

                if (c != '\\') {
                        *o++ = c;
                        continue;
                }
                nc = s[i++];
                switch (nc) {
                case '"':
                case '\'':
                case '\\':
                        *o++ = nc;
                        break;
                case 'a':
                        *o++ = '\a';
                        break;
                case 'b':
                        *o++ = '\b';
                        break;
                case 'f':
                        *o++ = '\f';
                        break;
                case 'n':
                        *o++ = '\n';
                        break;
                case 'r':
                        *o++ = '\r';
                        break;
                case 't':
                        *o++ = '\t';
                        break;
                case 'v':
                        *o++ = '\v';
                        break;
                case 'x':
                        why = "invalid digit after backslash hexnumerical character escape in quoted string";
                        break;
                case '0' ... '7': {
                        size_t n = octal_escape_length(s + i, end - i);
                        if (n == 0)
                                why = "invalid digit after backslash octalnumerical character escape in "
                                      "quoted string";
                        i += n;
                        break;
                }
                default:
                        why = "invalid character after backlash in quoted string";
                }
                if (why) {
                        set_token(p, TOKEN_STRING, start, end);
                        return report_token(p, why);
                }
        }
        *o = '\0';
        set_token(p, TOKEN_STRING, start, end);
        p->tok.value = out;
        return 0;
}

/*
 * Reads the next token into p->tok, as libxlutil's flex lexer cuts them.
 * At the end of the text the token keeps the line of the token before.
 */
static int lex(Parser *p)
{
        for (;;) {
                size_t start = p->pos, end;
                char c;

                if (start >= p->size) {
                        int line = p->tok.line;
                        bool stray = p->stray[0] != '\0';

                        p->tok = (Token){
                                .kind = TOKEN_END,
                                .text = p->stray,
                                .len = stray ? 1 : 0,
                                .line = line,
                        };
                        return 0;
                }

                c = p->text[start];
                if (is_blank(c)) {
                        p->pos++;
                        continue;
                }
                if (c == '\n' || c == '#') {
                        const char *nl = memchr(p->text + start, '\n', p->size - start);
                        if (nl) {
                                set_token(p, TOKEN_NEWLINE, start, (size_t) (nl - p->text) + 1);
                                p->line++;
                                return 0;
                        }
                        /* A "#" with no newline after it is no comment. */
                } else if (is_name_start(c)) {
                        for (end = start + 1; end < p->size && is_name_char(p->text[end]); end++)
                                ;
                        set_token_value(p, TOKEN_IDENT, start, end);
                        return 0;
                } else if (is_digit(c)) {
                        for (end = start + 1; end < p->size && is_number_char(p->text[end]); end++)
                                ;
                        set_token_value(p, TOKEN_NUMBER, start, end);
                        return 0;
                } else if (c == '\'' || c == '"') {
                        end = match_string(p, start);
                        if (end > 0)
                                return dequote(p, start, end);
                } else if (c == '+' && start + 1 < p->size && p->text[start + 1] == '=') {
                        set_token(p, TOKEN_ADD, start, start + 2);
                        return 0;
                } else {
                        static const struct {
                                char c;
                                TokenKind kind;
                        } single[] = {
                                {'=', TOKEN_ASSIGN},   {';', TOKEN_SEMICOLON}, {'[', TOKEN_LBRACKET},
                                {']', TOKEN_RBRACKET}, {',', TOKEN_COMMA},
                        };
                        for (size_t i = 0; i < ELEMENTSOF(single); i++)
                                if (c == single[i].c) {
                                        set_token(p, single[i].kind, start, start + 1);
                                        return 0;
                                }
                }

                /* No token starts here. */
                if (start + 1 == p->size) {
                        p->stray[0] = c;
                        p->stray_line = (unsigned) p->line;
                        p->pos++;
                        continue;
                }
                for (end = start + 1; end < p->size && !is_blank(p->text[end]) && p->text[end] != '\n';
                     end++)
                        ;
                return report(p, p->line, p->text + start, end - start, false, "lexical error");
        }
}

static uint32_t name_hash(const char *s)
{
        uint32_t h = UINT32_C(2166136261); /* FNV-1a */

        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * UINT32_C(16777619);
        return h;
}

/* The slot of name in the name table: where it is, or the empty slot where it goes. */
static unsigned *name_slot(KpXlcfg *c, const char *name)
{
        size_t mask = c->n_name_slots - 1;

        for (size_t i = name_hash(name) & mask;; i = (i + 1) & mask) {
                unsigned *slot = &c->name_slots[i];
                if (*slot == 0 || streq(c->statements[*slot - 1].name, name))
                        return slot;
        }
}

/*
 * The statement is complete: libxlutil stores it at once, before it reads
 * the next token, and refuses a "+=" whose type differs from the last
 * statement of that name there.
 */
static int add_statement(Parser *p, const KpXlcfgStatement *st)
{
        KpXlcfg *c = p->cfg;
        unsigned *slot = name_slot(c, st->name);

        if (st->append && *slot != 0 && c->statements[*slot - 1].is_list != st->is_list)
                return report_token(p, "can't add [list] to \"string\" or vice versa");

        assert(c->n_statements < p->statements_size && c->n_statements < KP_XLCFG_MAX_STATEMENTS);
        c->statements[c->n_statements++] = *st;
        *slot = (unsigned) c->n_statements;
        return 0;
}

/* The items of one list are kept next to each other: only the outer list's are kept at all. */
static void add_item(Parser *p, KpXlcfgStatement *st, const char *value)
{
        assert(p->items_used < p->items_size && p->items_used < KP_XLCFG_MAX_ITEMS);
        assert(st->items + st->n_items == p->cfg->item_storage + p->items_used);
        p->cfg->item_storage[p->items_used++] = value ? keep(p, value) : NULL;
        st->n_items++;
}

/*
 * Reads a list whose "[" was just read, for statement st. Only the items
 * of the outer list are kept. The heights are those of bison's stack:
 * a list whose "[" sits at height base + 1 holds its states above it.
 */
static int parse_list(Parser *p, KpXlcfgStatement *st)
{
        unsigned depth = 1, base = 4, item_nlok = 0;
        ListState state = LIST_OPEN;
        int r;

        st->is_list = true;
        st->items = p->cfg->item_storage + p->items_used;
        p->after_comma[depth] = false;
        r = push(p, base + 2); /* the empty run of newlines after "[" */
        if (r < 0)
                return r;

        for (;;) {
                TokenKind kind;
                unsigned value_height;

                r = lex(p);
                if (r < 0)
                        return r;
                kind = p->tok.kind;

                if (kind == TOKEN_NEWLINE) {
                        r = push(p, state == LIST_OPEN    ? base + 3
                                    : state == LIST_COMMA ? base + 6
                                                          : item_nlok + 1);
                        if (r < 0)
                                return r;
                        continue;
                }

                if (kind == TOKEN_RBRACKET) {
                        if (state == LIST_OPEN) {
                                r = push(p, base + 3); /* the empty item list */
                                if (r < 0)
                                        return r;
                        }
                        r = push(p, base + 4);
                        if (r < 0)
                                return r;
                        depth--;
                        if (depth == 0)
                                return 0;
                        /* The list closed is an item of the one around it, a value at base + 1. */
                        value_height = base + 1;
                        base -= p->after_comma[depth + 1] ? 5 : 2;
                        if (depth == 1)
                                add_item(p, st, NULL);
                        item_nlok = value_height + 1;
                        r = push(p, item_nlok);
                        if (r < 0)
                                return r;
                        state = LIST_ITEM;
                        continue;
                }

                if (state == LIST_ITEM) {
                        if (kind != TOKEN_COMMA)
                                return syntax_error(p, "']'");
                        r = push(p, base + 4);
                        if (r >= 0)
                                r = push(p, base + 5); /* the empty run of newlines after "," */
                        if (r < 0)
                                return r;
                        state = LIST_COMMA;
                        continue;
                }

                /* LIST_OPEN or LIST_COMMA: an item may start. */
                value_height = state == LIST_OPEN ? base + 3 : base + 6;
                if (kind == TOKEN_STRING || kind == TOKEN_NUMBER) {
                        r = push(p, value_height);
                        if (r < 0)
                                return r;
                        if (depth == 1)
                                add_item(p, st, p->tok.value);
                        item_nlok = value_height + 1;
                        r = push(p, item_nlok);
                        if (r < 0)
                                return r;
                        state = LIST_ITEM;
                        continue;
                }
                if (kind == TOKEN_LBRACKET) {
                        r = push(p, value_height);
                        if (r < 0)
                                return r;
                        base = value_height - 1;
                        depth++;
                        assert(depth < ELEMENTSOF(p->after_comma));
                        p->after_comma[depth] = state == LIST_COMMA;
                        r = push(p, base + 2);
                        if (r < 0)
                                return r;
                        state = LIST_OPEN;
                        continue;
                }
                if (state == LIST_OPEN) {
                        /* bison reduces the empty item list before it finds the error. */
                        r = push(p, base + 3);
                        if (r < 0)
                                return r;
                }
                return syntax_error(p, "']'");
        }
}

/* Reads "NAME = VALUE" or "NAME += VALUE" from its name, the last token read. */
static int parse_statement(Parser *p)
{
        KpXlcfgStatement st = {
                .name = keep(p, p->tok.value),
                .line = (unsigned) p->tok.line,
        };
        int r;

        r = lex(p);
        if (r < 0)
                return r;
        if (p->tok.kind != TOKEN_ASSIGN && p->tok.kind != TOKEN_ADD)
                return syntax_error(p, "+= or '='");
        st.append = p->tok.kind == TOKEN_ADD;

        r = lex(p);
        if (r < 0)
                return r;
        switch (p->tok.kind) {
        case TOKEN_STRING:
        case TOKEN_NUMBER:
                st.string = keep(p, p->tok.value);
                break;
        case TOKEN_LBRACKET:
                r = parse_list(p, &st);
                if (r < 0)
                        return r;
                break;
        default:
                return syntax_error(p, "STRING or NUMBER or '['");
        }

        return add_statement(p, &st);
}

static int parse(Parser *p)
{
        int r;

        for (;;) {
                /* At the start of a statement. */
                r = lex(p);
                if (r < 0)
                        return r;
                switch (p->tok.kind) {
                case TOKEN_END:
                        p->cfg->stray_at_statement_start = true;
                        return 0;
                case TOKEN_NEWLINE:
                case TOKEN_SEMICOLON:
                        continue;
                case TOKEN_IDENT:
                        break;
                default:
                        return syntax_error(p, "$end or IDENT or NEWLINE or ';'");
                }

                r = parse_statement(p);
                if (r < 0)
                        return r;

                /* After a whole statement. */
                r = lex(p);
                if (r < 0)
                        return r;
                switch (p->tok.kind) {
                case TOKEN_END:
                        p->cfg->stray_at_statement_start = false;
                        return 0;
                case TOKEN_NEWLINE:
                case TOKEN_SEMICOLON:
                        continue;
                default:
                        /* bison reduces the file before it finds the error, which leaves only the end. */
                        return syntax_error(p, "$end");
                }
        }
}

KpXlcfg *kp_xlcfg_free(KpXlcfg *c)
{
        if (!c)
                return NULL;
        free(c->statements);
        free(c->item_storage);
        free(c->string_storage);
        free(c->name_slots);
        free(c);
        return NULL;
}

int kp_xlcfg_parse(const char *source, const char *text, size_t size, KpError *error, KpXlcfg **ret)
{
        _cleanup_(kp_xlcfg_freep) KpXlcfg *c = NULL;
        _cleanup_free_ Parser *p = NULL;
        int r;

        assert(source);
        assert(text || size == 0);
        assert(ret);

        if (size > KP_XLCFG_MAX_SIZE)
                return kp_error_set(error, -EFBIG, "%s: larger than %d bytes", source, KP_XLCFG_MAX_SIZE);
        if (size > 0 && memchr(text, '\0', size))
                return kp_error_set(error, -EINVAL, "%s: contains a NUL byte", source);

        c = calloc(1, sizeof(KpXlcfg));
        p = calloc(1, sizeof(Parser));
        if (!c || !p)
                return kp_error_set(error, -ENOMEM, "out of memory");

        /*
         * The arrays are sized once (see KP_XLCFG_MAX_STATEMENTS): every
         * statement has an "=" of its own, every kept item a "[" or ",".
         */
        for (size_t i = 0; i < size; i++) {
                p->statements_size += text[i] == '=';
                p->items_size += text[i] == '[' || text[i] == ',';
        }
        p->statements_size = MAX(p->statements_size, (size_t) 1);
        p->items_size = MAX(p->items_size, (size_t) 1);
        /* Every kept string comes from a token of its own and is no longer than it, plus its NUL. */
        p->string_size = 2 * size + 1;
        /* A power of two at least twice the statements keeps the name table's probes short. */
        c->n_name_slots = 2;
        while (c->n_name_slots < 2 * p->statements_size)
                c->n_name_slots *= 2;

        c->statements = calloc(p->statements_size, sizeof(KpXlcfgStatement));
        c->item_storage = calloc(p->items_size, sizeof(const char *));
        c->string_storage = malloc(p->string_size);
        c->name_slots = calloc(c->n_name_slots, sizeof(unsigned));
        if (!c->statements || !c->item_storage || !c->name_slots || !c->string_storage)
                return kp_error_set(error, -ENOMEM, "out of memory");

        p->source = source;
        p->text = text;
        p->size = size;
        p->line = 1;
        p->tok.line = 1; /* bison's first location, should the text end before any token */
        p->cfg = c;
        p->error = error;

        r = parse(p);
        if (r < 0)
                return r;

        c->stray = p->stray[0];
        c->stray_line = c->stray ? p->stray_line : 0;
        if (!c->stray)
                c->stray_at_statement_start = false;
        *ret = TAKE_PTR(c);
        return 0;
}

int kp_xlcfg_statement_long(const KpXlcfgStatement *s, long *ret)
{
        char *end;
        long l;

        assert(s);
        assert(ret);

        if (s->is_list || s->append)
                return -EINVAL;
        errno = 0;
        l = strtol(s->string, &end, 0);
        if (errno != 0)
                return -errno;
        if (*end || end == s->string)
                return -EINVAL;
        *ret = l;
        return 0;
}
