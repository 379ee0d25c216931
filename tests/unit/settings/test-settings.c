/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "tests.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/strv.h"
#include "settings/settings.h"
#include "settings/xlcfg.h"
#include "settings-xlutil.h"

static char dir[] = "/tmp/kp-test-config-XXXXXX";

/* Writes text to a fresh file and loads it; returns the load result. */
static int load_text(const char *text, KpError *error, KpSettings **ret)
{
        _cleanup_free_ char *path = NULL;

        ASSERT_TRUE(asprintf(&path, "%s/kunpack.conf", dir) > 0);
        ASSERT_OK(kp_write_file_atomic(path, text, strlen(text), 0644, NULL));
        kp_error_clear(error);
        return kp_settings_load(path, true, error, ret);
}

static void test_defaults(void)
{
        _cleanup_(kp_settings_freep) KpSettings *c = NULL;
        KpError error = {};

        ASSERT_OK(kp_settings_load("/nonexistent/kunpack.conf", false, &error, &c));
        ASSERT_TRUE(c->path == NULL);
        ASSERT_STREQ(c->cache_dir, "/var/cache/kunpack");
        ASSERT_STREQ(c->state_dir, "/var/lib/kunpack");
        ASSERT_STREQ(c->socket_path, "/run/kunpack/kunpackd.sock");
        ASSERT_STREQ(c->pvgrub_path, "/usr/lib/grub-xen/grub-x86_64-xen.bin");
        ASSERT_EQ(c->on_failure, KP_ON_FAILURE_PVGRUB);
        ASSERT_EQ_U64(c->max_kernel_size, UINT64_C(1073741824));
        ASSERT_EQ_U64(c->boot_timeout, 100);
        ASSERT_EQ_U64(c->cache_min_free, UINT64_C(512) * 1024 * 1024);
        ASSERT_EQ_U64(c->cache_max_guest_size, UINT64_C(1073741824));
        ASSERT_EQ(strv_length(c->domain_config_dirs), 2);
        ASSERT_STREQ(c->domain_config_dirs[0], "/etc/xen");
        ASSERT_STREQ(c->domain_config_dirs[1], "/etc/xen/auto");
        ASSERT_FALSE(c->trust_foreign_plans);
        ASSERT_TRUE(c->metrics_textfile == NULL);
}

static void test_missing_explicit(void)
{
        KpSettings *c = NULL;
        KpError error = {};

        ASSERT_ERROR(kp_settings_load("/nonexistent/kunpack.conf", true, &error, &c), -ENOENT);
        ASSERT_STREQ(error.message, "cannot open /nonexistent/kunpack.conf: No such file or directory");
        ASSERT_TRUE(c == NULL);
}

static void test_full(void)
{
        _cleanup_(kp_settings_freep) KpSettings *c = NULL;
        KpError error = {};

        ASSERT_OK(load_text("# kunpack test\n"
                            "cache_dir = \"/srv/kp/cache\"\n"
                            "state_dir = '/srv/kp/state'; socket_path = \"/run/kp.sock\"\n"
                            "on_failure = \"fail\"\n"
                            "max_kernel_size = \"512M\"\n"
                            "cache_max_size = 1048576\n"
                            "cache_max_age = \"7d\"\n"
                            "cache_min_free = \"2G\"; cache_max_guest_size = \"300M\"\n"
                            "boot_timeout = \"90s\"\n"
                            "scan_interval = \"2h\"\n"
                            "startup_scan_timeout = \"2m\"\n"
                            "scan_concurrency = 3\n"
                            "appliance_memsize = \"768M\"\n"
                            "drives_per_appliance = 8\n"
                            "appliance_pool = 0; pool_max_age = \"90m\"\n"
                            "domain_config_dirs = [ \"/etc/xen\",\n"
                            "                       \"/srv/xen # not a comment\" ]\n"
                            "trust_foreign_plans = 1\n"
                            "metrics_textfile = \"/var/lib/prometheus/node-exporter/kunpack.prom\"\n",
                            &error, &c));
        ASSERT_STREQ(c->cache_dir, "/srv/kp/cache");
        ASSERT_STREQ(c->state_dir, "/srv/kp/state");
        ASSERT_STREQ(c->socket_path, "/run/kp.sock");
        ASSERT_EQ(c->on_failure, KP_ON_FAILURE_FAIL);
        ASSERT_EQ_U64(c->max_kernel_size, UINT64_C(536870912));
        ASSERT_EQ_U64(c->cache_max_size, 1048576);
        ASSERT_EQ_U64(c->cache_max_age, 7 * 24 * 3600);
        ASSERT_EQ_U64(c->cache_min_free, UINT64_C(2) * 1024 * 1024 * 1024);
        ASSERT_EQ_U64(c->cache_max_guest_size, UINT64_C(300) * 1024 * 1024);
        ASSERT_EQ_U64(c->boot_timeout, 90);
        ASSERT_EQ_U64(c->scan_interval, 7200);
        ASSERT_EQ_U64(c->startup_scan_timeout, 120);
        ASSERT_EQ(c->scan_concurrency, 3);
        ASSERT_EQ_U64(c->appliance_memsize, UINT64_C(768) * 1024 * 1024);
        /* 0 turns the pool off: the one count that may be zero. */
        ASSERT_EQ(c->appliance_pool, 0);
        ASSERT_EQ_U64(c->pool_max_age, 90 * 60);
        /* Read as before, so old files keep working, but it does nothing now: said once, with its line. */
        ASSERT_EQ(c->obsolete_drives_per_appliance, 8);
        ASSERT_EQ(strv_length(c->notes), 1);
        ASSERT_CONTAINS(c->notes[0], "/kunpack.conf:14: drives_per_appliance has no effect any more: each guest is "
                        "scanned in an appliance of its own (docs/isolation.md)");
        ASSERT_EQ(strv_length(c->domain_config_dirs), 2);
        ASSERT_STREQ(c->domain_config_dirs[1], "/srv/xen # not a comment");
        ASSERT_TRUE(c->trust_foreign_plans);
        ASSERT_STREQ(c->metrics_textfile, "/var/lib/prometheus/node-exporter/kunpack.prom");
}

/* Where the tricky cases below say they come from: every message names it. */
#define P "/etc/kunpack/kunpack.conf"

/*
 * Reads size bytes of text as kunpack.conf with the reader and with the
 * libxlutil reference (tests/fuzz/settings-xlutil.c), which must agree
 * byte for byte; returns the reader's result.
 */
static int parse_both(const char *text, size_t size, KpError *error, KpSettings **ret)
{
        _cleanup_(kp_settings_freep) KpSettings *ref = NULL;
        KpError ref_error = {};
        int r, ref_r;

        kp_error_clear(error);
        r = kp_settings_parse(P, text, size, error, ret);
        ref_r = ref_settings_parse(P, text, size, &ref_error, &ref);
        ASSERT_EQ(r, ref_r);
        if (r < 0)
                ASSERT_STREQ(error->message, ref_error.message);
        else {
                ASSERT_STREQ((*ret)->cache_dir, ref->cache_dir);
                ASSERT_STREQ((*ret)->state_dir, ref->state_dir);
                ASSERT_EQ_U64((*ret)->cache_max_size, ref->cache_max_size);
                ASSERT_EQ_U64((*ret)->cache_max_age, ref->cache_max_age);
                ASSERT_EQ_U64((*ret)->cache_min_free, ref->cache_min_free);
                ASSERT_EQ_U64((*ret)->cache_max_guest_size, ref->cache_max_guest_size);
                ASSERT_EQ((*ret)->scan_concurrency, ref->scan_concurrency);
                ASSERT_EQ((*ret)->appliance_pool, ref->appliance_pool);
                ASSERT_EQ_U64((*ret)->pool_max_age, ref->pool_max_age);
                ASSERT_EQ((*ret)->obsolete_drives_per_appliance, ref->obsolete_drives_per_appliance);
                ASSERT_EQ(strv_length((*ret)->domain_config_dirs), strv_length(ref->domain_config_dirs));
                STRV_FOREACH (d, (*ret)->domain_config_dirs)
                        ASSERT_TRUE(strv_contains(ref->domain_config_dirs, *d));
        }
        return r;
}

static void expect_refusal(const char *text, size_t size, int code, const char *message)
{
        KpSettings *c = NULL;
        KpError error = {};

        ASSERT_ERROR(parse_both(text, size, &error, &c), code);
        ASSERT_STREQ(error.message, message);
        ASSERT_TRUE(c == NULL);
}

#define REFUSED(text, code, message) expect_refusal(text, sizeof(text) - 1, code, message)

static KpSettings *accepted(const char *text)
{
        KpSettings *c = NULL;
        KpError error = {};

        ASSERT_OK(parse_both(text, strlen(text), &error, &c));
        return c;
}

static void test_refusals(void)
{
        REFUSED("cache_dir = \"/x\"\n\ncahce_max_size = 5\n", -EINVAL,
                P ":3: unknown key \"cahce_max_size\"");
        {
                _cleanup_(kp_settings_freep) KpSettings *c = NULL;
                KpError error = {};

                ASSERT_OK(load_text("on_failure = \"last-good\"\n", &error, &c));
                ASSERT_EQ(c->on_failure, KP_ON_FAILURE_LAST_GOOD);
        }
        REFUSED("on_failure = \"ignore\"\n", -EINVAL,
                P ":1: on_failure must be \"pvgrub\", \"fail\" or \"last-good\", not \"ignore\"");
        REFUSED("on_failure = [ \"fail\" ]\n", -EINVAL,
                P ":1: on_failure must be \"pvgrub\", \"fail\" or \"last-good\"");
        REFUSED("\ncache_dir = \"relative/path\"\n", -EINVAL,
                P ":2: cache_dir must be an absolute path, not \"relative/path\"");
        REFUSED("cache_dir = 5\n", -EINVAL, P ":1: cache_dir must be an absolute path, not \"5\"");
        REFUSED("cache_dir = [ \"/a\" ]\n", -EINVAL, P ":1: cache_dir must be a quoted path");
        REFUSED("cache_max_size = \"12Q\"\n", -EINVAL,
                P ":1: cache_max_size: \"12Q\" is not a size (bytes, or with K, M, G)");
        REFUSED("cache_max_age = [ ]\n", -EINVAL, P ":1: cache_max_age must be a number or a string");
        REFUSED("cache_max_guest_size = \"8M\"\n", -ERANGE,
                P ": cache_max_guest_size must be at least 16M (one kernel takes more)");
        REFUSED("cache_min_free = \"lots\"\n", -EINVAL,
                P ":1: cache_min_free: \"lots\" is not a size (bytes, or with K, M, G)");
        REFUSED("max_kernel_size = \"2G\"\n", -ERANGE,
                P ": max_kernel_size must be between 1 and 1073741824 bytes (Xen's own limit for a "
                  "decompressed kernel)");
        REFUSED("boot_timeout = 120\n", -ERANGE,
                P ": boot_timeout must be between 1 and 119 seconds (libxl stops a bootloader after 120 s)");
        REFUSED("scan_concurrency = 0\n", -EINVAL, P ":1: scan_concurrency must be a whole number from 1");
        REFUSED("appliance_memsize = \"128M\"\n", -ERANGE,
                P ": appliance_memsize must be whole MiB from 256M to 8G (libguestfs needs at least 256 MiB)");
        REFUSED("appliance_memsize = 300000000\n", -ERANGE,
                P ": appliance_memsize must be whole MiB from 256M to 8G (libguestfs needs at least 256 MiB)");
        REFUSED("appliance_pool = -1\n", -EINVAL, P ":1: config parsing error near `-1': lexical error");
        REFUSED("appliance_pool = 17\n", -ERANGE, P ": appliance_pool must be at most 16");
        REFUSED("pool_max_age = \"9s\"\n", -ERANGE, P ": pool_max_age must be at least 10 seconds");
        REFUSED("trust_foreign_plans = 2\n", -EINVAL, P ":1: trust_foreign_plans must be 0 or 1");
        REFUSED("cache_dir = \"/a\"\ncache_dir = \"/b\"\n", -EINVAL,
                P ":2: cache_dir is already set on line 1");
        /* The last of two statements is the one libxlutil would read: the report still names the second. */
        REFUSED("scan_concurrency = 1\n# a comment\nscan_concurrency = 0\n", -EINVAL,
                P ":3: scan_concurrency is already set on line 1");
        REFUSED("domain_config_dirs = \"/etc/xen\"\n", -EINVAL,
                P ":1: domain_config_dirs must be a list of quoted paths");
        /* An item that is a list has no string. */
        REFUSED("domain_config_dirs = [ [ \"/a\" ], \"/b\" ]\n", -EINVAL,
                P ":1: domain_config_dirs: \"\" is not an absolute path");
        /* A name is shown up to 63 bytes. */
        REFUSED("cache_dir = \"/a\"\n"
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                "xxxxxxxxx = 1\n",
                -EINVAL,
                P ":2: unknown key \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"");
        REFUSED("cache_dir = \"/a\0\"\n", -EINVAL, P ": contains a NUL byte");
}

/* libxlutil's own refusals, word for word, odd line numbers included. */
static void test_syntax_refusals(void)
{
        /* A statement cut short by its newline: libxlutil names the line before the newline's. */
        REFUSED("cache_dir = \"/a\"\nstate_dir =\n", -EINVAL,
                P ":1: config parsing error near <newline>: syntax error, unexpected NEWLINE, "
                  "expecting STRING or NUMBER or '['");
        REFUSED("cache_dir\n", -EINVAL,
                P ":0: config parsing error near <newline>: syntax error, unexpected NEWLINE, expecting += "
                  "or '='");
        REFUSED("cache_dir = # a comment\n", -EINVAL,
                P ":0: config parsing error near `# a comment': syntax error, unexpected NEWLINE, "
                  "expecting STRING or NUMBER or '['");
        REFUSED("cache_dir =", -EINVAL,
                P ":1: config parsing error near `': syntax error, unexpected $end, expecting STRING or "
                  "NUMBER or '['");
        REFUSED("cache_dir \"/a\"\n", -EINVAL,
                P ":1: config parsing error near `\"/a\"': syntax error, unexpected STRING, expecting += or "
                  "'='");
        REFUSED("cache_dir = ;\n", -EINVAL,
                P ":1: config parsing error near `;': syntax error, unexpected ';', expecting STRING or "
                  "NUMBER or '['");
        REFUSED("cache_dir = \"/a\" \"/b\"\n", -EINVAL,
                P ":1: config parsing error near `\"/b\"': syntax error, unexpected STRING, expecting $end");
        REFUSED("cache_dir = \"/a\"\n]\n", -EINVAL,
                P ":2: config parsing error near `]': syntax error, unexpected ']', "
                  "expecting $end or IDENT or NEWLINE or ';'");
        REFUSED("domain_config_dirs = [\"/a\",,\"/b\"]\n", -EINVAL,
                P ":1: config parsing error near `,': syntax error, unexpected ',', expecting ']'");
        REFUSED("domain_config_dirs = [\"/a\" \"/b\"]\n", -EINVAL,
                P ":1: config parsing error near `\"/b\"': syntax error, unexpected STRING, expecting ']'");
        /* At the end of the text: the line of the last token (the newline after ","), the stray byte as
         * text. */
        REFUSED("domain_config_dirs = [ \"/a\",\n @", -EINVAL,
                P ":1: config parsing error near `@': syntax error, unexpected $end, expecting ']'");
        REFUSED("domain_config_dirs = [ \"/a\",\n\n\n", -EINVAL,
                P ":3: config parsing error near `': syntax error, unexpected $end, expecting ']'");

        /* Lexical errors name the byte and what follows it up to a blank. */
        REFUSED("cache_dir = \"/a\n", -EINVAL, P ":1: config parsing error near `\"/a': lexical error");
        REFUSED("cache_dir = \"/a\"\r\nstate_dir = \"/b\"\r\n", -EINVAL,
                P ":1: config parsing error near `\r': lexical error");
        REFUSED("Cache_dir = \"/a\"\n", -EINVAL,
                P ":1: config parsing error near `Cache_dir': lexical error");
        REFUSED("cache_dir = '/a' + '/b'\n", -EINVAL, P ":1: config parsing error near `+': lexical error");
        REFUSED("cache_dir = \"/a\" # no newline", -EINVAL,
                P ":1: config parsing error near `#': lexical error");
        REFUSED("scan_concurrency = -1\n", -EINVAL, P ":1: config parsing error near `-1': lexical error");
        REFUSED("cache_dir = \"/a\\\n/b\"\n", -EINVAL,
                P ":1: config parsing error near `\"/a\\': lexical error");

        /* Escapes: \x never works in libxlutil, \N needs two more digits, others are refused. */
        REFUSED("cache_dir = \"/a\\x41\"\n", -EINVAL,
                P ":1: config parsing error near `\"/a\\x41\"': invalid digit after backslash hexnumerical "
                  "character escape in quoted string");
        REFUSED("cache_dir = \"/a\\12\"\n", -EINVAL,
                P ":1: config parsing error near `\"/a\\12\"': invalid digit after backslash octalnumerical "
                  "character escape in quoted string");
        REFUSED("cache_dir = \"/a\\q\"\n", -EINVAL,
                P ":1: config parsing error near `\"/a\\q\"': invalid character after backlash in quoted "
                  "string");

        /* "+=" must keep the type; the refusal comes at the list's end, before any name is checked. */
        REFUSED("bogus = 1\ncache_dir = \"/a\"\ncache_dir += [\"/b\",\n \"/c\"\n]\n", -EINVAL,
                P ":5: config parsing error near `]': can't add [list] to \"string\" or vice versa");

        /* libxlutil's parser stack holds 9999 states: 4998 nested lists need one more. */
        {
                static const char prefix[] = "domain_config_dirs = ";
                char text[sizeof(prefix) + 4998];

                memcpy(text, prefix, sizeof(prefix) - 1);
                memset(text + sizeof(prefix) - 1, '[', 4998);
                expect_refusal(
                        text, sizeof(prefix) - 1 + 4997, -EINVAL,
                        P ":1: config parsing error near `': syntax error, unexpected $end, expecting ']'");
                expect_refusal(text, sizeof(prefix) - 1 + 4998, -EINVAL,
                               P ":1: config parsing error near `[': memory exhausted");
        }
}

static void test_accepted(void)
{
        _cleanup_(kp_settings_freep) KpSettings *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL,
                                                *f = NULL, *g = NULL;

        /* A carriage return or a capital letter as the very last byte is never seen by libxlutil. */
        a = accepted("cache_dir = \"/a\"\r");
        ASSERT_STREQ(a->cache_dir, "/a");
        b = accepted("cache_dir = \"/a\" B");
        ASSERT_STREQ(b->cache_dir, "/a");
        /* ...but where a statement could start it has always read as an unknown name. */
        REFUSED("cache_dir = \"/a\"\nB", -EINVAL, P ":2: unknown key \"B\"");

        c = accepted(";;cache_dir = \"/a\\\\b\\\"c\\'d\" ; ; state_dir = '/x\\101y';\n#");
        ASSERT_STREQ(c->cache_dir, "/a\\b\"c'd");
        ASSERT_STREQ(c->state_dir, "/xy"); /* libxlutil checks "\101" and writes nothing for it */

        /* Numbers as xl reads them: base 0, quoted or not; a size that is no number keeps its string. */
        d = accepted("scan_concurrency = 0x10\ndrives_per_appliance = \" 7\"\ncache_max_age = 08\n"
                     "cache_max_size = \"010\"\n");
        ASSERT_EQ(d->scan_concurrency, 16);
        ASSERT_EQ(d->obsolete_drives_per_appliance, 7);
        ASSERT_EQ_U64(d->cache_max_age, 8);
        ASSERT_EQ_U64(d->cache_max_size, 8);
        /* xl reads no number from a "+=" statement, so the string is read as a size instead. */
        e = accepted("cache_max_size += \"010\"\n");
        ASSERT_EQ_U64(e->cache_max_size, 10);
        REFUSED("scan_concurrency += 3\n", -EINVAL, P ":1: scan_concurrency must be a whole number from 1");

        f = accepted("domain_config_dirs = [\n\"/a\", # a comment\n\n\"/b\",\n]\n");
        ASSERT_EQ(strv_length(f->domain_config_dirs), 2);
        ASSERT_STREQ(f->domain_config_dirs[0], "/a");
        ASSERT_STREQ(f->domain_config_dirs[1], "/b");
        g = accepted("domain_config_dirs = [ ]");
        ASSERT_EQ(strv_length(g->domain_config_dirs), 0);
}

/* The reader's own answers, which settings.c builds on. */
static void test_reader(void)
{
        _cleanup_(kp_xlcfg_freep) KpXlcfg *x = NULL, *y = NULL;
        static const char text[] =
                "a = \"x\"\na += \"y\"\nb.c_1 = [ \"p\", [ \"q\" ], 0x2a ]\nn = 010; m = \" 7\"\n"
                "big = 99999999999999999999\nbad = 08\nempty = \"\"\n_";
        KpError error = {};
        long l;

        ASSERT_OK(kp_xlcfg_parse("t", text, sizeof(text) - 1, &error, &x));
        ASSERT_EQ(x->n_statements, 8);
        ASSERT_STREQ(x->statements[0].name, "a");
        ASSERT_STREQ(x->statements[0].string, "x");
        ASSERT_FALSE(x->statements[0].append);
        /* A "+=" statement holds its own value; libxlutil would answer "xy" for a. */
        ASSERT_STREQ(x->statements[1].name, "a");
        ASSERT_STREQ(x->statements[1].string, "y");
        ASSERT_TRUE(x->statements[1].append);
        ASSERT_EQ(x->statements[1].line, 2);
        ASSERT_STREQ(x->statements[2].name, "b.c_1");
        ASSERT_TRUE(x->statements[2].is_list);
        ASSERT_EQ(x->statements[2].n_items, 3);
        ASSERT_STREQ(x->statements[2].items[0], "p");
        ASSERT_TRUE(x->statements[2].items[1] == NULL);
        ASSERT_STREQ(x->statements[2].items[2], "0x2a");
        ASSERT_EQ(x->statements[3].line, 4);
        ASSERT_EQ(x->statements[4].line, 4);
        ASSERT_EQ(x->stray, '_');
        ASSERT_EQ(x->stray_line, 8);
        ASSERT_TRUE(x->stray_at_statement_start);

        ASSERT_ERROR(kp_xlcfg_statement_long(&x->statements[0], &l), -EINVAL);
        ASSERT_ERROR(kp_xlcfg_statement_long(&x->statements[1], &l), -EINVAL); /* "+=" */
        ASSERT_ERROR(kp_xlcfg_statement_long(&x->statements[2], &l), -EINVAL); /* a list */
        ASSERT_OK(kp_xlcfg_statement_long(&x->statements[3], &l));
        ASSERT_EQ(l, 8);
        ASSERT_OK(kp_xlcfg_statement_long(&x->statements[4], &l));
        ASSERT_EQ(l, 7);
        ASSERT_ERROR(kp_xlcfg_statement_long(&x->statements[5], &l), -ERANGE);
        ASSERT_ERROR(kp_xlcfg_statement_long(&x->statements[6], &l), -EINVAL);
        ASSERT_ERROR(kp_xlcfg_statement_long(&x->statements[7], &l), -EINVAL);

        /* The text may be empty; it may not be larger than the limit. */
        ASSERT_OK(kp_xlcfg_parse("t", "", 0, &error, &y));
        ASSERT_EQ(y->n_statements, 0);
        ASSERT_EQ(y->stray, 0);
        {
                _cleanup_free_ char *huge = malloc(KP_XLCFG_MAX_SIZE + 1);
                KpXlcfg *z = NULL;

                ASSERT_TRUE(huge);
                memset(huge, '\n', KP_XLCFG_MAX_SIZE + 1);
                ASSERT_ERROR(kp_xlcfg_parse("t", huge, KP_XLCFG_MAX_SIZE + 1, &error, &z), -EFBIG);
                ASSERT_STREQ(error.message, "t: larger than 262144 bytes");
                ASSERT_OK(kp_xlcfg_parse("t", huge, KP_XLCFG_MAX_SIZE, &error, &z));
                ASSERT_EQ(z->n_statements, 0);
                kp_xlcfg_free(z);
        }
}

static void test_choose_path(void)
{
        bool explicit;

        ASSERT_OK(unsetenv("KUNPACK_CONFIG"));
        ASSERT_STREQ(kp_settings_choose_path(NULL, &explicit), "/etc/kunpack/kunpack.conf");
        ASSERT_FALSE(explicit);
        ASSERT_OK(setenv("KUNPACK_CONFIG", "/tmp/env.conf", 1));
        ASSERT_STREQ(kp_settings_choose_path(NULL, &explicit), "/tmp/env.conf");
        ASSERT_TRUE(explicit);
        ASSERT_STREQ(kp_settings_choose_path("/tmp/arg.conf", &explicit), "/tmp/arg.conf");
        ASSERT_TRUE(explicit);
        ASSERT_OK(unsetenv("KUNPACK_CONFIG"));
}

/*
 * conf/kunpack.conf documents every key with its default, commented out.
 * Uncommenting all of them must give exactly the built-in defaults, so the
 * documentation cannot drift from the code.
 */
static void test_shipped_file(void)
{
        _cleanup_(kp_settings_freep) KpSettings *plain = NULL, *uncommented = NULL, *def = NULL;
        _cleanup_free_ char *path = NULL, *text = NULL, *out = NULL;
        KpError error = {};
        size_t size, n = 0, keys = 0;

        ASSERT_TRUE(asprintf(&path, "%s/conf/kunpack.conf", test_fixture_dir("KP_SOURCE_DIR")) > 0);
        ASSERT_OK(kp_settings_load(path, true, &error, &plain));
        ASSERT_OK(kp_settings_new_default(&def));
        ASSERT_OK(kp_read_file(path, 1 << 20, &error, &text, &size));

        out = malloc(size + 1);
        ASSERT_TRUE(out);
        for (char *line = text; *line;) {
                char *nl = strchrnul(line, '\n');
                /* "#key = value" lines are the documented defaults; "# prose" stays a comment. */
                if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z') {
                        line++;
                        keys++;
                }
                memcpy(out + n, line, (size_t) (nl - line));
                n += (size_t) (nl - line);
                if (*nl)
                        out[n++] = '\n';
                line = *nl ? nl + 1 : nl;
        }
        out[n] = '\0';
        ASSERT_EQ(keys, 19); /* every key of KpSettings but metrics_textfile, which has no default */
        ASSERT_OK(load_text(out, &error, &uncommented));

        for (KpSettings *c = plain; c; c = c == plain ? uncommented : NULL) {
                ASSERT_STREQ(c->cache_dir, def->cache_dir);
                ASSERT_STREQ(c->state_dir, def->state_dir);
                ASSERT_STREQ(c->socket_path, def->socket_path);
                ASSERT_STREQ(c->pvgrub_path, def->pvgrub_path);
                ASSERT_EQ(c->on_failure, def->on_failure);
                ASSERT_EQ_U64(c->max_kernel_size, def->max_kernel_size);
                ASSERT_EQ_U64(c->cache_max_size, def->cache_max_size);
                ASSERT_EQ_U64(c->cache_max_age, def->cache_max_age);
                ASSERT_EQ_U64(c->cache_min_free, def->cache_min_free);
                ASSERT_EQ_U64(c->cache_max_guest_size, def->cache_max_guest_size);
                ASSERT_EQ_U64(c->boot_timeout, def->boot_timeout);
                ASSERT_EQ_U64(c->scan_interval, def->scan_interval);
                ASSERT_EQ_U64(c->startup_scan_timeout, def->startup_scan_timeout);
                ASSERT_EQ(c->scan_concurrency, def->scan_concurrency);
                ASSERT_EQ(c->appliance_pool, def->appliance_pool);
                ASSERT_EQ_U64(c->pool_max_age, def->pool_max_age);
                ASSERT_EQ(c->obsolete_drives_per_appliance, def->obsolete_drives_per_appliance);
                ASSERT_EQ(strv_length(c->domain_config_dirs), strv_length(def->domain_config_dirs));
                ASSERT_STREQ(c->domain_config_dirs[0], def->domain_config_dirs[0]);
                ASSERT_STREQ(c->domain_config_dirs[1], def->domain_config_dirs[1]);
                ASSERT_EQ(c->trust_foreign_plans, def->trust_foreign_plans);
                ASSERT_TRUE(c->metrics_textfile == NULL);
        }
}

int main(void)
{
        char cmd[128];

        ASSERT_TRUE(mkdtemp(dir));
        test_defaults();
        test_missing_explicit();
        test_full();
        test_refusals();
        test_syntax_refusals();
        test_accepted();
        test_reader();
        test_choose_path();
        test_shipped_file();
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        ASSERT_EQ(system(cmd), 0);
        return 0;
}
