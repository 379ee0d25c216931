/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libxl's local attach of a qcow2 image (lib/xl/attach.h): the backend's
 * params back to the image, and /dev/xvdX to its backend. xenstore needs
 * Xen, which this test machine does not run: the backends here are what
 * libxl writes for dom0's attach (libxl_disk.c: params "<format>:<path>",
 * dev the vdev), and the lookup through xenstore says "not an attach".
 */
#include <stdlib.h>
#include <string.h>

#include "tests.h"
#include "util/macro.h"
#include "xl/attach.h"
#include "xl/inuse.h"

static void test_params(void)
{
        static const struct {
                const char *params;
                int r;
                const char *path;
                KpDiskFormat format;
                const char *message;
        } cases[] = {
                { "qcow2:/srv/xen/app1.qcow2", 0, "/srv/xen/app1.qcow2", KP_DISK_FORMAT_QCOW2, NULL },
                { "aio:/srv/xen/app1.img", 0, "/srv/xen/app1.img", KP_DISK_FORMAT_RAW, NULL },
                { "raw:/srv/xen/app1.img", 0, "/srv/xen/app1.img", KP_DISK_FORMAT_RAW, NULL },
                { "/dev/vg0/app1", 0, "/dev/vg0/app1", KP_DISK_FORMAT_RAW, NULL },
                /* A path with a colon in it keeps it: only the first one ends the format. */
                { "qcow2:/srv/a:b.qcow2", 0, "/srv/a:b.qcow2", KP_DISK_FORMAT_QCOW2, NULL },
                { "vhd:/srv/app1.vhd", -EOPNOTSUPP, NULL, 0, "/srv/app1.vhd is a vhd image, which kunpack does not read" },
                { "qed:/srv/app1.qed", -EOPNOTSUPP, NULL, 0, "/srv/app1.qed is a qed image, which kunpack does not read" },
                { "qcow:/srv/app1.qcow", -EOPNOTSUPP, NULL, 0, "/srv/app1.qcow is a qcow image, which kunpack does not read" },
                { "qcow22:/srv/x", -EINVAL, NULL, 0, "the backend's params \"qcow22:/srv/x\" have an unknown format" },
                { "qcow2:relative.img", -EINVAL, NULL, 0, "the backend's params \"qcow2:relative.img\" name no absolute path" },
                { "qcow2:", -EINVAL, NULL, 0, "the backend's params \"qcow2:\" name no absolute path" },
                { "", -EINVAL, NULL, 0, "the backend names no disk" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                KpDiskSpec spec = {};
                KpError e = {};
                int r = kp_xl_params_to_spec(cases[i].params, &e, &spec);

                ASSERT_EQ(r, cases[i].r);
                if (r == 0) {
                        ASSERT_STREQ(spec.path, cases[i].path);
                        ASSERT_EQ(spec.format, cases[i].format);
                } else {
                        ASSERT_EQ(e.code, r);
                        ASSERT_STREQ(e.message, cases[i].message);
                        ASSERT_TRUE(spec.path == NULL);
                }
                kp_disk_spec_done(&spec);
        }
        ASSERT_EQ(kp_xl_params_to_spec(NULL, NULL, &(KpDiskSpec) {}), -EINVAL);
}

static void test_find(void)
{
        /* Two starts at once: each bootloader has its own attach. */
        const KpXlAttach attaches[] = {
                { "vbd", NULL, "/dev/vg0/web" },
                { "qdisk", "xvda", "qcow2:/srv/xen/app1.qcow2" },
                { "qdisk", "xvdb", "qcow2:/srv/xen/app2.qcow2" },
        };

        ASSERT_EQ(kp_xl_attach_find("/dev/xvda", attaches, ELEMENTSOF(attaches)), 1);
        ASSERT_EQ(kp_xl_attach_find("/dev/xvdb", attaches, ELEMENTSOF(attaches)), 2);
        ASSERT_EQ(kp_xl_attach_find("/dev/xvdc", attaches, ELEMENTSOF(attaches)), -1);
        /* Only names directly under /dev/: what libxl passes is "/dev/" + vdev. */
        ASSERT_EQ(kp_xl_attach_find("xvda", attaches, ELEMENTSOF(attaches)), -1);
        ASSERT_EQ(kp_xl_attach_find("/srv/xvda", attaches, ELEMENTSOF(attaches)), -1);
        ASSERT_EQ(kp_xl_attach_find("/dev/disk/xvda", attaches, ELEMENTSOF(attaches)), -1);
        ASSERT_EQ(kp_xl_attach_find("/dev/", attaches, ELEMENTSOF(attaches)), -1);
        ASSERT_EQ(kp_xl_attach_find(NULL, attaches, ELEMENTSOF(attaches)), -1);
        ASSERT_EQ(kp_xl_attach_find("/dev/xvda", attaches, 0), -1);
}

static void test_source(void)
{
        KpDiskSpec spec = {};
        KpError e = {};
        char *name = (char *) 1;

        /* Not a block device under /dev/: never an attach, whether Xen runs or not. */
        ASSERT_EQ(kp_xl_local_attach_source("/dev/null", &e, &spec), 0);
        ASSERT_EQ(kp_xl_local_attach_source("/srv/xen/app1.qcow2", &e, &spec), 0);
        ASSERT_EQ(kp_xl_local_attach_source("/dev/xvd-not-there", &e, &spec), 0);
        ASSERT_TRUE(spec.path == NULL);

        if (!kp_xl_xen_running()) {
                /* No xenstore here: no attach, and no domain has a name. */
                ASSERT_EQ(kp_xl_domain_name(5, &name), 0);
                ASSERT_TRUE(name == NULL);
        }
        ASSERT_EQ(kp_xl_domain_name(0, &name), 0);
        ASSERT_TRUE(name == NULL);
}

int main(void)
{
        test_params();
        test_find();
        test_source();
        return 0;
}
