/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "bootcfg/bootplan.h"
#include "store/state.h"
#include "tests.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/strv.h"
#include "util/time-util.h"

static char dir[] = "/tmp/kp-test-state-XXXXXX";

#define KSHA "1111111111111111111111111111111111111111111111111111111111111111"
#define ISHA "2222222222222222222222222222222222222222222222222222222222222222"
#define OSHA "3333333333333333333333333333333333333333333333333333333333333333"

/* A plan as the inspection leaves it: two entries, files with their facts. */
static KpBootPlan *make_plan(void)
{
        KpBootPlan *plan = NULL;

        ASSERT_OK(kp_boot_plan_new_direct("/boot/vmlinuz-5.4.0-26-generic", "/boot/initrd.img-5.4.0-26-generic",
                                          "root=/dev/xvda1 ro quiet", &plan));
        plan->entries[0].kernel.have_info = true;
        plan->entries[0].kernel.size = 11534336;
        plan->entries[0].kernel.format = KP_FORMAT_LZ4;
        memcpy(plan->entries[0].kernel.sha256, KSHA, 65);
        plan->entries[0].kernel.device = strdup("/dev/sda1");
        plan->entries[0].initrds[0].have_info = true;
        plan->entries[0].initrds[0].size = 4096;
        memcpy(plan->entries[0].initrds[0].sha256, ISHA, 65);
        plan->entries[0].initrds[0].device = strdup("/dev/sda1");
        return plan;
}

static char *write_image(const char *name, const char *content)
{
        char *p;

        ASSERT_TRUE(asprintf(&p, "%s/%s", dir, name) > 0);
        ASSERT_OK(kp_write_file_atomic(p, content, strlen(content), 0600, NULL));
        return p;
}

static void test_freshness(void)
{
        _cleanup_free_ char *img = write_image("disk.img", "version one"), *reason = NULL;
        KpDiskState st = { .disk = img, .request = (char *) "" };
        KpDiskIdentity now;
        KpError error = {};
        struct timespec later[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = 2000000000 } };

        ASSERT_OK(kp_disk_identity_read(img, &error, &st.identity));
        ASSERT_FALSE(st.identity.block);
        ASSERT_EQ_U64(st.identity.size, 11);
        ASSERT_EQ(kp_disk_state_freshness(&st, &st.identity, false, false, &reason), KP_STALE_NO_PLAN);
        reason = mfree(reason);
        st.plan = make_plan();

        ASSERT_OK(kp_disk_identity_read(img, &error, &now));
        ASSERT_EQ(kp_disk_state_freshness(&st, &now, false, false, &reason), KP_FRESH);
        ASSERT_TRUE(reason == NULL);

        /* The guest wrote to its disk: same size, new mtime. */
        ASSERT_OK(utimensat(AT_FDCWD, img, later, 0));
        ASSERT_OK(kp_disk_identity_read(img, &error, &now));
        ASSERT_EQ(kp_disk_state_freshness(&st, &now, false, false, &reason), KP_STALE_CHANGED);
        ASSERT_STREQ(reason, "the image was modified since the scan");
        reason = mfree(reason);

        /* Replaced by another file with the same size and mtime: a new inode. */
        {
                _cleanup_free_ char *other = write_image("other.img", "version two");
                struct timespec same[2] = { { .tv_nsec = UTIME_OMIT }, st.identity.mtime_nsec == 0 ? later[1] : (struct timespec){ .tv_sec = (time_t) (st.identity.mtime_nsec / 1000000000), .tv_nsec = (long) (st.identity.mtime_nsec % 1000000000) } };
                ASSERT_OK(utimensat(AT_FDCWD, other, same, 0));
                ASSERT_OK(rename(other, img));
        }
        ASSERT_OK(kp_disk_identity_read(img, &error, &now));
        ASSERT_EQ_U64(now.mtime_nsec, st.identity.mtime_nsec);
        ASSERT_EQ(kp_disk_state_freshness(&st, &now, false, false, &reason), KP_STALE_CHANGED);
        ASSERT_STREQ(reason, "the image was replaced since the scan");
        reason = mfree(reason);
        /* ...which a plan prepared elsewhere cannot tell: trust_foreign_plans compares size and mtime only. */
        ASSERT_EQ(kp_disk_state_freshness(&st, &now, true, false, NULL), KP_FRESH);

        /* Block devices: fresh only when kunpackd vouches. */
        st.identity = (KpDiskIdentity){ .block = true, .rdev = 0x800001, .size = 1 << 30 };
        now = st.identity;
        ASSERT_EQ(kp_disk_state_freshness(&st, &now, false, false, &reason), KP_STALE_BLOCK_DEVICE);
        ASSERT_CONTAINS(reason, "block device's content cannot be dated");
        reason = mfree(reason);
        ASSERT_EQ(kp_disk_state_freshness(&st, &now, false, true, NULL), KP_FRESH);
        /* Scanned while a domain had the disk: never fresh, whoever vouches, however unchanged. */
        st.provisional = (char *) "domain 5's vbd 51712";
        ASSERT_EQ(kp_disk_state_freshness(&st, &now, false, true, &reason), KP_STALE_PROVISIONAL);
        ASSERT_STREQ(reason, "scanned while domain 5's vbd 51712 used the disk");
        reason = mfree(reason);
        ASSERT_EQ(kp_disk_state_freshness(&st, &now, true, true, NULL), KP_STALE_PROVISIONAL);
        st.provisional = NULL;
        now.rdev = 0x800011;
        ASSERT_EQ(kp_disk_state_freshness(&st, &now, false, true, NULL), KP_STALE_CHANGED);

        ASSERT_ERROR(kp_disk_identity_read("/dev/null", &error, &now), -EMEDIUMTYPE);
        ASSERT_CONTAINS(error.message, "neither a regular file nor a block device");
        kp_boot_plan_free(st.plan);
}

static void test_save_load(KpStateStore *s)
{
        _cleanup_free_ char *img = write_image("guest.img", "disk");
        _cleanup_(kp_disk_state_freep) KpDiskState *back = NULL;
        _cleanup_strv_free_ char **keys = NULL;
        KpDiskState st = { .disk = img, .request = (char *) "", .scanned_usec = 1234567 };
        KpDiskState **all = NULL;
        KpError error = {};
        size_t n;

        ASSERT_ERROR(kp_state_load(s, img, "", &error, &back), -ENOENT);
        ASSERT_OK(kp_disk_identity_read(img, &error, &st.identity));
        st.plan = make_plan();
        ASSERT_OK(kp_state_save(s, &st, &error));

        ASSERT_OK(kp_state_load(s, img, "", &error, &back));
        ASSERT_STREQ(back->disk, img);
        ASSERT_EQ_U64(back->scanned_usec, 1234567);
        ASSERT_EQ_U64(back->identity.ino, st.identity.ino);
        ASSERT_EQ_U64(back->identity.mtime_nsec, st.identity.mtime_nsec);
        ASSERT_EQ(back->plan->n_entries, 1);
        ASSERT_STREQ(back->plan->entries[0].kernel.path, "/boot/vmlinuz-5.4.0-26-generic");
        ASSERT_STREQ(back->plan->entries[0].kernel.sha256, KSHA);
        ASSERT_EQ_U64(back->plan->entries[0].kernel.size, 11534336);
        ASSERT_EQ(back->plan->entries[0].kernel.format, KP_FORMAT_LZ4);
        ASSERT_STREQ(back->plan->entries[0].initrds[0].sha256, ISHA);
        ASSERT_STREQ(back->plan->entries[0].cmdline, "root=/dev/xvda1 ro quiet");
        ASSERT_EQ(kp_disk_state_freshness(back, &st.identity, false, false, NULL), KP_FRESH);
        ASSERT_TRUE(back->provisional == NULL);

        /* The provisional mark survives a save and a load, and makes the same record stale. */
        st.provisional = (char *) "loop device /dev/loop3";
        ASSERT_OK(kp_state_save(s, &st, &error));
        back = kp_disk_state_free(back);
        ASSERT_OK(kp_state_load(s, img, "", &error, &back));
        ASSERT_STREQ(back->provisional, "loop device /dev/loop3");
        ASSERT_EQ(kp_disk_state_freshness(back, &st.identity, false, false, NULL), KP_STALE_PROVISIONAL);
        st.provisional = NULL;
        ASSERT_OK(kp_state_save(s, &st, &error));
        back = kp_disk_state_free(back);
        ASSERT_OK(kp_state_load(s, img, "", &error, &back));
        ASSERT_TRUE(back->provisional == NULL);

        /* Another request on the same disk is another record. */
        ASSERT_ERROR(kp_state_load(s, img, "kernel=/boot/vmlinuz", &error, &back), -ENOENT);

        ASSERT_OK(kp_state_list(s, &error, &all, &n, NULL));
        ASSERT_EQ(n, 1);
        kp_disk_states_free(all, n);
        ASSERT_OK(kp_state_referenced_keys(s, &error, &keys));
        ASSERT_EQ(strv_length(keys), 2);
        ASSERT_TRUE(strv_contains(keys, KSHA));
        ASSERT_TRUE(strv_contains(keys, ISHA));
        kp_boot_plan_free(st.plan);
}

static void test_damaged(KpStateStore *s)
{
        _cleanup_free_ char *img = NULL, *cmd = NULL;
        KpDiskState *back = NULL;
        KpDiskState **all = NULL;
        _cleanup_strv_free_ char **skipped = NULL;
        KpError error = {};
        size_t n;

        ASSERT_TRUE(asprintf(&img, "%s/guest.img", dir) > 0);
        /* Cut every record in half, as a crash of a non-atomic writer would. */
        ASSERT_TRUE(asprintf(&cmd, "for f in %s/state/disks/*.json; do truncate -s 100 \"$f\"; done", dir) > 0);
        ASSERT_EQ(system(cmd), 0);
        ASSERT_OK(kp_state_list(s, &error, &all, &n, &skipped));
        ASSERT_EQ(n, 0);
        ASSERT_EQ(strv_length(skipped), 1);
        ASSERT_CONTAINS(skipped[0], "invalid JSON");
        ASSERT_ERROR(kp_state_load(s, img, "", &error, &back), -EBADMSG);
        ASSERT_CONTAINS(error.message, "is damaged and was removed");
        ASSERT_ERROR(kp_state_load(s, img, "", &error, &back), -ENOENT);
        ASSERT_TRUE(back == NULL);
}

static void test_lock(KpStateStore *s)
{
        int fd = -EBADF, pipefd[2];
        KpError error = {};
        uint64_t start;
        pid_t pid;
        char c;

        ASSERT_OK(pipe2(pipefd, O_CLOEXEC));
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                int lock;
                if (kp_state_lock(s, "/srv/xen/web1.img", "", UINT64_MAX, NULL, &lock) < 0)
                        _exit(1);
                if (write(pipefd[1], "L", 1) != 1)
                        _exit(2);
                (void) usleep(1500 * 1000);
                _exit(0);
        }
        ASSERT_EQ(read(pipefd[0], &c, 1), 1);
        start = kp_now_usec(CLOCK_MONOTONIC);
        ASSERT_ERROR(kp_state_lock(s, "/srv/xen/web1.img", "", start + 200 * USEC_PER_MSEC, &error, &fd), -ETIMEDOUT);
        ASSERT_STREQ(error.message, "timed out waiting for another scan of /srv/xen/web1.img");
        ASSERT_TRUE(kp_now_usec(CLOCK_MONOTONIC) - start >= 200 * USEC_PER_MSEC);
        /* Another disk is not blocked. */
        ASSERT_OK(kp_state_lock(s, "/srv/xen/web2.img", "", 0, &error, &fd));
        close(fd);
        /* Once the holder is gone, the lock is ours. */
        ASSERT_OK(kp_state_lock(s, "/srv/xen/web1.img", "", kp_now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC, &error, &fd));
        close(fd);
        ASSERT_EQ(waitpid(pid, NULL, 0), pid);
        close(pipefd[0]);
        close(pipefd[1]);
}

int main(void)
{
        _cleanup_(kp_state_store_freep) KpStateStore *s = NULL;
        _cleanup_free_ char *state = NULL;
        KpError error = {};
        char cmd[128];

        ASSERT_TRUE(mkdtemp(dir));
        ASSERT_TRUE(asprintf(&state, "%s/state", dir) > 0);
        ASSERT_OK(kp_state_open(state, &error, &s));

        test_freshness();
        test_save_load(s);
        test_damaged(s);
        test_lock(s);

        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        ASSERT_EQ(system(cmd), 0);
        return 0;
}
