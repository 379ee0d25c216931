/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guest session as the daemon and the cache use it, on real images:
 * one guest per appliance (a second is refused), an inspection, then
 * downloads of what it found (the bytes must hash to the sha256 computed
 * inside the appliance), the refusals of kp_guest_session_download() (a
 * FIFO, a device node, a socket, a 2 GiB sparse file, a symlink loop, a
 * guest file named /dev/sdb and a link to /dev/sda: each with its reason,
 * in bounded time, no byte transferred), and a cancel from another thread
 * in the middle of a 50 MB transfer.
 *
 * Usage: guest-download UBUNTU_IMAGE BIG_CONFIG_IMAGE BOOT_SPECIALS_IMAGE
 * (ubuntu-20.04-lz4, hostile-big-config and boot-specials from images.py;
 * run by test-guest-download.py, which builds them).
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "guest/inspect.h"
#include "tests.h"
#include "util/error.h"
#include "util/sha256.h"
#include "util/time-util.h"

typedef struct Transfer {
        KpGuestSession *s;
        int fd;
        int r;
        KpError error;
        atomic_bool done;
} Transfer;

static void *download_big(void *userdata)
{
        Transfer *t = userdata;

        /* This guest's grub.cfg is 50 MiB: long enough to be stopped half way. */
        t->r = kp_guest_session_download(t->s, 0, "/dev/sda1", "/boot/grub/grub.cfg", t->fd, MiB(64), &t->error,
                                         NULL);
        atomic_store(&t->done, true);
        return NULL;
}

static int tmpfile_fd(void)
{
        const char *dir = getenv("TMPDIR");
        int fd = open(dir && *dir ? dir : "/var/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

        ASSERT_TRUE(fd >= 0);
        return fd;
}

/* Each object that is not a guest's regular file, refused with its reason before a byte moves. */
static void check_specials(const char *image)
{
        static const struct {
                const char *path;
                int error;
                const char *message;
        } cases[] = {
                { "/boot/fifo", -EBADFD, "/boot/fifo is not a regular file" },
                { "/boot/chardev", -EBADFD, "/boot/chardev is not a regular file" },
                { "/boot/socket", -EBADFD, "/boot/socket is not a regular file" },
                { "/boot/sparse", -EFBIG, "/boot/sparse is 2147483648 bytes, more than the 268435456 allowed" },
                { "/boot/loop1", -ELOOP, "/boot/loop1: too many levels of symbolic links" },
                { "/dev/sdb", -EPERM, "/dev/sdb is under /dev, where libguestfs reads devices of the appliance" },
                { "/boot/vmlinuz-dev", -EPERM, "/boot/vmlinuz-dev is a symbolic link to /dev/sdb, under /dev" },
        };
        _cleanup_(kp_guest_session_freep) KpGuestSession *s = NULL;
        KpDiskSpec disk = { .path = (char *) image, .format = KP_DISK_FORMAT_RAW };
        KpError error = {};
        int fd = tmpfile_fd();

        ASSERT_OK(kp_guest_session_new(NULL, &error, &s));
        ASSERT_OK(kp_guest_session_add_guest(s, &disk, 1, &error, NULL));
        ASSERT_OK(kp_guest_session_launch(s, &error));
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t start = kp_now_usec(CLOCK_MONOTONIC), took;
                struct stat st;

                kp_error_clear(&error);
                ASSERT_ERROR(kp_guest_session_download(s, 0, "/dev/sda1", cases[i].path, fd, KP_MAX_INPUT_DEFAULT,
                                                       &error, NULL), cases[i].error);
                ASSERT_CONTAINS(error.message, cases[i].message);
                took = kp_now_usec(CLOCK_MONOTONIC) - start;
                ASSERT_OK(fstat(fd, &st) < 0 ? -errno : 0);
                ASSERT_EQ_U64((uint64_t) st.st_size, 0);
                fprintf(stderr, "%s: refused in %" PRIu64 " ms: %s\n", cases[i].path, took / 1000, error.message);
                /* One appliance round trip or two, never a transfer. */
                ASSERT_TRUE(took < 10 * USEC_PER_SEC);
        }
        close(fd);
        ASSERT_EQ(kp_guest_session_launches(s), 1);
}

int main(int argc, char **argv)
{
        _cleanup_(kp_guest_session_freep) KpGuestSession *s = NULL, *big_session = NULL;
        _cleanup_(kp_boot_plan_freep) KpBootPlan *plan = NULL;
        KpDiskSpec ubuntu = { .format = KP_DISK_FORMAT_RAW }, big = { .format = KP_DISK_FORMAT_RAW };
        KpInspectOptions opts = { .selected_only = true };
        char sha[KP_SHA256_HEX_SIZE];
        const KpBootEntry *sel;
        KpError error = {};
        Transfer t = {};
        pthread_t thread;
        uint64_t size, got;
        size_t guest;
        int fd;

        if (argc != 4) {
                fprintf(stderr, "usage: %s UBUNTU_IMAGE BIG_CONFIG_IMAGE BOOT_SPECIALS_IMAGE\n", argv[0]);
                return 2;
        }
        ubuntu.path = argv[1];
        big.path = argv[2];

        check_specials(argv[3]);

        ASSERT_OK(kp_guest_session_new(NULL, &error, &s));
        ASSERT_OK(kp_guest_session_add_guest(s, &ubuntu, 1, &error, &guest));
        ASSERT_EQ(guest, 0);
        /* One guest, one appliance: another guest's disk never joins it. */
        ASSERT_ERROR(kp_guest_session_add_guest(s, &big, 1, &error, &guest), -EBUSY);
        ASSERT_STREQ(error.message, "an appliance holds the disks of one guest only");
        ASSERT_EQ(kp_guest_session_n_guests(s), 1);

        ASSERT_OK(kp_guest_session_inspect(s, 0, &opts, &error, &plan));
        ASSERT_EQ(kp_guest_session_launches(s), 1);
        /* Disks cannot be added to a running appliance. */
        ASSERT_ERROR(kp_guest_session_add_guest(s, &ubuntu, 1, &error, NULL), -EBUSY);

        sel = kp_boot_plan_selected(plan);
        ASSERT_TRUE(sel && sel->kernel.have_info);
        ASSERT_STREQ(sel->kernel.path, "/boot/vmlinuz-5.4.0-42-generic");
        ASSERT_STREQ(sel->kernel.device, "/dev/sda1");

        /* The kernel's bytes, downloaded, hash to what the appliance computed. */
        fd = tmpfile_fd();
        ASSERT_OK(kp_guest_session_download(s, 0, sel->kernel.device, sel->kernel.path, fd, KP_MAX_INPUT_DEFAULT,
                                            &error, &got));
        ASSERT_EQ_U64(got, sel->kernel.size);
        ASSERT_OK(kp_sha256_fd(fd, KP_MAX_INPUT_DEFAULT, sha, &size));
        ASSERT_EQ_U64(size, sel->kernel.size);
        ASSERT_STREQ(sha, sel->kernel.sha256);

        /* The same file through the guest's own /vmlinuz symlink (resolved inside the guest). */
        ASSERT_OK(kp_guest_session_download(s, 0, "/dev/sda1", "/vmlinuz", fd, KP_MAX_INPUT_DEFAULT, &error, &got));
        ASSERT_OK(kp_sha256_fd(fd, KP_MAX_INPUT_DEFAULT, sha, &size));
        ASSERT_STREQ(sha, sel->kernel.sha256);

        /* The initrd too. */
        ASSERT_EQ(sel->n_initrds, 1);
        ASSERT_OK(kp_guest_session_download(s, 0, sel->initrds[0].device, sel->initrds[0].path, fd,
                                            KP_GUEST_MAX_INITRD, &error, &got));
        ASSERT_OK(kp_sha256_fd(fd, KP_GUEST_MAX_INITRD, sha, &size));
        ASSERT_EQ_U64(size, sel->initrds[0].size);
        ASSERT_STREQ(sha, sel->initrds[0].sha256);

        /* Refused before a byte moves: too big, outside the guest, out of the filesystem, not there. */
        kp_error_clear(&error);
        ASSERT_ERROR(kp_guest_session_download(s, 0, "/dev/sda1", sel->kernel.path, fd, sel->kernel.size - 1, &error,
                                               NULL), -EFBIG);
        ASSERT_CONTAINS(error.message, "bytes, more than the");
        /* The appliance's own disk (sdb, after the guest's sda) is not one of the guest's filesystems. */
        ASSERT_ERROR(kp_guest_session_download(s, 0, "/dev/sdb1", "/boot/grub/grub.cfg", fd, MiB(64), &error, NULL),
                     -ENODEV);
        ASSERT_CONTAINS(error.message, "/dev/sdb1 is not a filesystem of this guest");
        ASSERT_ERROR(kp_guest_session_download(s, 0, "/dev/sda1", "/boot/../etc/fstab", fd, MiB(1), &error, NULL),
                     -EINVAL);
        ASSERT_ERROR(kp_guest_session_download(s, 0, "/dev/sda1", "/boot/vmlinuz-0.0.0", fd, MiB(1), &error, NULL),
                     -ENOENT);
        ASSERT_ERROR(kp_guest_session_download(s, 5, "/dev/sda1", "/vmlinuz", fd, MiB(1), &error, NULL), -EINVAL);
        close(fd);

        /*
         * A cancel from another thread stops a transfer half way, and the
         * session for good. The download goes into a pipe that this thread
         * drains: once 1 MiB has arrived the transfer is surely running.
         */
        {
                int p[2];
                uint64_t total = 0;
                bool cancelled = false;
                char buf[65536];

                ASSERT_OK(pipe2(p, O_CLOEXEC));
                ASSERT_OK(kp_guest_session_new(NULL, &error, &big_session));
                ASSERT_OK(kp_guest_session_add_guest(big_session, &big, 1, &error, NULL));
                ASSERT_OK(kp_guest_session_launch(big_session, &error));
                t.s = big_session;
                t.fd = p[1];
                ASSERT_EQ(pthread_create(&thread, NULL, download_big, &t), 0);
                for (;;) {
                        struct pollfd pfd = { .fd = p[0], .events = POLLIN };
                        ssize_t n;

                        if (poll(&pfd, 1, 100) > 0) {
                                n = read(p[0], buf, sizeof(buf));
                                ASSERT_TRUE(n > 0);
                                total += (uint64_t) n;
                        } else if (atomic_load(&t.done))
                                break;
                        if (!cancelled && total >= MiB(1)) {
                                kp_guest_session_cancel(big_session);
                                cancelled = true;
                        }
                }
                ASSERT_EQ(pthread_join(thread, NULL), 0);
                fprintf(stderr, "cancelled after %" PRIu64 " of %" PRIu64 " bytes\n", total, MiB(50));
                ASSERT_TRUE(cancelled);
                ASSERT_ERROR(t.r, -ECANCELED);
                ASSERT_TRUE(total >= MiB(1) && total < MiB(50));
                close(p[0]);
                close(p[1]);
        }

        kp_boot_plan_free(TAKE_PTR(plan));
        kp_error_clear(&error);
        ASSERT_ERROR(kp_guest_session_inspect(big_session, 0, &opts, &error, &plan), -ECANCELED);
        ASSERT_CONTAINS(error.message, "cancelled");
        /* The other session was not touched by it. */
        ASSERT_OK(kp_guest_session_inspect(s, 0, &opts, &error, &plan));
        return 0;
}
