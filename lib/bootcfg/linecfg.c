/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "bootcfg/bootplan.h"
#include "bootcfg/linecfg.h"
#include "util/error.h"
#include "util/macro.h"

int kp_line_reader_init(KpLineReader *r, const char *file, const char *data, size_t size, KpError *error)
{
        const char *nul;

        *r = (KpLineReader) { .data = data, .size = size };
        if (size > KP_BOOTCFG_MAX_SIZE)
                return kp_error_set(error, -EFBIG, "%s: %zu bytes exceeds the limit of %d bytes", file, size,
                                    KP_BOOTCFG_MAX_SIZE);
        nul = memchr(data, '\0', size);
        if (nul) {
                unsigned line = 1;
                for (const char *p = data; p < nul; p++)
                        line += *p == '\n';
                return kp_error_set(error, -EBADMSG, "%s:%u: NUL byte in configuration", file, line);
        }
        return 0;
}

void kp_line_reader_done(KpLineReader *r)
{
        free(r->buf);
        r->buf = NULL;
}

static bool is_blank(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

bool kp_line_reader_next(KpLineReader *r)
{
        while (r->pos < r->size) {
                const char *line_start = r->data + r->pos, *start = line_start, *end = r->data + r->size;
                const char *eol = memchr(start, '\n', (size_t) (end - start));
                size_t j = 0;

                if (!eol)
                        eol = end;
                r->pos = (size_t) (eol - r->data) + 1;
                r->line++;

                while (start < eol && is_blank(*start))
                        start++;
                while (eol > start && is_blank(eol[-1]))
                        eol--;
                if (start == eol || *start == '#')
                        continue;

                r->indent = (size_t) (start - line_start);
                free(r->buf);
                r->buf = malloc((size_t) (eol - start) + 1);
                if (!r->buf)
                        return true;
                for (const char *p = start; p < eol; p++)
                        if (*p != '\r')
                                r->buf[j++] = *p;
                r->buf[j] = '\0';
                return true;
        }
        return false;
}

void kp_line_split(char *line, bool equals, char **ret_cmd, char **ret_rest)
{
        char *p = line;

        while (*p && !is_blank(*p) && !(equals && *p == '='))
                p++;
        *ret_cmd = line;
        if (*p) {
                bool eq = *p == '=';
                *p++ = '\0';
                while (is_blank(*p))
                        p++;
                if (equals && !eq && *p == '=') {
                        p++;
                        while (is_blank(*p))
                                p++;
                }
        }
        *ret_rest = p;
}
