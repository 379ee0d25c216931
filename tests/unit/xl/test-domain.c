/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "tests.h"
#include "util/error.h"
#include "xl/domain.h"

static int parse(const char *text, KpError *error, KpDomainConfig **ret)
{
        kp_error_clear(error);
        return kp_domain_config_parse("/etc/xen/web1.cfg", text, strlen(text), error, ret);
}

static void test_bootloader_names(void)
{
        ASSERT_TRUE(kp_domain_bootloader_is_kunpack("kunpack-boot"));
        ASSERT_TRUE(kp_domain_bootloader_is_kunpack("/usr/libexec/kunpack/kunpack-boot"));
        ASSERT_FALSE(kp_domain_bootloader_is_kunpack("pygrub"));
        ASSERT_FALSE(kp_domain_bootloader_is_kunpack("/usr/lib/xen/bin/kunpack-boot.sh"));
        ASSERT_FALSE(kp_domain_bootloader_is_kunpack("/opt/kunpack-boot/pygrub"));
        ASSERT_FALSE(kp_domain_bootloader_is_kunpack(NULL));
}

static void test_kunpack_guest(void)
{
        _cleanup_(kp_domain_config_freep) KpDomainConfig *c = NULL;
        KpError error = {};

        ASSERT_OK(parse("name = \"web1\"\n"
                        "memory = 512\n"
                        "bootloader = \"/usr/libexec/kunpack/kunpack-boot\"\n"
                        "bootloader_args = [ \"--entry=1\", \"--mode=direct\", \"-q\" ]\n"
                        "disk = [ 'format=raw, vdev=xvda, access=rw, target=/var/lib/xen/images/web1.img',\n"
                        "         '/srv/web1-data.qcow2,qcow2,xvdb,rw',\n"
                        "         ',raw,xvdc,ro,cdrom' ]\n",
                        &error, &c));
        ASSERT_STREQ(c->name, "web1");
        ASSERT_TRUE(c->kunpack);
        ASSERT_STREQ(c->entry, "1");
        ASSERT_STREQ(c->mode, "direct");
        ASSERT_TRUE(c->config == NULL);
        ASSERT_EQ(c->n_disks, 2);
        ASSERT_STREQ(c->disks[0].path, "/var/lib/xen/images/web1.img");
        ASSERT_EQ(c->disks[0].format, KP_DISK_FORMAT_RAW);
        ASSERT_STREQ(c->disks[1].path, "/srv/web1-data.qcow2");
        ASSERT_EQ(c->disks[1].format, KP_DISK_FORMAT_QCOW2);
}

static void test_legacy_args_string(void)
{
        _cleanup_(kp_domain_config_freep) KpDomainConfig *c = NULL;
        KpError error = {};

        ASSERT_OK(parse("name='db'\nbootloader='kunpack-boot'\nbootloader_args='--config=/etc/k.conf --entry=Ubuntu'\n"
                        "disk=['phy:/dev/vg0/db,xvda,w']\n",
                        &error, &c));
        ASSERT_STREQ(c->config, "/etc/k.conf");
        ASSERT_STREQ(c->entry, "Ubuntu");
        ASSERT_EQ(c->n_disks, 1);
        ASSERT_STREQ(c->disks[0].path, "/dev/vg0/db");
}

static void test_other_guests(void)
{
        _cleanup_(kp_domain_config_freep) KpDomainConfig *c = NULL;
        KpError error = {};

        /* pygrub guests and HVM guests are not ours; their disks are not even looked at. */
        ASSERT_OK(parse("name = \"old\"\nbootloader = \"pygrub\"\ndisk = [ 'vhd:/x.vhd,xvda,w' ]\n", &error, &c));
        ASSERT_FALSE(c->kunpack);
        ASSERT_STREQ(c->name, "old");
        ASSERT_EQ(c->n_disks, 0);
}

static void test_refusals(void)
{
        _cleanup_(kp_domain_config_freep) KpDomainConfig *c = NULL;
        KpError error = {};

        ASSERT_ERROR(parse("name = \"x\"\nbootloader = \"kunpack-boot\"\ndisk = [ '/a.img,xvda' \n", &error, &c),
                     -EINVAL);
        ASSERT_CONTAINS(error.message, "/etc/xen/web1.cfg:");

        ASSERT_ERROR(parse("bootloader = \"kunpack-boot\"\ndisk = [ '/a.img,raw,xvda,w' ]\n", &error, &c), -EINVAL);
        ASSERT_STREQ(error.message, "/etc/xen/web1.cfg: a guest booted by kunpack-boot needs name = \"...\"");

        ASSERT_ERROR(parse("name = \"x\"\nbootloader = \"kunpack-boot\"\n", &error, &c), -EINVAL);
        ASSERT_STREQ(error.message, "/etc/xen/web1.cfg: a guest booted by kunpack-boot needs disk = [ ... ]");

        ASSERT_ERROR(parse("name = \"x\"\nbootloader = \"kunpack-boot\"\ndisk = [ 'vhd:/a.vhd,xvda,w' ]\n", &error,
                           &c),
                     -EOPNOTSUPP);
        ASSERT_STREQ(error.message, "/etc/xen/web1.cfg: disk /a.vhd: format vhd is not supported by kunpack");

        ASSERT_ERROR(parse("name = \"x\"\nbootloader = \"kunpack-boot\"\ndisk = [ '/a.img,raw,xvda,w,bogus=1' ]\n",
                           &error, &c),
                     -EINVAL);

        ASSERT_ERROR(kp_domain_config_parse("f", "name='a'\0", 10, &error, &c), -EINVAL);
        ASSERT_STREQ(error.message, "f: contains a NUL byte");
}

int main(void)
{
        test_bootloader_names();
        test_kunpack_guest();
        test_legacy_args_string();
        test_other_guests();
        test_refusals();
        return 0;
}
