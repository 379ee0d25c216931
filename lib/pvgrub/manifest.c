/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "bootcfg/bootplan.h"
#include "pvgrub/manifest.h"
#include "util/error.h"
#include "util/grow.h"

#define MANIFEST_HEADER "kunpack-changes 1"

KpPvgrubManifest *kp_pvgrub_manifest_free(KpPvgrubManifest *m)
{
        if (!m)
                return NULL;
        free(m->config);
        free(m->backup);
        for (size_t i = 0; i < m->n_files; i++) {
                free(m->files[i].path);
                free(m->files[i].source);
        }
        free(m->files);
        free(m);
        return NULL;
}

static bool is_sha256(const char *s)
{
        return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* Absolute, no "." or ".." component, no "//", printable, within the path limit. */
static bool is_clean_path(const char *s)
{
        if (s[0] != '/' || strlen(s) > KP_BOOTCFG_MAX_PATH)
                return false;
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p <= ' ' || *p == 0x7f)
                        return false;
        for (const char *p = s; p; p = strchr(p + 1, '/')) {
                const char *c = p + 1;
                size_t n = strcspn(c, "/");
                if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
        }
        return true;
}

int kp_pvgrub_manifest_add_file(KpPvgrubManifest *m, const char *path, const char *sha256,
                                const char *source, const char *source_sha256)
{
        KpPvgrubFile *f;

        if (m->n_files >= KP_PVGRUB_MANIFEST_MAX_FILES)
                return -E2BIG;
        f = kp_grow(m->files, m->n_files, sizeof(KpPvgrubFile));
        if (!f)
                return -ENOMEM;
        m->files = f;
        f = &m->files[m->n_files];
        *f = (KpPvgrubFile) { .path = strdup(path), .source = strdup(source) };
        if (!f->path || !f->source) {
                free(f->path);
                free(f->source);
                return -ENOMEM;
        }
        (void) snprintf(f->sha256, sizeof(f->sha256), "%s", sha256);
        (void) snprintf(f->source_sha256, sizeof(f->source_sha256), "%s", source_sha256);
        m->n_files++;
        return 0;
}

const KpPvgrubFile *kp_pvgrub_manifest_find(const KpPvgrubManifest *m, const char *path)
{
        for (size_t i = 0; m && i < m->n_files; i++)
                if (streq(m->files[i].path, path))
                        return &m->files[i];
        return NULL;
}

/* Splits line at tabs into at most max fields; returns how many. */
static size_t split_tabs(char *line, char **fields, size_t max)
{
        size_t n = 0;

        for (char *p = line; n < max;) {
                fields[n++] = p;
                p = strchr(p, '\t');
                if (!p)
                        break;
                *p++ = '\0';
        }
        return n;
}

int kp_pvgrub_manifest_parse(const char *data, size_t size, KpError *error, KpPvgrubManifest **ret)
{
        _cleanup_(kp_pvgrub_manifest_freep) KpPvgrubManifest *m = NULL;
        _cleanup_free_ char *copy = NULL;
        unsigned line = 0;
        char *p, *next;
        int r;

        if (size > KP_PVGRUB_MANIFEST_MAX_SIZE)
                return kp_error_set(error, -EBADMSG, "manifest of %zu bytes is over the limit of %d", size,
                                    KP_PVGRUB_MANIFEST_MAX_SIZE);
        if (memchr(data, '\0', size))
                return kp_error_set(error, -EBADMSG, "manifest holds a NUL byte");
        if (size == 0 || data[size - 1] != '\n')
                return kp_error_set(error, -EBADMSG, "manifest is truncated (no final newline)");
        copy = strndup(data, size);
        m = calloc(1, sizeof(*m));
        if (!copy || !m)
                return -ENOMEM;

        for (p = copy; *p; p = next) {
                char *fields[6];
                size_t n;

                next = strchr(p, '\n');
                *next++ = '\0';
                line++;
                if (line == 1) {
                        if (!streq(p, MANIFEST_HEADER))
                                return kp_error_set(error, -EBADMSG,
                                                    "manifest:1: not \"" MANIFEST_HEADER "\"");
                        continue;
                }
                n = split_tabs(p, fields, ELEMENTSOF(fields));
                if ((streq(fields[0], "config") || streq(fields[0], "backup")) && n == 3 &&
                    is_clean_path(fields[1]) && is_sha256(fields[2])) {
                        bool config = streq(fields[0], "config");
                        char **path = config ? &m->config : &m->backup;

                        if (*path)
                                return kp_error_set(error, -EBADMSG, "manifest:%u: second %s record", line,
                                                    fields[0]);
                        /* One spelling: kp_pvgrub_manifest_format() writes config, then backup, then files. */
                        if (config ? line != 2 : !m->config || line != 3)
                                return kp_error_set(error, -EBADMSG, "manifest:%u: %s record out of place (%s)",
                                                    line, fields[0],
                                                    config ? "config comes first" : "backup comes right after config");
                        *path = strdup(fields[1]);
                        if (!*path)
                                return -ENOMEM;
                        memcpy(config ? m->config_sha256 : m->backup_sha256, fields[2], 65);
                } else if (streq(fields[0], "file") && n == 5 && is_clean_path(fields[1]) &&
                           is_sha256(fields[2]) && is_clean_path(fields[3]) && is_sha256(fields[4])) {
                        if (kp_pvgrub_manifest_find(m, fields[1]))
                                return kp_error_set(error, -EBADMSG, "manifest:%u: %s listed twice", line,
                                                    fields[1]);
                        r = kp_pvgrub_manifest_add_file(m, fields[1], fields[2], fields[3], fields[4]);
                        if (r == -E2BIG)
                                return kp_error_set(error, -EBADMSG, "manifest: more than %d files",
                                                    KP_PVGRUB_MANIFEST_MAX_FILES);
                        if (r < 0)
                                return r;
                } else
                        return kp_error_set(error, -EBADMSG, "manifest:%u: not a record kunpack writes",
                                            line);
        }
        if (line == 0)
                return kp_error_set(error, -EBADMSG, "manifest is empty");
        if (!m->config != !m->backup)
                return kp_error_set(error, -EBADMSG, "manifest has a %s record without a %s record",
                                    m->config ? "config" : "backup", m->config ? "backup" : "config");
        *ret = TAKE_PTR(m);
        return 0;
}

int kp_pvgrub_manifest_format(const KpPvgrubManifest *m, char **ret_text, size_t *ret_size)
{
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        fputs(MANIFEST_HEADER "\n", f);
        if (m->config)
                fprintf(f, "config\t%s\t%s\nbackup\t%s\t%s\n", m->config, m->config_sha256, m->backup,
                        m->backup_sha256);
        for (size_t i = 0; i < m->n_files; i++)
                fprintf(f, "file\t%s\t%s\t%s\t%s\n", m->files[i].path, m->files[i].sha256,
                        m->files[i].source, m->files[i].source_sha256);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret_text = TAKE_PTR(text);
        *ret_size = size;
        return 0;
}
