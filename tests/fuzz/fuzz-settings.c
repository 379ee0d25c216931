/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Differential fuzzer: kunpack.conf's own reader (lib/settings/xlcfg.c and
 * settings.c) against libxlutil (settings-xlutil.c), on the same bytes.
 * It aborts when one accepts what the other refuses, when their refusals
 * differ in a byte (line and libxlutil's wording included), or when an
 * accepted text gives different values, lines or names.
 *
 * Two levels are compared: the reader against libxlutil itself (every name,
 * its value as libxlutil joins "+=" statements, its line, its value as a
 * number), and the whole settings against the loader that read them with
 * libxlutil before (every field of KpSettings, or the message).
 */
#include <stdio.h>
#include <string.h>

#include "util/error.h"
#include "util/strv.h"
#include "settings/settings.h"
#include "settings/xlcfg.h"
#include "settings-xlutil.h"

#define SOURCE "/etc/kunpack/kunpack.conf"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

_noreturn_ static void differ(const char *what, const char *ours, const char *theirs)
{
        fprintf(stderr, "fuzz-settings: %s differ\n  reader:    %s\n  libxlutil: %s\n", what, ours, theirs);
        abort();
}

static void check_int(const char *what, long long ours, long long theirs)
{
        char a[32], b[32];

        if (ours == theirs)
                return;
        (void) snprintf(a, sizeof(a), "%lld", ours);
        (void) snprintf(b, sizeof(b), "%lld", theirs);
        differ(what, a, b);
}

static void check_str(const char *what, const char *ours, const char *theirs)
{
        if (!streq_ptr(ours, theirs))
                differ(what, ours ? ours : "(null)", theirs ? theirs : "(null)");
}

/*
 * What libxlutil answers for the last statement named like statement i: the
 * statements of that name joined by "+=" as libxlutil joins them.
 */
static void check_name(const KpXlcfg *x, size_t last, RefXlcfg *ref)
{
        const KpXlcfgStatement *st = &x->statements[last];
        _cleanup_free_ char *string = NULL;
        _cleanup_free_ const char **items = NULL;
        _cleanup_free_ const char **ref_items = NULL;
        size_t n_items = 0;
        RefValue v;
        long l = 0;
        int r;

        r = ref_xlcfg_lookup(ref, st->name, &v);
        if (r < 0)
                differ("names", st->name, "(no such statement)");
        ref_items = v.items;

        for (size_t i = 0; i <= last; i++) {
                const KpXlcfgStatement *s = &x->statements[i];

                if (!streq(s->name, st->name))
                        continue;
                if (!s->append) {
                        string = mfree(string);
                        n_items = 0;
                }
                if (s->is_list) {
                        const char **grown = reallocarray(items, n_items + s->n_items + 1, sizeof(char *));
                        if (!grown)
                                abort();
                        items = grown;
                        memcpy(items + n_items, s->items, s->n_items * sizeof(char *));
                        n_items += s->n_items;
                } else {
                        char *joined = NULL;
                        if (asprintf(&joined, "%s%s", string ? string : "", s->string) < 0)
                                abort();
                        free(string);
                        string = joined;
                }
        }

        check_int("type of a value", st->is_list, v.is_list);
        check_int("line of a statement", st->line, v.line);
        if (st->is_list) {
                check_int("number of items", (long long) n_items, (long long) v.n_items);
                for (size_t i = 0; i < n_items; i++)
                        check_str("item", items[i], v.items[i]);
        } else
                check_str("string", string, v.string);

        r = kp_xlcfg_statement_long(st, &l);
        check_int("number or not", r < 0 ? -r : 0, v.long_error);
        if (r == 0)
                check_int("number", l, v.long_value);
}

static void check_reader(const uint8_t *data, size_t size)
{
        _cleanup_(kp_xlcfg_freep) KpXlcfg *x = NULL;
        _cleanup_(ref_xlcfg_freep) RefXlcfg *ref = NULL;
        _cleanup_free_ ConfigKey *keys = NULL;
        KpError ours = {}, theirs = {};
        size_t n_keys = 0, n_expected;
        int r, ref_r;

        r = kp_xlcfg_parse(SOURCE, (const char *) data, size, &ours, &x);
        ref_r = ref_xlcfg_parse(SOURCE, (const char *) data, size, &theirs, &ref);
        if (r == -ENOMEM || ref_r == -ENOMEM)
                return;
        if ((r < 0) != (ref_r < 0))
                differ("verdicts", r < 0 ? ours.message : "accepted",
                       ref_r < 0 ? theirs.message : "accepted");
        if (r < 0) {
                check_str("refusals", ours.message, theirs.message);
                return;
        }

        for (size_t i = 0; i < x->n_statements; i++) {
                bool last = true;
                for (size_t j = i + 1; j < x->n_statements && last; j++)
                        last = !streq(x->statements[i].name, x->statements[j].name);
                if (last)
                        check_name(x, i, ref);
        }

        /*
         * libxlutil cannot list its statements; the old loader's scan of the
         * text can for a text libxlutil accepts, and finds a name where the
         * stray last byte is a capital letter or "_" at a statement's start.
         */
        if (ref_scan_keys((const char *) data, size, &keys, &n_keys) < 0)
                abort();
        n_expected = x->n_statements + (x->stray_at_statement_start &&
                                        ((x->stray >= 'A' && x->stray <= 'Z') || x->stray == '_'));
        check_int("number of statements", (long long) n_expected, (long long) n_keys);
        for (size_t i = 0; i < x->n_statements; i++) {
                if (strncmp(x->statements[i].name, keys[i].name, sizeof(keys[i].name) - 1) != 0)
                        differ("names", x->statements[i].name, keys[i].name);
                check_int("line of a statement", x->statements[i].line, keys[i].line);
        }
        if (n_keys > x->n_statements) {
                char stray[2] = {x->stray, '\0'};
                check_str("stray name", stray, keys[n_keys - 1].name);
                check_int("line of the stray name", x->stray_line, keys[n_keys - 1].line);
        }
}

static void check_settings(const uint8_t *data, size_t size)
{
        _cleanup_(kp_settings_freep) KpSettings *a = NULL, *b = NULL;
        KpError ours = {}, theirs = {};
        int r, ref_r;

        r = kp_settings_parse(SOURCE, (const char *) data, size, &ours, &a);
        ref_r = ref_settings_parse(SOURCE, (const char *) data, size, &theirs, &b);
        if (r == -ENOMEM || ref_r == -ENOMEM)
                return;
        check_int("settings verdicts", r, ref_r);
        if (r < 0) {
                check_str("settings refusals", ours.message, theirs.message);
                return;
        }

        check_str("path", a->path, b->path);
        check_str("cache_dir", a->cache_dir, b->cache_dir);
        check_str("state_dir", a->state_dir, b->state_dir);
        check_str("socket_path", a->socket_path, b->socket_path);
        check_str("pvgrub_path", a->pvgrub_path, b->pvgrub_path);
        check_str("metrics_textfile", a->metrics_textfile, b->metrics_textfile);
        check_int("on_failure", a->on_failure, b->on_failure);
        check_int("max_kernel_size", (long long) a->max_kernel_size, (long long) b->max_kernel_size);
        check_int("cache_max_size", (long long) a->cache_max_size, (long long) b->cache_max_size);
        check_int("cache_max_age", (long long) a->cache_max_age, (long long) b->cache_max_age);
        check_int("cache_min_free", (long long) a->cache_min_free, (long long) b->cache_min_free);
        check_int("cache_max_guest_size", (long long) a->cache_max_guest_size,
                  (long long) b->cache_max_guest_size);
        check_int("boot_timeout", (long long) a->boot_timeout, (long long) b->boot_timeout);
        check_int("scan_interval", (long long) a->scan_interval, (long long) b->scan_interval);
        check_int("startup_scan_timeout", (long long) a->startup_scan_timeout, (long long) b->startup_scan_timeout);
        check_int("scan_concurrency", a->scan_concurrency, b->scan_concurrency);
        check_int("drives_per_appliance", a->obsolete_drives_per_appliance, b->obsolete_drives_per_appliance);
        check_int("appliance_memsize", (long long) a->appliance_memsize, (long long) b->appliance_memsize);
        check_int("appliance_pool", a->appliance_pool, b->appliance_pool);
        check_int("pool_max_age", (long long) a->pool_max_age, (long long) b->pool_max_age);
        check_int("notes", (long long) strv_length(a->notes), (long long) strv_length(b->notes));
        for (size_t i = 0; a->notes && i < strv_length(a->notes); i++)
                if (!streq(a->notes[i], b->notes[i]))
                        check_int("a note", 0, 1);
        check_int("domain_config_dirs", (long long) strv_length(a->domain_config_dirs),
                  (long long) strv_length(b->domain_config_dirs));
        for (size_t i = 0; a->domain_config_dirs[i]; i++)
                check_str("domain_config_dirs", a->domain_config_dirs[i], b->domain_config_dirs[i]);
        check_int("trust_foreign_plans", a->trust_foreign_plans, b->trust_foreign_plans);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size > KP_XLCFG_MAX_SIZE)
                return 0;
        /* A NUL is refused before either reader sees the text; libxlutil would stop a string there. */
        if (!memchr(data, '\0', size))
                check_reader(data, size);
        check_settings(data, size);
        return 0;
}
