/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "bootcfg/version.h"
#include "util/macro.h"

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(char c)
{
        return is_digit(c) || is_alpha(c);
}

int kp_version_compare(const char *a, const char *b)
{
        if (streq(a, b))
                return 0;

        while (*a || *b) {
                const char *ea, *eb;
                size_t la, lb;
                bool num;
                int c;

                while (*a && !is_alnum(*a) && *a != '~' && *a != '+')
                        a++;
                while (*b && !is_alnum(*b) && *b != '~' && *b != '+')
                        b++;

                /* '~' sorts before anything, the end of the string included. */
                if (*a == '~' || *b == '~') {
                        if (*a != '~')
                                return 1;
                        if (*b != '~')
                                return -1;
                        a++, b++;
                        continue;
                }
                /* '+' sorts after the end of the string (a base version is older). */
                if (*a == '+' || *b == '+') {
                        if (!*a)
                                return -1;
                        if (!*b)
                                return 1;
                        if (*a != '+')
                                return 1;
                        if (*b != '+')
                                return -1;
                        a++, b++;
                        continue;
                }
                if (!*a || !*b)
                        break;

                num = is_digit(*a);
                ea = a, eb = b;
                if (num) {
                        while (is_digit(*ea))
                                ea++;
                        while (is_digit(*eb))
                                eb++;
                } else {
                        while (is_alpha(*ea))
                                ea++;
                        while (is_alpha(*eb))
                                eb++;
                }
                /* b's segment is of the other kind: a number is newer than letters. */
                if (eb == b)
                        return num ? 1 : -1;

                if (num) {
                        while (*a == '0' && a < ea)
                                a++;
                        while (*b == '0' && b < eb)
                                b++;
                        la = (size_t) (ea - a);
                        lb = (size_t) (eb - b);
                        if (la != lb)
                                return la > lb ? 1 : -1;
                }
                la = (size_t) (ea - a);
                lb = (size_t) (eb - b);
                c = strncmp(a, b, MIN(la, lb));
                if (c == 0 && la != lb)
                        c = la < lb ? -1 : 1;
                if (c != 0)
                        return c < 0 ? -1 : 1;
                a = ea, b = eb;
        }
        if (!*a && !*b)
                return 0;
        return *a ? 1 : -1;
}

/* Cuts s in place at its last two '-' into name, version, release, as blscfg's split_package_string(). */
static void split_nvr(char *s, const char **name, const char **version, const char **release)
{
        char *rel = strrchr(s, '-'), *ver = NULL;

        if (rel)
                *rel++ = '\0';
        ver = strrchr(s, '-');
        if (ver)
                *ver++ = '\0';

        *name = s;
        *version = ver;
        *release = rel;
        /* Missing fields move up: "a-1" is name "a", version "1". */
        if (!*version) {
                *version = *release;
                *release = NULL;
        }
}

int kp_version_compare_nvr(const char *a, const char *b)
{
        _cleanup_free_ char *ca = strdup(a), *cb = strdup(b);
        const char *na, *va, *ra, *nb, *vb, *rb;
        int c;

        if (!ca || !cb)
                return strcmp(a, b);
        split_nvr(ca, &na, &va, &ra);
        split_nvr(cb, &nb, &vb, &rb);

        c = kp_version_compare(na, nb);
        if (c == 0)
                c = kp_version_compare(va ?: "", vb ?: "");
        if (c == 0)
                c = kp_version_compare(ra ?: "", rb ?: "");
        return c;
}

const char *kp_kernel_version_from_path(const char *path)
{
        /* The names distributions and `make install` give kernels; a version must start with a digit. */
        static const char *const prefixes[] = { "vmlinuz-", "vmlinux-", "kernel-", "bzImage-" };
        const char *base;

        if (!path)
                return NULL;
        base = strrchr(path, '/');
        base = base ? base + 1 : path;
        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++) {
                size_t n = strlen(prefixes[i]);
                if (strncmp(base, prefixes[i], n) == 0 && base[n] >= '0' && base[n] <= '9')
                        return base + n;
        }
        return NULL;
}
