/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "guest/inspect.h"
#include "guest/write.h"
#include "pvgrub/pvgrub.h"
#include "pvgrub/rewrite.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/sha256.h"
#include "util/strv.h"

/* One decompressed kernel kunpack keeps beside its source. */
typedef struct Job {
        const char *source;
        const char *target;
        char source_sha256[KP_SHA256_HEX_SIZE];
        const KpPvgrubFile *old; /* its record in the manifest found, if any */
        bool write;
        int fd; /* the ELF on the host, when write */
        uint64_t size;
        char sha256[KP_SHA256_HEX_SIZE];
} Job;

static void jobs_free(Job *jobs, size_t n)
{
        for (size_t i = 0; i < n; i++)
                safe_close(jobs[i].fd);
        free(jobs);
}

static int sha256_hex(const void *data, size_t size, char ret[KP_SHA256_HEX_SIZE])
{
        _cleanup_(kp_sha256_freep) KpSha256 *h = kp_sha256_new();
        uint8_t digest[KP_SHA256_SIZE];

        if (!h)
                return -ENOMEM;
        kp_sha256_update(h, data, size);
        kp_sha256_final(h, digest);
        kp_sha256_to_hex(digest, ret);
        return 0;
}

static int open_tmp(const char *dir, KpError *error, int *ret)
{
        int fd = kp_open_unnamed(dir);

        if (fd < 0)
                return kp_error_set_errno(error, fd, "cannot create a temporary file in %s", dir);
        *ret = fd;
        return 0;
}

/* Downloads job's source, checks it is still what the inspection hashed, and decompresses it on the host. */
static int fetch(KpGuestSession *s, size_t guest, const char *device, Job *job, const KpPvgrubOptions *o,
                 KpError *error)
{
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        KpUnpackParams unpack = o->unpack;
        char sha[KP_SHA256_HEX_SIZE];
        KpUnpackInfo res;
        KpError e = {};
        int r;

        r = open_tmp(o->tmp_dir, error, &in);
        if (r >= 0)
                r = open_tmp(o->tmp_dir, error, &out);
        if (r < 0)
                return r;
        r = kp_guest_session_download(s, guest, device, job->source, in,
                                      unpack.max_input ?: KP_MAX_INPUT_DEFAULT, &e, NULL);
        if (r < 0)
                return kp_error_set(error, r, "cannot download %s: %s", job->source, e.message);
        r = kp_sha256_fd(in, unpack.max_input ?: KP_MAX_INPUT_DEFAULT, sha, NULL);
        if (r < 0)
                return kp_error_set_errno(error, r, "cannot hash the download of %s", job->source);
        if (!streq(sha, job->source_sha256))
                return kp_error_set(error, -EIO, "%s changed while it was read", job->source);
        if (lseek(in, 0, SEEK_SET) < 0)
                return kp_error_set_errno(error, negative_errno(), "lseek");

        unpack.want_output_sha256 = true;
        r = kp_unpack(in, out, &unpack, &e, &res);
        if (r < 0)
                return kp_error_set(error, r, "%s: %s", job->source, e.message);
        job->size = res.output_size;
        kp_sha256_to_hex(res.output_sha256, job->sha256);
        job->fd = TAKE_FD(out);
        return 0;
}

/* Whether the configuration (plan) boots path: then kunpack's copy there stays even when stale. */
static bool plan_names(const KpBootPlan *plan, const char *path)
{
        for (size_t i = 0; i < plan->n_entries; i++)
                if (plan->entries[i].kernel.path && streq(plan->entries[i].kernel.path, path))
                        return true;
        return false;
}

static char *path_with(const char *path, const char *suffix)
{
        char *p;

        return asprintf(&p, "%s%s", path, suffix) < 0 ? NULL : p;
}

/* The manifest at path, or NULL (-ENOENT is not an error). */
static int read_manifest(KpGuestSession *s, const char *path, KpError *error, KpPvgrubManifest **ret,
                         char **ret_text, size_t *ret_size)
{
        _cleanup_free_ char *text = NULL;
        KpError e = {};
        size_t size;
        int r;

        r = kp_guest_read_regular(s, path, KP_PVGRUB_MANIFEST_MAX_SIZE, &e, &text, &size);
        if (r == -ENOENT) {
                *ret = NULL;
                return 0;
        }
        if (r < 0)
                return kp_error_set(error, r, "kunpack's manifest: %s", e.message);
        r = kp_pvgrub_manifest_parse(text, size, &e, ret);
        if (r < 0)
                return kp_error_set(error, r, "%s is damaged (%s); kunpackctl revert or remove it", path,
                                    e.message);
        if (ret_text) {
                *ret_text = TAKE_PTR(text);
                *ret_size = size;
        }
        return 0;
}

int kp_pvgrub_apply(KpGuestSession *s, size_t guest, const KpBootPlan *plan, const KpPvgrubOptions *o,
                    KpError *error, KpPvgrubReport *ret)
{
        _cleanup_(kp_pvgrub_manifest_freep) KpPvgrubManifest *old = NULL, *next = NULL;
        _cleanup_(kp_pvgrub_rewrite_done) KpPvgrubRewrite rw = {};
        _cleanup_free_ char *config = NULL, *old_text = NULL, *new_text = NULL, *mpath = NULL, *bpath = NULL;
        char config_sha[KP_SHA256_HEX_SIZE], new_sha[KP_SHA256_HEX_SIZE];
        size_t config_size, old_size = 0, new_size = 0, n_jobs = 0;
        const char *device = plan->config_device, *path = plan->config_path;
        KpPvgrubReport rep = {};
        bool ours, write_config, write_manifest, remove_manifest, remove_old_backup, need_write = false;
        uint64_t needed = 0, free_bytes, freed = 0;
        _cleanup_free_ bool *stale = NULL;
        size_t n_stale = 0;
        Job *jobs = NULL;
        int r;

        if (!kp_guest_session_writable(s))
                return kp_error_set(error, -EROFS, "pvgrub mode needs a writable session");
        /* A guest whose kernels pvgrub loads as they are needs nothing, whatever its configuration is. */
        if ((!device || !path) && !kp_pvgrub_needs_rewrite(plan))
                goto nothing;
        if (!device || !path)
                return kp_error_set(error, -EOPNOTSUPP,
                                    "no boot configuration to point at a decompressed kernel (%s needs one)",
                                    plan->n_entries > 0 && plan->entries[0].kernel.path
                                            ? plan->entries[0].kernel.path
                                            : "?");

        mpath = path_with(path, KP_PVGRUB_MANIFEST_SUFFIX);
        bpath = path_with(path, KP_PVGRUB_BACKUP_SUFFIX);
        if (!mpath || !bpath)
                return -ENOMEM;

        /* Read-only until something must be written: a run with nothing to do leaves the disk as it was. */
        r = kp_guest_mount_readonly(s, guest, device, error);
        if (r < 0)
                return r;
        r = read_manifest(s, mpath, error, &old, &old_text, &old_size);
        if (r < 0)
                return r;
        if (!old && !kp_pvgrub_needs_rewrite(plan))
                goto nothing;
        if (plan->kind != KP_BOOT_CONFIG_GRUB2 && plan->kind != KP_BOOT_CONFIG_GRUB_LEGACY)
                return kp_error_set(error, -EOPNOTSUPP, "a %s configuration is not pvgrub's to read",
                                    kp_boot_config_kind_to_string(plan->kind) ?: "?");
        r = kp_guest_read_regular(s, path, KP_BOOTCFG_MAX_SIZE, error, &config, &config_size);
        if (r < 0)
                return r;
        r = sha256_hex(config, config_size, config_sha);
        if (r < 0)
                return r;

        /* The configuration is the one kunpack wrote: its original is the backup, which must be intact. */
        ours = old && old->config && streq(old->config, path) && streq(old->config_sha256, config_sha);
        if (ours) {
                char sha[KP_SHA256_HEX_SIZE];
                KpError e = {};

                r = kp_guest_sha256(s, old->backup, &e, sha);
                if (r < 0 || !streq(sha, old->backup_sha256))
                        return kp_error_set(error, r < 0 ? r : -EBADMSG,
                                            "%s is not the original kunpack kept (%s); nothing written",
                                            old->backup, r < 0 ? e.message : "changed");
        }

        r = kp_pvgrub_rewrite(plan, config, config_size, error, &rw);
        if (r < 0)
                return r;

        next = calloc(1, sizeof(*next));
        jobs = calloc(MAX(rw.n_conversions, old ? old->n_files : 0) + 1, sizeof(Job));
        if (!next || !jobs) {
                r = -ENOMEM;
                goto finish;
        }

        /* What should be there: every conversion of this configuration, or (ours) every copy it names. */
        if (!ours)
                for (size_t i = 0; i < rw.n_conversions; i++) {
                        Job *j = &jobs[n_jobs++];

                        *j = (Job) { .source = rw.conversions[i].source,
                                     .target = rw.conversions[i].target,
                                     .fd = -EBADF,
                                     .old = kp_pvgrub_manifest_find(old, rw.conversions[i].target) };
                        memcpy(j->source_sha256, rw.conversions[i].sha256, KP_SHA256_HEX_SIZE);
                }
        else
                for (size_t i = 0; i < old->n_files; i++) {
                        Job *j = &jobs[n_jobs];
                        KpError e = {};

                        *j = (Job) { .source = old->files[i].source,
                                     .target = old->files[i].path,
                                     .fd = -EBADF,
                                     .old = &old->files[i] };
                        r = kp_guest_sha256(s, j->source, &e, j->source_sha256);
                        if (r == -ENOENT)
                                continue; /* stale: handled below */
                        if (r < 0) {
                                r = kp_error_set(error, r, "%s", e.message);
                                goto finish;
                        }
                        n_jobs++;
                }

        for (size_t i = 0; i < n_jobs; i++) {
                Job *j = &jobs[i];
                KpError e = {};
                int t;

                t = kp_guest_regular_file(s, j->target, &e, NULL);
                if (t < 0) {
                        r = kp_error_set(error, t, "%s", e.message);
                        goto finish;
                }
                if (t == 1 && !j->old) {
                        r = kp_error_set(error, -EEXIST,
                                         "%s exists and kunpack did not write it; nothing written",
                                         j->target);
                        goto finish;
                }
                j->write = true;
                if (t == 1 && streq(j->old->source_sha256, j->source_sha256)) {
                        char sha[KP_SHA256_HEX_SIZE];

                        r = kp_guest_sha256(s, j->target, error, sha);
                        if (r < 0)
                                goto finish;
                        j->write = !streq(sha, j->old->sha256);
                        if (!j->write)
                                memcpy(j->sha256, sha, KP_SHA256_HEX_SIZE);
                }
                if (j->write) {
                        r = fetch(s, guest, device, j, o, error);
                        if (r < 0)
                                goto finish;
                        needed += j->size;
                }
                r = kp_pvgrub_manifest_add_file(next, j->target, j->sha256, j->source, j->source_sha256);
                if (r < 0)
                        goto finish;
        }

        /*
         * kunpack's copies nothing asks for any more: removed, unless the
         * guest's configuration boots them, and only while they are still
         * as kunpack wrote them (one the guest replaced is the guest's file
         * now). Their room counts for the new copies: they go first.
         */
        stale = calloc(old ? old->n_files : 0, sizeof(bool));
        if (old && old->n_files > 0 && !stale) {
                r = -ENOMEM;
                goto finish;
        }
        for (size_t i = 0; old && i < old->n_files; i++) {
                const KpPvgrubFile *f = &old->files[i];
                char sha[KP_SHA256_HEX_SIZE];
                uint64_t size = 0;
                KpError e = {};

                if (kp_pvgrub_manifest_find(next, f->path))
                        continue;
                if (plan_names(plan, f->path)) {
                        r = kp_pvgrub_manifest_add_file(next, f->path, f->sha256, f->source,
                                                        f->source_sha256);
                        if (r < 0)
                                goto finish;
                        continue;
                }
                if (kp_guest_regular_file(s, f->path, &e, &size) != 1 ||
                    kp_guest_sha256(s, f->path, &e, sha) < 0 || !streq(sha, f->sha256))
                        continue;
                stale[i] = true;
                n_stale++;
                freed += size;
        }

        write_config = !ours && rw.n_tokens > 0;
        if (ours) {
                next->config = strdup(old->config);
                next->backup = strdup(old->backup);
                if (!next->config || !next->backup) {
                        r = -ENOMEM;
                        goto finish;
                }
                memcpy(next->config_sha256, old->config_sha256, KP_SHA256_HEX_SIZE);
                memcpy(next->backup_sha256, old->backup_sha256, KP_SHA256_HEX_SIZE);
        } else if (write_config) {
                r = sha256_hex(rw.config, rw.config_size, new_sha);
                if (r < 0)
                        goto finish;
                next->config = strdup(path);
                next->backup = strdup(bpath);
                if (!next->config || !next->backup) {
                        r = -ENOMEM;
                        goto finish;
                }
                memcpy(next->config_sha256, new_sha, KP_SHA256_HEX_SIZE);
                memcpy(next->backup_sha256, config_sha, KP_SHA256_HEX_SIZE);
                needed += 2 * config_size + rw.config_size;
        }
        remove_old_backup = !ours && !write_config && old && old->backup;
        remove_manifest = !next->config && next->n_files == 0;
        r = kp_pvgrub_manifest_format(next, &new_text, &new_size);
        if (r < 0)
                goto finish;
        write_manifest = !remove_manifest &&
                         (!old_text || old_size != new_size || memcmp(old_text, new_text, new_size) != 0);
        if (write_manifest)
                needed += new_size;

        r = kp_guest_free_bytes(s, "/", error, &free_bytes);
        if (r < 0)
                goto finish;
        rep.bytes_needed = needed;
        rep.bytes_free = free_bytes;
        if (needed > 0 && needed + KP_PVGRUB_SPACE_RESERVE > free_bytes + freed) {
                char more[96] = "";

                if (freed > 0)
                        (void) snprintf(more, sizeof(more),
                                        " (%" PRIu64 " more once kunpack's stale copies are gone)", freed);
                r = kp_error_set(error, -ENOSPC,
                                 "%s on %s has %" PRIu64 " bytes free%s, kunpack needs %" PRIu64
                                 " (and keeps %" PRIu64 " free); nothing written",
                                 path, device, free_bytes, more, needed, (uint64_t) KP_PVGRUB_SPACE_RESERVE);
                goto finish;
        }

        if (write_config || write_manifest || remove_old_backup || (remove_manifest && old) || n_stale > 0)
                need_write = true;
        for (size_t i = 0; i < n_jobs; i++)
                need_write = need_write || jobs[i].write;
        if (!need_write) {
                (void) snprintf(rep.message, sizeof(rep.message),
                                "%s on %s: already in pvgrub mode (%u kernel%s), nothing written", path,
                                device, (unsigned) n_jobs, n_jobs == 1 ? "" : "s");
                rep.kept = (unsigned) n_jobs;
                *ret = rep;
                r = 0;
                goto finish;
        }
        r = kp_guest_mount_writable(s, guest, device, error);
        if (r < 0)
                goto finish;

        /* 1. The original, before anything points away from it. */
        if (write_config) {
                r = kp_guest_write_data(s, bpath, config, config_size, error);
                if (r < 0)
                        goto finish;
                rep.changed = true;
        }
        /*
         * 2. Stale copies, which the configuration on the disk does not boot
         * (their records go with the manifest below).
         */
        for (size_t i = 0; old && i < old->n_files; i++) {
                if (!stale[i])
                        continue;
                r = kp_guest_remove(s, old->files[i].path, error);
                if (r < 0)
                        goto finish;
                rep.removed++;
                rep.changed = true;
        }
        /* 3. The kernels. */
        for (size_t i = 0; i < n_jobs; i++) {
                if (!jobs[i].write) {
                        rep.kept++;
                        continue;
                }
                r = kp_guest_write_fd(s, jobs[i].target, jobs[i].fd, error);
                if (r < 0)
                        goto finish;
                rep.written++;
                rep.changed = true;
        }
        /* 4. The manifest, naming the configuration as it is about to be. */
        if (write_manifest) {
                r = kp_guest_write_data(s, mpath, new_text, new_size, error);
                if (r < 0)
                        goto finish;
                rep.changed = true;
        }
        /* 5. The configuration. */
        if (write_config) {
                r = kp_guest_write_data(s, path, rw.config, rw.config_size, error);
                if (r < 0)
                        goto finish;
                rep.config_written = true;
                rep.tokens = (unsigned) rw.n_tokens;
        }
        if (remove_old_backup) {
                r = kp_guest_remove(s, old->backup, error);
                if (r < 0)
                        goto finish;
                rep.changed = true;
        }
        if (remove_manifest && old) {
                r = kp_guest_remove(s, mpath, error);
                if (r < 0)
                        goto finish;
                rep.changed = true;
        }
        if (rep.changed) {
                r = kp_guest_sync(s, error);
                if (r < 0)
                        goto finish;
        }

        if (!rep.changed)
                (void) snprintf(rep.message, sizeof(rep.message),
                                "%s on %s: already in pvgrub mode (%u kernel%s), nothing written", path,
                                device, rep.kept, rep.kept == 1 ? "" : "s");
        else
                (void) snprintf(rep.message, sizeof(rep.message),
                                "%s on %s: %u kernel%s decompressed, %u kept, %u stale cop%s removed, %s",
                                path, device, rep.written, rep.written == 1 ? "" : "s", rep.kept,
                                rep.removed, rep.removed == 1 ? "y" : "ies",
                                rep.config_written ? "configuration rewritten (original kept)"
                                                   : "configuration unchanged");
        *ret = rep;
        r = 0;
finish:
        jobs_free(jobs, n_jobs);
        return r;

nothing:
        (void) snprintf(rep.message, sizeof(rep.message),
                        "every kernel of %s is one pvgrub loads as it is; nothing written",
                        path ?: "the guest");
        *ret = rep;
        return 0;
}

int kp_pvgrub_find(KpGuestSession *s, size_t guest, KpError *error, char **ret_device, char **ret_path,
                   KpPvgrubManifest **ret_manifest)
{
        _cleanup_strv_free_ char **names = NULL;
        int r;

        r = kp_guest_list_filesystems(s, guest, error, &names);
        if (r < 0)
                return r;
        for (char **n = names; *n; n++) {
                KpError e = {};

                if (kp_guest_mount_readonly(s, guest, *n, &e) < 0)
                        continue; /* kunpack never wrote where it cannot mount */
                for (size_t i = 0; i < kp_boot_config_candidates_count; i++) {
                        _cleanup_(kp_pvgrub_manifest_freep) KpPvgrubManifest *m = NULL;
                        _cleanup_free_ char *mpath =
                                path_with(kp_boot_config_candidates[i].path, KP_PVGRUB_MANIFEST_SUFFIX);

                        if (!mpath)
                                return -ENOMEM;
                        r = read_manifest(s, mpath, error, &m, NULL, NULL);
                        if (r < 0)
                                return r;
                        if (!m)
                                continue;
                        if (ret_device && !(*ret_device = strdup(*n)))
                                return -ENOMEM;
                        if (ret_path)
                                *ret_path = TAKE_PTR(mpath);
                        *ret_manifest = TAKE_PTR(m);
                        return 0;
                }
        }
        return kp_error_set(error, -ENOENT,
                            "kunpack changed nothing in this guest (no %s beside a boot configuration)",
                            KP_PVGRUB_MANIFEST_SUFFIX);
}

int kp_pvgrub_revert(KpGuestSession *s, size_t guest, KpError *error, KpPvgrubReport *ret)
{
        _cleanup_(kp_pvgrub_manifest_freep) KpPvgrubManifest *m = NULL;
        _cleanup_free_ char *device = NULL, *mpath = NULL, *backup = NULL;
        KpPvgrubReport rep = {};
        bool restored = false, kept_config = false;
        size_t backup_size;
        int r;

        if (!kp_guest_session_writable(s))
                return kp_error_set(error, -EROFS, "revert needs a writable session");
        r = kp_pvgrub_find(s, guest, error, &device, &mpath, &m);
        if (r < 0)
                return r;
        r = kp_guest_mount_writable(s, guest, device, error);
        if (r < 0)
                return r;

        if (m->config) {
                char sha[KP_SHA256_HEX_SIZE], bsha[KP_SHA256_HEX_SIZE];
                KpError e = {};

                r = kp_guest_sha256(s, m->config, &e, sha);
                if (r < 0 && r != -ENOENT)
                        return kp_error_set(error, r, "%s", e.message);
                if (r >= 0 && streq(sha, m->config_sha256)) {
                        r = kp_guest_read_regular(s, m->backup, KP_BOOTCFG_MAX_SIZE, error, &backup,
                                                  &backup_size);
                        if (r < 0)
                                return r;
                        r = sha256_hex(backup, backup_size, bsha);
                        if (r < 0)
                                return r;
                        if (!streq(bsha, m->backup_sha256))
                                return kp_error_set(error, -EBADMSG,
                                                    "%s is not the original kunpack kept; nothing restored",
                                                    m->backup);
                        r = kp_guest_write_data(s, m->config, backup, backup_size, error);
                        if (r < 0)
                                return r;
                        restored = true;
                        rep.changed = true;
                } else
                        kept_config = true; /* the guest wrote its own configuration since */
        }
        for (size_t i = 0; i < m->n_files; i++) {
                char sha[KP_SHA256_HEX_SIZE];
                KpError e = {};

                if (kp_guest_sha256(s, m->files[i].path, &e, sha) < 0 || !streq(sha, m->files[i].sha256))
                        continue;
                r = kp_guest_remove(s, m->files[i].path, error);
                if (r < 0)
                        return r;
                rep.removed++;
                rep.changed = true;
        }
        if (m->backup) {
                r = kp_guest_remove(s, m->backup, error);
                if (r < 0)
                        return r;
        }
        r = kp_guest_remove(s, mpath, error);
        if (r < 0)
                return r;
        rep.changed = true;
        r = kp_guest_sync(s, error);
        if (r < 0)
                return r;

        rep.config_written = restored;
        (void) snprintf(rep.message, sizeof(rep.message), "%s: %s, %u decompressed kernel%s removed", device,
                        restored      ? "original configuration restored"
                        : kept_config ? "configuration left as the guest rewrote it"
                                      : "no configuration to restore",
                        rep.removed, rep.removed == 1 ? "" : "s");
        *ret = rep;
        return 0;
}
