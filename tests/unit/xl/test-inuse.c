/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which domain's disk is this one: the matching kp_xl_check_disk_unused()
 * applies to libxl's list. A real domain list needs Xen, which this test
 * machine does not run; the list here is what libxl would return
 * (domid, the backend's params), pointing at real files.
 */
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
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

static void write_text(const char *p, const char *text)
{
        FILE *f = fopen(p, "we");

        ASSERT_TRUE(f);
        ASSERT_TRUE(fputs(text, f) >= 0);
        ASSERT_TRUE(fclose(f) == 0);
}

static void mkdir_p(const char *p)
{
        char buf[512];

        (void) snprintf(buf, sizeof(buf), "%s", p);
        for (char *c = buf + 1; *c; c++)
                if (*c == '/') {
                        *c = '\0';
                        (void) mkdir(buf, 0700);
                        *c = '/';
                }
        ASSERT_TRUE(mkdir(buf, 0700) == 0 || errno == EEXIST);
}

/* The backends of xenstore, as dom0 serves them, pointing at real files and devices. */
static void test_backends(const char *disk, const char *hard, const char *other)
{
        _cleanup_free_ char *raw = NULL, *tap = NULL;
        struct stat st;
        char loop0_dev[32];

        ASSERT_STREQ(kp_xl_backend_params_path("/dev/vg/guest"), "/dev/vg/guest");
        ASSERT_STREQ(kp_xl_backend_params_path("aio:/srv/a.img"), "/srv/a.img");
        ASSERT_STREQ(kp_xl_backend_params_path("qcow2:/srv/a:b.qcow2"), "/srv/a:b.qcow2");
        ASSERT_STREQ(kp_xl_backend_params_path("tapdisk:aio:/srv/a.img"), "/srv/a.img");
        ASSERT_TRUE(kp_xl_backend_params_path("vg/guest") == NULL);
        ASSERT_TRUE(kp_xl_backend_params_path("") == NULL);
        ASSERT_TRUE(kp_xl_backend_params_path("a:b:c:d:e:/x") == NULL);

        ASSERT_TRUE(asprintf(&raw, "raw:%s", hard) > 0);
        ASSERT_TRUE(asprintf(&tap, "tapdisk:aio:%s", disk) > 0);
        {
                /* qdisk names the file with its format; dom0's own attach (frontend 0) counts too. */
                KpXlBackend b[] = {
                        { "vbd", 3, 51712, other, NULL },
                        { "qdisk", 0, 51728, raw, NULL },
                };
                ASSERT_EQ(kp_xl_backends_find(disk, b, ELEMENTSOF(b)), 1);
                b[1] = (KpXlBackend) { "vbd3", 4, 51712, tap, NULL };
                ASSERT_EQ(kp_xl_backends_find(disk, b, ELEMENTSOF(b)), 1);
                b[1] = (KpXlBackend) { "vbd", 4, 51712, "phy:/nonexistent", NULL };
                ASSERT_EQ(kp_xl_backends_find(disk, b, ELEMENTSOF(b)), -1);
        }

        /* A block device by its number, as blkback's hotplug script records it, whatever params say. */
        if (stat("/dev/loop0", &st) == 0 && S_ISBLK(st.st_mode)) {
                KpXlBackend b[] = { { "vbd", 7, 51712, "/dev/mapper/another-name", loop0_dev } };

                (void) snprintf(loop0_dev, sizeof(loop0_dev), "%x:%x", major(st.st_rdev), minor(st.st_rdev));
                ASSERT_EQ(kp_xl_backends_find("/dev/loop0", b, 1), 0);
                (void) snprintf(loop0_dev, sizeof(loop0_dev), "%x:%x", major(st.st_rdev), minor(st.st_rdev) + 1);
                ASSERT_EQ(kp_xl_backends_find("/dev/loop0", b, 1), -1);
                /* An image file has no device number to match. */
                ASSERT_EQ(kp_xl_backends_find(disk, b, 1), -1);
                b[0].physical_device = "zz";
                ASSERT_EQ(kp_xl_backends_find("/dev/loop0", b, 1), -1);
        }
}

/* Loop devices as /sys/block shows them: a tree of the same shape, then a real one where we may. */
static void test_loops(const char *disk, const char *hard)
{
        _cleanup_free_ char *sys = path("sys"), *f = NULL, *text = NULL;
        char loop[64] = "";

        mkdir_p(sys);
        ASSERT_EQ(kp_xl_loop_find(disk, sys, loop, sizeof(loop)), 0);

        /* Unbound: no backing_file. */
        ASSERT_TRUE(asprintf(&f, "%s/loop0/loop", sys) > 0);
        mkdir_p(f);
        f = mfree(f);
        /* Bound to the disk under another name, as the kernel writes it. */
        ASSERT_TRUE(asprintf(&f, "%s/loop5/loop", sys) > 0);
        mkdir_p(f);
        f = mfree(f);
        ASSERT_TRUE(asprintf(&f, "%s/loop5/loop/backing_file", sys) > 0);
        ASSERT_TRUE(asprintf(&text, "%s\n", hard) > 0);
        write_text(f, text);
        ASSERT_EQ(kp_xl_loop_find(disk, sys, loop, sizeof(loop)), 1);
        ASSERT_STREQ(loop, "loop5");
        /* Bound to a file since unlinked: nobody can name it, so it is not this disk. */
        text = mfree(text);
        ASSERT_TRUE(asprintf(&text, "%s (deleted)\n", disk) > 0);
        write_text(f, text);
        ASSERT_EQ(kp_xl_loop_find(disk, sys, loop, sizeof(loop)), 0);
        unlink(f);
        f = mfree(f);
        ASSERT_TRUE(asprintf(&f, "%s/loop5/loop", sys) > 0);
        rmdir(f);
        f = mfree(f);
        ASSERT_TRUE(asprintf(&f, "%s/loop5", sys) > 0);
        rmdir(f);
        f = mfree(f);
        ASSERT_TRUE(asprintf(&f, "%s/loop0/loop", sys) > 0);
        rmdir(f);
        f = mfree(f);
        ASSERT_TRUE(asprintf(&f, "%s/loop0", sys) > 0);
        rmdir(f);
        rmdir(sys);

        /* The kernel's own: a loop device bound to the disk makes it in use, and unbinding ends that. */
        {
                _cleanup_close_ int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC), img = -EBADF, dev = -EBADF;
                char name[64], want[96], user[256] = "";
                long n;

                if (ctl < 0 || (n = ioctl(ctl, LOOP_CTL_GET_FREE)) < 0) {
                        printf("no loop devices here: the real one skipped\n");
                        return;
                }
                (void) snprintf(name, sizeof(name), "/dev/loop%ld", n);
                img = open(disk, O_RDWR | O_CLOEXEC);
                dev = open(name, O_RDWR | O_CLOEXEC);
                if (img < 0 || dev < 0 || ioctl(dev, LOOP_SET_FD, img) < 0) {
                        printf("cannot bind %s: the real one skipped\n", name);
                        return;
                }
                ASSERT_EQ(kp_xl_disk_in_use(hard, user, sizeof(user)), 1);
                (void) snprintf(want, sizeof(want), "loop device %s", name);
                ASSERT_STREQ(user, want);
                /* With the device still open the kernel only marks it for clearing at its last close. */
                ASSERT_TRUE(ioctl(dev, LOOP_CLR_FD, 0) == 0);
                dev = safe_close(dev);
                for (int i = 0; i < 200 && kp_xl_disk_in_use(hard, user, sizeof(user)) != 0; i++)
                        usleep(10000); /* udev may hold it for a moment, probing */
                ASSERT_EQ(kp_xl_disk_in_use(hard, user, sizeof(user)), 0);
        }
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

        /*
         * /proc/self/environ shows the environment the process started
         * with, in a size-0 file like xenfs's capabilities: start again
         * with one that holds "control_d" early.
         */
        if (!getenv("KP_TEST_CAPS")) {
                execve("/proc/self/exe", (char *[]) { (char *) "test-inuse", NULL },
                       (char *[]) { (char *) "KP_TEST_CAPS=control_d", NULL });
                ASSERT_TRUE(false);
        }

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

        /*
         * The capabilities file: xenfs reports size 0 for it, as procfs
         * does; /proc/self/environ is one such file whose content the test
         * chooses (KP_TEST_CAPS, main()). A regular file too.
         */
        {
                _cleanup_free_ char *caps = path("capabilities");
                struct stat st;

                ASSERT_OK(stat("/proc/self/environ", &st));
                ASSERT_EQ(st.st_size, 0);
                ASSERT_TRUE(kp_xl_capabilities_say_control("/proc/self/environ"));
                write_text(caps, "control_d\n");
                ASSERT_TRUE(kp_xl_capabilities_say_control(caps));
                write_text(caps, "\n");
                ASSERT_FALSE(kp_xl_capabilities_say_control(caps));
                ASSERT_FALSE(kp_xl_capabilities_say_control("/nonexistent/capabilities"));
                unlink(caps);
        }

        test_backends(disk, hard, other);
        test_loops(disk, hard);

        unlink(sym);
        unlink(hard);
        unlink(disk);
        unlink(other);
        rmdir(dir);
        return 0;
}
