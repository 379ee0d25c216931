/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GRUB script syntax and expansion as GRUB 2.06 has them: quoting, $var,
 * word splitting, keywords, blocks, and the command line GRUB's Xen loader
 * builds. Each case is a small grub.cfg whose one entry shows the result
 * in its command line.
 */
#include <string.h>

#include "bootcfg-test.h"
#include "bootcfg/grub/parser.h"

/* The command line of `linux /k ARGS` in an entry, after prelude ran at the top. */
static char *cmdline_of(const char *prelude, const char *args)
{
        _cleanup_free_ char *text = NULL;
        KpBootPlan *plan = NULL;
        KpError e = {};
        char *c;

        ASSERT_TRUE(asprintf(&text, "%s\nmenuentry 'T' {\n\tlinux /k %s\n}\n", prelude, args) >= 0);
        if (parse_text(KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg", text, NULL, &e, &plan) < 0)
                TEST_FAIL("parse of <<%s>> failed: %s", text, e.message);
        c = strdup(selected(plan)->cmdline);
        kp_boot_plan_free(plan);
        return c;
}

#define CHECK_CMDLINE(prelude, args, expected)                                                            \
        do {                                                                                               \
                _cleanup_free_ char *_c = cmdline_of(prelude, args);                                       \
                ASSERT_STREQ(_c, expected);                                                                \
        } while (0)

/* Parses text and expects err with message. */
static void check_error(const char *text, int err, const char *message)
{
        KpBootPlan *plan = NULL;
        KpError e = {};

        ASSERT_ERROR(parse_text(KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg", text, NULL, &e, &plan), err);
        ASSERT_STREQ(e.message, message);
        ASSERT_TRUE(!plan);
}

static void test_quoting(void)
{
        /* Single quotes: everything literal, $ and backslash included. */
        CHECK_CMDLINE("", "'a $b \\c'", "\"a $b \\\\c\"");
        /* Double quotes: $var expanded, \$ \\ \" escaped, other backslashes kept. */
        CHECK_CMDLINE("set v=x", "\"$v \\$v \\\\ \\\" \\n\"", "\"x $v \\\\ \\\" \\\\n\"");
        /* Outside quotes a backslash escapes the next character. */
        CHECK_CMDLINE("", "a\\ b c\\$d", "\"a b\" c$d");
        /* 'it'\''s' is one word. */
        CHECK_CMDLINE("", "'it'\\''s'", "it\\'s");
        /* Backslash-newline joins lines, inside and between words. */
        CHECK_CMDLINE("", "a\\\nb \\\n c", "ab c");
        /* Quotes spanning lines keep the newline. */
        CHECK_CMDLINE("set v='x\ny'", "\"$v\"", "x\ny");
        /* $"..." reads as "...". */
        CHECK_CMDLINE("set v=1", "$\"a$v\"", "a1");
        /* A '#' inside a word is a character; starting a word, a comment. */
        CHECK_CMDLINE("", "a#b #c d", "a#b");
        /* Carriage returns vanish, as GRUB's line reader drops them. */
        CHECK_CMDLINE("set v=a\r", "$v\r", "a");
}

static void test_expansion(void)
{
        /* Unquoted: split at blanks; quoted: one argument. */
        CHECK_CMDLINE("set v=\"a  b\"", "$v \"$v\" x${v}y", "a b \"a  b\" xa by");
        /* Unset and empty: unquoted vanishes, quoted stays as an empty argument. */
        CHECK_CMDLINE("", "a $nothing b \"$nothing\" c '' d", "a b  c  d");
        /* ${name} stops the name. */
        CHECK_CMDLINE("set v=1; set vv=2", "${v}v $vv", "1v 2");
        /* Positional parameters: $1 is the entry's title. */
        CHECK_CMDLINE("", "$1 $# \"$*\"", "T 1 T");
        /* name=value as a command assigns, `set a=b c` ignores c. */
        CHECK_CMDLINE("a=1\nset b=2 3", "$a $b", "1 2");
        /* Arguments that hold quotes or backslashes are escaped in the command line, as GRUB does. */
        CHECK_CMDLINE("", "'a\"b' 'c\\d'", "a\\\"b c\\\\d");
        /* Keywords are ordinary words after a command's first word. */
        CHECK_CMDLINE("", "if then fi for done", "if then fi for done");
}

static void test_control(void)
{
        CHECK_CMDLINE("if true; then set v=1; else set v=2; fi", "$v", "1");
        CHECK_CMDLINE("if false; then set v=1; elif [ a = a ]; then set v=2; else set v=3; fi", "$v", "2");
        CHECK_CMDLINE("if ! true; then set v=1; else set v=2; fi", "$v", "2");
        /* Unknown commands fail, so the else branch runs. */
        CHECK_CMDLINE("if hwmatch x 3; then set v=1; else set v=2; fi", "$v", "2");
        /* $? is the last status. */
        CHECK_CMDLINE("false; set s=$?", "$s", "1");
        /* Functions run with their own $1; what they set stays set. */
        CHECK_CMDLINE("function f {\n set v=\"$1-$2\"\n}\nf a b", "$v", "a-b");
        /* A function called inside the entry. */
        CHECK_CMDLINE("function f { set w=in; }", "$w", "");
        /* for/while are parsed, not run. */
        CHECK_CMDLINE("for i in a b; do set v=$i; done", "x$v", "x");
        /* The GRUB platform pvgrub2 reports. */
        CHECK_CMDLINE("", "$grub_platform $grub_cpu $feature_menuentry_id", "xen x86_64 y");
}

static void test_tests(void)
{
        /* GRUB's test: empty expression true, lone word true when non-empty, -a ignored, -o splits. */
        CHECK_CMDLINE("if [ ]; then v=1; fi", "$v", "1");
        CHECK_CMDLINE("if [ \"\" ]; then v=1; else v=0; fi", "$v", "0");
        CHECK_CMDLINE("if [ -n \"\" -o x = x ]; then v=1; else v=0; fi", "$v", "1");
        CHECK_CMDLINE("if [ -z \"\" -a x = y ]; then v=1; else v=0; fi", "$v", "0");
        CHECK_CMDLINE("if [ ( a = b ) -o ( 1 -lt 2 ) ]; then v=1; else v=0; fi", "$v", "1");
        /* Numbers as grub_strtoul reads them: 010 is eight, 0x10 sixteen. */
        CHECK_CMDLINE("if [ 010 -eq 8 -a 0x10 -eq 16 -a -3 -lt 2 ]; then v=1; else v=0; fi", "$v", "1");
        CHECK_CMDLINE("if [ vmlinuz-2 -plt vmlinuz-11 ]; then v=1; else v=0; fi", "$v", "1");
        CHECK_CMDLINE("if [ abc \\< abd ]; then v=1; else v=0; fi", "$v", "1");
        CHECK_CMDLINE("if test x != y; then v=1; else v=0; fi", "$v", "1");
}

static void test_syntax_errors(void)
{
        check_error("menuentry 'a {\n", -EBADMSG, "/boot/grub/grub.cfg:1: syntax error: unterminated single quote");
        check_error("set a=\"x\n\n", -EBADMSG, "/boot/grub/grub.cfg:1: syntax error: unterminated double quote");
        check_error("fi\n", -EBADMSG, "/boot/grub/grub.cfg:1: syntax error: unexpected 'fi'");
        check_error("if true; then\n echo\n", -EBADMSG, "/boot/grub/grub.cfg:3: syntax error: unexpected end of file");
        check_error("if true then echo; fi\n", -EBADMSG, "/boot/grub/grub.cfg:1: syntax error: unexpected 'fi'");
        check_error("true && false\n", -EBADMSG, "/boot/grub/grub.cfg:1: syntax error: '&&' is not supported by GRUB");
        check_error("echo a | b\n", -EBADMSG, "/boot/grub/grub.cfg:1: syntax error: '|' is not supported by GRUB");
        check_error("echo $(x)\n", -EBADMSG, "/boot/grub/grub.cfg:1: syntax error: '$' starts no variable reference");
        check_error("echo ${a b}\n", -EBADMSG, "/boot/grub/grub.cfg:1: syntax error: bad ${...} variable reference");
        check_error("menuentry a {\n}\n", -EBADMSG, "/boot/grub/grub.cfg:2: syntax error: unexpected '}'");
        check_error("}\n", -EBADMSG, "/boot/grub/grub.cfg:1: syntax error: unexpected '}'");
        check_error("function f { echo }\n", -EBADMSG, "/boot/grub/grub.cfg:1: syntax error: unexpected '}'");
        check_error("menuentry a { function f { echo; } }\n", -EBADMSG,
                    "/boot/grub/grub.cfg:1: syntax error: unexpected 'function'");
        check_error("echo a\\", -EBADMSG, "/boot/grub/grub.cfg:1: syntax error: backslash at end of file");
}

static void test_hostile_syntax(void)
{
        _cleanup_free_ char *deep = NULL, *big = NULL;
        size_t n = 0;
        FILE *f;

        /* NUL bytes are refused, not cut as GRUB's C strings would. */
        {
                static const char text[] = "menuentry 'a\0b' {\n linux /k\n}\n";
                KpBootPlan *plan = NULL;
                KpError e = {};
                ASSERT_ERROR(kp_boot_config_parse(KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg", text, sizeof(text) - 1, NULL,
                                                  &e, &plan),
                             -EBADMSG);
                ASSERT_STREQ(e.message, "/boot/grub/grub.cfg:1: NUL byte in configuration");
        }

        /* 100 nested if blocks. */
        f = open_memstream(&deep, &n);
        for (int i = 0; i < 100; i++)
                fprintf(f, "if true; then\n");
        fprintf(f, "menuentry a { linux /k; }\n");
        for (int i = 0; i < 100; i++)
                fprintf(f, "fi\n");
        fclose(f);
        check_error(deep, -ELOOP, "/boot/grub/grub.cfg:17: nesting deeper than 16 levels");

        /* A config over 1 MiB. */
        big = malloc(KP_BOOTCFG_MAX_SIZE + 2);
        memset(big, '#', KP_BOOTCFG_MAX_SIZE + 1);
        big[KP_BOOTCFG_MAX_SIZE + 1] = '\0';
        check_error(big, -EFBIG, "/boot/grub/grub.cfg: 1048577 bytes exceeds the limit of 1048576 bytes");
}

static void test_parser_tree(void)
{
        _cleanup_(grub_script_freep) GrubScript *s = NULL;
        static const char text[] = "# comment\nset a=1; menuentry 'x y' --id=i {\n linux /k\n}\nif a; then b; elif c; then d; fi\n";

        ASSERT_OK(grub_script_parse("t", text, strlen(text), NULL, &s));
        ASSERT_EQ(s->n_cmds, 3);
        ASSERT_EQ(s->cmds[0].kind, GRUB_CMD_SIMPLE);
        ASSERT_EQ(s->cmds[0].n_words, 2);
        ASSERT_STREQ(s->cmds[0].words[1].plain, "a=1");
        ASSERT_EQ(s->cmds[1].n_words, 3);
        ASSERT_EQ(s->cmds[1].words[1].n_parts, 1);
        ASSERT_EQ(s->cmds[1].words[1].parts[0].kind, GRUB_PART_QUOTED);
        ASSERT_STREQ(s->cmds[1].words[1].parts[0].text, "x y");
        ASSERT_TRUE(s->cmds[1].block);
        ASSERT_EQ(s->cmds[1].line, 2);
        ASSERT_EQ(s->cmds[2].kind, GRUB_CMD_IF);
        ASSERT_EQ(s->cmds[2].else_part->n_cmds, 1);
        ASSERT_EQ(s->cmds[2].else_part->cmds[0].kind, GRUB_CMD_IF);
        ASSERT_EQ(s->cmds[2].line, 5);
}

int main(void)
{
        test_quoting();
        test_expansion();
        test_control();
        test_tests();
        test_syntax_errors();
        test_hostile_syntax();
        test_parser_tree();
        return 0;
}
