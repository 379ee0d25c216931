/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The parsers' budgets (grub/budget.h, KP_BOOTCFG_MAX_FS_REQUESTS,
 * KP_BOOTCFG_MAX_PLAN_TEXT), in-process: every hostile configuration of
 * bombs.c is refused with its budget named in the message, and the real
 * configurations at the parsers' limits still parse.
 */
#include <string.h>
#include <time.h>

#include "bombs.h"
#include "bootcfg-test.h"

static uint64_t cpu_usec(void)
{
        struct timespec ts;

        ASSERT_TRUE(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static void test_bombs(void)
{
        for (size_t i = 0; i < bombs_count(); i++) {
                KpBootPlan *plan = NULL;
                const MemFile *cfg;
                KpError e = {};
                uint64_t start;
                Bomb b;
                int r;

                bomb_make(i, &b);
                cfg = bomb_config(&b);
                start = cpu_usec();
                r = kp_boot_config_parse_full(b.kind, b.config_path, cfg->data, cfg->size, &b.fs->fs, 0, &e, &plan);
                fprintf(stderr, "%s: %zu bytes, %d, %" PRIu64 " µs of CPU: %s\n", b.name, cfg->size, r,
                        cpu_usec() - start, r < 0 ? e.message : "parsed");
                if (b.error == 0) {
                        ASSERT_OK(r);
                        ASSERT_OK(kp_boot_plan_validate(plan, &e));
                } else {
                        ASSERT_ERROR(r, b.error);
                        ASSERT_STREQ(e.message, b.message);
                        ASSERT_TRUE(!plan);
                }
                kp_boot_plan_free(plan);
                bomb_done(&b);
        }
}

static void test_limits(void)
{
        for (size_t i = 0; i < limits_count(); i++) {
                KpBootPlan *plan = NULL;
                const MemFile *cfg;
                KpError e = {};
                Bomb b;

                limit_make(i, &b);
                cfg = bomb_config(&b);
                ASSERT_OK(kp_boot_config_parse_full(b.kind, b.config_path, cfg->data, cfg->size, &b.fs->fs, 0, &e,
                                                    &plan));
                ASSERT_OK(kp_boot_plan_validate(plan, &e));
                ASSERT_EQ(plan->n_entries, strtoul(b.message, NULL, 10));
                fprintf(stderr, "%s: %zu bytes, %zu entries, %zu bytes of plan text\n", b.name, cfg->size,
                        plan->n_entries, plan->text_bytes);
                kp_boot_plan_free(plan);
                bomb_done(&b);
        }
}

/* The budget of requests counts looks ([ -f ]) and listings, not only reads. */
static void test_requests(void)
{
        MemFs *m = memfs_new();
        KpBootPlan *plan = NULL;
        KpError e = {};
        char *text = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&text, &n);

        /* 4,096 looks are allowed; the 4,097th is refused. */
        for (int i = 0; i < 4096; i++)
                fprintf(f, "[ -f /boot/f%d ]\n", i);
        fprintf(f, "menuentry x { linux /k; }\n");
        ASSERT_TRUE(fclose(f) == 0);
        memfs_add_str(m, "/boot/grub/grub.cfg", text);
        ASSERT_OK(parse_text(KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg", text, m, &e, &plan));
        kp_boot_plan_free(plan);
        plan = NULL;

        free(text);
        f = open_memstream(&text, &n);
        for (int i = 0; i < 4097; i++)
                fprintf(f, "[ -f /boot/f%d ]\n", i);
        fprintf(f, "menuentry x { linux /k; }\n");
        ASSERT_TRUE(fclose(f) == 0);
        ASSERT_ERROR(parse_text(KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg", text, m, &e, &plan), -E2BIG);
        ASSERT_STREQ(e.message, "/boot/grub/grub.cfg:4097: /boot/f4096: request budget of 4096 file reads, looks and "
                                "listings for one configuration exceeded");
        free(text);
        memfs_free(m);
}

int main(void)
{
        test_bombs();
        test_limits();
        test_requests();
        return 0;
}
