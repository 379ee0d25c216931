/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "bootcfg/bootplan-json.h"
#include "store/state.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/grow.h"
#include "util/json.h"
#include "util/sha256.h"
#include "util/strv.h"
#include "util/time-util.h"
#include "util/string-table.h"

/* A record holds one plan; kp_boot_plan_from_json's own limit is the bound. */
#define KP_STATE_RECORD_MAX (KP_BOOTPLAN_JSON_MAX + 64 * 1024)
#define KP_STATE_LOCK_POLL_USEC (20 * USEC_PER_MSEC)

struct KpStateStore {
        char *path;
        int disks_fd;
        int locks_fd;
};

/* ---- identity and freshness ------------------------------------------------ */

int kp_disk_identity_read(const char *path, KpError *error, KpDiskIdentity *ret)
{
        _cleanup_close_ int fd = -EBADF;
        KpDiskIdentity id = {};
        struct stat st;

        /* O_PATH: no open of a block device (which could have side effects), no read of content. */
        fd = open(path, O_PATH | O_CLOEXEC);
        if (fd < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot open disk %s", path);
        if (fstat(fd, &st) < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot stat disk %s", path);

        if (S_ISBLK(st.st_mode)) {
                _cleanup_close_ int bfd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
                uint64_t bytes = 0;

                id.block = true;
                id.rdev = (uint64_t) st.st_rdev;
                if (bfd >= 0 && ioctl(bfd, BLKGETSIZE64, &bytes) >= 0)
                        id.size = bytes;
        } else if (S_ISREG(st.st_mode))
                id.size = (uint64_t) st.st_size;
        else
                return kp_error_set(error, -EMEDIUMTYPE, "disk %s is neither a regular file nor a block device",
                                    path);

        id.dev = (uint64_t) st.st_dev;
        id.ino = (uint64_t) st.st_ino;
        id.mtime_nsec = (uint64_t) st.st_mtim.tv_sec * UINT64_C(1000000000) + (uint64_t) st.st_mtim.tv_nsec;
        id.ctime_nsec = (uint64_t) st.st_ctim.tv_sec * UINT64_C(1000000000) + (uint64_t) st.st_ctim.tv_nsec;
        *ret = id;
        return 0;
}

static const char *const freshness_table[_KP_FRESHNESS_MAX] = {
        [KP_FRESH] = "fresh",
        [KP_STALE_CHANGED] = "changed",
        [KP_STALE_BLOCK_DEVICE] = "block-device",
        [KP_STALE_NO_PLAN] = "no-plan",
        [KP_STALE_PROVISIONAL] = "provisional",
};
KP_DEFINE_STRING_TABLE_TO_STRING(kp_freshness, KpFreshness, freshness_table);

static KpFreshness stale(char **ret_reason, KpFreshness f, const char *format, ...) _printf_(3, 4);
static KpFreshness stale(char **ret_reason, KpFreshness f, const char *format, ...)
{
        va_list ap;

        if (ret_reason) {
                va_start(ap, format);
                if (vasprintf(ret_reason, format, ap) < 0)
                        *ret_reason = NULL;
                va_end(ap);
        }
        return f;
}

KpFreshness kp_disk_state_freshness(const KpDiskState *s, const KpDiskIdentity *now, bool trust_foreign,
                                    bool vouched, char **ret_reason)
{
        const KpDiskIdentity *then;

        if (ret_reason)
                *ret_reason = NULL;
        if (!s || !s->plan || s->plan->n_entries == 0)
                return stale(ret_reason, KP_STALE_NO_PLAN, "no plan from an earlier scan");
        if (s->provisional)
                return stale(ret_reason, KP_STALE_PROVISIONAL, "scanned while %s used the disk", s->provisional);
        then = &s->identity;

        if (then->block != now->block)
                return stale(ret_reason, KP_STALE_CHANGED, "the disk changed type since the scan");
        if (now->block) {
                if (then->rdev != now->rdev || then->size != now->size)
                        return stale(ret_reason, KP_STALE_CHANGED, "the block device is another one since the scan");
                if (!vouched)
                        return stale(ret_reason, KP_STALE_BLOCK_DEVICE,
                                     "a block device's content cannot be dated: rescanning (kunpackd avoids this)");
                return KP_FRESH;
        }

        if (then->size != now->size)
                return stale(ret_reason, KP_STALE_CHANGED, "the image's size changed since the scan (%" PRIu64
                             " → %" PRIu64 " bytes)", then->size, now->size);
        if (then->mtime_nsec != now->mtime_nsec)
                return stale(ret_reason, KP_STALE_CHANGED, "the image was modified since the scan");
        if (trust_foreign)
                return KP_FRESH;
        if (then->dev != now->dev || then->ino != now->ino)
                return stale(ret_reason, KP_STALE_CHANGED, "the image was replaced since the scan");
        if (then->ctime_nsec != now->ctime_nsec)
                return stale(ret_reason, KP_STALE_CHANGED, "the image's inode changed since the scan");
        return KP_FRESH;
}

/* ---- records --------------------------------------------------------------- */

KpDiskState *kp_disk_state_free(KpDiskState *s)
{
        if (!s)
                return NULL;
        free(s->disk);
        free(s->request);
        free(s->provisional);
        kp_boot_plan_free(s->plan);
        free(s);
        return NULL;
}

KpDiskState **kp_disk_states_free(KpDiskState **states, size_t n)
{
        for (size_t i = 0; i < n; i++)
                kp_disk_state_free(states[i]);
        free(states);
        return NULL;
}

KpStateStore *kp_state_store_free(KpStateStore *s)
{
        if (!s)
                return NULL;
        safe_close(s->disks_fd);
        safe_close(s->locks_fd);
        free(s->path);
        free(s);
        return NULL;
}

static int open_subdir(KpStateStore *s, int dir_fd, const char *name, KpError *error, int *ret)
{
        int fd;

        if (mkdirat(dir_fd, name, 0700) < 0 && errno != EEXIST)
                return kp_error_set_errno(error, negative_errno(), "cannot create %s/%s", s->path, name);
        fd = openat(dir_fd, name, O_DIRECTORY | O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot open %s/%s", s->path, name);
        *ret = fd;
        return 0;
}

int kp_state_open(const char *path, KpError *error, KpStateStore **ret)
{
        _cleanup_(kp_state_store_freep) KpStateStore *s = NULL;
        _cleanup_close_ int dir_fd = -EBADF;
        struct stat st;
        int r;

        s = calloc(1, sizeof(KpStateStore));
        if (!s)
                return kp_error_set(error, -ENOMEM, "out of memory");
        s->disks_fd = s->locks_fd = -EBADF;
        s->path = strdup(path);
        if (!s->path)
                return kp_error_set(error, -ENOMEM, "out of memory");

        r = kp_mkdir_p(path, 0700);
        if (r < 0)
                return kp_error_set_errno(error, r, "cannot create state directory %s", path);
        dir_fd = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dir_fd < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot open state directory %s", path);
        if (fstat(dir_fd, &st) < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot stat state directory %s", path);
        /* Plans decide what boots: nobody else may write them. */
        if (st.st_uid != geteuid() || (st.st_mode & 0022))
                return kp_error_set(error, -EPERM,
                                    "state directory %s must belong to uid %u and not be writable by others "
                                    "(it is uid %u, mode %04o)",
                                    path, (unsigned) geteuid(), (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777));

        r = open_subdir(s, dir_fd, "disks", error, &s->disks_fd);
        if (r < 0)
                return r;
        r = open_subdir(s, dir_fd, "locks", error, &s->locks_fd);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

/* sha256("<disk>\n<request>"): a file name no guest and no path can steer. */
static int record_id(const char *disk, const char *request, char ret[KP_SHA256_HEX_SIZE])
{
        _cleanup_(kp_sha256_freep) KpSha256 *h = kp_sha256_new();
        uint8_t d[KP_SHA256_SIZE];

        if (!h)
                return -ENOMEM;
        kp_sha256_update(h, disk, strlen(disk));
        kp_sha256_update(h, "\n", 1);
        kp_sha256_update(h, request ? request : "", request ? strlen(request) : 0);
        kp_sha256_final(h, d);
        kp_sha256_to_hex(d, ret);
        return 0;
}

static int state_to_json(const KpDiskState *st, char **ret_text, size_t *ret_size)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        int r;

        r = kp_json_gen_new(false, &g);
        if (r < 0)
                return r;
        yajl_gen_map_open(g);
        kp_json_kv_uint(g, "version", 1);
        kp_json_kv_string(g, "disk", st->disk);
        kp_json_kv_string(g, "request", st->request ? st->request : "");
        kp_json_key(g, "identity");
        yajl_gen_map_open(g);
        kp_json_kv_bool(g, "block", st->identity.block);
        kp_json_kv_uint(g, "dev", st->identity.dev);
        kp_json_kv_uint(g, "ino", st->identity.ino);
        kp_json_kv_uint(g, "rdev", st->identity.rdev);
        kp_json_kv_uint(g, "size", st->identity.size);
        kp_json_kv_uint(g, "mtime_nsec", st->identity.mtime_nsec);
        kp_json_kv_uint(g, "ctime_nsec", st->identity.ctime_nsec);
        yajl_gen_map_close(g);
        kp_json_kv_uint(g, "scanned_usec", st->scanned_usec);
        if (st->provisional)
                kp_json_kv_string(g, "provisional", st->provisional);
        kp_json_key(g, "plan");
        if (st->plan) {
                r = kp_boot_plan_to_json(st->plan, g);
                if (r < 0)
                        return r;
        } else
                kp_json_null(g);
        yajl_gen_map_close(g);
        return kp_json_gen_finish(g, ret_text, ret_size);
}

static int state_from_json(const char *text, KpError *error, KpDiskState **ret)
{
        _cleanup_(yajl_tree_freep) yajl_val v = NULL;
        _cleanup_(kp_disk_state_freep) KpDiskState *st = NULL;
        const char *disk, *request;
        yajl_val id, plan;
        uint64_t version;
        int r;

        r = kp_json_parse(text, error, &v);
        if (r < 0)
                return r;
        if (kp_json_get_uint(v, "version", &version) < 0 || version != 1)
                return kp_error_set(error, -EBADMSG, "unknown record version");
        disk = kp_json_get_string(v, "disk");
        request = kp_json_get_string(v, "request");
        id = kp_json_get(v, "identity");
        plan = kp_json_get(v, "plan");
        if (!disk || !request || !YAJL_IS_OBJECT(id) || !plan)
                return kp_error_set(error, -EBADMSG, "record lacks disk, request, identity or plan");

        st = calloc(1, sizeof(KpDiskState));
        if (!st)
                return kp_error_set(error, -ENOMEM, "out of memory");
        st->disk = strdup(disk);
        st->request = strdup(request);
        if (!st->disk || !st->request)
                return kp_error_set(error, -ENOMEM, "out of memory");
        if (kp_json_get_bool(id, "block", &st->identity.block) < 0 ||
            kp_json_get_uint(id, "dev", &st->identity.dev) < 0 || kp_json_get_uint(id, "ino", &st->identity.ino) < 0 ||
            kp_json_get_uint(id, "rdev", &st->identity.rdev) < 0 ||
            kp_json_get_uint(id, "size", &st->identity.size) < 0 ||
            kp_json_get_uint(id, "mtime_nsec", &st->identity.mtime_nsec) < 0 ||
            kp_json_get_uint(id, "ctime_nsec", &st->identity.ctime_nsec) < 0 ||
            kp_json_get_uint(v, "scanned_usec", &st->scanned_usec) < 0)
                return kp_error_set(error, -EBADMSG, "record has an incomplete disk identity");
        /* Absent in records of scans nobody disturbed, and in those written before it existed. */
        if (kp_json_get(v, "provisional")) {
                const char *who = kp_json_get_string(v, "provisional");
                bool printable = who != NULL;

                for (const char *c = who; printable && *c; c++)
                        printable = (unsigned char) *c >= ' ' && *c != 0x7f;
                if (!printable)
                        return kp_error_set(error, -EBADMSG, "record has an unreadable provisional mark");
                st->provisional = strdup(who);
                if (!st->provisional)
                        return kp_error_set(error, -ENOMEM, "out of memory");
        }

        if (!YAJL_IS_NULL(plan)) {
                r = kp_boot_plan_from_json_value(plan, error, &st->plan);
                if (r < 0)
                        return r;
                /* Stored by us, but on a disk that can be damaged: validate like a fresh scan. */
                r = kp_boot_plan_validate(st->plan, error);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(st);
        return 0;
}

int kp_state_load(KpStateStore *s, const char *disk, const char *request, KpError *error, KpDiskState **ret)
{
        _cleanup_(kp_disk_state_freep) KpDiskState *st = NULL;
        _cleanup_free_ char *path = NULL, *text = NULL;
        char id[KP_SHA256_HEX_SIZE];
        int r;

        r = record_id(disk, request, id);
        if (r < 0)
                return kp_error_set(error, r, "out of memory");
        if (asprintf(&path, "%s/disks/%s.json", s->path, id) < 0)
                return kp_error_set(error, -ENOMEM, "out of memory");

        r = kp_read_file(path, KP_STATE_RECORD_MAX, error, &text, NULL);
        if (r == -ENOENT)
                return kp_error_set(error, -ENOENT, "no state for %s", disk);
        if (r >= 0)
                r = state_from_json(text, error, &st);
        if (r >= 0 && (!streq(st->disk, disk) || !streq(st->request, request ? request : "")))
                r = kp_error_set(error, -EBADMSG, "record belongs to another disk");
        if (r < 0) {
                /* Damaged: it can never become right, and a rescan replaces it. */
                (void) unlink(path);
                return kp_error_prefix(error, -EBADMSG, "state of %s is damaged and was removed", disk);
        }

        *ret = TAKE_PTR(st);
        return 0;
}

int kp_state_save(KpStateStore *s, const KpDiskState *state, KpError *error)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        char id[KP_SHA256_HEX_SIZE];
        size_t size;
        int r;

        if (state->plan) {
                r = kp_boot_plan_validate(state->plan, error);
                if (r < 0)
                        return r;
        }
        r = record_id(state->disk, state->request, id);
        if (r < 0)
                return kp_error_set(error, r, "out of memory");
        r = state_to_json(state, &text, &size);
        if (r < 0)
                return kp_error_set(error, r, "cannot write the state of %s as JSON", state->disk);
        if (asprintf(&path, "%s/disks/%s.json", s->path, id) < 0)
                return kp_error_set(error, -ENOMEM, "out of memory");
        r = kp_write_file_atomic(path, text, size, 0600, error);
        if (r < 0)
                return kp_error_prefix(error, r, "state");
        return 0;
}

int kp_state_remove(KpStateStore *s, const char *disk, const char *request, KpError *error)
{
        char id[KP_SHA256_HEX_SIZE + 8];
        int r;

        r = record_id(disk, request, id);
        if (r < 0)
                return kp_error_set(error, r, "out of memory");
        strcat(id, ".json");
        if (unlinkat(s->disks_fd, id, 0) < 0 && errno != ENOENT)
                return kp_error_set_errno(error, negative_errno(), "cannot remove the state of %s", disk);
        (void) fsync(s->disks_fd);
        return 0;
}

int kp_state_lock(KpStateStore *s, const char *disk, const char *request, uint64_t deadline_usec, KpError *error,
                  int *ret_fd)
{
        _cleanup_close_ int fd = -EBADF;
        char id[KP_SHA256_HEX_SIZE];
        int r;

        r = record_id(disk, request, id);
        if (r < 0)
                return kp_error_set(error, r, "out of memory");
        fd = openat(s->locks_fd, id, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
        if (fd < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot open the lock of %s", disk);

        for (;;) {
                uint64_t left;

                if (flock(fd, LOCK_EX | LOCK_NB) >= 0)
                        break;
                if (errno != EWOULDBLOCK && errno != EINTR)
                        return kp_error_set_errno(error, negative_errno(), "cannot lock %s", disk);
                left = kp_usec_left(deadline_usec);
                if (left == 0)
                        return kp_error_set(error, -ETIMEDOUT, "timed out waiting for another scan of %s", disk);
                (void) usleep((useconds_t) MIN(left, KP_STATE_LOCK_POLL_USEC));
        }

        *ret_fd = TAKE_FD(fd);
        return 0;
}

int kp_state_list(KpStateStore *s, KpError *error, KpDiskState ***ret_states, size_t *ret_n, char ***ret_skipped)
{
        _cleanup_strv_free_ char **skipped = NULL;
        KpDiskState **states = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct dirent *de;
        size_t n = 0;
        DIR *d;
        int r = 0;

        fd = fcntl(s->disks_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot read %s/disks", s->path);
        d = fdopendir(fd);
        if (!d)
                return kp_error_set_errno(error, negative_errno(), "cannot read %s/disks", s->path);
        TAKE_FD(fd);
        rewinddir(d);

        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *text = NULL;
                KpDiskState *st = NULL, **grown;
                KpError e = {};

                if (strlen(de->d_name) != 2 * KP_SHA256_SIZE + 5 || !streq(de->d_name + 2 * KP_SHA256_SIZE, ".json"))
                        continue;
                if (asprintf(&path, "%s/disks/%s", s->path, de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (kp_read_file(path, KP_STATE_RECORD_MAX, &e, &text, NULL) < 0 ||
                    state_from_json(text, &e, &st) < 0) {
                        char *line = NULL;
                        if (asprintf(&line, "%s: %s", de->d_name, e.message) < 0 || strv_consume(&skipped, line) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        continue;
                }
                grown = kp_grow(states, n, sizeof(KpDiskState *));
                if (!grown) {
                        kp_disk_state_free(st);
                        r = -ENOMEM;
                        break;
                }
                states = grown;
                states[n++] = st;
        }
        closedir(d);
        if (r < 0) {
                kp_disk_states_free(states, n);
                return kp_error_set(error, r, "out of memory");
        }

        *ret_states = states;
        *ret_n = n;
        if (ret_skipped)
                *ret_skipped = TAKE_PTR(skipped);
        return 0;
}

static int add_key(char ***keys, const KpFileInfo *f)
{
        if (!f->have_info || !kp_sha256_hex_valid(f->sha256) || strv_contains(*keys, f->sha256))
                return 0;
        return strv_extend(keys, f->sha256);
}

int kp_state_referenced_keys(KpStateStore *s, KpError *error, char ***ret_keys)
{
        _cleanup_strv_free_ char **keys = calloc(1, sizeof(char *));
        KpDiskState **states = NULL;
        size_t n = 0;
        int r;

        if (!keys)
                return kp_error_set(error, -ENOMEM, "out of memory");
        r = kp_state_list(s, error, &states, &n, NULL);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                const KpBootPlan *p = states[i]->plan;
                for (size_t j = 0; p && j < p->n_entries && r >= 0; j++) {
                        r = add_key(&keys, &p->entries[j].kernel);
                        for (size_t k = 0; k < p->entries[j].n_initrds && r >= 0; k++)
                                r = add_key(&keys, &p->entries[j].initrds[k]);
                }
        }
        kp_disk_states_free(states, n);
        if (r < 0)
                return kp_error_set(error, r, "out of memory");
        *ret_keys = TAKE_PTR(keys);
        return 0;
}
