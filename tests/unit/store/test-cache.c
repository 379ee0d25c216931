/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "store/cache.h"
#include "tests.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/sha256.h"
#include "util/strv.h"
#include "util/time-util.h"

static char dir[] = "/tmp/kp-test-cache-XXXXXX";
static const char *fixtures;
static char lz4_key[KP_SHA256_HEX_SIZE], zstd_key[KP_SHA256_HEX_SIZE], vmlinux_sha[KP_SHA256_HEX_SIZE];

static int open_fixture(const char *name)
{
        _cleanup_free_ char *p = NULL;
        int fd;

        ASSERT_TRUE(asprintf(&p, "%s/%s", fixtures, name) > 0);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        return fd;
}

static void hash_fixture(const char *name, char ret[KP_SHA256_HEX_SIZE])
{
        _cleanup_close_ int fd = open_fixture(name);
        ASSERT_OK(kp_sha256_fd(fd, UINT64_MAX, ret, NULL));
}

static size_t count_files(const char *sub)
{
        _cleanup_free_ char *p = NULL;
        struct dirent *de;
        size_t n = 0;
        DIR *d;

        ASSERT_TRUE(asprintf(&p, "%s/%s", dir, sub) > 0);
        d = opendir(p);
        ASSERT_TRUE(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

static void entry_path(const char *key, const char *suffix, char **ret);

static void test_store_and_open(KpCache *c)
{
        _cleanup_close_ int in = open_fixture("bzImage-lz4"), fd = -EBADF, fd2 = -EBADF;
        KpCacheKernel meta, meta2;
        KpError error = {};
        char hex[KP_SHA256_HEX_SIZE];
        struct stat st;

        ASSERT_ERROR(kp_cache_open_kernel(c, lz4_key, &error, &fd, &meta), -ENOENT);
        ASSERT_CONTAINS(error.message, "is not in the cache");

        ASSERT_OK(kp_cache_store_kernel(c, lz4_key, in, NULL, &error, &fd, &meta));
        ASSERT_OK(kp_sha256_fd(fd, UINT64_MAX, hex, NULL));
        ASSERT_STREQ(hex, vmlinux_sha);
        ASSERT_STREQ(meta.output_sha256, vmlinux_sha);
        ASSERT_STREQ(meta.key, lz4_key);
        ASSERT_EQ(meta.format, KP_FORMAT_LZ4);
        ASSERT_OK(fstat(fd, &st));
        ASSERT_EQ_U64(meta.output_size, (uint64_t) st.st_size);
        ASSERT_EQ(st.st_mode & 07777, 0600);
        ASSERT_EQ(meta.elf.elf_class, 64);
        ASSERT_TRUE(meta.elf.n_xen_notes > 0);
        ASSERT_EQ(count_files("kernels"), 2); /* the ELF and its metadata, nothing else */

        ASSERT_OK(kp_cache_open_kernel(c, lz4_key, &error, &fd2, &meta2));
        ASSERT_STREQ(meta2.output_sha256, vmlinux_sha);
        ASSERT_EQ(meta2.elf.n_xen_notes, meta.elf.n_xen_notes);
        ASSERT_STREQ(meta2.elf.xen_notes[0].name, meta.elf.xen_notes[0].name);
        ASSERT_STREQ(meta2.elf.xen_notes[0].value, meta.elf.xen_notes[0].value);
}

/* The metadata alone, as kunpackd's List reads it: the ELF is neither checked nor marked used. */
static void test_read_meta(KpCache *c)
{
        _cleanup_free_ char *elf = NULL;
        KpCacheKernel meta;
        KpError error = {};
        struct stat before, after;
        bool phys32 = false;

        entry_path(lz4_key, ".elf", &elf);
        ASSERT_OK(stat(elf, &before));
        ASSERT_OK(kp_cache_read_kernel_meta(c, lz4_key, &error, &meta));
        ASSERT_EQ(meta.format, KP_FORMAT_LZ4);
        ASSERT_STREQ(meta.output_sha256, vmlinux_sha);
        /* Debian's kernel is built with CONFIG_PVH: readnotes shows PHYS32_ENTRY 0x1000850. */
        for (size_t i = 0; i < meta.elf.n_xen_notes; i++)
                if (meta.elf.xen_notes[i].type == KP_XEN_ELFNOTE_PHYS32_ENTRY) {
                        ASSERT_STREQ(meta.elf.xen_notes[i].name, "PHYS32_ENTRY");
                        ASSERT_STREQ(meta.elf.xen_notes[i].value, "0x1000850");
                        phys32 = true;
                }
        ASSERT_TRUE(phys32);
        ASSERT_OK(stat(elf, &after));
        ASSERT_EQ(before.st_atim.tv_sec, after.st_atim.tv_sec);
        ASSERT_EQ(before.st_atim.tv_nsec, after.st_atim.tv_nsec);

        ASSERT_ERROR(kp_cache_read_kernel_meta(c, zstd_key, &error, &meta), -ENOENT);
        ASSERT_CONTAINS(error.message, "is not in the cache");
        ASSERT_ERROR(kp_cache_read_kernel_meta(c, "../../etc/passwd", &error, &meta), -EINVAL);
        ASSERT_CONTAINS(error.message, "invalid cache key");
}

static void test_wrong_key(KpCache *c)
{
        _cleanup_close_ int in = open_fixture("bzImage-zstd");
        int fd = -EBADF;
        KpError error = {};

        /* The zstd kernel presented under the lz4 kernel's name: the guest file "changed". */
        ASSERT_ERROR(kp_cache_store_kernel(c, "0000000000000000000000000000000000000000000000000000000000000000", in,
                                           NULL, &error, &fd, NULL),
                     -EBADMSG);
        ASSERT_CONTAINS(error.message, "the guest's kernel changed after its checksum was taken");
        ASSERT_CONTAINS(error.message, zstd_key);
        ASSERT_ERROR(kp_cache_store_kernel(c, "../../etc/passwd", in, NULL, &error, &fd, NULL), -EINVAL);
        ASSERT_CONTAINS(error.message, "invalid cache key");
        ASSERT_EQ(count_files("kernels"), 2);
        ASSERT_TRUE(fd == -EBADF);
}

static void entry_path(const char *key, const char *suffix, char **ret)
{
        ASSERT_TRUE(asprintf(ret, "%s/kernels/%s%s", dir, key, suffix) > 0);
}

static void test_damage(KpCache *c)
{
        _cleanup_free_ char *elf = NULL;
        _cleanup_strv_free_ char **report = NULL;
        _cleanup_close_ int wfd = -EBADF, in = -EBADF;
        KpCacheVerifyStats stats;
        KpError error = {};
        struct stat st;
        int fd = -EBADF;

        /* A stored file is sealed: its mtime says it was not written to since. */
        entry_path(lz4_key, ".elf", &elf);
        ASSERT_OK(stat(elf, &st));
        ASSERT_EQ(st.st_mtim.tv_sec, 1);
        ASSERT_EQ(st.st_mtim.tv_nsec, 0);

        /* Touched but not changed: re-hashed, served, and sealed again. */
        ASSERT_OK(utimensat(AT_FDCWD, elf, NULL, 0));
        ASSERT_OK(kp_cache_open_kernel(c, lz4_key, &error, &fd, NULL));
        fd = safe_close(fd);
        ASSERT_OK(stat(elf, &st));
        ASSERT_EQ(st.st_mtim.tv_sec, 1);

        /* A flipped byte keeps size and magic, but not the seal: refused and removed before it is served. */
        wfd = open(elf, O_WRONLY | O_CLOEXEC);
        ASSERT_TRUE(wfd >= 0);
        ASSERT_EQ(pwrite(wfd, "X", 1, 4096), 1);
        wfd = safe_close(wfd);
        ASSERT_ERROR(kp_cache_open_kernel(c, lz4_key, &error, &fd, NULL), -EBADMSG);
        ASSERT_CONTAINS(error.message, "was modified after it was stored");
        ASSERT_EQ(count_files("kernels"), 0);
        ASSERT_TRUE(fd == -EBADF);

        /* The same flip with the seal put back (damage below the filesystem): only verify notices. */
        in = open_fixture("bzImage-lz4");
        ASSERT_OK(kp_cache_store_kernel(c, lz4_key, in, NULL, &error, &fd, NULL));
        fd = safe_close(fd);
        in = safe_close(in);
        wfd = open(elf, O_WRONLY | O_CLOEXEC);
        ASSERT_TRUE(wfd >= 0);
        ASSERT_EQ(pwrite(wfd, "X", 1, 4096), 1);
        ASSERT_OK(futimens(wfd, (const struct timespec[2]){ { .tv_nsec = UTIME_OMIT }, { .tv_sec = 1 } }));
        wfd = safe_close(wfd);

        ASSERT_OK(kp_cache_verify(c, &error, &stats, &report));
        ASSERT_EQ(stats.checked, 1);
        ASSERT_EQ(stats.damaged, 1);
        ASSERT_EQ(strv_length(report), 1);
        ASSERT_CONTAINS(report[0], "kernel ");
        ASSERT_CONTAINS(report[0], lz4_key);
        ASSERT_CONTAINS(report[0], "expected");
        ASSERT_CONTAINS(report[0], vmlinux_sha);
        ASSERT_EQ(count_files("kernels"), 0);

        /* Stored again, then truncated: the check before serving refuses and removes it. */
        in = open_fixture("bzImage-lz4");
        ASSERT_OK(kp_cache_store_kernel(c, lz4_key, in, NULL, &error, &fd, NULL));
        fd = safe_close(fd);
        ASSERT_OK(truncate(elf, 1000));
        ASSERT_ERROR(kp_cache_open_kernel(c, lz4_key, &error, &fd, NULL), -EBADMSG);
        ASSERT_CONTAINS(error.message, "is damaged (1000 bytes, expected");
        ASSERT_EQ(count_files("kernels"), 0);
        ASSERT_TRUE(fd == -EBADF);
}

/*
 * Eight processes asking for the same kernel at once: the lock makes exactly
 * one of them decompress; the others find its entry.
 */
static void test_concurrent(KpCache *c)
{
        enum { N = 8 };
        pid_t pids[N];
        int stored = 0, served = 0;

        for (int i = 0; i < N; i++) {
                pids[i] = fork();
                ASSERT_TRUE(pids[i] >= 0);
                if (pids[i] == 0) {
                        KpError error = {};
                        int lock = -EBADF, fd = -EBADF, in;

                        if (kp_cache_lock(c, zstd_key, kp_now_usec(CLOCK_MONOTONIC) + 120 * USEC_PER_SEC, &error,
                                          &lock) < 0)
                                _exit(10);
                        if (kp_cache_open_kernel(c, zstd_key, &error, &fd, NULL) >= 0)
                                _exit(1);
                        in = open_fixture("bzImage-zstd");
                        if (kp_cache_store_kernel(c, zstd_key, in, NULL, &error, &fd, NULL) < 0) {
                                fprintf(stderr, "child: %s\n", error.message);
                                _exit(11);
                        }
                        _exit(2);
                }
        }
        for (int i = 0; i < N; i++) {
                int status;
                ASSERT_EQ(waitpid(pids[i], &status, 0), pids[i]);
                ASSERT_TRUE(WIFEXITED(status));
                if (WEXITSTATUS(status) == 2)
                        stored++;
                else if (WEXITSTATUS(status) == 1)
                        served++;
                else
                        TEST_FAIL("child exited with %d", WEXITSTATUS(status));
        }
        ASSERT_EQ(stored, 1);
        ASSERT_EQ(served, N - 1);
}

static void set_last_used(const char *key, uint64_t usec)
{
        _cleanup_free_ char *p = NULL;
        /* Last use is the atime; the mtime stays sealed. */
        struct timespec ts[2] = {
                { .tv_sec = (time_t) (usec / USEC_PER_SEC), .tv_nsec = 0 },
                { .tv_nsec = UTIME_OMIT },
        };

        entry_path(key, ".elf", &p);
        ASSERT_OK(utimensat(AT_FDCWD, p, ts, 0));
}

static void test_initrd_and_gc(KpCache *c)
{
        _cleanup_close_ int in = open_fixture("payload-gzip"), lz4 = open_fixture("bzImage-lz4"), fd = -EBADF;
        _cleanup_strv_free_ char **refs = NULL;
        char initrd_key[KP_SHA256_HEX_SIZE];
        uint64_t now = kp_now_usec(CLOCK_REALTIME);
        KpCacheGcStats stats;
        KpError error = {};

        /* Any file serves as an initrd; it is stored as is, under its own sha256. */
        hash_fixture("payload-gzip", initrd_key);
        ASSERT_OK(kp_cache_store_initrd(c, initrd_key, in, UINT64_MAX, &error, &fd));
        fd = safe_close(fd);
        ASSERT_OK(kp_cache_open_initrd(c, initrd_key, UINT64_MAX, &error, &fd));
        fd = safe_close(fd);
        ASSERT_ERROR(kp_cache_open_initrd(c, initrd_key, 12345, &error, &fd), -EBADMSG);
        ASSERT_EQ(count_files("initrds"), 0);
        ASSERT_OK(lseek(in, 0, SEEK_SET));
        ASSERT_OK(kp_cache_store_initrd(c, initrd_key, in, UINT64_MAX, &error, &fd));
        fd = safe_close(fd);
        ASSERT_OK(kp_cache_store_kernel(c, lz4_key, lz4, NULL, &error, &fd, NULL));
        fd = safe_close(fd);

        /* zstd: old and unreferenced; lz4: old but referenced; initrd: fresh. */
        set_last_used(zstd_key, now - 40 * 24 * 3600 * USEC_PER_SEC);
        set_last_used(lz4_key, now - 40 * 24 * 3600 * USEC_PER_SEC);
        ASSERT_OK(strv_extend(&refs, lz4_key));

        ASSERT_OK(kp_cache_gc(c, refs, 30 * 24 * 3600 * USEC_PER_SEC, UINT64_MAX, now, true, &error, &stats));
        ASSERT_EQ(stats.removed, 1);
        ASSERT_EQ(count_files("kernels"), 4); /* dry run: nothing removed */
        ASSERT_OK(kp_cache_gc(c, refs, 30 * 24 * 3600 * USEC_PER_SEC, UINT64_MAX, now, false, &error, &stats));
        ASSERT_EQ(stats.removed, 1);
        ASSERT_EQ(stats.kept, 2);
        ASSERT_EQ(count_files("kernels"), 2);
        ASSERT_OK(kp_cache_open_kernel(c, lz4_key, &error, &fd, NULL));
        fd = safe_close(fd);

        /* Over a 1-byte cap: the unreferenced initrd goes, the referenced kernel stays. */
        ASSERT_OK(kp_cache_gc(c, refs, UINT64_MAX, 1, now, false, &error, &stats));
        ASSERT_EQ(stats.removed, 1);
        ASSERT_EQ(stats.kept, 1);
        ASSERT_EQ(stats.kept_referenced_over_cap, 1);
        ASSERT_EQ(count_files("initrds"), 0);
        ASSERT_EQ(count_files("kernels"), 2);
}

/* A cache on a full filesystem: the store fails with ENOSPC and leaves nothing behind. */
static void test_disk_full(void)
{
        _cleanup_(kp_cache_freep) KpCache *c = NULL;
        _cleanup_free_ char *small = NULL, *kernels = NULL;
        _cleanup_close_ int in = -EBADF;
        KpError error = {};
        int fd = -EBADF, r;
        pid_t pid;
        int status;

        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                        _exit(77);
                ASSERT_TRUE(asprintf(&small, "%s/small", dir) > 0);
                ASSERT_OK(mkdir(small, 0700));
                if (mount("tmpfs", small, "tmpfs", 0, "size=16m,mode=0700") < 0)
                        _exit(77);
                ASSERT_OK(kp_cache_open(small, &error, &c));
                in = open_fixture("bzImage-lz4");
                r = kp_cache_store_kernel(c, lz4_key, in, NULL, &error, &fd, NULL);
                ASSERT_ERROR(r, -ENOSPC);
                /* The 66 MB ELF stops where the 16 MiB filesystem would be full, before a write fails. */
                ASSERT_CONTAINS(error.message, "decompresses to more than the");
                ASSERT_CONTAINS(error.message, "bytes its filesystem has above cache_min_free (0 bytes)");
                ASSERT_TRUE(asprintf(&kernels, "%s/kernels", small) > 0);
                {
                        DIR *d = opendir(kernels);
                        struct dirent *de;
                        ASSERT_TRUE(d);
                        while ((de = readdir(d)))
                                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                                        TEST_FAIL("left behind in a full cache: %s", de->d_name);
                        closedir(d);
                }
                _exit(0);
        }
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77)
                fprintf(stderr, "no mount namespace here: disk-full case not run\n");
        else
                ASSERT_EQ(WEXITSTATUS(status), 0);
}

/* Runs f in a child with a private mount namespace and a tmpfs of size at path; skips without namespaces. */
static void with_tmpfs(const char *name, const char *size, void (*f)(const char *path))
{
        _cleanup_free_ char *path = NULL, *options = NULL;
        int status;
        pid_t pid;

        ASSERT_TRUE(asprintf(&path, "%s/%s", dir, name) > 0);
        ASSERT_TRUE(asprintf(&options, "size=%s,mode=0700", size) > 0);
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                        _exit(77);
                ASSERT_OK(mkdir(path, 0700));
                if (mount("tmpfs", path, "tmpfs", 0, options) < 0)
                        _exit(77);
                f(path);
                _exit(0);
        }
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77)
                fprintf(stderr, "no mount namespace here: %s case not run\n", name);
        else
                ASSERT_EQ(WEXITSTATUS(status), 0);
}

static void assert_empty(const char *path, const char *sub)
{
        _cleanup_free_ char *p = NULL;
        struct dirent *de;
        DIR *d;

        ASSERT_TRUE(asprintf(&p, "%s/%s", path, sub) > 0);
        d = opendir(p);
        ASSERT_TRUE(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        TEST_FAIL("left behind below the floor: %s/%s", sub, de->d_name);
        closedir(d);
}

/*
 * cache_min_free on a 128 MiB filesystem: with 100 MiB kept free, the 66 MB
 * ELF stops at the floor; with 120 MiB kept, an 11 MB initrd is refused
 * before it is copied; nothing of either stays. Without a floor the initrd
 * is stored.
 */
static void floor_case(const char *path)
{
        _cleanup_(kp_cache_freep) KpCache *c = NULL;
        _cleanup_close_ int kernel = open_fixture("bzImage-lz4"), initrd = open_fixture("payload-gzip");
        char initrd_key[KP_SHA256_HEX_SIZE];
        KpError error = {};
        uint64_t room, room_floor;
        int fd = -EBADF;

        hash_fixture("payload-gzip", initrd_key);
        ASSERT_OK(kp_cache_open(path, &error, &c));
        ASSERT_OK(kp_cache_room(c, &error, &room));
        ASSERT_TRUE(room > UINT64_C(120) * 1024 * 1024 && room <= UINT64_C(128) * 1024 * 1024);

        kp_cache_set_min_free(c, UINT64_C(100) * 1024 * 1024);
        ASSERT_OK(kp_cache_room(c, &error, &room_floor));
        ASSERT_EQ_U64(room_floor, room - UINT64_C(100) * 1024 * 1024);
        ASSERT_ERROR(kp_cache_store_kernel(c, lz4_key, kernel, NULL, &error, &fd, NULL), -ENOSPC);
        ASSERT_CONTAINS(error.message, "above cache_min_free (104857600 bytes): not stored");
        ASSERT_TRUE(fd < 0);
        assert_empty(path, "kernels");

        kp_cache_set_min_free(c, UINT64_C(120) * 1024 * 1024);
        ASSERT_ERROR(kp_cache_store_initrd(c, initrd_key, initrd, UINT64_MAX, &error, &fd), -ENOSPC);
        ASSERT_CONTAINS(error.message, "not stored: the cache's filesystem has");
        ASSERT_CONTAINS(error.message, "above cache_min_free (125829120 bytes), not enough for it");
        assert_empty(path, "initrds");

        /* Below the floor there is no room at all. */
        kp_cache_set_min_free(c, UINT64_C(1) << 40);
        ASSERT_OK(kp_cache_room(c, &error, &room));
        ASSERT_EQ_U64(room, 0);

        kp_cache_set_min_free(c, 0);
        ASSERT_OK(lseek(initrd, 0, SEEK_SET));
        ASSERT_OK(kp_cache_store_initrd(c, initrd_key, initrd, UINT64_MAX, &error, &fd));
        safe_close(fd);
}

static void test_floor(void)
{
        with_tmpfs("floor", "128m", floor_case);
}

/*
 * The GC removes a lock file nobody holds, holding it while it does; a
 * process that opened the file before and waited gets that lock after the
 * GC, on a file without a name. It must not keep it: another process
 * would lock a fresh file of the same name at the same time.
 */
static void test_lock_race(KpCache *c)
{
        static const char key[] = "1111111111111111111111111111111111111111111111111111111111111111";
        _cleanup_free_ char *lock_path = NULL;
        int locked[2], release[2], lock = -EBADF, other = -EBADF, status;
        KpError error = {};
        char byte = 0;
        pid_t pid;

        ASSERT_TRUE(asprintf(&lock_path, "%s/locks/%s", dir, key) > 0);
        ASSERT_OK(pipe2(locked, O_CLOEXEC));
        ASSERT_OK(pipe2(release, O_CLOEXEC));
        ASSERT_OK(kp_cache_lock(c, key, 0, &error, &lock));

        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                int fd = -EBADF;

                /* The parent's lock is not ours: a flock belongs to the open file, which fork() shares. */
                safe_close(lock);
                if (kp_cache_lock(c, key, kp_now_usec(CLOCK_MONOTONIC) + 30 * USEC_PER_SEC, &error, &fd) < 0)
                        _exit(10);
                if (write(locked[1], "1", 1) != 1 || read(release[0], &byte, 1) != 1)
                        _exit(11);
                _exit(0);
        }
        locked[1] = safe_close(locked[1]);
        release[0] = safe_close(release[0]);
        /* The child is waiting on the file; the GC's unlink, made while the lock is held, then the release. */
        (void) usleep(300 * 1000);
        ASSERT_OK(unlink(lock_path));
        lock = safe_close(lock);
        ASSERT_EQ(read(locked[0], &byte, 1), 1);

        /* The child holds the lock of the name: nobody else gets it. */
        ASSERT_ERROR(kp_cache_lock(c, key, kp_now_usec(CLOCK_MONOTONIC) + 200 * USEC_PER_MSEC, &error, &other),
                     -ETIMEDOUT);
        ASSERT_TRUE(access(lock_path, F_OK) == 0);
        ASSERT_EQ(write(release[1], "1", 1), 1);
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        ASSERT_OK(kp_cache_lock(c, key, 0, &error, &other));
        safe_close(other);
        safe_close(locked[0]);
        safe_close(release[1]);
}

static void test_refuses_open_directory(void)
{
        _cleanup_free_ char *p = NULL;
        KpCache *c = NULL;
        KpError error = {};

        ASSERT_TRUE(asprintf(&p, "%s/shared", dir) > 0);
        ASSERT_OK(mkdir(p, 0777));
        ASSERT_OK(chmod(p, 0777));
        ASSERT_ERROR(kp_cache_open(p, &error, &c), -EPERM);
        ASSERT_CONTAINS(error.message, "not be writable by others");
}

int main(void)
{
        _cleanup_(kp_cache_freep) KpCache *c = NULL;
        KpError error = {};
        struct stat st;
        char cmd[128];

        fixtures = test_fixture_dir("KP_FIXTURES");
        ASSERT_TRUE(mkdtemp(dir));
        hash_fixture("bzImage-lz4", lz4_key);
        hash_fixture("bzImage-zstd", zstd_key);
        hash_fixture("vmlinux", vmlinux_sha);

        ASSERT_OK(kp_cache_open(dir, &error, &c));
        ASSERT_OK(stat(dir, &st));
        ASSERT_EQ(st.st_mode & 0022, 0);

        test_store_and_open(c);
        test_read_meta(c);
        test_wrong_key(c);
        test_damage(c);
        test_concurrent(c);
        test_initrd_and_gc(c);
        test_disk_full();
        test_floor();
        test_lock_race(c);
        test_refuses_open_directory();

        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        ASSERT_EQ(system(cmd), 0);
        return 0;
}
