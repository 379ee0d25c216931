/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which domain's disk is this one: the matching kp_xl_check_disk_unused()
 * applies to libxl's list. A real domain list needs Xen, which this test
 * machine does not run; the list here is what libxl would return
 * (domid, the backend's params), pointing at real files.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests.h"
#include "util/macro.h"
#include "xl/inuse.h"

static char dir[] = "/tmp/kp-test-inuse-XXXXXX";

static char *path(const char *name)
{
        char *p;

        ASSERT_TRUE(asprintf(&p, "%s/%s", dir, name) > 0);
        return p;
}

static void touch(const char *p)
{
        int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

        ASSERT_TRUE(fd >= 0);
        close(fd);
}

int main(void)
{
        _cleanup_free_ char *disk = NULL, *hard = NULL, *sym = NULL, *other = NULL, *gone = NULL,
                            *dotted = NULL;

        ASSERT_TRUE(mkdtemp(dir));
        disk = path("guest.img");
        hard = path("hardlink.img");
        sym = path("symlink.img");
        other = path("other.img");
        gone = path("gone.img");
        dotted = path("./guest.img");
        touch(disk);
        touch(other);
        ASSERT_TRUE(link(disk, hard) == 0);
        ASSERT_TRUE(symlink("guest.img", sym) == 0);

        {
                /* The same file under another name, a link to it, the same path written differently. */
                KpXlDomainDisk list[] = { { 1, other }, { 2, hard } };
                ASSERT_EQ(kp_xl_disk_find_user(disk, list, ELEMENTSOF(list), UINT32_MAX), 1);
                list[1].path = sym;
                ASSERT_EQ(kp_xl_disk_find_user(disk, list, ELEMENTSOF(list), UINT32_MAX), 1);
                list[1].path = dotted;
                ASSERT_EQ(kp_xl_disk_find_user(disk, list, ELEMENTSOF(list), UINT32_MAX), 1);
                /* The domain being built (the bootloader's own) is not a user. */
                ASSERT_EQ(kp_xl_disk_find_user(disk, list, ELEMENTSOF(list), 2), -1);
                /* Another file, an empty or missing backend path: nobody. */
                list[1] = (KpXlDomainDisk) { 3, "" };
                ASSERT_EQ(kp_xl_disk_find_user(disk, list, ELEMENTSOF(list), UINT32_MAX), -1);
                list[1] = (KpXlDomainDisk) { 3, gone };
                ASSERT_EQ(kp_xl_disk_find_user(disk, list, ELEMENTSOF(list), UINT32_MAX), -1);
                /* A disk that is gone itself is still matched by its path. */
                ASSERT_EQ(kp_xl_disk_find_user(gone, list, ELEMENTSOF(list), UINT32_MAX), 1);
        }

        /* Not a Xen control domain here: no domain can use the disk, so the check passes. */
        if (!kp_xl_xen_running()) {
                KpError e = {};
                ASSERT_OK(kp_xl_check_disk_unused(disk, UINT32_MAX, &e));
        }

        unlink(sym);
        unlink(hard);
        unlink(disk);
        unlink(other);
        rmdir(dir);
        return 0;
}
