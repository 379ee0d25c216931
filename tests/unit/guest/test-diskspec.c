/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "guest/diskspec.h"
#include "tests.h"
#include "util/error.h"

static void check(const char *spec, const char *path, KpDiskFormat format)
{
        KpDiskSpec d;
        KpError error = {};

        ASSERT_OK(kp_disk_spec_parse(spec, &error, &d));
        ASSERT_STREQ(d.path, path);
        ASSERT_EQ(d.format, format);
        kp_disk_spec_done(&d);
        ASSERT_TRUE(d.path == NULL);
}

static void refuse(const char *spec, int code, const char *message)
{
        KpDiskSpec d = { .path = NULL };
        KpError error = {};

        ASSERT_ERROR(kp_disk_spec_parse(spec, &error, &d), code);
        ASSERT_CONTAINS(error.message, message);
        /* ret is written only on success. */
        ASSERT_TRUE(d.path == NULL);
}

int main(void)
{
        /* A bare path is raw, as in xl: nothing is ever probed. */
        check("/var/lib/xen/images/web1.img", "/var/lib/xen/images/web1.img", KP_DISK_FORMAT_RAW);
        check("/dev/vg0/web1", "/dev/vg0/web1", KP_DISK_FORMAT_RAW);
        check("web1.qcow2,format=qcow2", "web1.qcow2", KP_DISK_FORMAT_QCOW2);
        check("format=qcow2,web1.qcow2", "web1.qcow2", KP_DISK_FORMAT_QCOW2);
        check("web1.img,format=raw", "web1.img", KP_DISK_FORMAT_RAW);
        /* xl's own keys that do not change what is read. */
        check("format=raw,vdev=xvda,access=rw,target=/srv/a,b.img", "/srv/a,b.img", KP_DISK_FORMAT_RAW);
        check("vdev=xvdb,devtype=disk,format=qcow2,target=/srv/x.qcow2", "/srv/x.qcow2", KP_DISK_FORMAT_QCOW2);
        check("/srv/old.img,format=aio", "/srv/old.img", KP_DISK_FORMAT_RAW);

        ASSERT_STREQ(kp_disk_format_to_string(KP_DISK_FORMAT_RAW), "raw");
        ASSERT_STREQ(kp_disk_format_to_string(KP_DISK_FORMAT_QCOW2), "qcow2");
        ASSERT_TRUE(kp_disk_format_to_string(_KP_DISK_FORMAT_MAX) == NULL);

        refuse("", -EINVAL, "empty disk spec");
        refuse("format=qcow2", -EINVAL, "names no path");
        refuse("a.img,b.img", -EINVAL, "more than one path");
        refuse("a.vhd,format=vhd", -EOPNOTSUPP, "disk format \"vhd\" is not supported");
        refuse("a.img,format=vmdk", -EINVAL, "unknown disk format \"vmdk\"");
        refuse("a.iso,devtype=cdrom", -EINVAL, "only devtype=disk");
        refuse("a.img,script=block-iscsi", -EINVAL, "unsupported key \"script\"");
        refuse("target=", -EINVAL, "names no path");
        return 0;
}
