/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzzes pvgrub mode's rewrite of a guest's boot configuration
 * (lib/pvgrub/rewrite.c): what it computes is written into the guest.
 * The first byte picks GRUB 2 (even) or GRUB legacy (odd); the rest is the
 * configuration. It is parsed as the inspection parses it, every kernel
 * gets facts as the inspection would give them (on the configuration's
 * filesystem; LZ4, zstd or gzip by its name), and it is rewritten. Then:
 *
 *  - a refusal says why and leaves nothing behind;
 *  - only kernel names change: the result is the input with the file name
 *    at the end of each converted entry's recorded token replaced, and
 *    nothing else (checked against a splice of the input made here);
 *  - GRUB reads the result as the same menu: as many entries, the same
 *    one selected, the same titles, command lines and initrds, each
 *    converted kernel now its copy's name and every other kernel as it was;
 *  - a second run over the result has nothing left to convert.
 */
#include <stdlib.h>
#include <string.h>

#include "bootcfg/bootplan.h"
#include "pvgrub/rewrite.h"
#include "util/error.h"
#include "util/macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A filesystem holding nothing but the configuration: no grubenv, no sourced file, an empty /boot. */
static int no_file(void *userdata, const char *path, size_t max, char **ret_data, size_t *ret_size)
{
        return -ENOENT;
}

static int no_names(void *userdata, const char *path, char ***ret_names)
{
        *ret_names = calloc(1, sizeof(char *));
        return *ret_names ? 0 : -ENOMEM;
}

static bool is_copy_name(const char *path)
{
        const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        size_t n = strlen(name);

        return strncmp(name, "vmlinux", 7) == 0 || (n >= 4 && streq(name + n - 4, ".elf"));
}

/* The format the inspection "found": by the path's bytes, so one path has one format; copies are ELFs. */
static KpFormat format_of(const char *path)
{
        unsigned h = 0;

        if (is_copy_name(path))
                return KP_FORMAT_ELF;
        for (const char *p = path; *p; p++)
                h = h * 31 + (unsigned char) *p;
        return h % 3 == 0 ? KP_FORMAT_LZ4 : h % 3 == 1 ? KP_FORMAT_ZSTD : KP_FORMAT_GZIP;
}

static bool converts(const KpFileInfo *k)
{
        return k->path && k->have_info && (k->format == KP_FORMAT_LZ4 || k->format == KP_FORMAT_ZSTD);
}

static void add_facts(KpBootPlan *plan)
{
        free(plan->config_device);
        plan->config_device = strdup("/dev/sda1");
        if (!plan->config_device)
                abort();
        for (size_t i = 0; i < plan->n_entries; i++) {
                KpFileInfo *k = &plan->entries[i].kernel;

                if (!k->path)
                        continue;
                free(k->device);
                k->device = strdup("/dev/sda1");
                if (!k->device)
                        abort();
                k->have_info = true;
                k->format = format_of(k->path);
                memset(k->sha256, 'a', 64);
                k->sha256[64] = '\0';
        }
}

static int parse(KpBootConfigKind kind, const char *text, size_t size, KpBootPlan **ret)
{
        KpBootFs fs = { .read_file = no_file, .list_dir = no_names };
        const char *path = kind == KP_BOOT_CONFIG_GRUB2 ? "/boot/grub/grub.cfg" : "/boot/grub/menu.lst";
        KpError e = {};

        return kp_boot_config_parse(kind, path, text, size, &fs, &e, ret);
}

typedef struct Edit {
        size_t offset;  /* of the file name in the text */
        size_t length;  /* of the file name */
} Edit;

static int cmp_edit(const void *a, const void *b)
{
        const Edit *x = a, *y = b;

        return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Where the file name of entry e's kernel token starts in text. */
static size_t name_offset(const KpBootEntry *e, const char *text, size_t size, size_t name_len)
{
        size_t off = 0;

        for (unsigned l = 1; l < e->kernel_span.line; l++) {
                const char *nl = memchr(text + off, '\n', size - off);
                if (!nl)
                        abort();
                off = (size_t) (nl - text) + 1;
        }
        return off + e->kernel_span.column + e->kernel_span.length - name_len;
}

/*
 * The input with each converted kernel's file name replaced at the end of
 * its token ("vmlinuz..." becomes "vmlinux...", any other name gets ".elf"):
 * what the rewrite must give, made the simplest way.
 */
static char *splice(const KpBootPlan *plan, const char *text, size_t size, size_t *ret_size)
{
        Edit *edits = calloc(plan->n_entries + 1, sizeof(Edit));
        size_t n = 0, pos = 0, o = 0;
        char *out;

        if (!edits)
                abort();
        for (size_t i = 0; i < plan->n_entries; i++) {
                const KpBootEntry *e = &plan->entries[i];
                Edit x;
                bool seen = false;

                if (!converts(&e->kernel))
                        continue;
                if (e->kernel_span.line == 0)
                        abort(); /* the rewrite accepted a kernel whose name is not a literal */
                x.length = strlen(strrchr(e->kernel.path, '/') + 1);
                x.offset = name_offset(e, text, size, x.length);
                if (x.offset + x.length > size || memcmp(text + x.offset, strrchr(e->kernel.path, '/') + 1, x.length))
                        abort(); /* the rewrite accepted a token that does not end in the kernel's name */
                for (size_t j = 0; j < n; j++)
                        seen = seen || edits[j].offset == x.offset;
                if (!seen)
                        edits[n++] = x;
        }
        qsort(edits, n, sizeof(Edit), cmp_edit);
        out = malloc(size + 4 * n + 1);
        if (!out)
                abort();
        for (size_t i = 0; i < n; i++) {
                const char *name = text + edits[i].offset;

                if (edits[i].offset < pos)
                        abort(); /* overlapping names: the rewrite refuses those */
                memcpy(out + o, text + pos, edits[i].offset - pos);
                o += edits[i].offset - pos;
                memcpy(out + o, name, edits[i].length);
                if (strncmp(name, "vmlinuz", 7) == 0 && edits[i].length >= 7)
                        out[o + 6] = 'x';
                else {
                        memcpy(out + o + edits[i].length, ".elf", 4);
                        o += 4;
                }
                o += edits[i].length;
                pos = edits[i].offset + edits[i].length;
        }
        memcpy(out + o, text + pos, size - pos);
        o += size - pos;
        out[o] = '\0';
        free(edits);
        *ret_size = o;
        return out;
}

static void check_same_menu(const KpBootPlan *a, const KpBootPlan *b)
{
        if (a->n_entries != b->n_entries || a->selected != b->selected)
                abort();
        for (size_t i = 0; i < a->n_entries; i++) {
                const KpBootEntry *x = &a->entries[i], *y = &b->entries[i];
                _cleanup_free_ char *target = NULL;

                if (!streq_ptr(x->title, y->title) || !streq_ptr(x->cmdline, y->cmdline) ||
                    x->n_initrds != y->n_initrds)
                        abort();
                for (size_t j = 0; j < x->n_initrds; j++)
                        if (!streq_ptr(x->initrds[j].path, y->initrds[j].path))
                                abort();
                if (!converts(&x->kernel)) {
                        if (!streq_ptr(x->kernel.path, y->kernel.path))
                                abort();
                        continue;
                }
                if (kp_pvgrub_target_path(x->kernel.path, &target) < 0 || !streq_ptr(target, y->kernel.path))
                        abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        KpBootConfigKind kind;
        KpBootPlan *plan = NULL, *again = NULL;
        KpPvgrubRewrite rw = {}, rw2 = {};
        _cleanup_free_ char *text = NULL, *want = NULL;
        size_t want_size;
        KpError e = {};
        int r;

        if (size < 1 || size > 256 * 1024)
                return 0;
        kind = data[0] % 2 == 0 ? KP_BOOT_CONFIG_GRUB2 : KP_BOOT_CONFIG_GRUB_LEGACY;
        text = malloc(size);
        if (!text)
                return 0;
        memcpy(text, data + 1, size - 1);
        text[size - 1] = '\0';
        size--;

        if (parse(kind, text, size, &plan) < 0)
                return 0;
        add_facts(plan);
        r = kp_pvgrub_rewrite(plan, text, size, &e, &rw);
        if (r < 0) {
                if (!e.message[0] || rw.config || rw.conversions)
                        abort();
                goto finish;
        }
        if (!rw.config || rw.n_tokens > plan->n_entries || rw.n_conversions > plan->n_entries)
                abort();

        /* Only kernel names change, exactly where their tokens are. */
        want = splice(plan, text, size, &want_size);
        if (rw.config_size != want_size || memcmp(rw.config, want, want_size) != 0)
                abort();

        /* GRUB reads the same menu with the copies' names, unless the longer text passes a budget. */
        r = parse(kind, rw.config, rw.config_size, &again);
        if (r == -E2BIG || r == -EFBIG)
                goto finish;
        if (r < 0)
                abort();
        check_same_menu(plan, again);

        /* Nothing is left to convert: a second run changes no byte. */
        add_facts(again);
        if (kp_pvgrub_needs_rewrite(again))
                abort();
        if (kp_pvgrub_rewrite(again, rw.config, rw.config_size, &e, &rw2) < 0 || rw2.n_tokens != 0 ||
            rw2.config_size != rw.config_size || memcmp(rw2.config, rw.config, rw.config_size) != 0)
                abort();

finish:
        kp_pvgrub_rewrite_done(&rw);
        kp_pvgrub_rewrite_done(&rw2);
        kp_boot_plan_free(plan);
        kp_boot_plan_free(again);
        return 0;
}
