/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The manifest pvgrub mode keeps in the guest: what it writes it reads back; anything else is refused. */
#include <string.h>

#include "pvgrub/manifest.h"
#include "tests.h"
#include "util/error.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define SHA_C "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char good[] =
        "kunpack-changes 1\n"
        "config\t/boot/grub/grub.cfg\t" SHA_A "\n"
        "backup\t/boot/grub/grub.cfg.kunpack-orig\t" SHA_B "\n"
        "file\t/boot/vmlinux-5.4.0-42-generic\t" SHA_C "\t/boot/vmlinuz-5.4.0-42-generic\t" SHA_A "\n";

static void test_round_trip(void)
{
        KpPvgrubManifest *m = NULL;
        KpError e = {};
        char *text;
        size_t size;

        ASSERT_OK(kp_pvgrub_manifest_parse(good, strlen(good), &e, &m));
        ASSERT_STREQ(m->config, "/boot/grub/grub.cfg");
        ASSERT_STREQ(m->config_sha256, SHA_A);
        ASSERT_STREQ(m->backup, "/boot/grub/grub.cfg.kunpack-orig");
        ASSERT_EQ(m->n_files, 1);
        ASSERT_STREQ(kp_pvgrub_manifest_find(m, "/boot/vmlinux-5.4.0-42-generic")->source,
                     "/boot/vmlinuz-5.4.0-42-generic");
        ASSERT_TRUE(!kp_pvgrub_manifest_find(m, "/boot/vmlinuz-5.4.0-42-generic"));
        ASSERT_OK(kp_pvgrub_manifest_format(m, &text, &size));
        ASSERT_EQ(size, strlen(good));
        ASSERT_MEMEQ(text, good, size);
        free(text);
        kp_pvgrub_manifest_free(m);

        /* Files only (the guest's own config names kunpack's copies): no config, no backup. */
        m = calloc(1, sizeof(*m));
        ASSERT_OK(kp_pvgrub_manifest_add_file(m, "/vmlinux-1", SHA_A, "/vmlinuz-1", SHA_B));
        ASSERT_OK(kp_pvgrub_manifest_format(m, &text, &size));
        ASSERT_STREQ(text, "kunpack-changes 1\nfile\t/vmlinux-1\t" SHA_A "\t/vmlinuz-1\t" SHA_B "\n");
        kp_pvgrub_manifest_free(m);
        m = NULL;
        ASSERT_OK(kp_pvgrub_manifest_parse(text, size, &e, &m));
        ASSERT_TRUE(!m->config && !m->backup && m->n_files == 1);
        free(text);
        kp_pvgrub_manifest_free(m);
}

static void refused(const char *text, const char *why)
{
        KpPvgrubManifest *m = NULL;
        KpError e = {};

        ASSERT_ERROR(kp_pvgrub_manifest_parse(text, strlen(text), &e, &m), -EBADMSG);
        ASSERT_CONTAINS(e.message, why);
        ASSERT_TRUE(!m);
}

static void test_refused(void)
{
        refused("", "truncated");
        refused("kunpack-changes 2\n", "manifest:1: not");
        refused("kunpack-changes 1\nfile\t/vmlinux-1\t" SHA_A "\t/vmlinuz-1\t" SHA_B, "truncated");
        refused("kunpack-changes 1\nfile\tvmlinux-1\t" SHA_A "\t/vmlinuz-1\t" SHA_B "\n", "manifest:2:");
        refused("kunpack-changes 1\nfile\t/boot/../etc/shadow\t" SHA_A "\t/vmlinuz-1\t" SHA_B "\n",
                "manifest:2:");
        refused("kunpack-changes 1\nfile\t/boot//x\t" SHA_A "\t/vmlinuz-1\t" SHA_B "\n", "manifest:2:");
        refused("kunpack-changes 1\nfile\t/x y\t" SHA_A "\t/vmlinuz-1\t" SHA_B "\n", "manifest:2:");
        refused("kunpack-changes 1\nfile\t/x\t" SHA_A "\t/vmlinuz-1\tABC\n", "manifest:2:");
        refused("kunpack-changes 1\nfile\t/x\t" SHA_A "\t/vmlinuz-1\t" SHA_B "\textra\n", "manifest:2:");
        refused("kunpack-changes 1\nconfig\t/boot/grub/grub.cfg\t" SHA_A "\n", "without a backup record");
        refused("kunpack-changes 1\nfile\t/x\t" SHA_A "\t/y\t" SHA_B "\nfile\t/x\t" SHA_A "\t/y\t" SHA_B
                "\n",
                "listed twice");
        refused("kunpack-changes 1\nconfig\t/a\t" SHA_A "\nconfig\t/a\t" SHA_A "\n", "second config record");
        /*
         * Records in another order than kunpack writes them: each manifest has
         * one spelling, so what is read formats back to the same bytes.
         */
        refused("kunpack-changes 1\nbackup\t/bofg\t" SHA_A "\nconfig\t/boot/grub.cf\t" SHA_B "\n",
                "manifest:2: backup record out of place (backup comes right after config)");
        refused("kunpack-changes 1\nfile\t/x\t" SHA_A "\t/y\t" SHA_B "\nconfig\t/a\t" SHA_A "\nbackup\t/b\t" SHA_A
                "\n",
                "manifest:3: config record out of place (config comes first)");
        refused("kunpack-changes 1\nconfig\t/a\t" SHA_A "\nfile\t/x\t" SHA_A "\t/y\t" SHA_B "\nbackup\t/b\t" SHA_A
                "\n",
                "manifest:4: backup record out of place (backup comes right after config)");
        refused("kunpack-changes 1\nrm -rf /\n", "manifest:2: not a record kunpack writes");
        {
                static const char nul[] = "kunpack-changes 1\n\0\n";
                KpPvgrubManifest *m = NULL;
                KpError e = {};
                ASSERT_ERROR(kp_pvgrub_manifest_parse(nul, sizeof(nul) - 1, &e, &m), -EBADMSG);
        }
}

int main(void)
{
        test_round_trip();
        test_refused();
        return 0;
}
