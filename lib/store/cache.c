/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "store/cache-internal.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/time-util.h"

/* Metadata of one kernel is a few hundred bytes; anything near this is damage. */
#define KP_CACHE_META_MAX (64 * 1024)
/* A temporary or orphaned file older than this belongs to no running store. */
#define KP_CACHE_STALE_TMP_USEC (3600 * USEC_PER_SEC)
/* Waiting for a lock: how often to look again. */
#define KP_CACHE_LOCK_POLL_USEC (20 * USEC_PER_MSEC)
/*
 * Every stored file's mtime is set to this instant (1970-01-01 00:00:01)
 * before it gets its name, and nothing of ours changes it afterwards. Any
 * write to the file, by whatever means, sets the mtime to the present, so
 * an entry whose mtime is not this has been modified since it was stored
 * and is re-hashed before it is served. This costs the hot path one
 * comparison instead of hashing a 60 MB kernel.
 */
static const struct timespec sealed_mtime = { .tv_sec = 1, .tv_nsec = 0 };

KpCache *kp_cache_free(KpCache *c)
{
        if (!c)
                return NULL;
        safe_close(c->dir_fd);
        safe_close(c->kernels_fd);
        safe_close(c->initrds_fd);
        safe_close(c->locks_fd);
        free(c->path);
        free(c);
        return NULL;
}

const char *kp_cache_path(const KpCache *c)
{
        return c->path;
}

static int open_subdir(KpCache *c, const char *name, KpError *error, int *ret_fd)
{
        int fd;

        if (mkdirat(c->dir_fd, name, 0700) < 0 && errno != EEXIST)
                return kp_error_set_errno(error, negative_errno(), "cannot create %s/%s", c->path, name);
        fd = openat(c->dir_fd, name, O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot open %s/%s", c->path, name);
        *ret_fd = fd;
        return 0;
}

int kp_cache_open(const char *path, KpError *error, KpCache **ret)
{
        _cleanup_(kp_cache_freep) KpCache *c = NULL;
        struct stat st;
        int r;

        c = calloc(1, sizeof(KpCache));
        if (!c)
                return kp_error_set(error, -ENOMEM, "out of memory");
        c->dir_fd = c->kernels_fd = c->initrds_fd = c->locks_fd = -EBADF;
        c->path = strdup(path);
        if (!c->path)
                return kp_error_set(error, -ENOMEM, "out of memory");

        r = kp_mkdir_p(path, 0700);
        if (r < 0)
                return kp_error_set_errno(error, r, "cannot create cache directory %s", path);
        c->dir_fd = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (c->dir_fd < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot open cache directory %s", path);
        if (fstat(c->dir_fd, &st) < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot stat cache directory %s", path);
        /* Kernels served from here boot guests: nobody else may write them. */
        if (st.st_uid != geteuid() || (st.st_mode & 0022))
                return kp_error_set(error, -EPERM,
                                    "cache directory %s must belong to uid %u and not be writable by others "
                                    "(it is uid %u, mode %04o)",
                                    path, (unsigned) geteuid(), (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777));

        r = open_subdir(c, "kernels", error, &c->kernels_fd);
        if (r < 0)
                return r;
        r = open_subdir(c, "initrds", error, &c->initrds_fd);
        if (r < 0)
                return r;
        r = open_subdir(c, "locks", error, &c->locks_fd);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

void kp_cache_set_min_free(KpCache *c, uint64_t bytes)
{
        c->min_free = bytes;
}

int kp_cache_room(KpCache *c, KpError *error, uint64_t *ret_bytes)
{
        struct statvfs sv;
        uint64_t avail;

        if (fstatvfs(c->dir_fd, &sv) < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot ask for the free space of %s", c->path);
        if (MUL_OVERFLOW((uint64_t) sv.f_bavail, (uint64_t) sv.f_frsize, &avail))
                avail = UINT64_MAX;
        *ret_bytes = avail > c->min_free ? avail - c->min_free : 0;
        return 0;
}

int kp_cache_check_key(const char *key, KpError *error)
{
        if (!kp_sha256_hex_valid(key))
                return kp_error_set(error, -EINVAL, "invalid cache key \"%.80s\": not a sha256", key ? key : "");
        return 0;
}

static bool is_sealed(const struct stat *st)
{
        return st->st_mtim.tv_sec == sealed_mtime.tv_sec && st->st_mtim.tv_nsec == sealed_mtime.tv_nsec;
}

int kp_cache_seal(int fd)
{
        const struct timespec ts[2] = { { .tv_nsec = UTIME_NOW }, sealed_mtime };

        return futimens(fd, ts) < 0 ? negative_errno() : 0;
}

/*
 * Last use is the atime, set explicitly when an entry is served (no write,
 * no fsync), so the mtime can stay sealed. Mount options such as noatime
 * do not affect an explicit futimens().
 */
static void mark_used(int fd)
{
        static const struct timespec touch[2] = { { .tv_nsec = UTIME_NOW }, { .tv_nsec = UTIME_OMIT } };

        (void) futimens(fd, touch);
}

/*
 * An entry whose mtime is no longer sealed was written to after it was
 * stored: it is served only if its content still hashes to what it should
 * (then it is sealed again). 1 when it does, 0 when it does not.
 */
static int check_unsealed(int fd, const struct stat *st, const char *expected_sha256)
{
        char hex[KP_SHA256_HEX_SIZE];
        int r;

        if (is_sealed(st))
                return 1;
        r = kp_sha256_fd(fd, UINT64_MAX, hex, NULL);
        if (r < 0)
                return r;
        if (!streq(hex, expected_sha256))
                return 0;
        (void) kp_cache_seal(fd);
        return 1;
}

/* ---- metadata ---------------------------------------------------------- */

static int meta_from_json(const char *text, const char *key, KpError *error, KpCacheKernel *ret)
{
        _cleanup_(yajl_tree_freep) yajl_val v = NULL;
        KpCacheKernel m = {};
        const char *s;
        yajl_val elf, notes;
        uint64_t u;
        int r;

        r = kp_json_parse(text, error, &v);
        if (r < 0)
                return r;

        s = kp_json_get_string(v, "key");
        if (!s || !streq(s, key))
                return kp_error_set(error, -EBADMSG, "metadata names another key");
        memcpy(m.key, key, KP_SHA256_HEX_SIZE);
        s = kp_json_get_string(v, "format");
        m.format = s ? kp_format_from_string(s) : KP_FORMAT_UNKNOWN;
        if (m.format == KP_FORMAT_UNKNOWN)
                return kp_error_set(error, -EBADMSG, "metadata has no valid format");
        s = kp_json_get_string(v, "output_sha256");
        if (!kp_sha256_hex_valid(s))
                return kp_error_set(error, -EBADMSG, "metadata has no valid output_sha256");
        memcpy(m.output_sha256, s, KP_SHA256_HEX_SIZE);
        if (kp_json_get_uint(v, "compressed_size", &m.compressed_size) < 0 ||
            kp_json_get_uint(v, "output_size", &m.output_size) < 0 ||
            kp_json_get_uint(v, "first_seen_usec", &m.first_seen_usec) < 0)
                return kp_error_set(error, -EBADMSG, "metadata lacks sizes or times");

        elf = kp_json_get(v, "elf");
        if (!YAJL_IS_OBJECT(elf))
                return kp_error_set(error, -EBADMSG, "metadata lacks the ELF description");
        if (kp_json_get_uint(elf, "class", &u) < 0 || (u != 32 && u != 64))
                return kp_error_set(error, -EBADMSG, "metadata has no valid ELF class");
        m.elf.elf_class = (unsigned) u;
        if (kp_json_get_uint(elf, "machine", &u) < 0 || u > UINT16_MAX)
                return kp_error_set(error, -EBADMSG, "metadata has no valid ELF machine");
        m.elf.machine = (unsigned) u;
        (void) kp_json_get_uint(elf, "entry", &m.elf.entry);
        (void) kp_json_get_bool(elf, "xen_guest_section", &m.elf.xen_guest_section);
        notes = kp_json_get(elf, "xen_notes");
        if (YAJL_IS_ARRAY(notes))
                for (size_t i = 0; i < notes->u.array.len && m.elf.n_xen_notes < KP_XEN_NOTES_MAX; i++) {
                        yajl_val n = notes->u.array.values[i];
                        KpXenNote *note = &m.elf.xen_notes[m.elf.n_xen_notes];
                        const char *name = kp_json_get_string(n, "name"), *value = kp_json_get_string(n, "value");

                        if (kp_json_get_uint(n, "type", &u) < 0 || u > UINT32_MAX || !name || !value)
                                continue;
                        note->type = (uint32_t) u;
                        (void) snprintf(note->name, sizeof(note->name), "%s", name);
                        (void) snprintf(note->value, sizeof(note->value), "%s", value);
                        m.elf.n_xen_notes++;
                }

        *ret = m;
        return 0;
}

static int read_meta(KpCache *c, const char *key, KpError *error, KpCacheKernel *ret)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        int r;

        if (asprintf(&path, "%s/kernels/%s.json", c->path, key) < 0)
                return kp_error_set(error, -ENOMEM, "out of memory");
        r = kp_read_file(path, KP_CACHE_META_MAX, error, &text, NULL);
        if (r < 0)
                return r;
        return meta_from_json(text, key, error, ret);
}

int kp_cache_read_kernel_meta(KpCache *c, const char *key, KpError *error, KpCacheKernel *ret)
{
        KpCacheKernel meta;
        int r;

        r = kp_cache_check_key(key, error);
        if (r < 0)
                return r;
        r = read_meta(c, key, error, &meta);
        if (r == -ENOENT)
                return kp_error_set(error, -ENOENT, "kernel %s is not in the cache", key);
        if (r < 0)
                return r;
        *ret = meta;
        return 0;
}

static void remove_kernel_entry(KpCache *c, const char *key)
{
        char name[KP_SHA256_HEX_SIZE + 8];

        /* The ELF first: without it the entry does not exist, whatever remains. */
        (void) snprintf(name, sizeof(name), "%s.elf", key);
        (void) unlinkat(c->kernels_fd, name, 0);
        (void) snprintf(name, sizeof(name), "%s.json", key);
        (void) unlinkat(c->kernels_fd, name, 0);
}

/* ---- kernels ------------------------------------------------------------- */

int kp_cache_open_kernel(KpCache *c, const char *key, KpError *error, int *ret_fd, KpCacheKernel *ret_meta)
{
        char name[KP_SHA256_HEX_SIZE + 8];
        _cleanup_close_ int fd = -EBADF;
        KpCacheKernel meta;
        uint8_t magic[4];
        struct stat st;
        int r;

        r = kp_cache_check_key(key, error);
        if (r < 0)
                return r;

        (void) snprintf(name, sizeof(name), "%s.elf", key);
        fd = openat(c->kernels_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT)
                        return kp_error_set(error, -ENOENT, "kernel %s is not in the cache", key);
                return kp_error_set_errno(error, negative_errno(), "cannot open cached kernel %s", key);
        }

        r = read_meta(c, key, error, &meta);
        if (r < 0) {
                remove_kernel_entry(c, key);
                return kp_error_prefix(error, -EBADMSG, "cache entry %s is damaged and was removed", key);
        }
        if (fstat(fd, &st) < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot stat cached kernel %s", key);
        if (!S_ISREG(st.st_mode) || (uint64_t) st.st_size != meta.output_size ||
            pread(fd, magic, sizeof(magic), 0) != (ssize_t) sizeof(magic) || memcmp(magic, "\177ELF", 4) != 0) {
                remove_kernel_entry(c, key);
                return kp_error_set(error, -EBADMSG,
                                    "cache entry %s is damaged (%jd bytes, expected %" PRIu64
                                    ", or not an ELF) and was removed",
                                    key, (intmax_t) st.st_size, meta.output_size);
        }
        r = check_unsealed(fd, &st, meta.output_sha256);
        if (r < 0)
                return kp_error_set_errno(error, r, "cannot read cached kernel %s", key);
        if (r == 0) {
                remove_kernel_entry(c, key);
                return kp_error_set(error, -EBADMSG,
                                    "cache entry %s was modified after it was stored (its sha256 is no longer %s) "
                                    "and was removed",
                                    key, meta.output_sha256);
        }

        mark_used(fd);
        meta.last_used_usec = kp_now_usec(CLOCK_REALTIME);

        *ret_fd = TAKE_FD(fd);
        if (ret_meta)
                *ret_meta = meta;
        return 0;
}

/* ---- initrds --------------------------------------------------------------- */

int kp_cache_open_initrd(KpCache *c, const char *key, uint64_t expected_size, KpError *error, int *ret_fd)
{
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        r = kp_cache_check_key(key, error);
        if (r < 0)
                return r;
        fd = openat(c->initrds_fd, key, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT)
                        return kp_error_set(error, -ENOENT, "initrd %s is not in the cache", key);
                return kp_error_set_errno(error, negative_errno(), "cannot open cached initrd %s", key);
        }
        if (fstat(fd, &st) < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot stat cached initrd %s", key);
        if (!S_ISREG(st.st_mode) || (expected_size != UINT64_MAX && (uint64_t) st.st_size != expected_size)) {
                (void) unlinkat(c->initrds_fd, key, 0);
                return kp_error_set(error, -EBADMSG,
                                    "cache entry %s is damaged (%jd bytes, expected %" PRIu64 ") and was removed",
                                    key, (intmax_t) st.st_size, expected_size);
        }
        r = check_unsealed(fd, &st, key);
        if (r < 0)
                return kp_error_set_errno(error, r, "cannot read cached initrd %s", key);
        if (r == 0) {
                (void) unlinkat(c->initrds_fd, key, 0);
                return kp_error_set(error, -EBADMSG,
                                    "cache entry %s was modified after it was stored (its sha256 no longer matches) "
                                    "and was removed",
                                    key);
        }
        mark_used(fd);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* ---- locking -------------------------------------------------------------- */

/*
 * Whether fd, locked, is still the file named name in dir_fd. kp_cache_gc()
 * removes a lock file only while it holds the lock on it, so a waiter that
 * gets the lock after that holds an inode nobody else will ever open: it
 * must start again on the file that has the name now.
 */
static int lock_is_current(int dir_fd, const char *name, int fd)
{
        struct stat held, named;

        if (fstat(fd, &held) < 0)
                return negative_errno();
        if (fstatat(dir_fd, name, &named, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        return held.st_nlink > 0 && held.st_dev == named.st_dev && held.st_ino == named.st_ino;
}

int kp_cache_lock(KpCache *c, const char *key, uint64_t deadline_usec, KpError *error, int *ret_fd)
{
        int r;

        r = kp_cache_check_key(key, error);
        if (r < 0)
                return r;

        for (;;) {
                _cleanup_close_ int fd = -EBADF;

                fd = openat(c->locks_fd, key, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
                if (fd < 0)
                        return kp_error_set_errno(error, negative_errno(), "cannot open cache lock %s", key);

                for (;;) {
                        uint64_t left;

                        if (flock(fd, LOCK_EX | LOCK_NB) >= 0)
                                break;
                        if (errno != EWOULDBLOCK && errno != EINTR)
                                return kp_error_set_errno(error, negative_errno(), "cannot lock cache entry %s",
                                                          key);
                        left = kp_usec_left(deadline_usec);
                        if (left == 0)
                                return kp_error_set(error, -ETIMEDOUT,
                                                    "timed out waiting for another process working on cache "
                                                    "entry %s",
                                                    key);
                        (void) usleep((useconds_t) MIN(left, KP_CACHE_LOCK_POLL_USEC));
                }

                r = lock_is_current(c->locks_fd, key, fd);
                if (r < 0)
                        return kp_error_set_errno(error, r, "cannot check cache lock %s", key);
                if (r > 0) {
                        *ret_fd = TAKE_FD(fd);
                        return 0;
                }
                /* Collected while we waited: the next open creates the file others will lock. */
        }
}

/* ---- listing, garbage collection, verification --------------------------- */

static int entry_cmp(const void *a, const void *b)
{
        const KpCacheEntry *x = a, *y = b;

        if (x->kind != y->kind)
                return x->kind < y->kind ? -1 : 1;
        return strcmp(x->key, y->key);
}

static int list_dir(KpCache *c, KpCacheKind kind, KpCacheEntry **entries, size_t *n, KpError *error)
{
        int dfd = kind == KP_CACHE_KERNEL ? c->kernels_fd : c->initrds_fd;
        _cleanup_close_ int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (fd < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot read the cache");
        d = fdopendir(fd);
        if (!d)
                return kp_error_set_errno(error, negative_errno(), "cannot read the cache");
        TAKE_FD(fd);
        rewinddir(d);

        while ((de = readdir(d))) {
                char key[KP_SHA256_HEX_SIZE];
                KpCacheEntry *e;
                struct stat st;
                size_t len = strlen(de->d_name);

                if (kind == KP_CACHE_KERNEL) {
                        if (len != 2 * KP_SHA256_SIZE + 4 || !streq(de->d_name + 2 * KP_SHA256_SIZE, ".elf"))
                                continue;
                        memcpy(key, de->d_name, 2 * KP_SHA256_SIZE);
                        key[2 * KP_SHA256_SIZE] = '\0';
                } else
                        (void) snprintf(key, sizeof(key), "%s", de->d_name);
                if (!kp_sha256_hex_valid(key) || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISREG(st.st_mode))
                        continue;

                e = reallocarray(*entries, *n + 1, sizeof(KpCacheEntry));
                if (!e) {
                        r = kp_error_set(error, -ENOMEM, "out of memory");
                        break;
                }
                *entries = e;
                e = &e[*n];
                *e = (KpCacheEntry){ .kind = kind, .size = (uint64_t) st.st_size,
                                     .last_used_usec = kp_timespec_to_usec(&st.st_atim) };
                memcpy(e->key, key, KP_SHA256_HEX_SIZE);
                if (kind == KP_CACHE_KERNEL)
                        e->have_meta = read_meta(c, key, NULL, &e->meta) >= 0;
                (*n)++;
        }
        closedir(d);
        return r;
}

int kp_cache_list(KpCache *c, KpError *error, KpCacheEntry **ret_entries, size_t *ret_n)
{
        _cleanup_free_ KpCacheEntry *entries = NULL;
        size_t n = 0;
        int r;

        r = list_dir(c, KP_CACHE_KERNEL, &entries, &n, error);
        if (r < 0)
                return r;
        r = list_dir(c, KP_CACHE_INITRD, &entries, &n, error);
        if (r < 0)
                return r;
        if (n > 0)
                qsort(entries, n, sizeof(KpCacheEntry), entry_cmp);
        *ret_entries = TAKE_PTR(entries);
        *ret_n = n;
        return 0;
}

static void remove_entry(KpCache *c, const KpCacheEntry *e)
{
        if (e->kind == KP_CACHE_KERNEL)
                remove_kernel_entry(c, e->key);
        else
                (void) unlinkat(c->initrds_fd, e->key, 0);
}

/* Temporary files of crashed stores, metadata without its ELF, and unused locks. */
static void reap_leftovers(KpCache *c, uint64_t now_usec, bool dry_run)
{
        int dirs[] = { c->kernels_fd, c->initrds_fd, c->locks_fd };

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_close_ int fd = fcntl(dirs[i], F_DUPFD_CLOEXEC, 3);
                struct dirent *de;
                DIR *d;

                if (fd < 0)
                        continue;
                d = fdopendir(fd);
                if (!d)
                        continue;
                TAKE_FD(fd);
                rewinddir(d);
                while ((de = readdir(d))) {
                        struct stat st;
                        bool stale;

                        if (de->d_name[0] == '.' && !startswith_lit(de->d_name, KP_TMP_PREFIX))
                                continue;
                        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                                continue;
                        stale = now_usec > kp_timespec_to_usec(&st.st_mtim) + KP_CACHE_STALE_TMP_USEC;
                        if (!stale || dry_run)
                                continue;

                        if (startswith_lit(de->d_name, KP_TMP_PREFIX))
                                (void) unlinkat(dirfd(d), de->d_name, 0);
                        else if (dirs[i] == c->kernels_fd && strlen(de->d_name) == 2 * KP_SHA256_SIZE + 5 &&
                                 streq(de->d_name + 2 * KP_SHA256_SIZE, ".json")) {
                                char elf[KP_SHA256_HEX_SIZE + 8];
                                (void) snprintf(elf, sizeof(elf), "%.64s.elf", de->d_name);
                                if (faccessat(dirfd(d), elf, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
                                        (void) unlinkat(dirfd(d), de->d_name, 0);
                        } else if (dirs[i] == c->locks_fd) {
                                _cleanup_close_ int lfd =
                                        openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                                /*
                                 * Only a lock no one holds, removed while we hold it: a
                                 * waiter that opened it before gets it after us, sees it
                                 * has no name any more and starts again on a fresh file
                                 * (kp_cache_lock()).
                                 */
                                if (lfd >= 0 && flock(lfd, LOCK_EX | LOCK_NB) >= 0)
                                        (void) unlinkat(dirfd(d), de->d_name, 0);
                        }
                }
                closedir(d);
        }
}

static int lru_cmp(const void *a, const void *b)
{
        const KpCacheEntry *x = *(const KpCacheEntry *const *) a, *y = *(const KpCacheEntry *const *) b;

        if (x->last_used_usec != y->last_used_usec)
                return x->last_used_usec < y->last_used_usec ? -1 : 1;
        return strcmp(x->key, y->key);
}

int kp_cache_gc(KpCache *c, char *const *referenced, uint64_t max_age_usec, uint64_t max_size, uint64_t now_usec,
                bool dry_run, KpError *error, KpCacheGcStats *ret_stats)
{
        _cleanup_free_ KpCacheEntry *entries = NULL;
        _cleanup_free_ KpCacheEntry **candidates = NULL;
        _cleanup_free_ bool *gone = NULL;
        KpCacheGcStats stats = {};
        uint64_t total = 0;
        size_t n = 0, n_candidates = 0;
        int r;

        r = kp_cache_list(c, error, &entries, &n);
        if (r < 0)
                return r;
        candidates = calloc(n + 1, sizeof(KpCacheEntry *));
        gone = calloc(n + 1, sizeof(bool));
        if (!candidates || !gone)
                return kp_error_set(error, -ENOMEM, "out of memory");

        for (size_t i = 0; i < n; i++) {
                KpCacheEntry *e = &entries[i];

                total += e->size;
                if (strv_contains(referenced, e->key))
                        continue;
                if (now_usec > e->last_used_usec && now_usec - e->last_used_usec > max_age_usec) {
                        gone[i] = true;
                        total -= e->size;
                        stats.removed++;
                        stats.removed_bytes += e->size;
                        if (!dry_run)
                                remove_entry(c, e);
                } else
                        candidates[n_candidates++] = e;
        }

        /* Over the cap: least recently used unreferenced entries first. */
        if (n_candidates > 0)
                qsort(candidates, n_candidates, sizeof(KpCacheEntry *), lru_cmp);
        for (size_t i = 0; i < n_candidates && total > max_size; i++) {
                KpCacheEntry *e = candidates[i];

                gone[e - entries] = true;
                total -= e->size;
                stats.removed++;
                stats.removed_bytes += e->size;
                if (!dry_run)
                        remove_entry(c, e);
        }

        for (size_t i = 0; i < n; i++)
                if (!gone[i]) {
                        stats.kept++;
                        stats.kept_bytes += entries[i].size;
                        if (total > max_size && strv_contains(referenced, entries[i].key))
                                stats.kept_referenced_over_cap++;
                }

        reap_leftovers(c, now_usec, dry_run);

        if (ret_stats)
                *ret_stats = stats;
        return 0;
}

int kp_cache_verify(KpCache *c, KpError *error, KpCacheVerifyStats *ret_stats, char ***ret_report)
{
        return kp_cache_verify_cancellable(c, NULL, error, ret_stats, ret_report);
}

int kp_cache_verify_cancellable(KpCache *c, const atomic_bool *cancel, KpError *error, KpCacheVerifyStats *ret_stats,
                                char ***ret_report)
{
        _cleanup_free_ KpCacheEntry *entries = NULL;
        _cleanup_strv_free_ char **report = NULL;
        KpCacheVerifyStats stats = {};
        size_t n = 0;
        int r;

        r = kp_cache_list(c, error, &entries, &n);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                const KpCacheEntry *e = &entries[i];
                char name[KP_SHA256_HEX_SIZE + 8], hex[KP_SHA256_HEX_SIZE];
                const char *expected = e->kind == KP_CACHE_KERNEL ? e->meta.output_sha256 : e->key;
                _cleanup_close_ int fd = -EBADF;
                _cleanup_free_ char *line = NULL;
                uint64_t size;

                if (cancel && atomic_load(cancel))
                        return kp_error_set(error, -ECANCELED, "cache verify stopped after %zu of %zu entries",
                                            stats.checked, n);
                (void) snprintf(name, sizeof(name), e->kind == KP_CACHE_KERNEL ? "%s.elf" : "%s", e->key);
                stats.checked++;
                if (e->kind == KP_CACHE_KERNEL && !e->have_meta)
                        r = asprintf(&line, "kernel %s: metadata missing or unreadable: removed", e->key);
                else {
                        /* O_NOATIME: re-hashing is not a use; the GC's notion of "last used" stays right. */
                        fd = openat(e->kind == KP_CACHE_KERNEL ? c->kernels_fd : c->initrds_fd, name,
                                    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOATIME);
                        if (fd < 0)
                                continue; /* removed meanwhile */
                        if (kp_sha256_fd(fd, UINT64_MAX, hex, &size) < 0)
                                r = asprintf(&line, "%s %s: unreadable: removed",
                                             e->kind == KP_CACHE_KERNEL ? "kernel" : "initrd", e->key);
                        else if (!streq(hex, expected))
                                r = asprintf(&line, "%s %s: sha256 is %s, expected %s: removed",
                                             e->kind == KP_CACHE_KERNEL ? "kernel" : "initrd", e->key, hex, expected);
                        else
                                continue;
                }
                if (r < 0)
                        return kp_error_set(error, -ENOMEM, "out of memory");
                remove_entry(c, e);
                stats.damaged++;
                if (strv_consume(&report, TAKE_PTR(line)) < 0)
                        return kp_error_set(error, -ENOMEM, "out of memory");
        }

        if (ret_stats)
                *ret_stats = stats;
        if (ret_report)
                *ret_report = TAKE_PTR(report);
        return 0;
}
