/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "bootcfg/text.h"
#include "util/macro.h"

bool kp_text_is_printable(const char *s, size_t len)
{
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c < 0x20 || c == 0x7f)
                        return false;
        }
        return true;
}

/* Length of the UTF-8 sequence starting at s (at most len bytes), or 0 when it is malformed. */
static size_t utf8_sequence_length(const unsigned char *s, size_t len)
{
        uint32_t cp;
        size_t n;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                n = 2, cp = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                n = 3, cp = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                n = 4, cp = s[0] & 0x07;
        else
                return 0;
        if (len < n)
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        /* Overlong forms, UTF-16 surrogates and code points past U+10FFFF. */
        if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) ||
            cp > 0x10ffff)
                return 0;
        return n;
}

bool kp_text_is_utf8(const char *s, size_t len)
{
        const unsigned char *p = (const unsigned char *) s;

        for (size_t i = 0; i < len;) {
                size_t n = utf8_sequence_length(p + i, len - i);
                if (n == 0)
                        return false;
                i += n;
        }
        return true;
}

char *kp_text_escape(const char *s, size_t len, size_t max)
{
        const unsigned char *p = (const unsigned char *) s;
        size_t n = MIN(len, max), j = 0;
        char *out;

        /* Worst case every byte becomes "\xNN" (4 bytes), plus "..." and NUL. */
        out = malloc(n * 4 + 4);
        if (!out)
                return NULL;

        for (size_t i = 0; i < n;) {
                size_t seq = utf8_sequence_length(p + i, n - i);

                if (seq > 1) {
                        memcpy(out + j, p + i, seq);
                        j += seq;
                        i += seq;
                        continue;
                }
                switch (p[i]) {
                case '\n':
                        out[j++] = '\\', out[j++] = 'n';
                        break;
                case '\t':
                        out[j++] = '\\', out[j++] = 't';
                        break;
                case '\r':
                        out[j++] = '\\', out[j++] = 'r';
                        break;
                case '\\':
                case '"':
                        out[j++] = '\\', out[j++] = (char) p[i];
                        break;
                default:
                        if (seq == 0 || p[i] < 0x20 || p[i] == 0x7f)
                                j += (size_t) sprintf(out + j, "\\x%02x", p[i]);
                        else
                                out[j++] = (char) p[i];
                }
                i++;
        }
        if (len > max) {
                memcpy(out + j, "...", 3);
                j += 3;
        }
        out[j] = '\0';
        return out;
}

char *kp_text_escape_short(const char *s)
{
        return kp_text_escape(s ? s : "", s ? strlen(s) : 0, 64);
}

char *kp_menu_path_append(const char *prefix, const char *title)
{
        size_t plen = prefix ? strlen(prefix) : 0, n = 0;
        char *out, *o;

        for (const char *t = title; *t; t++)
                n += *t == '>' ? 2 : 1;

        out = malloc(plen + 1 + n + 1);
        if (!out)
                return NULL;
        o = out;
        if (prefix) {
                memcpy(o, prefix, plen);
                o += plen;
                *o++ = '>';
        }
        for (const char *t = title; *t; t++) {
                if (*t == '>')
                        *o++ = '>';
                *o++ = *t;
        }
        *o = '\0';
        return out;
}
