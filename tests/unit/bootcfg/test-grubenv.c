/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The GRUB environment block, as grub_envblk_iterate() reads it. */
#include <string.h>

#include "bootcfg/bootplan.h"
#include "bootcfg/grubenv.h"
#include "tests.h"

static KpGrubEnv *parse_ok(const char *data, size_t size)
{
        KpGrubEnv *env = NULL;
        KpError e = {};
        if (kp_grubenv_parse(data, size, &e, &env) < 0)
                TEST_FAIL("grubenv parse failed: %s", e.message);
        return env;
}

static void test_standard_block(void)
{
        char block[1024];
        const char *head = "# GRUB Environment Block\nsaved_entry=Ubuntu>Ubuntu, with Linux 5.4\nnext_entry=\nkernelopts=root=UUID=x ro quiet \n";
        KpGrubEnv *env;

        /* grub-editenv pads to 1024 bytes with '#'. */
        memset(block, '#', sizeof(block));
        memcpy(block, head, strlen(head));
        env = parse_ok(block, sizeof(block));
        ASSERT_EQ(env->n_vars, 3);
        ASSERT_STREQ(kp_grubenv_get(env, "saved_entry"), "Ubuntu>Ubuntu, with Linux 5.4");
        ASSERT_STREQ(kp_grubenv_get(env, "next_entry"), "");
        ASSERT_STREQ(kp_grubenv_get(env, "kernelopts"), "root=UUID=x ro quiet ");
        ASSERT_TRUE(!kp_grubenv_get(env, "missing"));
        kp_grubenv_free(env);
}

static void test_escapes_and_quirks(void)
{
        /* '\' escapes '\' and newline; a later line wins; '#' lines are skipped; a name runs to '='. */
        static const char data[] = "# GRUB Environment Block\na=x\\\\y\\\nz\n#b=hidden\na2=1\nname\nwith=newline\na2=2\nbroken";
        KpGrubEnv *env = parse_ok(data, sizeof(data) - 1);

        ASSERT_EQ(env->n_vars, 3);
        ASSERT_STREQ(kp_grubenv_get(env, "a"), "x\\y\nz");
        ASSERT_STREQ(kp_grubenv_get(env, "a2"), "2");
        ASSERT_STREQ(kp_grubenv_get(env, "name\nwith"), "newline");
        ASSERT_TRUE(!kp_grubenv_get(env, "#b"));
        kp_grubenv_free(env);

        /* A NUL ends a value, as GRUB's C strings do. */
        static const char nul[] = "# GRUB Environment Block\nv=ab\0cd\n";
        env = parse_ok(nul, sizeof(nul) - 1);
        ASSERT_STREQ(kp_grubenv_get(env, "v"), "ab");
        kp_grubenv_free(env);
}

static void test_refusals(void)
{
        KpGrubEnv *env = NULL;
        KpError e = {};
        char *many = NULL;
        size_t len = 0;
        FILE *f;

        ASSERT_ERROR(kp_grubenv_parse("saved_entry=0\n", 14, &e, &env), -EBADMSG);
        ASSERT_STREQ(e.message, "invalid environment block: no \"# GRUB Environment Block\" signature");
        /* GRUB wants one byte more than the signature. */
        ASSERT_ERROR(kp_grubenv_parse("# GRUB Environment Block\n", 25, &e, &env), -EBADMSG);

        f = open_memstream(&many, &len);
        fputs("# GRUB Environment Block\n", f);
        for (int i = 0; i < 2000; i++)
                fprintf(f, "v%d=1\n", i);
        fclose(f);
        ASSERT_ERROR(kp_grubenv_parse(many, len, &e, &env), -E2BIG);
        ASSERT_STREQ(e.message, "grubenv holds more than 1024 variables");
        free(many);

        ASSERT_ERROR(kp_grubenv_parse("# GRUB Environment Block\n", KP_BOOTCFG_MAX_SIZE + 1, &e, &env), -EFBIG);
        ASSERT_TRUE(!env);
}

int main(void)
{
        test_standard_block();
        test_escapes_and_quirks();
        test_refusals();
        return 0;
}
