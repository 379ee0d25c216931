/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sys/stat.h>

#include "boot/prepare.h"
#include "boot/request.h"
#include "tests.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/sha256.h"

static char dir[] = "/tmp/kp-test-prepare-XXXXXX";
static const char *fixtures;
static char lz4_key[KP_SHA256_HEX_SIZE], vmlinux_sha[KP_SHA256_HEX_SIZE], initrd_key[KP_SHA256_HEX_SIZE];
static uint64_t initrd_size;

static char *path_in(const char *name)
{
        char *p;
        ASSERT_TRUE(asprintf(&p, "%s/%s", dir, name) > 0);
        return p;
}

static int open_fixture(const char *name)
{
        _cleanup_free_ char *p = NULL;
        int fd;

        ASSERT_TRUE(asprintf(&p, "%s/%s", fixtures, name) > 0);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        return fd;
}

/* A plan as kunpack-scan saves it: one entry whose files have their facts. */
static KpBootPlan *make_plan(void)
{
        KpBootPlan *plan = NULL;

        ASSERT_OK(kp_boot_plan_new_direct("/boot/vmlinuz-5.4.0-42-generic", "/boot/initrd.img-5.4.0-42-generic",
                                          "root=UUID=6a1f ro quiet splash vt.handoff=7", &plan));
        plan->kind = KP_BOOT_CONFIG_GRUB2;
        plan->reason = KP_SELECT_DEFAULT_INDEX;
        free(plan->entries[0].title);
        free(plan->entries[0].menu_path);
        plan->entries[0].title = strdup("Ubuntu");
        plan->entries[0].menu_path = strdup("Ubuntu");
        plan->entries[0].kernel.have_info = true;
        plan->entries[0].kernel.format = KP_FORMAT_LZ4;
        plan->entries[0].kernel.device = strdup("/dev/sda1");
        memcpy(plan->entries[0].kernel.sha256, lz4_key, KP_SHA256_HEX_SIZE);
        plan->entries[0].initrds[0].have_info = true;
        plan->entries[0].initrds[0].size = initrd_size;
        plan->entries[0].initrds[0].device = strdup("/dev/sda1");
        memcpy(plan->entries[0].initrds[0].sha256, initrd_key, KP_SHA256_HEX_SIZE);
        return plan;
}

static void save_state(KpStateStore *state, const KpBootRequest *req)
{
        _cleanup_free_ char *key = NULL;
        KpDiskState st = { .disk = req->disk, .scanned_usec = 42 };
        KpError error = {};

        ASSERT_OK(kp_boot_request_key(req, &key));
        st.request = key;
        ASSERT_OK(kp_disk_identity_read(req->disk, &error, &st.identity));
        st.plan = make_plan();
        ASSERT_OK(kp_state_save(state, &st, &error));
        kp_boot_plan_free(st.plan);
}

static void expect_scan(KpCache *cache, KpStateStore *state, const KpBootRequest *req, const char *why, bool damaged)
{
        KpPrepared p = KP_PREPARED_INIT;
        KpError error = {};

        ASSERT_OK(kp_boot_prepare(cache, state, req, NULL, &error, &p));
        ASSERT_EQ(p.outcome, KP_PREPARE_NEEDS_SCAN);
        ASSERT_CONTAINS(p.why, why);
        ASSERT_EQ(p.damaged, damaged);
        ASSERT_TRUE(p.kernel_fd == -EBADF);
        kp_prepared_done(&p);
}

static void expect_ready(KpCache *cache, KpStateStore *state, const KpBootRequest *req)
{
        _cleanup_(kp_prepared_done) KpPrepared p = KP_PREPARED_INIT;
        char hex[KP_SHA256_HEX_SIZE];
        KpError error = {};

        ASSERT_OK(kp_boot_prepare(cache, state, req, NULL, &error, &p));
        ASSERT_EQ(p.outcome, KP_PREPARE_READY);
        ASSERT_OK(kp_sha256_fd(p.kernel_fd, UINT64_MAX, hex, NULL));
        ASSERT_STREQ(hex, vmlinux_sha);
        ASSERT_EQ(p.n_initrds, 1);
        ASSERT_OK(kp_sha256_fd(p.initrd_fds[0], UINT64_MAX, hex, NULL));
        ASSERT_STREQ(hex, initrd_key);
        ASSERT_STREQ(p.kernel_sha256, lz4_key);
        ASSERT_STREQ(p.cmdline, "root=UUID=6a1f ro quiet splash vt.handoff=7");
        ASSERT_STREQ(p.title, "Ubuntu");
        ASSERT_STREQ(p.kernel_path, "/boot/vmlinuz-5.4.0-42-generic");
        ASSERT_EQ(p.reason, KP_SELECT_DEFAULT_INDEX);
        ASSERT_EQ_U64(p.scanned_usec, 42);
}

static void test_request(void)
{
        _cleanup_free_ char *disk = path_in("disk.img"), *link = path_in("disk-link.img"), *k1 = NULL, *k2 = NULL,
                            *k3 = NULL;
        KpBootRequest a = {}, b = {}, c = {};
        KpError error = {};

        ASSERT_OK(kp_write_file_atomic(disk, "x", 1, 0600, NULL));
        ASSERT_OK(symlink(disk, link));
        ASSERT_OK(kp_boot_request_init(link, NULL, NULL, NULL, &error, &a));
        ASSERT_STREQ(a.disk, disk); /* keyed by the file, however named */
        ASSERT_OK(kp_boot_request_key(&a, &k1));
        ASSERT_STREQ(k1, "");
        kp_boot_request_done(&a);

        k1 = mfree(k1);
        ASSERT_OK(kp_boot_request_init(disk, "Advanced options for Ubuntu>1", NULL, "/ignored", &error, &a));
        ASSERT_TRUE(a.ramdisk == NULL); /* --ramdisk without --kernel is ignored, as by pygrub */
        ASSERT_OK(kp_boot_request_key(&a, &k1));
        ASSERT_STREQ(k1, "entry=Advanced options for Ubuntu>1");
        kp_boot_request_done(&a);

        /* Two direct requests that a naive "kernel=K;ramdisk=R" would give the same key. */
        ASSERT_OK(kp_boot_request_init(disk, "ignored", "/boot/a;ramdisk=/b", NULL, &error, &b));
        ASSERT_OK(kp_boot_request_init(disk, NULL, "/boot/a", "/b", &error, &c));
        ASSERT_TRUE(b.entry == NULL);
        ASSERT_OK(kp_boot_request_key(&b, &k2));
        ASSERT_OK(kp_boot_request_key(&c, &k3));
        ASSERT_STREQ(k2, "kernel=/boot/a\\;ramdisk=/b;ramdisk=");
        ASSERT_STREQ(k3, "kernel=/boot/a;ramdisk=/b");
        kp_boot_request_done(&b);
        kp_boot_request_done(&c);

        ASSERT_ERROR(kp_boot_request_init("/nonexistent/disk.img", NULL, NULL, NULL, &error, &a), -ENOENT);
        ASSERT_CONTAINS(error.message, "cannot open disk /nonexistent/disk.img");
        ASSERT_ERROR(kp_boot_request_init(disk, NULL, "boot/vmlinuz", NULL, &error, &a), -EINVAL);
        ASSERT_CONTAINS(error.message, "is not an absolute path in the guest");
        ASSERT_ERROR(kp_boot_request_init(disk, "1\n", NULL, NULL, &error, &a), -EINVAL);
        ASSERT_CONTAINS(error.message, "--entry contains a control character");
        ASSERT_ERROR(kp_boot_request_init(disk, "", NULL, NULL, &error, &a), -EINVAL);
}

static void test_prepare(void)
{
        _cleanup_(kp_cache_freep) KpCache *cache = NULL;
        _cleanup_(kp_state_store_freep) KpStateStore *state = NULL;
        _cleanup_(kp_boot_request_done) KpBootRequest req = {};
        _cleanup_free_ char *disk = path_in("guest.img"), *cdir = path_in("cache"), *sdir = path_in("state"),
                            *elf = NULL, *irdp = NULL;
        _cleanup_close_ int k = open_fixture("bzImage-lz4"), i = open_fixture("payload-gzip"), fd = -EBADF;
        struct timespec later[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = 2000000000 } };
        KpError error = {};
        int wfd;

        ASSERT_OK(kp_write_file_atomic(disk, "a disk image", 12, 0600, NULL));
        ASSERT_OK(kp_cache_open(cdir, &error, &cache));
        ASSERT_OK(kp_state_open(sdir, &error, &state));
        ASSERT_OK(kp_boot_request_init(disk, NULL, NULL, NULL, &error, &req));

        expect_scan(cache, state, &req, "has not been scanned yet", false);

        /* Scanned, but nothing fetched yet. */
        save_state(state, &req);
        expect_scan(cache, state, &req, "is not in the cache", false);

        ASSERT_OK(kp_cache_store_kernel(cache, lz4_key, k, NULL, &error, &fd, NULL));
        fd = safe_close(fd);
        expect_scan(cache, state, &req, "initrd /boot/initrd.img-5.4.0-42-generic (sha256 ", false);
        ASSERT_OK(kp_cache_store_initrd(cache, initrd_key, i, UINT64_MAX, &error, &fd));
        fd = safe_close(fd);
        expect_ready(cache, state, &req);

        /* Another request on the same disk has its own record. */
        {
                _cleanup_(kp_boot_request_done) KpBootRequest other = {};
                ASSERT_OK(kp_boot_request_init(disk, "1", NULL, NULL, &error, &other));
                expect_scan(cache, state, &other, "has not been scanned yet", false);
        }

        /* The guest wrote to its disk. */
        ASSERT_OK(utimensat(AT_FDCWD, disk, later, 0));
        expect_scan(cache, state, &req, "the image was modified since the scan", false);
        /* on_failure = "last-good": the record's plan all the same, its files open and right. */
        {
                _cleanup_(kp_prepared_done) KpPrepared p = KP_PREPARED_INIT;
                _cleanup_(kp_boot_request_done) KpBootRequest other = {};
                char hex[KP_SHA256_HEX_SIZE];

                ASSERT_OK(kp_boot_prepare_last_good(cache, state, &req, &error, &p));
                ASSERT_EQ(p.outcome, KP_PREPARE_READY);
                ASSERT_OK(kp_sha256_fd(p.kernel_fd, UINT64_MAX, hex, NULL));
                ASSERT_STREQ(hex, vmlinux_sha);
                ASSERT_EQ(p.n_initrds, 1);
                ASSERT_STREQ(p.kernel_path, "/boot/vmlinuz-5.4.0-42-generic");
                ASSERT_STREQ(p.cmdline, "root=UUID=6a1f ro quiet splash vt.handoff=7");
                ASSERT_EQ_U64(p.scanned_usec, 42);
                /* No record for another request: nothing to fall back on. */
                ASSERT_OK(kp_boot_request_init(disk, "1", NULL, NULL, &error, &other));
                kp_prepared_done(&p);
                ASSERT_ERROR(kp_boot_prepare_last_good(cache, state, &other, &error, &p), -ENOENT);
                ASSERT_CONTAINS(error.message, "no earlier scan of ");
                ASSERT_TRUE(p.kernel_fd == -EBADF);
        }
        save_state(state, &req);
        expect_ready(cache, state, &req);

        /* A flipped byte in the cached kernel: refused and removed, so the scan fetches it again. */
        ASSERT_TRUE(asprintf(&elf, "%s/kernels/%s.elf", cdir, lz4_key) > 0);
        wfd = open(elf, O_WRONLY | O_CLOEXEC);
        ASSERT_TRUE(wfd >= 0);
        ASSERT_EQ(pwrite(wfd, "\x01", 1, 1 << 20), 1);
        safe_close(wfd);
        expect_scan(cache, state, &req, "was modified after it was stored", true);
        expect_scan(cache, state, &req, "is not in the cache", false);
        ASSERT_OK(lseek(k, 0, SEEK_SET));
        ASSERT_OK(kp_cache_store_kernel(cache, lz4_key, k, NULL, &error, &fd, NULL));
        fd = safe_close(fd);
        expect_ready(cache, state, &req);

        /* The same for an initrd. */
        ASSERT_TRUE(asprintf(&irdp, "%s/initrds/%s", cdir, initrd_key) > 0);
        wfd = open(irdp, O_WRONLY | O_CLOEXEC);
        ASSERT_TRUE(wfd >= 0);
        ASSERT_EQ(pwrite(wfd, "\x01", 1, 100), 1);
        safe_close(wfd);
        expect_scan(cache, state, &req, "was modified after it was stored", true);
        ASSERT_OK(lseek(i, 0, SEEK_SET));
        ASSERT_OK(kp_cache_store_initrd(cache, initrd_key, i, UINT64_MAX, &error, &fd));
        fd = safe_close(fd);
        expect_ready(cache, state, &req);

        /* The last good plan's kernel gone from the cache (the GC, say): no last good plan either. */
        {
                _cleanup_(kp_prepared_done) KpPrepared p = KP_PREPARED_INIT;
                _cleanup_free_ char *moved = NULL;

                ASSERT_TRUE(asprintf(&moved, "%s.away", elf) > 0);
                ASSERT_OK(rename(elf, moved));
                ASSERT_ERROR(kp_boot_prepare_last_good(cache, state, &req, &error, &p), -ENOENT);
                ASSERT_CONTAINS(error.message, "is not in the cache");
                ASSERT_TRUE(p.kernel_fd == -EBADF && p.n_initrds == 0);
                ASSERT_OK(rename(moved, elf));
        }

        /* A truncated state record: damaged, removed, and a scan is due. */
        {
                _cleanup_free_ char *cmd = NULL;
                ASSERT_TRUE(asprintf(&cmd, "truncate -s 100 %s/disks/*.json", sdir) > 0);
                ASSERT_EQ(system(cmd), 0);
        }
        expect_scan(cache, state, &req, "damaged and was removed", true);
        expect_scan(cache, state, &req, "has not been scanned yet", false);

        /* The disk itself is gone: no scan can help. */
        save_state(state, &req);
        ASSERT_OK(unlink(disk));
        {
                KpPrepared p = KP_PREPARED_INIT;
                ASSERT_ERROR(kp_boot_prepare(cache, state, &req, NULL, &error, &p), -ENOENT);
                ASSERT_CONTAINS(error.message, "cannot open disk");
        }
}

/* What on_failure = "last-good" covers: the host's failures, never the guest's. */
static void test_host_side(void)
{
        static const int host[] = { ETIMEDOUT, EHOSTDOWN, ENOSPC, EDQUOT, ENOMEM, EROFS, EBUSY, ELIBACC };
        static const int guest[] = { 0, EINVAL, EBADMSG, EFBIG, E2BIG, ENOEXEC, ENOENT, ELOOP, EIO, EPERM, EACCES };

        for (size_t i = 0; i < ELEMENTSOF(host); i++)
                ASSERT_TRUE(kp_boot_failure_is_host_side(-host[i]));
        for (size_t i = 0; i < ELEMENTSOF(guest); i++)
                ASSERT_FALSE(kp_boot_failure_is_host_side(-guest[i]));
        /* Positive values are not errnos here. */
        ASSERT_FALSE(kp_boot_failure_is_host_side(ETIMEDOUT));
}

int main(void)
{
        _cleanup_close_ int fd = -EBADF;
        char cmd[128];

        fixtures = test_fixture_dir("KP_FIXTURES");
        ASSERT_TRUE(mkdtemp(dir));
        fd = open_fixture("bzImage-lz4");
        ASSERT_OK(kp_sha256_fd(fd, UINT64_MAX, lz4_key, NULL));
        fd = safe_close(fd);
        fd = open_fixture("vmlinux");
        ASSERT_OK(kp_sha256_fd(fd, UINT64_MAX, vmlinux_sha, NULL));
        fd = safe_close(fd);
        fd = open_fixture("payload-gzip"); /* any file serves as an initrd */
        ASSERT_OK(kp_sha256_fd(fd, UINT64_MAX, initrd_key, &initrd_size));

        test_request();
        test_host_side();
        test_prepare();

        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        ASSERT_EQ(system(cmd), 0);
        return 0;
}
