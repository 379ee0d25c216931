/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "memfs.h"
#include "tests.h"
#include "util/fileio.h"
#include "util/strv.h"

const MemFile *memfs_get(const MemFs *m, const char *path)
{
        for (size_t i = 0; i < m->n_files; i++)
                if (streq(m->files[i].path, path))
                        return &m->files[i];
        return NULL;
}

/* Whether some file lives below path (so path is a directory). */
static bool is_dir(const MemFs *m, const char *path)
{
        size_t n = strlen(path);

        if (streq(path, "/"))
                return m->n_files > 0;
        for (size_t i = 0; i < m->n_files; i++)
                if (strncmp(m->files[i].path, path, n) == 0 && m->files[i].path[n] == '/')
                        return true;
        return false;
}

static int mem_read_file(void *userdata, const char *path, size_t max, char **ret_data, size_t *ret_size)
{
        MemFs *m = userdata;
        const MemFile *f = memfs_get(m, path);
        char *d;

        if (!f)
                return is_dir(m, path) ? -EISDIR : -ENOENT;
        if (f->size > max)
                return -EFBIG;
        if (max > 0)
                m->reads++;
        d = malloc(f->size + 1);
        if (!d)
                return -ENOMEM;
        memcpy(d, f->data, f->size);
        d[f->size] = '\0';
        *ret_data = d;
        *ret_size = f->size;
        return 0;
}

static int mem_list_dir(void *userdata, const char *path, char ***ret_names)
{
        MemFs *m = userdata;
        char **names = calloc(1, sizeof(char *));
        size_t n = streq(path, "/") ? 0 : strlen(path);

        if (memfs_get(m, path)) {
                free(names);
                return -ENOTDIR;
        }
        if (!is_dir(m, path)) {
                free(names);
                return -ENOENT;
        }
        for (size_t i = 0; i < m->n_files; i++) {
                const char *p = m->files[i].path;
                if (strncmp(p, path, n) != 0 || p[n] != '/')
                        continue;
                const char *child = p + n + 1;
                char *name = strndup(child, strcspn(child, "/"));
                if (!strv_contains(names, name))
                        ASSERT_TRUE(strv_consume(&names, name) >= 0);
                else
                        free(name);
        }
        *ret_names = names;
        return 0;
}

MemFs *memfs_new(void)
{
        MemFs *m = calloc(1, sizeof(*m));
        ASSERT_TRUE(m);
        m->fs = (KpBootFs) { .userdata = m, .read_file = mem_read_file, .list_dir = mem_list_dir };
        return m;
}

void memfs_free(MemFs *m)
{
        if (!m)
                return;
        for (size_t i = 0; i < m->n_files; i++) {
                free(m->files[i].path);
                free(m->files[i].data);
        }
        free(m->files);
        free(m);
}

void memfs_remove(MemFs *m, const char *path)
{
        for (size_t i = 0; i < m->n_files; i++)
                if (streq(m->files[i].path, path)) {
                        free(m->files[i].path);
                        free(m->files[i].data);
                        m->files[i] = m->files[--m->n_files];
                        return;
                }
}

void memfs_add(MemFs *m, const char *path, const char *data, size_t size)
{
        memfs_remove(m, path);
        m->files = reallocarray(m->files, m->n_files + 1, sizeof(MemFile));
        ASSERT_TRUE(m->files);
        m->files[m->n_files].path = strdup(path);
        m->files[m->n_files].data = malloc(size + 1);
        ASSERT_TRUE(m->files[m->n_files].path && m->files[m->n_files].data);
        memcpy(m->files[m->n_files].data, data, size);
        m->files[m->n_files].data[size] = '\0';
        m->files[m->n_files].size = size;
        m->n_files++;
}

void memfs_add_str(MemFs *m, const char *path, const char *s)
{
        memfs_add(m, path, s, strlen(s));
}

static void load(MemFs *m, const char *host, const char *guest)
{
        DIR *d = opendir(host);
        struct dirent *de;

        if (!d)
                TEST_FAIL("cannot open %s: %s", host, strerror(errno));
        while ((de = readdir(d))) {
                _cleanup_free_ char *hp = NULL, *gp = NULL;
                struct stat st;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                ASSERT_TRUE(asprintf(&hp, "%s/%s", host, de->d_name) >= 0);
                ASSERT_TRUE(asprintf(&gp, "%s/%s", guest, de->d_name) >= 0);
                if (lstat(hp, &st) < 0)
                        TEST_FAIL("%s: %s", hp, strerror(errno));
                if (S_ISDIR(st.st_mode))
                        load(m, hp, gp);
                else if (S_ISREG(st.st_mode)) {
                        _cleanup_free_ char *data = NULL;
                        size_t size = 0;
                        ASSERT_OK(kp_read_file(hp, 64 * 1024 * 1024, NULL, &data, &size));
                        memfs_add(m, gp, data, size);
                }
        }
        closedir(d);
}

void memfs_load_dir(MemFs *m, const char *dir)
{
        load(m, dir, "");
}

char *test_data_dir(const char *name)
{
        const char *src = getenv("KP_SOURCE_DIR");
        char *p;

        if (!src)
                TEST_FAIL("KP_SOURCE_DIR not set");
        ASSERT_TRUE(asprintf(&p, "%s/tests/unit/bootcfg/data/%s", src, name) >= 0);
        return p;
}
