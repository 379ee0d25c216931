/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"
#include "util/fileio.h"
#include "util/string-table.h"
#include "util/strv.h"
#include "settings/settings.h"
#include "settings/xlcfg.h"

/* A configuration file is small; a bigger one is a mistake, not a config. */
#define KP_SETTINGS_MAX_SIZE (256 * 1024)
static_assert(KP_SETTINGS_MAX_SIZE <= KP_XLCFG_MAX_SIZE, "the reader takes every file the settings accept");

/*
 * An unknown name is shown up to this many bytes, so that a runaway line
 * does not fill the report (the longest known name has 20).
 */
#define KEY_NAME_SHOWN 63

/* libxl kills a restricted bootloader after 120 s (libxl_bootloader.c); answer before that. */
#define LIBXL_BOOTLOADER_LIMIT 120

#define DEFAULT_CACHE_MAX_SIZE GiB(4)
#define DEFAULT_CACHE_MAX_AGE (30 * 24 * 3600)
/*
 * The cache's floor: what kunpack leaves free on the cache's filesystem
 * (/var, with libxl's own directory on it). Half a GiB is room for a few
 * starts' bootloader output and the logs of a busy day.
 */
#define DEFAULT_CACHE_MIN_FREE MiB(512)
/*
 * One guest's share: a distribution kernel's ELF (66 MB for Debian 12) and
 * initrd (30-150 MB) take a fifth of this; a guest's files can never take
 * more than Xen's 1 GiB kernel and libxl's 1 GiB ramdisk together.
 */
#define DEFAULT_CACHE_MAX_GUEST_SIZE GiB(1)
#define DEFAULT_BOOT_TIMEOUT 100
#define DEFAULT_SCAN_INTERVAL (6 * 3600)
/*
 * Eight autostart guests, two appliances at once, 20-40 s each under
 * emulation: two to three minutes. Five leave room for a busy host.
 */
#define DEFAULT_STARTUP_SCAN_TIMEOUT 300
/* A host whose boot waits longer than an hour for kunpack is better off booting. */
#define MAX_STARTUP_SCAN_TIMEOUT 3600
#define DEFAULT_SCAN_CONCURRENCY 2
#define DEFAULT_DRIVES_PER_APPLIANCE 16
/* libguestfs refuses less (guestfs_set_memsize); more than 8 GiB for reading a /boot is a typo. */
#define MIN_APPLIANCE_MEMSIZE MiB(256)
#define MAX_APPLIANCE_MEMSIZE GiB(8)
/* libguestfs attaches drives through virtio-scsi; keep well inside its limits. */
#define MAX_DRIVES_PER_APPLIANCE 64
#define MAX_SCAN_CONCURRENCY 64
/* A pooled appliance younger than its own launch (10-20 s under emulation) is not worth replacing. */
#define MIN_POOL_MAX_AGE 10
/* Below this no distribution kernel fits in a guest's share of the cache: a typo, not a policy. */
#define MIN_CACHE_MAX_GUEST_SIZE MiB(16)

static const char *const on_failure_table[_KP_ON_FAILURE_MAX] = {
        [KP_ON_FAILURE_PVGRUB] = "pvgrub",
        [KP_ON_FAILURE_FAIL] = "fail",
        [KP_ON_FAILURE_LAST_GOOD] = "last-good",
};
KP_DEFINE_STRING_TABLE(kp_on_failure, KpOnFailure, on_failure_table);

const char *kp_settings_choose_path(const char *explicit_path, bool *ret_explicit)
{
        const char *e;

        if (explicit_path && *explicit_path) {
                *ret_explicit = true;
                return explicit_path;
        }
        e = getenv("KUNPACK_CONFIG");
        if (e && *e) {
                *ret_explicit = true;
                return e;
        }
        *ret_explicit = false;
        return KP_SETTINGS_FILE;
}

KpSettings *kp_settings_free(KpSettings *c)
{
        if (!c)
                return NULL;
        free(c->path);
        free(c->cache_dir);
        free(c->state_dir);
        free(c->socket_path);
        free(c->pvgrub_path);
        free(c->metrics_textfile);
        strv_free(c->domain_config_dirs);
        strv_free(c->notes);
        free(c);
        return NULL;
}

int kp_settings_new_default(KpSettings **ret)
{
        _cleanup_(kp_settings_freep) KpSettings *c = calloc(1, sizeof(KpSettings));

        if (!c)
                return -ENOMEM;
        c->cache_dir = strdup(KP_CACHE_DIR);
        c->state_dir = strdup(KP_STATE_DIR);
        c->socket_path = strdup(KP_SOCKET_PATH);
        c->pvgrub_path = strdup(KP_PVGRUB_PATH);
        if (!c->cache_dir || !c->state_dir || !c->socket_path || !c->pvgrub_path)
                return -ENOMEM;
        c->on_failure = KP_ON_FAILURE_PVGRUB;
        c->max_kernel_size = KP_MAX_OUTPUT_DEFAULT;
        c->cache_max_size = DEFAULT_CACHE_MAX_SIZE;
        c->cache_max_age = DEFAULT_CACHE_MAX_AGE;
        c->cache_min_free = DEFAULT_CACHE_MIN_FREE;
        c->cache_max_guest_size = DEFAULT_CACHE_MAX_GUEST_SIZE;
        c->boot_timeout = DEFAULT_BOOT_TIMEOUT;
        c->scan_interval = DEFAULT_SCAN_INTERVAL;
        c->startup_scan_timeout = DEFAULT_STARTUP_SCAN_TIMEOUT;
        c->scan_concurrency = DEFAULT_SCAN_CONCURRENCY;
        c->obsolete_drives_per_appliance = DEFAULT_DRIVES_PER_APPLIANCE;
        c->appliance_memsize = MiB(KP_APPLIANCE_DEFAULT_MEMSIZE_MIB);
        c->appliance_pool = KP_APPLIANCE_POOL_DEFAULT;
        c->pool_max_age = KP_POOL_MAX_AGE_DEFAULT;
        if (strv_extend(&c->domain_config_dirs, "/etc/xen") < 0 ||
            strv_extend(&c->domain_config_dirs, "/etc/xen/auto") < 0)
                return -ENOMEM;

        *ret = TAKE_PTR(c);
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

/*
 * The statement's value as a string, as libxlutil's xlu_cfg_get_string()
 * gives it: NULL for a list. A repeated name never gets here, so a "+="
 * statement's own value is all of it.
 */
static const char *statement_string(const KpXlcfgStatement *st)
{
        return st->is_list ? NULL : st->string;
}

/* Reads one statement into the KpSettings field it belongs to. */
static int apply_key(KpSettings *c, const KpXlcfgStatement *st, const KeyDef *def, const char *file,
                     KpError *error)
{
        void *field = (uint8_t *) c + def->offset;
        unsigned line = st->line;
        const char *s = NULL;
        long l;
        int r;

        switch (def->type) {
        case KEY_PATH:
                s = statement_string(st);
                if (!s)
                        return kp_error_set(error, -EINVAL, "%s:%u: %s must be a quoted path", file, line,
                                            def->name);
                if (path_ok(s) < 0)
                        return kp_error_set(error, -EINVAL, "%s:%u: %s must be an absolute path, not \"%s\"",
                                            file, line, def->name, s);
                free(*(char **) field);
                *(char **) field = strdup(s);
                return *(char **) field ? 0 : -ENOMEM;

        case KEY_ON_FAILURE:
                s = statement_string(st);
                if (kp_on_failure_from_string(s, (KpOnFailure *) field) < 0)
                        return kp_error_set(error, -EINVAL,
                                            "%s:%u: on_failure must be \"pvgrub\", \"fail\" or \"last-good\"%s%s%s", file,
                                            line, s ? ", not \"" : "", s ? s : "", s ? "\"" : "");
                return 0;

        case KEY_SIZE:
        case KEY_DURATION: {
                uint64_t v;
                char buf[32];

                /* A number as xl reads one ("0x10" is 16) first, else the string with its suffix. */
                if (kp_xlcfg_statement_long(st, &l) == 0) {
                        if (l < 0)
                                return kp_error_set(error, -ERANGE, "%s:%u: %s must not be negative", file,
                                                    line, def->name);
                        (void) snprintf(buf, sizeof(buf), "%ld", l);
                        s = buf;
                } else {
                        s = statement_string(st);
                        if (!s)
                                return kp_error_set(error, -EINVAL, "%s:%u: %s must be a number or a string",
                                                    file, line, def->name);
                }
                r = def->type == KEY_SIZE ? parse_size(s, &v) : parse_duration(s, &v);
                if (r < 0)
                        return kp_error_set(
                                error, r, "%s:%u: %s: \"%s\" is not a %s", file, line, def->name, s,
                                def->type == KEY_SIZE ? "size (bytes, or with K, M, G)"
                                                      : "duration (seconds, or with s, m, h, d)");
                *(uint64_t *) field = v;
                return 0;
        }

        case KEY_COUNT:
        case KEY_OBSOLETE_COUNT:
                if (kp_xlcfg_statement_long(st, &l) < 0 || l < 1 || l > UINT16_MAX)
                        return kp_error_set(error, -EINVAL, "%s:%u: %s must be a whole number from 1", file,
                                            line, def->name);
                *(unsigned *) field = (unsigned) l;
                if (def->type == KEY_OBSOLETE_COUNT &&
                    kp_strv_extendf(&c->notes,
                                    "%s:%u: %s has no effect any more: each guest is scanned in an appliance of "
                                    "its own (docs/isolation.md)",
                                    file, line, def->name) < 0)
                        return -ENOMEM;
                return 0;

        case KEY_COUNT0:
                if (kp_xlcfg_statement_long(st, &l) < 0 || l < 0 || l > UINT16_MAX)
                        return kp_error_set(error, -EINVAL, "%s:%u: %s must be a whole number from 0", file,
                                            line, def->name);
                *(unsigned *) field = (unsigned) l;
                return 0;

        case KEY_BOOL:
                if (kp_xlcfg_statement_long(st, &l) < 0 || (l != 0 && l != 1))
                        return kp_error_set(error, -EINVAL, "%s:%u: %s must be 0 or 1", file, line,
                                            def->name);
                *(bool *) field = l == 1;
                return 0;

        case KEY_PATH_LIST: {
                _cleanup_strv_free_ char **list = NULL;

                if (!st->is_list)
                        return kp_error_set(error, -EINVAL, "%s:%u: %s must be a list of quoted paths", file,
                                            line, def->name);
                list = calloc(st->n_items + 1, sizeof(char *));
                if (!list)
                        return -ENOMEM;
                for (size_t i = 0; i < st->n_items; i++) {
                        const char *item = st->items[i];
                        /* An item that is itself a list has no string, as with libxlutil's
                         * xlu_cfg_get_listitem(). */
                        if (path_ok(item) < 0)
                                return kp_error_set(error, -EINVAL,
                                                    "%s:%u: %s: \"%s\" is not an absolute path", file, line,
                                                    def->name, item ? item : "");
                        list[i] = strdup(item);
                        if (!list[i])
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

int kp_settings_parse(const char *path, const char *text, size_t size, KpError *error, KpSettings **ret)
{
        _cleanup_(kp_settings_freep) KpSettings *c = NULL;
        _cleanup_(kp_xlcfg_freep) KpXlcfg *x = NULL;
        int r;

        assert(path);
        assert(ret);

        r = kp_settings_new_default(&c);
        if (r < 0)
                return kp_error_set(error, r, "out of memory");
        c->path = strdup(path);
        if (!c->path)
                return kp_error_set(error, -ENOMEM, "out of memory");

        if (size > KP_SETTINGS_MAX_SIZE)
                return kp_error_set(error, -EFBIG, "%s: larger than %d bytes", path, KP_SETTINGS_MAX_SIZE);
        r = kp_xlcfg_parse(path, text, size, error, &x);
        if (r < 0)
                return r;

        /*
         * Every statement is checked before any value is read, so that the
         * first unknown or repeated name is the one reported, wherever
         * values are wrong.
         */
        for (size_t i = 0; i < x->n_statements; i++) {
                const KpXlcfgStatement *st = &x->statements[i];

                if (!find_key(st->name))
                        return kp_error_set(error, -EINVAL, "%s:%u: unknown key \"%.*s\"", path, st->line,
                                            KEY_NAME_SHOWN, st->name);
                for (size_t j = 0; j < i; j++)
                        if (streq(x->statements[j].name, st->name))
                                return kp_error_set(error, -EINVAL, "%s:%u: %s is already set on line %u",
                                                    path, st->line, st->name, x->statements[j].line);
        }
        /*
         * A capital letter or "_" ending the file where a statement could
         * start looks like the beginning of a name. libxlutil ignores such a
         * last byte (a small letter would be a name, and refused for the
         * missing "="); kunpack.conf has always refused it as that name.
         */
        if (x->stray_at_statement_start && ((x->stray >= 'A' && x->stray <= 'Z') || x->stray == '_'))
                return kp_error_set(error, -EINVAL, "%s:%u: unknown key \"%c\"", path, x->stray_line,
                                    x->stray);

        for (size_t i = 0; i < x->n_statements; i++) {
                r = apply_key(c, &x->statements[i], find_key(x->statements[i].name), path, error);
                if (r < 0)
                        return r;
        }

        r = check_consistency(c, error);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

int kp_settings_load(const char *path, bool must_exist, KpError *error, KpSettings **ret)
{
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        int r;

        r = kp_read_file(path, KP_SETTINGS_MAX_SIZE, error, &text, &size);
        if (r == -ENOENT && !must_exist) {
                kp_error_clear(error);
                return kp_settings_new_default(ret) < 0 ? kp_error_set(error, -ENOMEM, "out of memory") : 0;
        }
        if (r < 0)
                return r;
        return kp_settings_parse(path, text, size, error, ret);
}
