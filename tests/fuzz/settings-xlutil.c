/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kunpack.conf read with libxlutil, as lib/settings/settings.c read it
 * before it had a reader of its own (lib/settings/xlcfg.c): the reference
 * that tests/fuzz/fuzz-settings.c and tests/unit/settings hold the reader
 * to. This file and the tests are all that link libxlutil for it.
 *
 * The loader below is the old settings.c, kept as it was: libxlutil for
 * the syntax and the values, and a scan of the text for the names and
 * lines of the statements, which libxlutil cannot list.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <libxlutil.h>

#include "util/error.h"
#include "util/strv.h"
#include "settings-xlutil.h"

/*
 * libxlutil leaks the values of statements it drops while recovering from a
 * syntax error (xlu__cfg_string_mk(), xlu__cfgl_dequote()): not ours to fix,
 * so LeakSanitizer is told to ignore what it allocates, in the fuzzer and in
 * the unit tests alike.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
        return "leak:libxlutil.so\n";
}

/* libxl kills a restricted bootloader after 120 s (libxl_bootloader.c); answer before that. */
#define LIBXL_BOOTLOADER_LIMIT 120

/* libguestfs attaches drives through virtio-scsi; keep well inside its limits. */
#define MAX_DRIVES_PER_APPLIANCE 64
#define MAX_SCAN_CONCURRENCY 64
/* A pooled appliance younger than its own launch (10-20 s under emulation) is not worth replacing. */
#define MIN_POOL_MAX_AGE 10
#define MIN_APPLIANCE_MEMSIZE MiB(256)
#define MAX_APPLIANCE_MEMSIZE GiB(8)
#define MIN_CACHE_MAX_GUEST_SIZE MiB(16)
#define MAX_STARTUP_SCAN_TIMEOUT 3600

int ref_scan_keys(const char *text, size_t size, ConfigKey **ret_keys, size_t *ret_n)
{
        _cleanup_free_ ConfigKey *keys = NULL;
        size_t n = 0, i = 0;
        unsigned line = 1, depth = 0;
        bool at_start = true;

        while (i < size) {
                char c = text[i];

                if (c == '\n') {
                        line++;
                        if (depth == 0)
                                at_start = true;
                        i++;
                } else if (c == '#') {
                        while (i < size && text[i] != '\n')
                                i++;
                } else if (c == '"' || c == '\'') {
                        char q = c;
                        for (i++; i < size && text[i] != q; i++) {
                                if (text[i] == '\\' && i + 1 < size)
                                        i++;
                                if (text[i] == '\n')
                                        line++;
                        }
                        i++;
                        at_start = false;
                } else if (c == '[') {
                        depth++;
                        i++;
                } else if (c == ']') {
                        if (depth > 0)
                                depth--;
                        i++;
                } else if (c == ';' && depth == 0) {
                        at_start = true;
                        i++;
                } else if (at_start && (isalpha((unsigned char) c) || c == '_')) {
                        size_t start = i;
                        ConfigKey *k;

                        while (i < size && (isalnum((unsigned char) text[i]) || text[i] == '_' || text[i] == '.'))
                                i++;
                        k = reallocarray(keys, n + 1, sizeof(ConfigKey));
                        if (!k)
                                return -ENOMEM;
                        keys = k;
                        (void) snprintf(keys[n].name, sizeof(keys[n].name), "%.*s", (int) MIN(i - start, (size_t) 63),
                                        text + start);
                        keys[n].line = line;
                        n++;
                        at_start = false;
                } else {
                        if (!isspace((unsigned char) c))
                                at_start = false;
                        i++;
                }
        }

        *ret_keys = TAKE_PTR(keys);
        *ret_n = n;
        return 0;
}

typedef enum KeyType {
        KEY_PATH,
        KEY_SIZE,
        KEY_DURATION,
        KEY_COUNT,
        KEY_COUNT0,
        KEY_OBSOLETE_COUNT,
        KEY_BOOL,
        KEY_ON_FAILURE,
        KEY_PATH_LIST,
} KeyType;

typedef struct KeyDef {
        const char *name;
        KeyType type;
        size_t offset;
} KeyDef;

static const KeyDef key_defs[] = {
        { "cache_dir", KEY_PATH, offsetof(KpSettings, cache_dir) },
        { "state_dir", KEY_PATH, offsetof(KpSettings, state_dir) },
        { "socket_path", KEY_PATH, offsetof(KpSettings, socket_path) },
        { "pvgrub_path", KEY_PATH, offsetof(KpSettings, pvgrub_path) },
        { "on_failure", KEY_ON_FAILURE, offsetof(KpSettings, on_failure) },
        { "max_kernel_size", KEY_SIZE, offsetof(KpSettings, max_kernel_size) },
        { "cache_max_size", KEY_SIZE, offsetof(KpSettings, cache_max_size) },
        { "cache_max_age", KEY_DURATION, offsetof(KpSettings, cache_max_age) },
        { "cache_min_free", KEY_SIZE, offsetof(KpSettings, cache_min_free) },
        { "cache_max_guest_size", KEY_SIZE, offsetof(KpSettings, cache_max_guest_size) },
        { "boot_timeout", KEY_DURATION, offsetof(KpSettings, boot_timeout) },
        { "scan_interval", KEY_DURATION, offsetof(KpSettings, scan_interval) },
        { "startup_scan_timeout", KEY_DURATION, offsetof(KpSettings, startup_scan_timeout) },
        { "scan_concurrency", KEY_COUNT, offsetof(KpSettings, scan_concurrency) },
        { "drives_per_appliance", KEY_OBSOLETE_COUNT, offsetof(KpSettings, obsolete_drives_per_appliance) },
        { "appliance_memsize", KEY_SIZE, offsetof(KpSettings, appliance_memsize) },
        { "appliance_pool", KEY_COUNT0, offsetof(KpSettings, appliance_pool) },
        { "pool_max_age", KEY_DURATION, offsetof(KpSettings, pool_max_age) },
        { "domain_config_dirs", KEY_PATH_LIST, offsetof(KpSettings, domain_config_dirs) },
        { "trust_foreign_plans", KEY_BOOL, offsetof(KpSettings, trust_foreign_plans) },
        { "metrics_textfile", KEY_PATH, offsetof(KpSettings, metrics_textfile) },
};

static const KeyDef *find_key(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(key_defs); i++)
                if (streq(key_defs[i].name, name))
                        return &key_defs[i];
        return NULL;
}

/* "4G", "512M", "65536", "64K": bytes. Suffixes are powers of 1024, as xl's own. */
static int parse_size(const char *s, uint64_t *ret)
{
        unsigned long long v;
        char *end;
        uint64_t mult = 1;

        if (!*s || !isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0)
                return -ERANGE;
        if (*end) {
                switch (toupper((unsigned char) *end)) {
                case 'K': mult = KiB(1); break;
                case 'M': mult = MiB(1); break;
                case 'G': mult = GiB(1); break;
                case 'T': mult = GiB(1024); break;
                default: return -EINVAL;
                }
                end++;
                if (toupper((unsigned char) *end) == 'I')
                        end++;
                if (toupper((unsigned char) *end) == 'B')
                        end++;
                if (*end)
                        return -EINVAL;
        }
        if (MUL_OVERFLOW((uint64_t) v, mult, ret))
                return -ERANGE;
        return 0;
}

/* "100", "90s", "15m", "6h", "30d": seconds. */
static int parse_duration(const char *s, uint64_t *ret)
{
        unsigned long long v;
        char *end;
        uint64_t mult = 1;

        if (!*s || !isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0)
                return -ERANGE;
        if (*end) {
                switch (*end) {
                case 's': mult = 1; break;
                case 'm': mult = 60; break;
                case 'h': mult = 3600; break;
                case 'd': mult = 24 * 3600; break;
                default: return -EINVAL;
                }
                if (end[1])
                        return -EINVAL;
        }
        if (MUL_OVERFLOW((uint64_t) v, mult, ret))
                return -ERANGE;
        return 0;
}

static int path_ok(const char *p)
{
        if (!p || p[0] != '/' || strlen(p) >= 4096)
                return -EINVAL;
        for (const char *c = p; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        return -EINVAL;
        return 0;
}

/* Reads one value with libxlutil into the KpSettings field it belongs to. */
static int apply_key(KpSettings *c, XLU_Config *x, const KeyDef *def, const char *file, unsigned line,
                     KpError *error)
{
        void *field = (uint8_t *) c + def->offset;
        const char *s = NULL;
        long l;
        int r;

        switch (def->type) {
        case KEY_PATH:
                if (xlu_cfg_get_string(x, def->name, &s, 1) != 0)
                        return kp_error_set(error, -EINVAL, "%s:%u: %s must be a quoted path", file, line, def->name);
                if (path_ok(s) < 0)
                        return kp_error_set(error, -EINVAL, "%s:%u: %s must be an absolute path, not \"%s\"", file,
                                            line, def->name, s);
                free(*(char **) field);
                *(char **) field = strdup(s);
                return *(char **) field ? 0 : -ENOMEM;

        case KEY_ON_FAILURE:
                if (xlu_cfg_get_string(x, def->name, &s, 1) != 0 ||
                    (!streq(s, "pvgrub") && !streq(s, "fail") && !streq(s, "last-good")))
                        return kp_error_set(error, -EINVAL,
                                            "%s:%u: on_failure must be \"pvgrub\", \"fail\" or \"last-good\"%s%s%s", file,
                                            line, s ? ", not \"" : "", s ? s : "", s ? "\"" : "");
                *(KpOnFailure *) field = streq(s, "fail")        ? KP_ON_FAILURE_FAIL
                                         : streq(s, "last-good") ? KP_ON_FAILURE_LAST_GOOD
                                                                 : KP_ON_FAILURE_PVGRUB;
                return 0;

        case KEY_SIZE:
        case KEY_DURATION: {
                uint64_t v;
                char buf[32];

                if (xlu_cfg_get_long(x, def->name, &l, 1) == 0) {
                        if (l < 0)
                                return kp_error_set(error, -ERANGE, "%s:%u: %s must not be negative", file, line,
                                                    def->name);
                        (void) snprintf(buf, sizeof(buf), "%ld", l);
                        s = buf;
                } else if (xlu_cfg_get_string(x, def->name, &s, 1) != 0)
                        return kp_error_set(error, -EINVAL, "%s:%u: %s must be a number or a string", file, line,
                                            def->name);
                r = def->type == KEY_SIZE ? parse_size(s, &v) : parse_duration(s, &v);
                if (r < 0)
                        return kp_error_set(error, r, "%s:%u: %s: \"%s\" is not a %s", file, line, def->name, s,
                                            def->type == KEY_SIZE ? "size (bytes, or with K, M, G)"
                                                                  : "duration (seconds, or with s, m, h, d)");
                *(uint64_t *) field = v;
                return 0;
        }

        case KEY_COUNT:
        case KEY_OBSOLETE_COUNT:
                if (xlu_cfg_get_long(x, def->name, &l, 1) != 0 || l < 1 || l > UINT16_MAX)
                        return kp_error_set(error, -EINVAL, "%s:%u: %s must be a whole number from 1", file, line,
                                            def->name);
                *(unsigned *) field = (unsigned) l;
                if (def->type == KEY_OBSOLETE_COUNT && kp_strv_extendf(&c->notes,
                                "%s:%u: %s has no effect any more: each guest is scanned in an appliance of its "
                                "own (docs/isolation.md)", file, line, def->name) < 0)
                        return -ENOMEM;
                return 0;

        case KEY_COUNT0:
                if (xlu_cfg_get_long(x, def->name, &l, 1) != 0 || l < 0 || l > UINT16_MAX)
                        return kp_error_set(error, -EINVAL, "%s:%u: %s must be a whole number from 0", file, line,
                                            def->name);
                *(unsigned *) field = (unsigned) l;
                return 0;

        case KEY_BOOL:
                if (xlu_cfg_get_long(x, def->name, &l, 1) != 0 || (l != 0 && l != 1))
                        return kp_error_set(error, -EINVAL, "%s:%u: %s must be 0 or 1", file, line, def->name);
                *(bool *) field = l == 1;
                return 0;

        case KEY_PATH_LIST: {
                _cleanup_strv_free_ char **list = NULL;
                XLU_ConfigList *xl = NULL;
                int n = 0;

                if (xlu_cfg_get_list(x, def->name, &xl, &n, 1) != 0)
                        return kp_error_set(error, -EINVAL, "%s:%u: %s must be a list of quoted paths", file, line,
                                            def->name);
                list = calloc(1, sizeof(char *));
                if (!list)
                        return -ENOMEM;
                for (int i = 0; i < n; i++) {
                        const char *item = xlu_cfg_get_listitem(xl, i);
                        if (path_ok(item) < 0)
                                return kp_error_set(error, -EINVAL, "%s:%u: %s: \"%s\" is not an absolute path", file,
                                                    line, def->name, item ? item : "");
                        if (strv_extend(&list, item) < 0)
                                return -ENOMEM;
                }
                strv_free(*(char ***) field);
                *(char ***) field = TAKE_PTR(list);
                return 0;
        }
        }
        return -EINVAL;
}

static int check_consistency(const KpSettings *c, KpError *error)
{
        const char *f = c->path;

        if (c->max_kernel_size == 0 || c->max_kernel_size > KP_MAX_OUTPUT_DEFAULT)
                return kp_error_set(error, -ERANGE,
                                    "%s: max_kernel_size must be between 1 and %" PRIu64
                                    " bytes (Xen's own limit for a decompressed kernel)",
                                    f, KP_MAX_OUTPUT_DEFAULT);
        if (c->boot_timeout == 0 || c->boot_timeout >= LIBXL_BOOTLOADER_LIMIT)
                return kp_error_set(error, -ERANGE,
                                    "%s: boot_timeout must be between 1 and %u seconds (libxl stops a bootloader "
                                    "after %u s)",
                                    f, LIBXL_BOOTLOADER_LIMIT - 1, LIBXL_BOOTLOADER_LIMIT);
        if (c->obsolete_drives_per_appliance > MAX_DRIVES_PER_APPLIANCE)
                return kp_error_set(error, -ERANGE, "%s: drives_per_appliance must be at most %u", f,
                                    MAX_DRIVES_PER_APPLIANCE);
        if (c->appliance_memsize < MIN_APPLIANCE_MEMSIZE || c->appliance_memsize > MAX_APPLIANCE_MEMSIZE ||
            c->appliance_memsize % MiB(1) != 0)
                return kp_error_set(error, -ERANGE,
                                    "%s: appliance_memsize must be whole MiB from 256M to 8G (libguestfs needs at "
                                    "least 256 MiB)",
                                    f);
        if (c->scan_concurrency > MAX_SCAN_CONCURRENCY)
                return kp_error_set(error, -ERANGE, "%s: scan_concurrency must be at most %u", f,
                                    MAX_SCAN_CONCURRENCY);
        if (c->scan_interval < 60)
                return kp_error_set(error, -ERANGE, "%s: scan_interval must be at least 60 seconds", f);
        if (c->startup_scan_timeout > MAX_STARTUP_SCAN_TIMEOUT)
                return kp_error_set(error, -ERANGE, "%s: startup_scan_timeout must be at most %u seconds", f,
                                    MAX_STARTUP_SCAN_TIMEOUT);
        if (c->appliance_pool > KP_APPLIANCE_POOL_MAX)
                return kp_error_set(error, -ERANGE, "%s: appliance_pool must be at most %u", f, KP_APPLIANCE_POOL_MAX);
        if (c->pool_max_age < MIN_POOL_MAX_AGE)
                return kp_error_set(error, -ERANGE, "%s: pool_max_age must be at least %u seconds", f,
                                    MIN_POOL_MAX_AGE);
        if (c->cache_max_guest_size < MIN_CACHE_MAX_GUEST_SIZE)
                return kp_error_set(error, -ERANGE,
                                    "%s: cache_max_guest_size must be at least 16M (one kernel takes more)", f);
        return 0;
}

int ref_settings_parse(const char *path, const char *text, size_t size, KpError *error, KpSettings **ret)
{
        _cleanup_(kp_settings_freep) KpSettings *c = NULL;
        _cleanup_free_ char *report = NULL;
        _cleanup_free_ ConfigKey *keys = NULL;
        _cleanup_fclose_ FILE *report_f = NULL;
        XLU_Config *x = NULL;
        size_t report_size = 0, n_keys = 0;
        int r;

        r = kp_settings_new_default(&c);
        if (r < 0)
                return kp_error_set(error, r, "out of memory");

        c->path = strdup(path);
        if (!c->path)
                return -ENOMEM;
        if (memchr(text, '\0', size))
                return kp_error_set(error, -EINVAL, "%s: contains a NUL byte", path);

        report_f = open_memstream(&report, &report_size);
        if (!report_f)
                return kp_error_set(error, -ENOMEM, "out of memory");
        x = xlu_cfg_init(report_f, path);
        if (!x)
                return kp_error_set(error, -ENOMEM, "out of memory");

        r = xlu_cfg_readdata(x, text, (int) size);
        if (r != 0) {
                (void) fflush(report_f);
                xlu_cfg_destroy(x);
                /* libxlutil's first report line already reads "FILE:LINE: ..." */
                if (report && *report) {
                        char *nl = strchr(report, '\n');
                        if (nl)
                                *nl = '\0';
                        return kp_error_set(error, -EINVAL, "%s", report);
                }
                return kp_error_set(error, -EINVAL, "%s: syntax error", path);
        }

        r = ref_scan_keys(text, size, &keys, &n_keys);
        if (r < 0) {
                xlu_cfg_destroy(x);
                return kp_error_set(error, r, "out of memory");
        }

        /*
         * Every statement is checked before any value is read: libxlutil
         * answers a lookup with the last statement of that name, so a value
         * read for an earlier line could come from a later one, and its
         * error would name the wrong line.
         */
        for (size_t i = 0; i < n_keys; i++) {
                if (!find_key(keys[i].name)) {
                        xlu_cfg_destroy(x);
                        return kp_error_set(error, -EINVAL, "%s:%u: unknown key \"%s\"", path, keys[i].line,
                                            keys[i].name);
                }
                for (size_t j = 0; j < i; j++)
                        if (streq(keys[j].name, keys[i].name)) {
                                xlu_cfg_destroy(x);
                                return kp_error_set(error, -EINVAL, "%s:%u: %s is already set on line %u", path,
                                                    keys[i].line, keys[i].name, keys[j].line);
                        }
        }

        for (size_t i = 0; i < n_keys; i++) {
                r = apply_key(c, x, find_key(keys[i].name), path, keys[i].line, error);
                if (r < 0) {
                        xlu_cfg_destroy(x);
                        return r;
                }
        }
        xlu_cfg_destroy(x);

        r = check_consistency(c, error);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

/* ---- libxlutil itself, for the reader's own comparison ----------------------------------------- */

struct RefXlcfg {
        XLU_Config *x;
        FILE *report_f;
        char *report;
        size_t report_size;
        char *source;
};

RefXlcfg *ref_xlcfg_free(RefXlcfg *r)
{
        if (!r)
                return NULL;
        xlu_cfg_destroy(r->x);
        if (r->report_f)
                (void) fclose(r->report_f);
        free(r->report);
        free(r->source);
        free(r);
        return NULL;
}

int ref_xlcfg_parse(const char *source, const char *text, size_t size, KpError *error, RefXlcfg **ret)
{
        _cleanup_(ref_xlcfg_freep) RefXlcfg *r = calloc(1, sizeof(RefXlcfg));
        int e;

        if (!r)
                return -ENOMEM;
        r->source = strdup(source);
        r->report_f = open_memstream(&r->report, &r->report_size);
        if (!r->source || !r->report_f)
                return -ENOMEM;
        r->x = xlu_cfg_init(r->report_f, source);
        if (!r->x)
                return -ENOMEM;
        e = xlu_cfg_readdata(r->x, text, (int) size);
        if (e != 0) {
                char *nl;

                (void) fflush(r->report_f);
                nl = strchr(r->report, '\n');
                if (nl)
                        *nl = '\0';
                return kp_error_set(error, -e, "%s", r->report);
        }
        *ret = TAKE_PTR(r);
        return 0;
}

/* The line of the warning libxlutil just wrote, "SOURCE:LINE: warning: ...". */
static unsigned last_warning_line(RefXlcfg *r, size_t from)
{
        const char *w;
        size_t n = strlen(r->source);

        (void) fflush(r->report_f);
        if (r->report_size <= from)
                abort();
        w = r->report + from;
        if (strncmp(w, r->source, n) != 0 || w[n] != ':')
                abort();
        return (unsigned) strtoul(w + n + 1, NULL, 10);
}

int ref_xlcfg_lookup(RefXlcfg *r, const char *name, RefValue *ret)
{
        RefValue v = {};
        XLU_ConfigList *list;
        size_t from;
        int n, e;

        (void) fflush(r->report_f);
        from = r->report_size;
        /* Asked for the wrong type, libxlutil warns with the statement's line. */
        e = xlu_cfg_get_list(r->x, name, &list, &n, 0);
        if (e == ESRCH)
                return -ENOENT;
        if (e == 0) {
                v.is_list = true;
                v.n_items = (size_t) n;
                v.items = calloc(v.n_items + 1, sizeof(const char *));
                if (!v.items)
                        return -ENOMEM;
                for (int i = 0; i < n; i++)
                        v.items[i] = xlu_cfg_get_listitem(list, i);
                e = xlu_cfg_get_string(r->x, name, &v.string, 0);
                if (e != EINVAL)
                        abort();
                v.string = NULL;
        } else {
                if (e != EINVAL)
                        abort();
                e = xlu_cfg_get_string(r->x, name, &v.string, 1);
                if (e != 0)
                        abort();
        }
        v.line = last_warning_line(r, from);
        v.long_error = xlu_cfg_get_long(r->x, name, &v.long_value, 1);
        *ret = v;
        return 0;
}
