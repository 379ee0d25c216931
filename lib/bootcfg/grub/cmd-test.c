/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "bootcfg/grub/interp.h"
#include "bootcfg/menu.h"

/*
 * `test` and `[ ... ]` as GRUB 2.06's grub-core/commands/test.c reads
 * them, quirks included: a trailing "]" is dropped whether the command is
 * "[" or "test"; an empty expression is true; -a is ignored and -o splits
 * the expression into alternatives; a lone word is true when non-empty;
 * numbers are read by grub_strtoul() (so "010" is eight). File tests go
 * through KpBootFs; a file it cannot see counts as absent, with a warning.
 */

typedef struct TestCtx {
        bool invert, any, all;
} TestCtx;

static void update(TestCtx *t, bool v)
{
        t->all = t->all && (t->invert ? !v : v);
        t->invert = false;
}

static long long strtosl(const char *s)
{
        unsigned long long v = 0;

        if (s[0] == '-')
                return kp_grub_strtoul(s + 1, &v) < 0 ? 0 : -(long long) v;
        return kp_grub_strtoul(s, &v) < 0 ? 0 : (long long) v;
}

static unsigned long long strtou(const char *s)
{
        unsigned long long v = 0;
        return kp_grub_strtoul(s, &v) < 0 ? 0 : v;
}

static bool isdigit_c(char c)
{
        return c >= '0' && c <= '9';
}

/* -pgt/-plt: compare the numbers after the common prefix ("vmlinuz-2 -plt vmlinuz-11"). */
static bool prefix_compare(const char *a, const char *b, bool greater)
{
        ssize_t i = 0;

        while (a[i] && a[i] == b[i])
                i++;
        i--;
        while (i > 0 && isdigit_c(a[i]))
                i--;
        i++;
        return greater ? strtou(a + i) > strtou(b + i) : strtou(a + i) < strtou(b + i);
}

static int test_parse(GrubInterp *in, const GrubCmd *c, char **args, size_t *argn, size_t argc, unsigned depth,
                      bool *ret)
{
        TestCtx t = { .all = true };
        GrubFileFacts f;
        int r;

        if (depth > KP_BOOTCFG_MAX_DEPTH)
                return grub_interp_fail(in, -ELOOP, c->line, "test expression nested deeper than %d levels",
                                        KP_BOOTCFG_MAX_DEPTH);

        while (*argn < argc) {
                char **a = args + *argn;

                if (*argn + 2 < argc) {
                        const char *op = a[1];
                        if (streq(op, "=") || streq(op, "==")) {
                                update(&t, streq(a[0], a[2]));
                                *argn += 3;
                                continue;
                        }
                        if (streq(op, "!=")) {
                                update(&t, !streq(a[0], a[2]));
                                *argn += 3;
                                continue;
                        }
                        if (streq(op, "<") || streq(op, "<=") || streq(op, ">") || streq(op, ">=")) {
                                int k = strcmp(a[0], a[2]);
                                update(&t, op[0] == '<' ? (op[1] ? k <= 0 : k < 0) : (op[1] ? k >= 0 : k > 0));
                                *argn += 3;
                                continue;
                        }
                        if (streq(op, "-eq") || streq(op, "-ne") || streq(op, "-lt") || streq(op, "-le") ||
                            streq(op, "-gt") || streq(op, "-ge")) {
                                long long x = strtosl(a[0]), y = strtosl(a[2]);
                                bool v = streq(op, "-eq") ? x == y : streq(op, "-ne") ? x != y :
                                         streq(op, "-lt") ? x < y : streq(op, "-le") ? x <= y :
                                         streq(op, "-gt") ? x > y : x >= y;
                                update(&t, v);
                                *argn += 3;
                                continue;
                        }
                        if (streq(op, "-pgt") || streq(op, "-plt")) {
                                update(&t, prefix_compare(a[0], a[2], streq(op, "-pgt")));
                                *argn += 3;
                                continue;
                        }
                        if (startswith_lit(op, "-nt") || startswith_lit(op, "-ot")) {
                                /* Modification times cannot be known here. */
                                grub_interp_warn(in, c->line, "test %s compares modification times; taken as false", op);
                                update(&t, false);
                                *argn += 3;
                                continue;
                        }
                }
                if (*argn + 1 < argc) {
                        const char *op = a[0];
                        if (streq(op, "-d") || streq(op, "-e") || streq(op, "-f") || streq(op, "-s")) {
                                r = grub_interp_probe_file(in, c->line, a[1], &f);
                                if (r < 0)
                                        return r;
                                update(&t, op[1] == 'd' ? f.exists && f.is_dir :
                                           op[1] == 'e' ? f.exists :
                                           op[1] == 'f' ? f.exists && !f.is_dir :
                                           f.exists && !f.is_dir && f.non_empty);
                                *argn += 2;
                                continue;
                        }
                        if (streq(op, "-n") || streq(op, "-z")) {
                                update(&t, op[1] == 'n' ? a[1][0] != '\0' : a[1][0] == '\0');
                                *argn += 2;
                                continue;
                        }
                }
                if (streq(a[0], ")")) {
                        (*argn)++;
                        *ret = t.any || t.all;
                        return 0;
                }
                if (streq(a[0], "(")) {
                        bool v;
                        (*argn)++;
                        r = test_parse(in, c, args, argn, argc, depth + 1, &v);
                        if (r < 0)
                                return r;
                        update(&t, v);
                        continue;
                }
                if (streq(a[0], "!")) {
                        t.invert = !t.invert;
                        (*argn)++;
                        continue;
                }
                if (streq(a[0], "-a")) {
                        (*argn)++;
                        continue;
                }
                if (streq(a[0], "-o")) {
                        t.any = t.any || t.all;
                        t.all = true;
                        (*argn)++;
                        continue;
                }
                /* No test: a word on its own is true when it is not empty. */
                update(&t, a[0][0] != '\0');
                (*argn)++;
        }
        *ret = t.any || t.all;
        return 0;
}

int grub_cmd_test(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc)
{
        size_t n = argc - 1, argn = 0;
        bool v = false;
        int r;

        if (n >= 1 && streq(argv[argc - 1], "]"))
                n--;
        r = test_parse(in, c, argv + 1, &argn, n, 0, &v);
        if (r < 0)
                return r;
        in->status = v ? 0 : 1;
        return 0;
}
