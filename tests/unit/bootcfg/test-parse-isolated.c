/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Boot configurations parsed in the forked process (bootcfg/parse-isolated.h),
 * as the guest inspection parses them, with a KpBootFs over memory here:
 * the plans are the in-process parsers' to the byte (their JSON, their
 * kernel source spans, their warnings), and so are the errors. Every
 * hostile configuration of bombs.c is refused with its reason, and, in a
 * build without sanitizers, the parsing process stays under 64 MiB of
 * peak RSS and 2 s of CPU (getrusage of the child, from wait4()).
 */
#include <malloc.h>
#include <pthread.h>
#include <string.h>

#include "bombs.h"
#include "bootcfg-test.h"
#include "bootcfg/bootplan-json.h"
#include "bootcfg/parse-isolated.h"
#include "util/error.h"
#include "util/strv.h"

/* What docs/isolation.md promises for any input within the 1 MiB configuration limit. */
#define MAX_RSS (64 * 1024 * 1024)
#define MAX_CPU_USEC (2 * 1000 * 1000)

/* Parses config_path of m both ways and checks the results are the same. */
static void check_same(const char *name, KpBootConfigKind kind, const char *config_path, MemFs *m, KpBootParseFlags flags)
{
        _cleanup_free_ char *json_in = NULL, *json_iso = NULL;
        KpBootPlan *in = NULL, *iso = NULL;
        const MemFile *cfg = config_path ? memfs_get(m, config_path) : NULL;
        KpError e_in = {}, e_iso = {};
        KpIsolateStats st = {};
        int r_in, r_iso;

        r_in = kp_boot_config_parse_full(kind, config_path, cfg ? cfg->data : NULL, cfg ? cfg->size : 0, &m->fs, flags,
                                         &e_in, &in);
        r_iso = kp_boot_config_parse_isolated(kind, config_path, cfg ? cfg->data : NULL, cfg ? cfg->size : 0, &m->fs,
                                              flags, NULL, &e_iso, &iso, &st);
        fprintf(stderr, "%s: %d, child max_rss=%" PRIu64 " cpu_usec=%" PRIu64 " requests=%u\n", name, r_iso, st.max_rss,
                st.cpu_usec, st.requests);
        ASSERT_EQ(r_iso, r_in);
        if (r_in < 0) {
                ASSERT_STREQ(e_iso.message, e_in.message);
                return;
        }
        ASSERT_OK(kp_boot_plan_format_json(in, false, &json_in));
        ASSERT_OK(kp_boot_plan_format_json(iso, false, &json_iso));
        ASSERT_STREQ(json_iso, json_in);
        ASSERT_EQ(iso->n_entries, in->n_entries);
        for (size_t i = 0; i < in->n_entries; i++) {
                ASSERT_EQ(iso->entries[i].kernel_span.line, in->entries[i].kernel_span.line);
                ASSERT_EQ(iso->entries[i].kernel_span.column, in->entries[i].kernel_span.column);
                ASSERT_EQ(iso->entries[i].kernel_span.length, in->entries[i].kernel_span.length);
        }
        ASSERT_EQ(strv_length(iso->warnings), strv_length(in->warnings));
        ASSERT_EQ(iso->text_bytes, in->text_bytes);
        kp_boot_plan_free(in);
        kp_boot_plan_free(iso);
}

static void test_data_cases(void)
{
        static const struct {
                const char *name;
                KpBootConfigKind kind;
                const char *config_path;
                const char *fs_uuid;
                KpBootParseFlags flags;
        } cases[] = {
                { "ubuntu-20.04", KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg" },
                { "ubuntu-20.04-default-path", KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg" },
                { "ubuntu-20.04-next-entry", KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg" },
                { "ubuntu-20.04-next-entry", KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg", NULL,
                  KP_BOOTCFG_IGNORE_NEXT_ENTRY },
                { "ubuntu-22.04", KP_BOOT_CONFIG_GRUB2, "/grub/grub.cfg", "3f9d2c41-77aa-4d6e-b0c3-5e8f1a2b3c4d" },
                { "debian-12", KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg" },
                { "debian-12-default-id", KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg" },
                { "centos-7", KP_BOOT_CONFIG_GRUB2, "/grub2/grub.cfg" },
                { "fedora-38", KP_BOOT_CONFIG_GRUB2, "/grub2/grub.cfg", "c4d5e6f7-a8b9-4c0d-9e1f-2a3b4c5d6e7f" },
                { "centos-6", KP_BOOT_CONFIG_GRUB_LEGACY, "/grub/grub.conf" },
                { "debian-5", KP_BOOT_CONFIG_GRUB_LEGACY, "/boot/grub/menu.lst" },
                { "alpine", KP_BOOT_CONFIG_EXTLINUX, "/boot/extlinux.conf" },
                { "extlinux-classic", KP_BOOT_CONFIG_EXTLINUX, "/boot/extlinux/extlinux.conf" },
                { "fallback", KP_BOOT_CONFIG_NONE, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *dir = test_data_dir(cases[i].name);
                MemFs *m = memfs_new();

                memfs_load_dir(m, dir);
                m->fs.fs_uuid = cases[i].fs_uuid;
                if (cases[i].config_path && !memfs_get(m, cases[i].config_path))
                        TEST_FAIL("%s: no %s", cases[i].name, cases[i].config_path);
                check_same(cases[i].name, cases[i].kind, cases[i].config_path, m, cases[i].flags);
                memfs_free(m);
        }
        for (size_t i = 0; i < limits_count(); i++) {
                Bomb b;

                limit_make(i, &b);
                check_same(b.name, b.kind, b.config_path, b.fs, 0);
                bomb_done(&b);
        }
}

/* Files that are not there, directories where files are expected, and a config that names them. */
static void test_missing_files(void)
{
        MemFs *m = memfs_new();

        memfs_add_str(m, "/boot/grub/grub.cfg",
                      "source /boot/grub/missing.cfg\n"
                      "if [ -f /boot/missing ]; then set default=1; fi\n"
                      "if [ -d /boot/grub ]; then set x=dir; fi\n"
                      "load_env -f /boot/grub/no-grubenv\n"
                      "blscfg\n"
                      "menuentry a { linux /vmlinuz-a; }\n"
                      "menuentry b { linux /vmlinuz-b $x; }\n");
        check_same("missing files", KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg", m, 0);

        /* An INCLUDE of a file that is not there is a warning in both. */
        memfs_add_str(m, "/boot/extlinux/extlinux.conf", "INCLUDE nothing.conf\nLABEL x\nLINUX /k\n");
        check_same("missing include", KP_BOOT_CONFIG_EXTLINUX, "/boot/extlinux/extlinux.conf", m, 0);
        memfs_free(m);
}

/* A reader failing for one file: its error reaches the parser as it does in-process. */
static int failing_read(void *userdata, const char *path, size_t max, char **ret_data, size_t *ret_size)
{
        if (streq(path, "/boot/grub/broken.cfg"))
                return -EIO;
        return -ENOENT;
}

static void test_reader_errors(void)
{
        static const char text[] = "source /boot/grub/broken.cfg\nmenuentry a { linux /k; }\n";
        KpBootFs fs = { .read_file = failing_read };
        KpBootPlan *plan = NULL;
        KpError e = {};

        ASSERT_ERROR(kp_boot_config_parse_isolated(KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg", text, strlen(text), &fs,
                                                   0, NULL, &e, &plan, NULL),
                     -EIO);
        ASSERT_STREQ(e.message, "/boot/grub/grub.cfg:1: /boot/grub/broken.cfg: cannot read: Input/output error");
        ASSERT_TRUE(!plan);

        /* A string JSON cannot carry is refused in the child, as kp_boot_plan_validate() would. */
        static const char bad[] = "menuentry 'a\xff' { linux /k; }\n";
        ASSERT_ERROR(kp_boot_config_parse_isolated(KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg", bad, strlen(bad), NULL,
                                                   0, NULL, &e, &plan, NULL),
                     -EBADMSG);
        ASSERT_STREQ(e.message, "entry 0: title \"a\\xff\" is not valid UTF-8");
}

static void test_bombs(void)
{
        for (size_t i = 0; i < bombs_count(); i++) {
                KpBootPlan *plan = NULL;
                const MemFile *cfg;
                KpIsolateStats st = {};
                KpError e = {};
                Bomb b;
                int r;

                /* What this process holds is the child's too, until it writes to it: hold little. */
                (void) malloc_trim(0);
                bomb_make(i, &b);
                cfg = bomb_config(&b);
                r = kp_boot_config_parse_isolated(b.kind, b.config_path, cfg->data, cfg->size, &b.fs->fs, 0, NULL, &e,
                                                  &plan, &st);
                fprintf(stderr, "%s: %d, child max_rss=%" PRIu64 " KiB cpu_usec=%" PRIu64 " requests=%u: %s\n", b.name,
                        r, st.max_rss / 1024, st.cpu_usec, st.requests, r < 0 ? e.message : "parsed");
                if (b.error == 0)
                        ASSERT_OK(r);
                else {
                        ASSERT_ERROR(r, b.error);
                        ASSERT_STREQ(e.message, b.message);
                }
                /* Sanitizers multiply memory and time: the bounds hold for the build users run. */
                if (st.limited) {
                        ASSERT_TRUE(st.max_rss > 0);
                        ASSERT_TRUE(st.max_rss < MAX_RSS);
                        ASSERT_TRUE(st.cpu_usec < MAX_CPU_USEC);
                }
                kp_boot_plan_free(plan);
                bomb_done(&b);
        }
}

/*
 * From a thread other than the main one, as in kunpackd: the child
 * allocates from that thread's malloc arena, whose heaps reserve 64 MiB
 * of address space each. The budgets must still be what refuses, not
 * RLIMIT_AS.
 */
static void *parse_in_thread(void *userdata)
{
        static const char *const names[] = { "echo-expansion", "environment-per-entry", "tiny-commands", "long-titles" };

        for (size_t i = 0; i < bombs_count(); i++) {
                KpBootPlan *plan = NULL;
                const MemFile *cfg;
                KpIsolateStats st = {};
                bool wanted = false;
                KpError e = {};
                Bomb b;

                bomb_make(i, &b);
                for (size_t k = 0; k < ELEMENTSOF(names); k++)
                        wanted = wanted || streq(names[k], b.name);
                if (wanted) {
                        cfg = bomb_config(&b);
                        ASSERT_ERROR(kp_boot_config_parse_isolated(b.kind, b.config_path, cfg->data, cfg->size,
                                                                   &b.fs->fs, 0, NULL, &e, &plan, &st),
                                     b.error);
                        ASSERT_STREQ(e.message, b.message);
                        fprintf(stderr, "%s from a thread: child max_rss=%" PRIu64 " KiB\n", b.name, st.max_rss / 1024);
                }
                bomb_done(&b);
        }
        return NULL;
}

static void test_from_thread(void)
{
        pthread_t t;

        ASSERT_TRUE(pthread_create(&t, NULL, parse_in_thread, NULL) == 0);
        ASSERT_TRUE(pthread_join(t, NULL) == 0);
}

int main(void)
{
        test_data_cases();
        test_missing_files();
        test_reader_errors();
        test_bombs();
        test_from_thread();
        return 0;
}
