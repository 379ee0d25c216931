/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "tests.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/strv.h"
#include "settings/settings.h"

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
        ASSERT_EQ(strv_length(c->domain_config_dirs), 2);
        ASSERT_STREQ(c->domain_config_dirs[0], "/etc/xen");
        ASSERT_STREQ(c->domain_config_dirs[1], "/etc/xen/auto");
        ASSERT_FALSE(c->trust_foreign_plans);
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
                            "boot_timeout = \"90s\"\n"
                            "scan_interval = \"2h\"\n"
                            "scan_concurrency = 3\n"
                            "drives_per_appliance = 8\n"
                            "domain_config_dirs = [ \"/etc/xen\",\n"
                            "                       \"/srv/xen # not a comment\" ]\n"
                            "trust_foreign_plans = 1\n",
                            &error, &c));
        ASSERT_STREQ(c->cache_dir, "/srv/kp/cache");
        ASSERT_STREQ(c->state_dir, "/srv/kp/state");
        ASSERT_STREQ(c->socket_path, "/run/kp.sock");
        ASSERT_EQ(c->on_failure, KP_ON_FAILURE_FAIL);
        ASSERT_EQ_U64(c->max_kernel_size, UINT64_C(536870912));
        ASSERT_EQ_U64(c->cache_max_size, 1048576);
        ASSERT_EQ_U64(c->cache_max_age, 7 * 24 * 3600);
        ASSERT_EQ_U64(c->boot_timeout, 90);
        ASSERT_EQ_U64(c->scan_interval, 7200);
        ASSERT_EQ(c->scan_concurrency, 3);
        ASSERT_EQ(c->drives_per_appliance, 8);
        ASSERT_EQ(strv_length(c->domain_config_dirs), 2);
        ASSERT_STREQ(c->domain_config_dirs[1], "/srv/xen # not a comment");
        ASSERT_TRUE(c->trust_foreign_plans);
}

static void test_refusals(void)
{
        KpSettings *c = NULL;
        KpError error = {};
        _cleanup_free_ char *prefix = NULL;

        ASSERT_TRUE(asprintf(&prefix, "%s/kunpack.conf:", dir) > 0);

        ASSERT_ERROR(load_text("cache_dir = \"/x\"\n\ncahce_max_size = 5\n", &error, &c), -EINVAL);
        ASSERT_CONTAINS(error.message, prefix);
        ASSERT_CONTAINS(error.message, ".conf:3: unknown key \"cahce_max_size\"");

        ASSERT_ERROR(load_text("on_failure = \"ignore\"\n", &error, &c), -EINVAL);
        ASSERT_CONTAINS(error.message, ".conf:1: on_failure must be \"pvgrub\" or \"fail\", not \"ignore\"");

        ASSERT_ERROR(load_text("\ncache_dir = \"relative/path\"\n", &error, &c), -EINVAL);
        ASSERT_CONTAINS(error.message, ".conf:2: cache_dir must be an absolute path, not \"relative/path\"");

        ASSERT_ERROR(load_text("cache_max_size = \"12Q\"\n", &error, &c), -EINVAL);
        ASSERT_CONTAINS(error.message, ".conf:1: cache_max_size: \"12Q\" is not a size");

        ASSERT_ERROR(load_text("max_kernel_size = \"2G\"\n", &error, &c), -ERANGE);
        ASSERT_CONTAINS(error.message, "max_kernel_size must be between 1 and 1073741824 bytes");

        ASSERT_ERROR(load_text("boot_timeout = 120\n", &error, &c), -ERANGE);
        ASSERT_CONTAINS(error.message, "boot_timeout must be between 1 and 119 seconds");

        ASSERT_ERROR(load_text("scan_concurrency = 0\n", &error, &c), -EINVAL);
        ASSERT_CONTAINS(error.message, ".conf:1: scan_concurrency must be a whole number from 1");

        ASSERT_ERROR(load_text("cache_dir = \"/a\"\ncache_dir = \"/b\"\n", &error, &c), -EINVAL);
        ASSERT_CONTAINS(error.message, ".conf:2: cache_dir is already set on line 1");

        /* libxlutil reads the last of two statements: the error must still name the second line. */
        ASSERT_ERROR(load_text("scan_concurrency = 1\n# a comment\nscan_concurrency = 0\n", &error, &c),
                     -EINVAL);
        ASSERT_CONTAINS(error.message, ".conf:3: scan_concurrency is already set on line 1");

        ASSERT_ERROR(load_text("cache_dir = \"/a\n", &error, &c), -EINVAL);
        ASSERT_CONTAINS(error.message, ".conf:1: config parsing error");

        ASSERT_ERROR(load_text("domain_config_dirs = \"/etc/xen\"\n", &error, &c), -EINVAL);
        ASSERT_CONTAINS(error.message, ".conf:1: domain_config_dirs must be a list of quoted paths");

        ASSERT_TRUE(c == NULL);
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
        ASSERT_EQ(keys, 14); /* every key of KpSettings */
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
                ASSERT_EQ_U64(c->boot_timeout, def->boot_timeout);
                ASSERT_EQ_U64(c->scan_interval, def->scan_interval);
                ASSERT_EQ(c->scan_concurrency, def->scan_concurrency);
                ASSERT_EQ(c->drives_per_appliance, def->drives_per_appliance);
                ASSERT_EQ(strv_length(c->domain_config_dirs), strv_length(def->domain_config_dirs));
                ASSERT_STREQ(c->domain_config_dirs[0], def->domain_config_dirs[0]);
                ASSERT_STREQ(c->domain_config_dirs[1], def->domain_config_dirs[1]);
                ASSERT_EQ(c->trust_foreign_plans, def->trust_foreign_plans);
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
        test_choose_path();
        test_shipped_file();
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        ASSERT_EQ(system(cmd), 0);
        return 0;
}
