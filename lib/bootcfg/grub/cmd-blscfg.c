/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "util/grow.h"
#include "bootcfg/grub/interp.h"
#include "bootcfg/text.h"
#include "bootcfg/version.h"
#include "util/error.h"
#include "util/strv.h"

/*
 * `blscfg`, the command Fedora and RHEL 8+ put in grub.cfg instead of menu
 * entries (grub-core/commands/blscfg.c of Fedora's GRUB): it reads
 * $blsdir, else /loader/entries, else /boot/loader/entries on $root, sorts
 * the *.conf snippets newest first by their names (name-version-release,
 * rpm's version order), skips duplicates and snippets without "linux", and
 * adds for each one an entry whose id is the file name, whose title is
 * "title" (else "linux"), with the body
 *
 *     load_video
 *     set gfxpayload=keep
 *     insmod gzio
 *     linux ($root)<linux> <options, $variables expanded>
 *     initrd ($root)<initrd> ($root)<initrd>...
 *
 * which then runs like any entry's. The "version" key is read by
 * systemd-boot, not by blscfg: it does not change the order here either.
 */

/* BLS snippets in one directory: as many as menu entries. */
#define BLS_MAX_SNIPPETS KP_BOOTCFG_MAX_ENTRIES

typedef struct BlsSnippet {
        char *id;               /* file name without ".conf" */
        char **keys;            /* alternating key, value in file order */
        size_t n_keys;
        size_t bytes;           /* what it holds, as charged to the memory budget */
} BlsSnippet;

static void snippet_done(BlsSnippet *s)
{
        free(s->id);
        for (size_t i = 0; i < 2 * s->n_keys; i++)
                free(s->keys[i]);
        free(s->keys);
        *s = (BlsSnippet) {};
}

/* The value of key after the one at *last (start with *last = -1), in file order. */
static const char *snippet_get(const BlsSnippet *s, const char *key, ssize_t *last)
{
        for (size_t i = last ? (size_t) (*last + 1) : 0; i < s->n_keys; i++)
                if (streq(s->keys[2 * i], key)) {
                        if (last)
                                *last = (ssize_t) i;
                        return s->keys[2 * i + 1];
                }
        return NULL;
}

/*
 * Reads the snippet's lines as blscfg's read_entry(): leading blanks
 * skipped, '#' lines skipped, key and value split at the first space (or
 * tab); a line without a value (an empty line too) ends the snippet.
 */
static int snippet_parse(GrubInterp *in, BlsSnippet *s, const char *data, size_t size, bool *ret_cut)
{
        const char *p = data, *end = data + size;
        int r;

        *ret_cut = false;
        while (p < end) {
                const char *eol = memchr(p, '\n', (size_t) (end - p)), *sep, *v;
                size_t len;
                char **n;

                if (!eol)
                        eol = end;
                while (p < eol && (*p == ' ' || *p == '\t'))
                        p++;
                len = (size_t) (eol - p);
                if (len > 0 && *p == '#') {
                        p = eol + 1;
                        continue;
                }
                sep = memchr(p, ' ', len);
                if (!sep)
                        sep = memchr(p, '\t', len);
                if (!sep || sep + 1 >= eol) {
                        *ret_cut = eol < end && eol + 1 < end;
                        break;
                }
                v = sep + 1;
                while (v < eol && (*v == ' ' || *v == '\t'))
                        v++;

                /* Every snippet is held until all are read: a 1 MiB snippet of "a b" lines is 260,000 keys. */
                size_t cost = 4 * sizeof(char *) + grub_alloc_cost((size_t) (sep - p) + 1) +
                              grub_alloc_cost((size_t) (eol - v) + 1);
                r = grub_interp_hold(in, cost);
                if (r < 0)
                        return r;
                s->bytes += cost;
                /* Two slots per key; kp_grow() still sees every capacity step (2^k - 1 is odd). */
                n = kp_grow(s->keys, 2 * s->n_keys + 1, sizeof(char *));
                if (!n)
                        return -ENOMEM;
                s->keys = n;
                n[2 * s->n_keys] = strndup(p, (size_t) (sep - p));
                n[2 * s->n_keys + 1] = strndup(v, (size_t) (eol - v));
                s->n_keys++;
                if (!n[2 * s->n_keys - 2] || !n[2 * s->n_keys - 1])
                        return -ENOMEM;
                p = eol + 1;
        }
        return 0;
}

/*
 * blscfg's expand_val(): "$name" becomes the variable's value and a space
 * (a space right after the name is then skipped); an unset variable
 * vanishes; a value of one character is dropped, as blscfg's bounds do.
 * Returns NULL (no buffer) when nothing at all was appended.
 */
static int expand_val(GrubInterp *in, const char *value, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        bool have = false, is_var = false;
        size_t len = 0, cap = 0;
        const char *start = value, *end = value;

        if (!value) {
                *ret = NULL;
                return 0;
        }

#define FIELD_APPEND()                                                                          \
        do {                                                                                    \
                size_t flen = (size_t) (end - start) + 1;                                       \
                _cleanup_free_ char *f = strndup(start, end >= start ? flen : 0);               \
                const char *field = f;                                                          \
                if (!f)                                                                         \
                        return -ENOMEM;                                                         \
                if (grub_interp_charge(in, flen) < 0)                                           \
                        return in->over_budget;                                                 \
                if (is_var)                                                                     \
                        field = grub_interp_get(in, f);                                       \
                if (field) {                                                                    \
                        size_t add = strlen(field) + (is_var ? 1 : 0);                          \
                        char *nb;                                                               \
                        if (len + add > GRUB_MAX_VALUE)                                         \
                                return -E2BIG;                                                  \
                        if (grub_interp_charge(in, add) < 0)                                    \
                                return in->over_budget;                                         \
                        if (len + add + 1 > cap) {                                              \
                                cap = MAX(2 * cap, len + add + 1);                              \
                                nb = realloc(buf, cap);                                         \
                                if (!nb)                                                        \
                                        return -ENOMEM;                                         \
                                buf = nb;                                                       \
                        }                                                                       \
                        memcpy(buf + len, field, strlen(field));                                \
                        len += strlen(field);                                                   \
                        if (is_var)                                                             \
                                buf[len++] = ' ';                                               \
                        buf[len] = '\0';                                                        \
                        have = true;                                                            \
                }                                                                               \
        } while (0)

        for (const char *v = value; *v; v++) {
                if (*v == '$') {
                        if (start != end)
                                FIELD_APPEND();
                        is_var = true;
                        start = v + 1;
                } else if (is_var && !((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') ||
                                       (*v >= '0' && *v <= '9') || *v == '_')) {
                        FIELD_APPEND();
                        is_var = false;
                        start = v;
                        if (*start == ' ')
                                start++;
                }
                end = v;
        }
        if (start != end)
                FIELD_APPEND();
#undef FIELD_APPEND

        *ret = have ? TAKE_PTR(buf) : NULL;
        return 0;
}

static int add_snippet_entry(GrubInterp *in, const GrubCmd *c, const char *dir, const BlsSnippet *s)
{
        _cleanup_free_ char *options = NULL, *src = NULL, *initrd = NULL, *file = NULL, *raw_file = NULL;
        _cleanup_free_ char **params = NULL;
        const char *linux_path, *title, *name = NULL, *v;
        const char *save_default = grub_interp_get(in, "save_default");
        const char *early = grub_interp_get(in, "early_initrd");
        GrubScript *body = NULL;
        KpError perr = {};
        size_t n_params = 1, n_args = 0;
        ssize_t last;
        int r;

        linux_path = snippet_get(s, "linux", NULL);
        if (!linux_path)
                return 0; /* blscfg skips it */
        title = snippet_get(s, "title", NULL) ?: linux_path;

        r = expand_val(in, snippet_get(s, "options", NULL), &options);
        if (r >= 0 && !options)
                r = expand_val(in, grub_interp_get(in, "default_kernelopts"), &options);
        if (r == -E2BIG) {
                _cleanup_free_ char *shown = kp_text_escape_short(s->id);
                return grub_interp_fail(in, r, c->line, "%s/%s.conf: options longer than %d bytes", dir,
                                        shown ?: "?", GRUB_MAX_VALUE);
        }
        if (r < 0)
                return r;

        /* initrd ($root)<early...> ($root)<initrd...>: early_initrd files sit next to the first initrd. */
        if (early || snippet_get(s, "initrd", NULL)) {
                _cleanup_free_ char *prefix = NULL;
                const char *first = snippet_get(s, "initrd", NULL) ?: linux_path, *slash = strrchr(first, '/');
                size_t len;
                FILE *f;

                prefix = strndup(first, slash ? (size_t) (slash - first) + 1 : 0);
                if (!prefix)
                        return -ENOMEM;
                f = open_memstream(&initrd, &len);
                if (!f)
                        return -ENOMEM;
                fputs("initrd", f);
                if (early) {
                        _cleanup_free_ char *copy = strdup(early);
                        if (!copy) {
                                fclose(f);
                                return -ENOMEM;
                        }
                        for (char *tok = copy, *sp; tok; tok = sp) {
                                sp = strchr(tok, ' ');
                                if (sp)
                                        *sp++ = '\0';
                                fprintf(f, " ($root)%s%s", prefix, tok);
                        }
                }
                last = -1;
                while ((v = snippet_get(s, "initrd", &last)))
                        fprintf(f, " ($root)%s", v);
                if (fclose(f) != 0)
                        return -ENOMEM;
        }

        if (asprintf(&src, "%sload_video\nset gfxpayload=keep\ninsmod gzio\nlinux ($root)%s%s%s\n%s%s",
                     save_default && streq(save_default, "true") ? "savedefault\n" : "", linux_path,
                     options ? " " : "", options ?: "", initrd ?: "", initrd ? "\n" : "") < 0)
                return -ENOMEM;
        /* The snippet's name is guest text: messages show it escaped. */
        if (asprintf(&raw_file, "%s/%s.conf", dir, s->id) < 0)
                return -ENOMEM;
        file = kp_text_escape(raw_file, strlen(raw_file), KP_BOOTCFG_MAX_PATH);
        if (!file)
                return -ENOMEM;

        r = grub_script_parse_budget(file, src, strlen(src), &in->budget, &perr, &body);
        if (r == -ENOMEM)
                return r;
        if (r == -E2BIG)
                return kp_error_set(in->error, r, "%s", perr.message);
        if (r < 0) {
                /* GRUB would only notice when booting it: the entry stays, loading nothing. */
                grub_interp_warn(in, c->line, "blscfg: %s", perr.message);
                body = NULL;
        }
        r = grub_interp_own(in, body, file, &name);
        if (r < 0)
                return r;

        /* $1 is the title, then each grub_arg. */
        last = -1;
        while (snippet_get(s, "grub_arg", &last))
                n_args++;
        params = calloc(n_args + 2, sizeof(char *));
        if (!params)
                return -ENOMEM;
        params[0] = (char *) title;
        last = -1;
        while ((v = snippet_get(s, "grub_arg", &last)))
                params[n_params++] = (char *) v;

        const char *saved_file = in->file;
        in->file = name;
        r = grub_interp_add_item(in, c->line, title, s->id, false, params, n_params, body);
        in->file = saved_file;
        if (r >= 0 && !body)
                in->menu->items[in->menu->n_items - 1].body = NULL;
        return r;
}

static void snippets_free(GrubInterp *in, BlsSnippet *snips, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                grub_interp_release(in, snips[i].bytes);
                snippet_done(&snips[i]);
        }
        free(snips);
}

/*
 * The snippets' directory as blscfg looks for it: $blsdir, else
 * /loader/entries (a separate /boot), else /boot/loader/entries. Returns
 * 1 with its listing, 0 when there is none (warned about).
 */
static int find_snippet_dir(GrubInterp *in, const GrubCmd *c, const char *cmd, char **ret_dir, char ***ret_names)
{
        const char *blsdir = grub_interp_get(in, "blsdir");
        const char *dirs[] = { blsdir ?: "/loader/entries", blsdir ? NULL : "/boot/loader/entries" };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(dirs) && dirs[i]; i++) {
                _cleanup_free_ char *d = strdup(dirs[i]);
                size_t l;

                if (!d)
                        return -ENOMEM;
                l = strlen(d);
                while (l > 1 && d[l - 1] == '/')
                        d[--l] = '\0';
                r = kp_boot_fs_list(in->reader, d, in->error, ret_names);
                if (r == -ENOENT || r == -ENOTDIR)
                        continue;
                if (r < 0)
                        return kp_error_prefix(in->error, r, "%s:%u: %s", in->file, c->line, cmd);
                *ret_dir = TAKE_PTR(d);
                return 1;
        }
        grub_interp_warn(in, c->line, "%s: no /loader/entries or /boot/loader/entries", cmd);
        return 0;
}

/* Reads dir/name as a snippet into ret: 1 when it is one, 0 when it is gone, < 0 on a fatal error. */
static int read_snippet(GrubInterp *in, const GrubCmd *c, const char *cmd, const char *dir, const char *name,
                        BlsSnippet *ret)
{
        _cleanup_free_ char *path = NULL, *data = NULL;
        BlsSnippet s = {};
        size_t len = strlen(name), size = 0, pos = 0;
        bool cut;
        int r;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        r = kp_boot_fs_read(in->reader, path, in->error, &data, &size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return kp_error_prefix(in->error, r, "%s:%u: %s", in->file, c->line, cmd);
        /* GRUB's line reader drops carriage returns. */
        for (size_t k = 0; k < size; k++)
                if (data[k] != '\r')
                        data[pos++] = data[k];
        size = pos;
        if (memchr(data, '\0', size)) {
                _cleanup_free_ char *shown = kp_text_escape_short(path);
                return grub_interp_fail(in, -EBADMSG, c->line, "%s: NUL byte in %s", cmd, shown ?: "?");
        }

        s.bytes = grub_alloc_cost(len - 4);
        r = grub_interp_hold(in, s.bytes);
        if (r < 0)
                return r;
        s.id = strndup(name, len - 5);
        if (!s.id) {
                grub_interp_release(in, s.bytes);
                return -ENOMEM;
        }
        /* The text is held while its keys are read out of it. */
        r = grub_interp_hold(in, grub_alloc_cost(size + 1));
        if (r >= 0) {
                r = snippet_parse(in, &s, data, size, &cut);
                grub_interp_release(in, grub_alloc_cost(size + 1));
        }
        if (r < 0) {
                grub_interp_release(in, s.bytes);
                snippet_done(&s);
                return r;
        }
        if (cut) {
                _cleanup_free_ char *shown = kp_text_escape_short(path);
                grub_interp_warn(in, c->line, "%s: %s: a line without a value ends the snippet, as in blscfg", cmd,
                                 shown ?: "?");
        }
        *ret = s;
        return 1;
}

/*
 * Puts s into snips, newest first (blscfg's order); a name that compares
 * equal to one already there is dropped, as blscfg does. Takes s either way.
 */
static int insert_snippet(GrubInterp *in, const GrubCmd *c, const char *cmd, BlsSnippet **snips_in,
                          size_t *n_snips, BlsSnippet *s)
{
        BlsSnippet *snips = *snips_in, *n;
        size_t pos;
        int k = 1;

        for (pos = 0; pos < *n_snips; pos++) {
                /* A thousand names each compared with all before it: charged as the bytes they hold. */
                if (grub_interp_charge(in, strlen(s->id) + strlen(snips[pos].id)) < 0) {
                        grub_interp_release(in, s->bytes);
                        snippet_done(s);
                        return in->over_budget;
                }
                k = kp_version_compare_nvr(s->id, snips[pos].id);
                if (k >= 0)
                        break;
        }
        if (pos < *n_snips && k == 0) {
                _cleanup_free_ char *shown = kp_text_escape_short(s->id);
                grub_interp_warn(in, c->line, "%s: snippet \"%s\" sorts equal to another one; dropped", cmd,
                                 shown ?: "?");
                grub_interp_release(in, s->bytes);
                snippet_done(s);
                return 0;
        }
        if (*n_snips >= BLS_MAX_SNIPPETS) {
                grub_interp_release(in, s->bytes);
                snippet_done(s);
                return grub_interp_fail(in, -E2BIG, c->line, "more than %d BLS snippets", BLS_MAX_SNIPPETS);
        }
        n = kp_grow(snips, *n_snips, sizeof(BlsSnippet));
        if (!n) {
                grub_interp_release(in, s->bytes);
                snippet_done(s);
                return -ENOMEM;
        }
        memmove(&n[pos + 1], &n[pos], (*n_snips - pos) * sizeof(BlsSnippet));
        n[pos] = *s;
        *s = (BlsSnippet) {};
        (*n_snips)++;
        *snips_in = n;
        return 0;
}

int grub_cmd_blscfg(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc)
{
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ char *dir = NULL;
        BlsSnippet *snips = NULL;
        size_t n_snips = 0;
        bool config_fs = false;
        KpDeviceSpec spec = {};
        int r;

        if (in->boot) {
                in->status = 0;
                return 0;
        }
        in->used_blscfg = true;
        if (argc > 1)
                grub_interp_warn(in, c->line, "%s: arguments ignored; every snippet is read", argv[0]);

        r = grub_interp_device_spec(in, grub_interp_get(in, "root") ?: "", &spec, &config_fs);
        kp_device_spec_done(&spec);
        if (r < 0)
                return r;
        if (!config_fs)
                grub_interp_warn(in, c->line, "%s reads $root, not known to be the configuration's filesystem; read there anyway",
                                 argv[0]);

        r = find_snippet_dir(in, c, argv[0], &dir, &names);
        if (r <= 0) {
                in->status = 1;
                return r;
        }

        STRV_FOREACH(name, names) {
                BlsSnippet s = {};
                size_t len = strlen(*name);

                if ((*name)[0] == '.' || len <= 5 || !streq(*name + len - 5, ".conf"))
                        continue;
                r = read_snippet(in, c, argv[0], dir, *name, &s);
                if (r > 0)
                        r = insert_snippet(in, c, argv[0], &snips, &n_snips, &s);
                if (r < 0)
                        goto finish;
        }

        for (size_t i = 0; i < n_snips; i++) {
                r = add_snippet_entry(in, c, dir, &snips[i]);
                if (r < 0)
                        goto finish;
        }
        r = 0;
        in->status = 0;
finish:
        snippets_free(in, snips, n_snips);
        return r;
}
