/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "util/grow.h"
#include "bootcfg/menu.h"
#include "util/macro.h"

void kp_menu_node_done(KpMenuNode *n)
{
        free(n->title);
        free(n->id);
        free(n->own_default);
        for (size_t i = 0; i < n->n_children; i++)
                kp_menu_node_done(&n->children[i]);
        free(n->children);
        *n = (KpMenuNode) {};
}

KpMenuNode *kp_menu_level_append(KpMenuNode **level, size_t *n)
{
        KpMenuNode *l = kp_grow(*level, *n, sizeof(KpMenuNode));

        if (!l)
                return NULL;
        *level = l;
        l[*n] = (KpMenuNode) {};
        return &l[(*n)++];
}

static bool grub_isspace(char c)
{
        return c == '\n' || c == '\r' || c == ' ' || c == '\t';
}

int kp_grub_strtoul(const char *s, unsigned long long *ret)
{
        unsigned long long v = 0;
        unsigned base = 10;
        bool found = false;

        while (grub_isspace(*s))
                s++;
        if (s[0] == '0' && s[1] == 'x') {
                base = 16;
                s += 2;
        } else if (s[0] == '0' && s[1] >= '0' && s[1] <= '7')
                base = 8;

        for (; *s; s++) {
                unsigned d;
                char c = *s;

                if (c >= '0' && c <= '9')
                        d = (unsigned) (c - '0');
                else if (c >= 'a' && c <= 'z')
                        d = (unsigned) (c - 'a') + 10;
                else if (c >= 'A' && c <= 'Z')
                        d = (unsigned) (c - 'A') + 10;
                else
                        break;
                if (d >= base)
                        break;
                found = true;
                if (v > (~0ULL - d) / base)
                        return -ERANGE;
                v = v * base + d;
        }
        if (!found)
                return -EINVAL;
        *ret = v;
        return 0;
}

/*
 * GRUB's menuentry_eq(): does id equal the first element of spec, where
 * an element ends at a single '>' and ">>" stands for '>'?
 */
static bool menuentry_eq(const char *id, const char *spec)
{
        const char *a = id, *b = spec;

        if (!a)
                return false;
        for (;;) {
                if (b[0] == '>' && b[1] != '>')
                        return *a == '\0';
                if (b[0] == '>')
                        b++;
                if (*a != *b)
                        return false;
                if (*a == '\0')
                        return true;
                a++, b++;
        }
}

/* The rest of spec after its first element, or NULL when there is none or it is empty. */
static const char *path_rest(const char *spec)
{
        for (const char *p = spec; *p; p++) {
                if (p[0] == '>' && p[1] == '>') {
                        p++;
                        continue;
                }
                if (p[0] == '>')
                        return p[1] ? p + 1 : NULL;
        }
        return NULL;
}

int kp_menu_find_grub(const KpMenuNode *level, size_t n, const char *spec, KpMenuMatch *ret_match)
{
        unsigned long long v;
        int r;

        *ret_match = KP_MENU_MATCH_NONE;
        r = kp_grub_strtoul(spec, &v);
        if (r == 0) {
                /* GRUB stores the value in an int: keep its truncation. */
                int idx = (int) (int32_t) (uint32_t) v;
                if (idx < 0 || (size_t) idx >= n)
                        return -1;
                *ret_match = KP_MENU_MATCH_INDEX;
                return idx;
        }
        if (r != -EINVAL)
                return -1;

        for (size_t i = 0; i < n; i++) {
                if (menuentry_eq(level[i].title, spec)) {
                        *ret_match = KP_MENU_MATCH_TITLE;
                        return (int) i;
                }
                /* GRUB's id is the title when --id was not given: the title test above covered it. */
                if (menuentry_eq(level[i].id, spec)) {
                        *ret_match = KP_MENU_MATCH_ID;
                        return (int) i;
                }
        }
        return -1;
}

static bool grub_isspace_c(char c)
{
        return c == '\n' || c == '\r' || c == ' ' || c == '\t';
}

/*
 * Fedora's menuentry_eq() with a limit: id against spec, where spec may go
 * on with a '>' path or, once limit characters matched, a blank.
 */
static bool fedora_eq(const char *id, const char *spec, ssize_t limit)
{
        const char *a = id, *b = spec;

        if (!a)
                return false;
        while (limit < 0 || a - id <= limit) {
                if (b[0] == '>' && b[1] != '>')
                        return *a == '\0' && a != id;
                if (b[0] == '>')
                        b++;
                if (*a != *b)
                        return limit >= 0 && a - id == limit && !*a && grub_isspace_c(*b) && limit > 1;
                if (*a == '\0')
                        return a != id;
                a++, b++;
        }
        return false;
}

int kp_menu_find_fedora(const KpMenuNode *level, size_t n, const char *spec, KpMenuMatch *ret_match)
{
        size_t l = 0;
        unsigned long long v;
        const char *p;

        *ret_match = KP_MENU_MATCH_NONE;
        while (spec[l] && !grub_isspace_c(spec[l]))
                l++;
        for (size_t i = 0; i < n; i++)
                if (fedora_eq(level[i].id ?: level[i].title, spec, (ssize_t) l)) {
                        /* The id ends at the first blank: anything after it names nothing. */
                        if (spec[l])
                                return -1;
                        *ret_match = level[i].id ? KP_MENU_MATCH_ID : KP_MENU_MATCH_TITLE;
                        return (int) i;
                }
        for (size_t i = 0; i < n; i++)
                if (fedora_eq(level[i].title, spec, -1)) {
                        *ret_match = KP_MENU_MATCH_TITLE;
                        return (int) i;
                }
        /* A number must be all there is. */
        p = spec;
        while (grub_isspace_c(*p))
                p++;
        if (*p < '0' || *p > '9')
                return -1;
        if (kp_grub_strtoul(spec, &v) < 0)
                return -1;
        if (p[0] == '0' && p[1] == 'x')
                p += 2 + strspn(p + 2, "0123456789abcdefABCDEF");
        else
                p += strspn(p, "0123456789");
        if (*p)
                return -1;
        int idx = (int) (int32_t) (uint32_t) v;
        if (idx < 0 || (size_t) idx >= n)
                return -1;
        *ret_match = KP_MENU_MATCH_INDEX;
        return idx;
}

const KpMenuNode *kp_menu_first_entry(const KpMenuNode *level, size_t n, unsigned max_depth)
{
        if (max_depth == 0 || n == 0)
                return NULL;
        /* GRUB boots entry 0 of a menu; entry 0 being a submenu, entry 0 of that. */
        if (!level[0].submenu)
                return &level[0];
        return kp_menu_first_entry(level[0].children, level[0].n_children, max_depth - 1);
}

bool kp_menu_resolve_grub(const KpMenuNode *level, size_t n, const char *spec, KpMenuDialect dialect,
                          unsigned max_depth, KpMenuResult *ret)
{
        const KpMenuNode *item;
        KpMenuMatch match;
        int idx;

        *ret = (KpMenuResult) {};
        if (!spec || max_depth == 0)
                return false;
        idx = dialect == KP_MENU_GRUB_FEDORA ? kp_menu_find_fedora(level, n, spec, &match) :
                                               kp_menu_find_grub(level, n, spec, &match);
        if (idx < 0)
                return false;

        item = &level[idx];
        ret->first = match;
        ret->levels = 1;
        if (item->submenu) {
                const char *sub = item->own_default ?: path_rest(spec);
                KpMenuResult inner;

                if (sub && kp_menu_resolve_grub(item->children, item->n_children, sub, dialect, max_depth - 1, &inner)) {
                        ret->entry = inner.entry;
                        ret->levels += item->own_default ? 0 : inner.levels;
                } else
                        ret->entry = kp_menu_first_entry(item->children, item->n_children, max_depth - 1);
                return ret->entry != NULL;
        }
        ret->entry = item;
        return true;
}

/* Copies the first element of spec with ">>" unescaped; sets *rest to what follows (or NULL). */
static char *path_first(const char *spec, const char **rest)
{
        size_t n = strlen(spec), j = 0;
        char *e = malloc(n + 1);

        if (!e)
                return NULL;
        *rest = NULL;
        for (const char *p = spec; *p; p++) {
                if (p[0] == '>' && p[1] == '>') {
                        e[j++] = '>';
                        p++;
                        continue;
                }
                if (p[0] == '>') {
                        *rest = p + 1;
                        break;
                }
                e[j++] = *p;
        }
        e[j] = '\0';
        return e;
}

static bool all_digits(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

bool kp_menu_resolve_strict(const KpMenuNode *level, size_t n, const char *spec, unsigned max_depth,
                            KpMenuResult *ret)
{
        _cleanup_free_ char *elem = NULL;
        const KpMenuNode *item = NULL;
        KpMenuMatch match = KP_MENU_MATCH_NONE;
        const char *rest;

        *ret = (KpMenuResult) {};
        if (!spec || max_depth == 0)
                return false;
        elem = path_first(spec, &rest);
        if (!elem)
                return false;

        if (all_digits(elem)) {
                unsigned long long v = strtoull(elem, NULL, 10);
                if (v < n) {
                        item = &level[v];
                        match = KP_MENU_MATCH_INDEX;
                }
        }
        for (size_t i = 0; !item && i < n; i++) {
                if (level[i].title && streq(level[i].title, elem))
                        item = &level[i], match = KP_MENU_MATCH_TITLE;
                else if (level[i].id && streq(level[i].id, elem))
                        item = &level[i], match = KP_MENU_MATCH_ID;
        }
        if (!item)
                return false;

        ret->first = match;
        ret->levels = 1;
        if (!item->submenu) {
                if (rest)
                        return false;
                ret->entry = item;
                return true;
        }
        if (!rest)
                return false;
        KpMenuResult inner;
        if (!kp_menu_resolve_strict(item->children, item->n_children, rest, max_depth - 1, &inner))
                return false;
        ret->entry = inner.entry;
        ret->levels += inner.levels;
        return true;
}
