/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "bootcfg-test.h"
#include "util/strv.h"

KpBootPlan *parse_case(const char *name, KpBootConfigKind kind, const char *config_path, const char *fs_uuid,
                       KpBootParseFlags flags, MemFs **ret_fs)
{
        _cleanup_free_ char *dir = test_data_dir(name);
        MemFs *m = memfs_new();
        const MemFile *cfg = NULL;
        KpBootPlan *plan = NULL;
        KpError e = {};
        int r;

        memfs_load_dir(m, dir);
        m->fs.fs_uuid = fs_uuid;
        if (config_path) {
                cfg = memfs_get(m, config_path);
                if (!cfg)
                        TEST_FAIL("%s: no %s", name, config_path);
        }
        r = kp_boot_config_parse_full(kind, config_path, cfg ? cfg->data : NULL, cfg ? cfg->size : 0, &m->fs, flags,
                                      &e, &plan);
        if (r < 0)
                TEST_FAIL("%s: parse failed: %d %s", name, r, e.message);
        ASSERT_OK(kp_boot_plan_validate(plan, &e));
        if (ret_fs)
                *ret_fs = m;
        else
                memfs_free(m);
        return plan;
}

int parse_text(KpBootConfigKind kind, const char *config_path, const char *text, MemFs *m, KpError *error,
               KpBootPlan **ret)
{
        return kp_boot_config_parse(kind, config_path, text, strlen(text), m ? &m->fs : NULL, error, ret);
}

void check_entry(const KpBootEntry *e, const char *title, const char *menu_path, const char *kernel,
                 const char *initrds, const char *cmdline)
{
        if (title)
                ASSERT_STREQ(e->title, title);
        if (menu_path)
                ASSERT_STREQ(e->menu_path, menu_path);
        if (kernel)
                ASSERT_STREQ(e->kernel.path, kernel);
        if (cmdline)
                ASSERT_STREQ(e->cmdline, cmdline);
        if (initrds) {
                _cleanup_free_ char *joined = calloc(1, 1);
                for (size_t i = 0; i < e->n_initrds; i++) {
                        char *n = NULL;
                        ASSERT_TRUE(asprintf(&n, "%s%s%s", joined, i ? " " : "", e->initrds[i].path) >= 0);
                        free(joined);
                        joined = n;
                }
                ASSERT_STREQ(joined, initrds);
        }
}

const KpBootEntry *selected(const KpBootPlan *plan)
{
        const KpBootEntry *e = kp_boot_plan_selected(plan);
        ASSERT_TRUE(e);
        return e;
}

bool has_warning(const KpBootPlan *plan, const char *needle)
{
        STRV_FOREACH(w, plan->warnings)
                if (strstr(*w, needle))
                        return true;
        return false;
}
