/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bombs.h"
#include "tests.h"

#define GRUB_CFG "/boot/grub/grub.cfg"
#define EXTLINUX_CONF "/boot/extlinux/extlinux.conf"
#define ONE_ENTRY "menuentry x { linux /k; }\n"

#define MEMORY_BUDGET(line)                                                                                        \
        GRUB_CFG ":" #line ": memory budget of 33554432 bytes exceeded (variables, arguments, menu entries and "  \
                "scripts held at once)"
#define WORK_BUDGET(line) GRUB_CFG ":" #line ": work budget of 268435456 bytes exceeded (bytes expanded, copied and compared)"
#define REQUEST_BUDGET(path) path ": request budget of 4096 file reads, looks and listings for one configuration exceeded"
#define PLAN_BUDGET(file) file ": plan budget of 2097152 bytes exceeded (titles, paths and command lines of all entries)"

/* A text built piece by piece. */
typedef struct Text {
        FILE *f;
        char *buf;
        size_t size;
} Text;

/* Opens t in place: the stream writes back through pointers into t. */
static void text_open(Text *t)
{
        *t = (Text) {};
        t->f = open_memstream(&t->buf, &t->size);
        ASSERT_TRUE(t->f);
}

_printf_(2, 3) static void add(Text *t, const char *format, ...)
{
        va_list ap;

        va_start(ap, format);
        ASSERT_TRUE(vfprintf(t->f, format, ap) >= 0);
        va_end(ap);
}

static void repeat(Text *t, const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                ASSERT_TRUE(fputs(s, t->f) >= 0);
}

/* Ends t and puts it at path in b's filesystem. */
static void put(Bomb *b, const char *path, Text *t)
{
        ASSERT_TRUE(fclose(t->f) == 0);
        memfs_add(b->fs, path, t->buf, t->size);
        free(t->buf);
}

/* $a of 32 KiB, made by doubling: 173 bytes of grub.cfg. */
static void var_32k(Text *t)
{
        add(t, "set a=x\n");
        repeat(t, "set a=$a$a\n", 15);
}

/* $a of 65,000 bytes, written out: the most one variable may hold is 64 KiB. */
static void var_65000(Text *t)
{
        add(t, "set a=");
        repeat(t, "x", 65000);
        add(t, "\n");
}

/* f3 calls f2 40 times, which calls f1 40 times, which calls f0 40 times: 64,000 calls of f0. */
static void fan_out(Text *t, const char *f0)
{
        add(t, "function f0 { %s }\n", f0);
        for (int i = 1; i <= 3; i++) {
                add(t, "function f%d { ", i);
                for (int k = 0; k < 40; k++)
                        add(t, "f%d;", i - 1);
                add(t, " }\n");
        }
        add(t, "f3\n");
}

/* Issue 11's first: one line expanding a 32 KiB variable 65,535 times (197 KB, 2.1 GB before). */
static void echo_expansion(Bomb *b)
{
        Text t;

        text_open(&t);
        var_32k(&t);
        add(&t, "echo");
        repeat(&t, " $a", 65535);
        add(&t, "\n" ONE_ENTRY);
        put(b, GRUB_CFG, &t);
}

/* Issue 11's second: 40 entries with 2,000 parameters of 32 KiB (242 KB, 2.6 GB before). */
static void entry_parameters(Bomb *b)
{
        Text t;

        text_open(&t);
        var_32k(&t);
        for (int i = 0; i < 40; i++) {
                add(&t, "menuentry t");
                repeat(&t, " $a", 2000);
                add(&t, " { linux /k; }\n");
        }
        put(b, GRUB_CFG, &t);
}

/* Issue 11's third: a 3.7 KB fan-out, each of its 64,000 calls expanding 1,000 words of 32 KiB. */
static void function_fan_out(Bomb *b)
{
        Text t, f0;

        text_open(&t);
        text_open(&f0);
        add(&f0, "echo");
        repeat(&f0, " $a", 1000);
        add(&f0, ";");
        ASSERT_TRUE(fclose(f0.f) == 0);
        var_32k(&t);
        fan_out(&t, f0.buf);
        free(f0.buf);
        add(&t, ONE_ENTRY);
        put(b, GRUB_CFG, &t);
}

/* The same fan-out of cheap calls in each of 1,000 entries: the command count. */
static void fan_out_per_entry(Bomb *b)
{
        Text t;

        text_open(&t);
        add(&t, "function f0 { true; }\nfunction f1 { ");
        repeat(&t, "f0;", 40);
        add(&t, " }\nfunction f2 { ");
        repeat(&t, "f1;", 40);
        add(&t, " }\n");
        repeat(&t, "menuentry x { f2; linux /k; }\n", 1000);
        put(b, GRUB_CFG, &t);
}

/* 2,000 variables of 65,000 bytes, copied for each of 1,000 entries (130 GB of copying). */
static void environment_per_entry(Bomb *b)
{
        Text t;

        text_open(&t);
        var_65000(&t);
        for (int i = 0; i < 2000; i++)
                add(&t, "set v%d=$a\n", i);
        repeat(&t, ONE_ENTRY, 1000);
        put(b, GRUB_CFG, &t);
}

/* The same exported, and copied by 15 nested submenus. */
static void environment_per_submenu(Bomb *b)
{
        Text t;

        text_open(&t);
        var_65000(&t);
        for (int i = 0; i < 2000; i++)
                add(&t, "set v%d=$a\nexport v%d\n", i, i);
        repeat(&t, "submenu s {\n", 15);
        add(&t, ONE_ENTRY);
        repeat(&t, "}\n", 15);
        put(b, GRUB_CFG, &t);
}

/* 2,000 variables whose names are 65,000 bytes, looked up 64,000 times. */
static void long_names(Bomb *b)
{
        Text t;

        text_open(&t);
        var_65000(&t);
        for (int i = 0; i < 2000; i++)
                add(&t, "set ${a}%d=x\n", i);
        fan_out(&t, "x=$zz$zz$zz$zz$zz$zz$zz$zz;");
        add(&t, ONE_ENTRY);
        put(b, GRUB_CFG, &t);
}

/* Parse trees from a MiB of the smallest commands, words, variables and ifs. */
static void tiny_commands(Bomb *b)
{
        Text t;

        text_open(&t);
        repeat(&t, "a\n", 1024 * 1024 / 2 - 100);
        add(&t, ONE_ENTRY);
        put(b, GRUB_CFG, &t);
}

static void tiny_words(Bomb *b)
{
        Text t;

        text_open(&t);
        add(&t, "a");
        repeat(&t, " a", 1024 * 1024 / 2 - 100);
        add(&t, "\n" ONE_ENTRY);
        put(b, GRUB_CFG, &t);
}

static void tiny_variables(Bomb *b)
{
        Text t;

        text_open(&t);
        add(&t, "echo");
        repeat(&t, " $a", 1024 * 1024 / 3 - 100);
        add(&t, "\n" ONE_ENTRY);
        put(b, GRUB_CFG, &t);
}

static void many_ifs(Bomb *b)
{
        Text t;

        text_open(&t);
        repeat(&t, "if a;then b;else c;fi\n", 1024 * 1024 / 22 - 10);
        add(&t, ONE_ENTRY);
        put(b, GRUB_CFG, &t);
}

/* `set a=$a$a` 40 times. */
static void doubling(Bomb *b)
{
        Text t;

        text_open(&t);
        add(&t, "set a=x\n");
        repeat(&t, "set a=$a$a\n", 40);
        add(&t, ONE_ENTRY);
        put(b, GRUB_CFG, &t);
}

/* A word of a MiB. */
static void long_word(Bomb *b)
{
        Text t;

        text_open(&t);
        add(&t, "echo ");
        repeat(&t, "x", 1024 * 1024 - 100);
        add(&t, "\n" ONE_ENTRY);
        put(b, GRUB_CFG, &t);
}

/* A file sourcing itself, twice. */
static void source_loop(Bomb *b)
{
        memfs_add_str(b->fs, GRUB_CFG, "source /boot/grub/s.cfg\n" ONE_ENTRY);
        memfs_add_str(b->fs, "/boot/grub/s.cfg", "source /boot/grub/s.cfg\nsource /boot/grub/s.cfg\n");
}

/* A tree of files, each sourcing the next level four times, 15 deep: 10^9 sources of a few bytes. */
static void source_tree(Bomb *b)
{
        memfs_add_str(b->fs, GRUB_CFG, "source /boot/grub/s0.cfg\n" ONE_ENTRY);
        for (int i = 0; i < 15; i++) {
                char path[64];
                Text s;
                text_open(&s);
                snprintf(path, sizeof(path), "/boot/grub/s%d.cfg", i);
                for (int k = 0; k < 4; k++)
                        add(&s, "source /boot/grub/s%d.cfg\n", i + 1);
                put(b, path, &s);
        }
        memfs_add_str(b->fs, "/boot/grub/s15.cfg", "set z=1\n");
}

/* configfile of itself: not followed. */
static void configfile_loop(Bomb *b)
{
        memfs_add_str(b->fs, GRUB_CFG, "configfile /boot/grub/grub.cfg\n" ONE_ENTRY);
}

/* [ -f ] 128,000 times: each a round trip into the appliance. */
static void probes(Bomb *b)
{
        Text t;

        text_open(&t);
        fan_out(&t, "[ -f /boot/x ]; [ -f /boot/y ];");
        add(&t, ONE_ENTRY);
        put(b, GRUB_CFG, &t);
}

/* 300 devices searched for. */
static void devices(Bomb *b)
{
        Text t;

        text_open(&t);
        for (int i = 0; i < 300; i++)
                add(&t, "search --fs-uuid --set=r%d u%d\n", i, i);
        add(&t, ONE_ENTRY);
        put(b, GRUB_CFG, &t);
}

/* A grubenv of 17 values of 60,000 bytes, read again by each of 1,000 entries. */
static void grubenv_per_entry(Bomb *b)
{
        Text t, g;

        text_open(&t);
        text_open(&g);
        add(&t, "load_env\n");
        repeat(&t, "menuentry x { load_env; linux /k; }\n", 1000);
        put(b, GRUB_CFG, &t);
        add(&g, "# GRUB Environment Block\n");
        for (int i = 0; i < 17; i++) {
                add(&g, "v%d=", i);
                repeat(&g, "y", 60000);
                add(&g, "\n");
        }
        put(b, "/boot/grub/grubenv", &g);
}

/* A grubenv of 1,000 names of 1,004 bytes that differ only at their end. */
static void grubenv_long_names(Bomb *b)
{
        Text g;

        text_open(&g);
        memfs_add_str(b->fs, GRUB_CFG, "load_env\n" ONE_ENTRY);
        add(&g, "# GRUB Environment Block\n");
        for (int i = 0; i < 1000; i++) {
                repeat(&g, "n", 1000);
                add(&g, "%04d=\n", i);
        }
        put(b, "/boot/grub/grubenv", &g);
}

/* 40 entries of 500 parameters of 32 KiB, each passing "$@" and $@ on to a function, twice. */
static void parameters_passed_on(Bomb *b)
{
        Text t;

        text_open(&t);
        var_32k(&t);
        add(&t, "function f { echo \"$@\" $@; }\n");
        for (int i = 0; i < 40; i++) {
                add(&t, "menuentry t");
                repeat(&t, " $a", 500);
                add(&t, " { f $@; f $@; linux /k; }\n");
        }
        put(b, GRUB_CFG, &t);
}

/* 64,000 calls of an unknown command named by a 65,000 byte variable. */
static void long_command_names(Bomb *b)
{
        Text t;

        text_open(&t);
        var_65000(&t);
        fan_out(&t, "$a;");
        add(&t, ONE_ENTRY);
        put(b, GRUB_CFG, &t);
}

/* 1,000 entries with 16 initrds of 4,001 bytes each (64 MB of plan). */
static void initrd_paths(Bomb *b)
{
        Text t;

        text_open(&t);
        add(&t, "set p=/");
        repeat(&t, "p", 4000);
        add(&t, "\n");
        repeat(&t, "menuentry x { linux /k; initrd $p $p $p $p $p $p $p $p $p $p $p $p $p $p $p $p; }\n", 1000);
        put(b, GRUB_CFG, &t);
}

/* 1,000 entries with command lines of 4,000 bytes. */
static void command_lines(Bomb *b)
{
        Text t;

        text_open(&t);
        add(&t, "set c=");
        repeat(&t, "c", 4000);
        add(&t, "\n");
        repeat(&t, "menuentry x { linux /k $c; }\n", 1000);
        put(b, GRUB_CFG, &t);
}

/* Titles of 65,000 bytes, 15 submenus deep: menu paths of a MiB each. */
static void long_titles(Bomb *b)
{
        Text t;

        text_open(&t);
        var_65000(&t);
        add(&t, "export a\n");
        repeat(&t, "submenu $a {\n", 15);
        repeat(&t, "menuentry $a { linux /k; }\n", 1000);
        repeat(&t, "}\n", 15);
        put(b, GRUB_CFG, &t);
}

/* 128,000 unknown commands: warnings are kept to 64, and the rest only counted. */
static void warnings(Bomb *b)
{
        Text t;

        text_open(&t);
        fan_out(&t, "foo; bar;");
        add(&t, ONE_ENTRY);
        put(b, GRUB_CFG, &t);
}

/*
 * 1,024 BLS snippets with options of 1,500 bytes, beside a 65,000 byte
 * variable: within the budgets (their command lines are 1.5 MiB of plan).
 */
static void bls_snippets(Bomb *b)
{
        Text t;

        text_open(&t);
        var_65000(&t);
        add(&t, "blscfg\n");
        put(b, GRUB_CFG, &t);
        for (int i = 0; i < 1024; i++) {
                char path[64];
                Text s;
                text_open(&s);
                snprintf(path, sizeof(path), "/boot/loader/entries/e-%d.0-1.conf", i);
                add(&s, "title t%d\nlinux /vmlinuz\noptions ", i);
                repeat(&s, "o", 1500);
                add(&s, " $a\n");
                put(b, path, &s);
        }
}

/* INCLUDE of a file that includes itself twice. */
static void extlinux_include_loop(Bomb *b)
{
        memfs_add_str(b->fs, EXTLINUX_CONF, "INCLUDE a.conf\nLABEL x\nLINUX /k\n");
        memfs_add_str(b->fs, "/boot/extlinux/a.conf", "INCLUDE a.conf\nINCLUDE a.conf\n");
}

/* A tree of INCLUDEs four wide, 15 deep. */
static void extlinux_include_tree(Bomb *b)
{
        memfs_add_str(b->fs, EXTLINUX_CONF, "INCLUDE i0.conf\nLABEL x\nLINUX /k\n");
        for (int i = 0; i < 15; i++) {
                char path[64];
                Text s;
                text_open(&s);
                snprintf(path, sizeof(path), "/boot/extlinux/i%d.conf", i);
                for (int k = 0; k < 4; k++)
                        add(&s, "INCLUDE i%d.conf\n", i + 1);
                put(b, path, &s);
        }
        memfs_add_str(b->fs, "/boot/extlinux/i15.conf", "TIMEOUT 1\n");
}

/* 1,000 labels with an APPEND of 1,000 bytes: within the budgets. */
static void extlinux_labels(Bomb *b)
{
        Text t;

        text_open(&t);
        for (int i = 0; i < 1000; i++) {
                add(&t, "LABEL l%d\nLINUX /k\nAPPEND ", i);
                repeat(&t, "a", 1000);
                add(&t, "\n");
        }
        put(b, EXTLINUX_CONF, &t);
}

/* 600 labels with an APPEND of 4,000 bytes, in three INCLUDEd files: the plan's text. */
static void extlinux_command_lines(Bomb *b)
{
        memfs_add_str(b->fs, EXTLINUX_CONF, "INCLUDE a.conf\nINCLUDE b.conf\nINCLUDE c.conf\n");
        for (int f = 0; f < 3; f++) {
                char path[64];
                Text t;

                text_open(&t);
                for (int i = 0; i < 200; i++) {
                        add(&t, "LABEL l%d\nLINUX /k\nAPPEND ", f * 200 + i);
                        repeat(&t, "a", 4000);
                        add(&t, "\n");
                }
                snprintf(path, sizeof(path), "/boot/extlinux/%c.conf", 'a' + f);
                put(b, path, &t);
        }
}

/* A menu.lst of half a million unknown one-letter commands. */
static void legacy_unknown_commands(Bomb *b)
{
        Text t;

        text_open(&t);
        add(&t, "title t\nkernel /k\n");
        repeat(&t, "x\n", 1024 * 1024 / 2 - 100);
        put(b, "/boot/grub/menu.lst", &t);
}

static const struct {
        const char *name;
        void (*make)(Bomb *b);
        KpBootConfigKind kind;
        const char *config_path;
        int error;
        const char *message;
} bombs[] = {
        { "echo-expansion", echo_expansion, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, -E2BIG, MEMORY_BUDGET(17) },
        { "entry-parameters", entry_parameters, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, -E2BIG, MEMORY_BUDGET(17) },
        { "function-fan-out", function_fan_out, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, -E2BIG, WORK_BUDGET(17) },
        { "fan-out-per-entry", fan_out_per_entry, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, -ELOOP,
          GRUB_CFG ":2: evaluation took more than 1000000 steps" },
        { "environment-per-entry", environment_per_entry, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, -E2BIG, MEMORY_BUDGET(484) },
        { "environment-per-submenu", environment_per_submenu, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, -E2BIG,
          MEMORY_BUDGET(966) },
        { "long-names", long_names, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, -E2BIG, WORK_BUDGET(98) },
        { "tiny-commands", tiny_commands, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, -E2BIG, MEMORY_BUDGET(110369) },
        { "tiny-words", tiny_words, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, -E2BIG, MEMORY_BUDGET(1) },
        { "tiny-variables", tiny_variables, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, -E2BIG, MEMORY_BUDGET(1) },
        { "many-ifs", many_ifs, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, -E2BIG, MEMORY_BUDGET(23562) },
        { "doubling", doubling, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, -E2BIG, GRUB_CFG ":17: word of more than 65536 bytes" },
        { "long-word", long_word, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, -E2BIG, GRUB_CFG ":1: word of more than 65536 bytes" },
        { "source-loop", source_loop, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, -ELOOP,
          "/boot/grub/s.cfg:1: source nested deeper than 16 levels" },
        { "source-tree", source_tree, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, -E2BIG,
          "/boot/grub/s14.cfg:1: " REQUEST_BUDGET("/boot/grub/s15.cfg") },
        { "configfile-loop", configfile_loop, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, 0, NULL },
        { "probes", probes, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, -E2BIG, GRUB_CFG ":1: " REQUEST_BUDGET("/boot/x") },
        { "devices", devices, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, -E2BIG, GRUB_CFG ": more than 256 devices searched for" },
        { "grubenv-per-entry", grubenv_per_entry, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, -E2BIG,
          GRUB_CFG ":17: /boot/grub/grubenv: reading it would exceed the limit of 16777216 bytes read for one "
                   "configuration" },
        { "grubenv-long-names", grubenv_long_names, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, -E2BIG, WORK_BUDGET(1) },
        { "parameters-passed-on", parameters_passed_on, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, -E2BIG, MEMORY_BUDGET(18) },
        { "long-command-names", long_command_names, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, -E2BIG, WORK_BUDGET(2) },
        { "initrd-paths", initrd_paths, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, -E2BIG, PLAN_BUDGET(GRUB_CFG ":34") },
        { "command-lines", command_lines, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, -E2BIG, PLAN_BUDGET(GRUB_CFG ":525") },
        { "long-titles", long_titles, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, -E2BIG, MEMORY_BUDGET(176) },
        { "warnings", warnings, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, 0, NULL },
        { "bls-snippets", bls_snippets, KP_BOOT_CONFIG_GRUB2, GRUB_CFG, 0, NULL },
        { "extlinux-include-loop", extlinux_include_loop, KP_BOOT_CONFIG_EXTLINUX, EXTLINUX_CONF, -ELOOP,
          "/boot/extlinux/a.conf:1: INCLUDE nested deeper than 16 levels" },
        { "extlinux-include-tree", extlinux_include_tree, KP_BOOT_CONFIG_EXTLINUX, EXTLINUX_CONF, -E2BIG,
          "/boot/extlinux/i14.conf:1: INCLUDE: " REQUEST_BUDGET("/boot/extlinux/i15.conf") },
        { "extlinux-labels", extlinux_labels, KP_BOOT_CONFIG_EXTLINUX, EXTLINUX_CONF, 0, NULL },
        { "extlinux-command-lines", extlinux_command_lines, KP_BOOT_CONFIG_EXTLINUX, EXTLINUX_CONF, -E2BIG,
          PLAN_BUDGET("/boot/extlinux/c.conf") },
        { "legacy-unknown-commands", legacy_unknown_commands, KP_BOOT_CONFIG_GRUB_LEGACY, "/boot/grub/menu.lst", 0,
          NULL },
};

size_t bombs_count(void)
{
        return ELEMENTSOF(bombs);
}

void bomb_make(size_t i, Bomb *ret)
{
        *ret = (Bomb) {
                .name = bombs[i].name,
                .kind = bombs[i].kind,
                .config_path = bombs[i].config_path,
                .fs = memfs_new(),
                .error = bombs[i].error,
                .message = bombs[i].message,
        };
        bombs[i].make(ret);
}

void bomb_done(Bomb *b)
{
        memfs_free(b->fs);
        *b = (Bomb) {};
}

const MemFile *bomb_config(const Bomb *b)
{
        const MemFile *f = memfs_get(b->fs, b->config_path);

        ASSERT_TRUE(f);
        return f;
}

/* Replaces every old in [p, end) by new, into t. */
static void replace(Text *t, const char *p, const char *end, const char *old, const char *new)
{
        while (p < end) {
                const char *hit = memmem(p, (size_t) (end - p), old, strlen(old));
                size_t n = hit ? (size_t) (hit - p) : (size_t) (end - p);
                ASSERT_TRUE(fwrite(p, 1, n, t->f) == n);
                if (!hit)
                        break;
                add(t, "%s", new);
                p = hit + strlen(old);
        }
}

/*
 * Ubuntu: the header up to the Advanced submenu, then 511 kernels' normal
 * and recovery entries made from the first two there, then the rest: with
 * the top entry, 1023 entries.
 */
static void ubuntu_1023_entries(Bomb *b)
{
        _cleanup_free_ char *dir = test_data_dir("ubuntu-20.04");
        _cleanup_free_ char *cfg = NULL;
        const char *sub, *first, *end;
        const MemFile *f;
        Text t;

        text_open(&t);
        memfs_load_dir(b->fs, dir);
        f = memfs_get(b->fs, GRUB_CFG);
        ASSERT_TRUE(f);
        cfg = strndup(f->data, f->size);
        sub = strstr(cfg, "submenu 'Advanced options for Ubuntu'");
        ASSERT_TRUE(sub);
        first = strchr(sub, '\n') + 1;
        end = strstr(strstr(first, "\t}\n") + 3, "\t}\n") + 3;
        ASSERT_TRUE(fwrite(cfg, 1, (size_t) (first - cfg), t.f) == (size_t) (first - cfg));
        for (int i = 0; i < 511; i++) {
                char version[32];
                snprintf(version, sizeof(version), "5.4.0-%d-generic", 1000 + i);
                replace(&t, first, end, "5.4.0-42-generic", version);
        }
        add(&t, "%s", strstr(end, "\n}\n") + 1);
        put(b, GRUB_CFG, &t);
}

/* Fedora: 1021 more snippets like its newest, numbered 6.3.0 to 6.13.20: 1024 entries. */
static void fedora_1024_snippets(Bomb *b)
{
        static const char newest[] = "/loader/entries/5f1c0e4e4a6d4c6a9b2e7d8c9f0a1b2c-6.2.15-300.fc38.x86_64.conf";
        _cleanup_free_ char *dir = test_data_dir("fedora-38");
        _cleanup_free_ char *snippet = NULL;
        const MemFile *f;

        memfs_load_dir(b->fs, dir);
        f = memfs_get(b->fs, newest);
        ASSERT_TRUE(f);
        snippet = strndup(f->data, f->size);
        for (int i = 0; i < 1021; i++) {
                char version[64], path[160];
                Text t;
                text_open(&t);
                snprintf(version, sizeof(version), "6.%d.%d-300.fc38.x86_64", 3 + i / 100, i % 100);
                snprintf(path, sizeof(path), "/loader/entries/5f1c0e4e4a6d4c6a9b2e7d8c9f0a1b2c-%s.conf", version);
                replace(&t, snippet, snippet + strlen(snippet), "6.2.15-300.fc38.x86_64", version);
                put(b, path, &t);
        }
}

static const struct {
        const char *name;
        void (*make)(Bomb *b);
        const char *config_path;
        const char *entries;
} limits[] = {
        { "ubuntu-1023-entries", ubuntu_1023_entries, GRUB_CFG, "1023" },
        { "fedora-1024-snippets", fedora_1024_snippets, "/grub2/grub.cfg", "1024" },
};

size_t limits_count(void)
{
        return ELEMENTSOF(limits);
}

void limit_make(size_t i, Bomb *ret)
{
        *ret = (Bomb) {
                .name = limits[i].name,
                .kind = KP_BOOT_CONFIG_GRUB2,
                .config_path = limits[i].config_path,
                .fs = memfs_new(),
                .message = limits[i].entries,
        };
        limits[i].make(ret);
}
