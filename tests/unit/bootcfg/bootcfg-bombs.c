/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bootcfg-bombs DIR: writes every hostile configuration of bombs.c, and
 * the real ones at the parsers' limits, as DIR/<name>/ trees standing for
 * a guest's boot filesystem, with DIR/<name>.expect holding the kind, the
 * configuration's path and the expected result. Measure one by hand:
 *
 *     /usr/bin/time -v bootcfg-dump --compact [--isolated] \
 *             --kind=KIND --config=PATH DIR/<name>
 *
 * as docs/isolation.md does. Not a test.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "bombs.h"
#include "tests.h"
#include "util/fileio.h"

/* mkdir -p of path's directory. */
static void make_parents(char *path)
{
        for (char *p = path + 1; (p = strchr(p, '/')); p++) {
                *p = '\0';
                if (mkdir(path, 0755) < 0 && errno != EEXIST)
                        TEST_FAIL("mkdir %s: %s", path, strerror(errno));
                *p = '/';
        }
}

static void write_bomb(const char *dir, const Bomb *b)
{
        _cleanup_free_ char *expect = NULL, *text = NULL;
        KpError e = {};

        for (size_t i = 0; i < b->fs->n_files; i++) {
                _cleanup_free_ char *path = NULL;
                ASSERT_TRUE(asprintf(&path, "%s/%s%s", dir, b->name, b->fs->files[i].path) >= 0);
                make_parents(path);
                if (kp_write_file_atomic(path, b->fs->files[i].data, b->fs->files[i].size, 0644, &e) < 0)
                        TEST_FAIL("%s: %s", path, e.message);
        }
        ASSERT_TRUE(asprintf(&expect, "%s/%s.expect", dir, b->name) >= 0);
        ASSERT_TRUE(asprintf(&text, "kind=%s\nconfig=%s\nerror=%d\nmessage=%s\n", kp_boot_config_kind_to_string(b->kind),
                             b->config_path, b->error, b->message ?: "") >= 0);
        if (kp_write_file_atomic(expect, text, strlen(text), 0644, &e) < 0)
                TEST_FAIL("%s: %s", expect, e.message);
}

int main(int argc, char **argv)
{
        if (argc != 2) {
                fprintf(stderr, "usage: %s DIR\n", argv[0]);
                return 1;
        }
        if (mkdir(argv[1], 0755) < 0 && errno != EEXIST)
                TEST_FAIL("mkdir %s: %s", argv[1], strerror(errno));
        for (size_t i = 0; i < bombs_count(); i++) {
                Bomb b;
                bomb_make(i, &b);
                write_bomb(argv[1], &b);
                bomb_done(&b);
        }
        for (size_t i = 0; i < limits_count(); i++) {
                Bomb b;
                limit_make(i, &b);
                write_bomb(argv[1], &b);
                bomb_done(&b);
        }
        return 0;
}
