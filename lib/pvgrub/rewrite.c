/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "pvgrub/rewrite.h"
#include "util/error.h"
#include "util/grow.h"
#include "util/macro.h"

void kp_pvgrub_rewrite_done(KpPvgrubRewrite *r)
{
        for (size_t i = 0; i < r->n_conversions; i++) {
                free(r->conversions[i].source);
                free(r->conversions[i].target);
        }
        free(r->conversions);
        free(r->config);
        *r = (KpPvgrubRewrite) {};
}

bool kp_pvgrub_can_load(KpFormat format)
{
        return format == KP_FORMAT_ELF || format == KP_FORMAT_GZIP || format == KP_FORMAT_XZ ||
               format == KP_FORMAT_LZO;
}

/* A bzImage whose payload kunpack can unpack and pvgrub cannot: the entries to rewrite. */
static bool needs_conversion(const KpFileInfo *k)
{
        return k->path && k->have_info &&
               (k->format == KP_FORMAT_BZIP2 || k->format == KP_FORMAT_LZMA || k->format == KP_FORMAT_LZ4 ||
                k->format == KP_FORMAT_ZSTD);
}

int kp_pvgrub_target_path(const char *source, char **ret)
{
        const char *slash = strrchr(source, '/'), *name;
        char *t;

        if (!slash || !slash[1])
                return -EINVAL;
        name = slash + 1;
        if (startswith_lit(name, "vmlinuz")) {
                t = strdup(source);
                if (!t)
                        return -ENOMEM;
                t[(size_t) (name - source) + STRLEN("vmlinu")] = 'x';
        } else if (asprintf(&t, "%s.elf", source) < 0)
                return -ENOMEM;
        *ret = t;
        return 0;
}

bool kp_pvgrub_needs_rewrite(const KpBootPlan *plan)
{
        for (size_t i = 0; i < plan->n_entries; i++)
                if (needs_conversion(&plan->entries[i].kernel))
                        return true;
        return false;
}

typedef struct Edit {
        size_t offset;
        size_t length;
        char *replacement;
} Edit;

static int compare_edits(const void *a, const void *b)
{
        const Edit *x = a, *y = b;

        return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Byte offset of the start of 1-based line in data, or SIZE_MAX. */
static size_t line_offset(const char *data, size_t size, unsigned line)
{
        size_t off = 0;

        for (unsigned l = 1; l < line; l++) {
                const char *nl = memchr(data + off, '\n', size - off);
                if (!nl)
                        return SIZE_MAX;
                off = (size_t) (nl - data) + 1;
        }
        return off;
}

/*
 * The edit for one entry: the token at its span must be the kernel's name
 * as written, i.e. end in "/<file name>" (a "(hd0,1)" device or directory
 * before it stays).
 */
static int entry_edit(const KpBootEntry *e, const char *data, size_t size, const char *target,
                      KpError *error, Edit *ret)
{
        const char *name = strrchr(e->kernel.path, '/') + 1, *tname = strrchr(target, '/') + 1, *tok;
        size_t off, name_len = strlen(name);

        off = line_offset(data, size, e->kernel_span.line);
        if (off == SIZE_MAX || e->kernel_span.column > size - off ||
            e->kernel_span.length > size - off - e->kernel_span.column)
                return kp_error_set(error, -EBADMSG, "entry \"%s\": kernel name outside the configuration",
                                    e->title);
        off += e->kernel_span.column;
        tok = data + off;
        if (memchr(tok, '\n', e->kernel_span.length) || e->kernel_span.length <= name_len ||
            tok[e->kernel_span.length - name_len - 1] != '/' ||
            memcmp(tok + e->kernel_span.length - name_len, name, name_len) != 0)
                return kp_error_set(
                        error, -EBADMSG,
                        "entry \"%s\": the configuration does not name %s where its parser saw it", e->title,
                        e->kernel.path);

        *ret = (Edit) { .offset = off + e->kernel_span.length - name_len, .length = name_len };
        ret->replacement = strdup(tname);
        return ret->replacement ? 0 : -ENOMEM;
}

int kp_pvgrub_rewrite(const KpBootPlan *plan, const char *data, size_t size, KpError *error,
                      KpPvgrubRewrite *ret)
{
        _cleanup_(kp_pvgrub_rewrite_done) KpPvgrubRewrite rw = {};
        Edit *edits = NULL;
        size_t n_edits = 0, out_size = size, pos = 0;
        char *out;
        int r = 0;

        if (plan->kind != KP_BOOT_CONFIG_GRUB2 && plan->kind != KP_BOOT_CONFIG_GRUB_LEGACY)
                return kp_error_set(error, -EOPNOTSUPP, "a %s configuration is not pvgrub's to read",
                                    kp_boot_config_kind_to_string(plan->kind) ?: "?");

        edits = calloc(plan->n_entries, sizeof(Edit));
        if (plan->n_entries > 0 && !edits)
                return -ENOMEM;

        for (size_t i = 0; i < plan->n_entries && r >= 0; i++) {
                const KpBootEntry *e = &plan->entries[i];
                _cleanup_free_ char *target = NULL;
                bool known = false;

                if (!needs_conversion(&e->kernel))
                        continue;
                if (!e->kernel.device || !plan->config_device ||
                    !streq(e->kernel.device, plan->config_device)) {
                        r = kp_error_set(
                                error, -EXDEV,
                                "entry \"%s\": kernel %s is on %s, not on %s with the configuration",
                                e->title, e->kernel.path, e->kernel.device ?: "?",
                                plan->config_device ?: "?");
                        break;
                }
                if (e->kernel_span.line == 0) {
                        r = kp_error_set(error, -EOPNOTSUPP,
                                         "entry \"%s\": kernel %s is not named by a plain word of %s; "
                                         "cannot rewrite it",
                                         e->title, e->kernel.path, plan->config_path ?: "the configuration");
                        break;
                }
                r = kp_pvgrub_target_path(e->kernel.path, &target);
                if (r == -EINVAL)
                        /* "(hd0,1)vmlinuz" names no directory: there is nowhere beside it to put a copy. */
                        r = kp_error_set(error, r, "entry \"%s\": kernel \"%s\" is not a path to a file; "
                                         "cannot rewrite it", e->title ?: "", e->kernel.path);
                if (r < 0)
                        break;

                /* Several entries (a submenu's "Advanced options") name one kernel from different lines. */
                bool same_span = false;
                for (size_t j = 0; j < plan->n_entries && j < i; j++) {
                        const KpBootEntry *o = &plan->entries[j];
                        if (o->kernel_span.line == e->kernel_span.line &&
                            o->kernel_span.column == e->kernel_span.column && o->kernel_span.line != 0 &&
                            needs_conversion(&o->kernel))
                                same_span = true;
                }
                if (!same_span) {
                        r = entry_edit(e, data, size, target, error, &edits[n_edits]);
                        if (r < 0)
                                break;
                        n_edits++;
                }

                for (size_t j = 0; j < rw.n_conversions; j++)
                        known = known || streq(rw.conversions[j].source, e->kernel.path);
                if (!known) {
                        KpPvgrubConversion *c =
                                kp_grow(rw.conversions, rw.n_conversions, sizeof(*c));
                        if (!c) {
                                r = -ENOMEM;
                                break;
                        }
                        rw.conversions = c;
                        c = &rw.conversions[rw.n_conversions];
                        *c = (KpPvgrubConversion) {
                                .source = strdup(e->kernel.path),
                                .target = TAKE_PTR(target),
                                .format = e->kernel.format,
                                .size = e->kernel.size,
                        };
                        memcpy(c->sha256, e->kernel.sha256, sizeof(c->sha256));
                        rw.n_conversions++;
                        if (!c->source)
                                r = -ENOMEM;
                }
        }

        if (r >= 0) {
                qsort(edits, n_edits, sizeof(Edit), compare_edits);
                for (size_t i = 0; i < n_edits; i++) {
                        if (i > 0 && edits[i].offset < edits[i - 1].offset + edits[i - 1].length) {
                                r = kp_error_set(error, -EBADMSG,
                                                 "two kernel names overlap in the configuration");
                                break;
                        }
                        out_size = out_size - edits[i].length + strlen(edits[i].replacement);
                }
        }
        if (r >= 0) {
                out = malloc(out_size + 1);
                if (!out)
                        r = -ENOMEM;
                else {
                        size_t o = 0;

                        for (size_t i = 0; i < n_edits; i++) {
                                size_t rl = strlen(edits[i].replacement);

                                memcpy(out + o, data + pos, edits[i].offset - pos);
                                o += edits[i].offset - pos;
                                memcpy(out + o, edits[i].replacement, rl);
                                o += rl;
                                pos = edits[i].offset + edits[i].length;
                        }
                        memcpy(out + o, data + pos, size - pos);
                        o += size - pos;
                        out[o] = '\0';
                        rw.config = out;
                        rw.config_size = o;
                        rw.n_tokens = n_edits;
                }
        }

        for (size_t i = 0; i < n_edits; i++)
                free(edits[i].replacement);
        free(edits);
        if (r < 0)
                return r;
        *ret = rw;
        rw = (KpPvgrubRewrite) {};
        return 0;
}
