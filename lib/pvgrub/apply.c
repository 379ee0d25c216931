/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <sys/statvfs.h>
#include <string.h>
#include <unistd.h>

#include "guest/inspect.h"
#include "guest/write.h"
#include "kernel/bzimage.h"
#include "kernel/unaligned.h"
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
        bool adopt;              /* a file no manifest records is at target: kept only if it is this copy */
        uint64_t source_size;    /* the compressed kernel's, when write */
        uint64_t bound;          /* what its ELF may take, at most (claim_size()), when write */
        int fd;                  /* the ELF on the host, once fetched */
        uint64_t size;           /* its size, once fetched */
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

/*
 * Downloads job's source, checks it is still what the inspection hashed,
 * and decompresses it on the host, to at most job->bound bytes: a payload
 * that holds more than its header claims stops there.
 */
static int fetch(KpGuestSession *s, size_t guest, const char *device, Job *job, const KpPvgrubOptions *o,
                 KpError *error)
{
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        KpUnpackParams unpack = o->unpack;
        uint64_t limit = unpack.max_output ? MIN(unpack.max_output, KP_MAX_OUTPUT_DEFAULT) : KP_MAX_OUTPUT_DEFAULT;
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
        unpack.max_output = MIN(job->bound, limit);
        r = kp_unpack(in, out, &unpack, &e, &res);
        if (r == -EFBIG && job->bound < limit)
                return kp_error_set(error, -EFBIG,
                                    "%s decompresses to more than the %" PRIu64
                                    " bytes its header claims; nothing written",
                                    job->source, job->bound);
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

/*
 * One run of kp_pvgrub_apply(): what it read from the guest, what it
 * decided, and what it holds on the host until the writes are done. The
 * steps below fill it in the order pvgrub.h documents: read what is
 * there, decide what to write, fetch and decompress, check space, write.
 */
typedef struct Apply {
        KpGuestSession *s;
        size_t guest;
        const KpBootPlan *plan;
        const KpPvgrubOptions *o;
        const char *device;           /* the configuration's filesystem */
        const char *path;             /* the configuration */
        char *mpath;                  /* its manifest */
        char *bpath;                  /* its backup */

        KpPvgrubManifest *old;        /* the manifest found, or NULL */
        char *old_text;
        size_t old_size;
        char *config;                 /* the configuration's bytes as found */
        size_t config_size;
        char config_sha[KP_SHA256_HEX_SIZE];
        bool ours;                    /* the configuration is the one kunpack wrote */
        KpPvgrubRewrite rw;

        Job *jobs;                    /* the copies that should be there */
        size_t n_jobs;
        bool *stale;                  /* per old->files[]: a copy to remove first */
        bool *keep;                   /* per old->files[]: a stale copy the configuration still boots */
        size_t n_stale;
        KpPvgrubManifest *next;       /* the manifest as it is about to be */
        char *new_text;
        size_t new_size;
        bool write_config, write_manifest, remove_manifest, remove_old_backup;
        uint64_t freed;               /* bytes the stale copies give back first */
} Apply;

static void apply_done(Apply *a)
{
        kp_pvgrub_manifest_free(a->old);
        kp_pvgrub_manifest_free(a->next);
        kp_pvgrub_rewrite_done(&a->rw);
        jobs_free(a->jobs, a->n_jobs);
        free(a->stale);
        free(a->keep);
        free(a->config);
        free(a->old_text);
        free(a->new_text);
        free(a->mpath);
        free(a->bpath);
}

/*
 * Reads what is there, read-only: the manifest and the configuration, and
 * whether the configuration is the one kunpack wrote (then its backup must
 * be intact). 1 when there is nothing to do at all.
 */
static int read_current(Apply *a, KpError *error)
{
        int r;

        /* Read-only until something must be written: a run with nothing to do leaves the disk as it was. */
        r = kp_guest_mount_readonly(a->s, a->guest, a->device, error);
        if (r < 0)
                return r;
        r = read_manifest(a->s, a->mpath, error, &a->old, &a->old_text, &a->old_size);
        if (r < 0)
                return r;
        if (!a->old && !kp_pvgrub_needs_rewrite(a->plan))
                return 1;
        if (a->plan->kind != KP_BOOT_CONFIG_GRUB2 && a->plan->kind != KP_BOOT_CONFIG_GRUB_LEGACY)
                return kp_error_set(error, -EOPNOTSUPP, "a %s configuration is not pvgrub's to read",
                                    kp_boot_config_kind_to_string(a->plan->kind) ?: "?");
        r = kp_guest_read_regular(a->s, a->path, KP_BOOTCFG_MAX_SIZE, error, &a->config, &a->config_size);
        if (r < 0)
                return r;
        r = sha256_hex(a->config, a->config_size, a->config_sha);
        if (r < 0)
                return r;

        /* The configuration is the one kunpack wrote: its original is the backup, which must be intact. */
        a->ours = a->old && a->old->config && streq(a->old->config, a->path) &&
                  streq(a->old->config_sha256, a->config_sha);
        if (a->ours) {
                char sha[KP_SHA256_HEX_SIZE];
                KpError e = {};

                r = kp_guest_sha256(a->s, a->old->backup, &e, sha);
                if (r < 0 || !streq(sha, a->old->backup_sha256))
                        return kp_error_set(error, r < 0 ? r : -EBADMSG,
                                            "%s is not the original kunpack kept (%s); nothing written",
                                            a->old->backup, r < 0 ? e.message : "changed");
        }
        return 0;
}

/*
 * The copies that should be there: every conversion of this
 * configuration, or (ours) every copy its manifest names whose source is
 * still there.
 */
static int list_jobs(Apply *a, KpError *error)
{
        const KpPvgrubManifest *old = a->old;
        int r;

        a->jobs = calloc(MAX(a->rw.n_conversions, old ? old->n_files : 0) + 1, sizeof(Job));
        if (!a->jobs)
                return -ENOMEM;
        if (!a->ours) {
                for (size_t i = 0; i < a->rw.n_conversions; i++) {
                        Job *j = &a->jobs[a->n_jobs++];

                        *j = (Job) { .source = a->rw.conversions[i].source,
                                     .target = a->rw.conversions[i].target,
                                     .fd = -EBADF,
                                     .old = kp_pvgrub_manifest_find(old, a->rw.conversions[i].target) };
                        memcpy(j->source_sha256, a->rw.conversions[i].sha256, KP_SHA256_HEX_SIZE);
                }
                return 0;
        }
        for (size_t i = 0; i < old->n_files; i++) {
                Job *j = &a->jobs[a->n_jobs];
                KpError e = {};

                *j = (Job) { .source = old->files[i].source,
                             .target = old->files[i].path,
                             .fd = -EBADF,
                             .old = &old->files[i] };
                r = kp_guest_sha256(a->s, j->source, &e, j->source_sha256);
                if (r == -ENOENT)
                        continue; /* stale: find_stale() */
                if (r < 0)
                        return kp_error_set(error, r, "%s", e.message);
                a->n_jobs++;
        }
        return 0;
}

/*
 * Whether job's copy must be written: not when one kunpack wrote is there
 * with the recorded sha256, from the same source. A file at the name that
 * kunpack did not write is refused.
 */
static int decide_job(Apply *a, Job *j, KpError *error)
{
        KpError e = {};
        int t, r;

        t = kp_guest_regular_file(a->s, j->target, &e, NULL);
        if (t < 0)
                return kp_error_set(error, t, "%s", e.message);
        j->write = true;
        /*
         * A file no manifest records: a run that stopped between writing the
         * copy (step 3) and the manifest (step 4) leaves exactly that. It is
         * taken once fetched if it is byte for byte the copy this run
         * writes (adopt_or_refuse()), and refused otherwise.
         */
        if (t == 1 && !j->old) {
                j->adopt = true;
                return 0;
        }
        if (t == 1 && streq(j->old->source_sha256, j->source_sha256)) {
                char sha[KP_SHA256_HEX_SIZE];

                r = kp_guest_sha256(a->s, j->target, error, sha);
                if (r < 0)
                        return r;
                j->write = !streq(sha, j->old->sha256);
                if (!j->write)
                        memcpy(j->sha256, sha, KP_SHA256_HEX_SIZE);
        }
        return 0;
}

static int decide_jobs(Apply *a, KpError *error)
{
        int r;

        for (size_t i = 0; i < a->n_jobs; i++) {
                r = decide_job(a, &a->jobs[i], error);
                if (r < 0)
                        return r;
        }
        return 0;
}

/*
 * What the ELF of a kernel to convert may take, read through the appliance
 * before anything crosses into dom0: the size the payload's trailer claims
 * (the kernel build appends it after every payload pvgrub cannot load),
 * capped at the decompression limit. It is an upper bound only because
 * fetch() holds the payload to it: a payload that holds more stops at
 * that size and the run is refused, so an understated claim overruns
 * neither dom0 nor the guest. An overstated one makes only this guest's
 * run refuse, and only when the claim does not fit; the build writes the
 * exact size (docs/pvgrub-mode.md, "Free space").
 */
static int claim_size(Apply *a, Job *j, KpError *error)
{
        uint8_t head[KP_BZIMAGE_HEADER_READ], trailer[4];
        uint64_t limit = a->o->unpack.max_output ? MIN(a->o->unpack.max_output, KP_MAX_OUTPUT_DEFAULT)
                                                 : KP_MAX_OUTPUT_DEFAULT;
        KpBzImageHeader h;
        size_t got;
        KpError e = {};
        int r;

        r = kp_guest_regular_file(a->s, j->source, &e, &j->source_size);
        if (r == 0)
                r = -ENOENT;
        if (r >= 0)
                r = kp_guest_read_at(a->s, j->source, 0, sizeof(head), &e, head, &got);
        if (r >= 0)
                r = kp_bzimage_parse_header(head, got, j->source_size, &e, &h);
        if (r >= 0 && h.payload_length < sizeof(trailer))
                r = kp_error_set(&e, -EBADMSG, "a payload of %" PRIu64 " bytes has no size trailer",
                                 h.payload_length);
        if (r >= 0)
                r = kp_guest_read_at(a->s, j->source, h.payload_offset + h.payload_length - sizeof(trailer),
                                     sizeof(trailer), &e, trailer, &got);
        if (r >= 0 && got != sizeof(trailer))
                r = kp_error_set(&e, -EBADMSG, "the payload's size trailer is cut short");
        if (r < 0)
                return kp_error_set(error, r, "cannot read the decompressed size %s claims: %s; nothing written",
                                    j->source, e.message);
        j->bound = MIN((uint64_t) kp_le32(trailer), limit);
        return 0;
}

/*
 * kunpack's copies nothing asks for any more: removed, unless the guest's
 * configuration boots them, and only while they are still as kunpack
 * wrote them (one the guest replaced is the guest's file now). Their room
 * counts for the new copies: they go first.
 */
static int find_stale(Apply *a)
{
        const KpPvgrubManifest *old = a->old;

        a->stale = calloc(old ? old->n_files : 0, sizeof(bool));
        a->keep = calloc(old ? old->n_files : 0, sizeof(bool));
        if (old && old->n_files > 0 && (!a->stale || !a->keep))
                return -ENOMEM;
        for (size_t i = 0; old && i < old->n_files; i++) {
                const KpPvgrubFile *f = &old->files[i];
                char sha[KP_SHA256_HEX_SIZE];
                uint64_t size = 0;
                bool job = false;
                KpError e = {};

                for (size_t k = 0; k < a->n_jobs && !job; k++)
                        job = streq(a->jobs[k].target, f->path);
                if (job)
                        continue;
                if (plan_names(a->plan, f->path)) {
                        a->keep[i] = true;
                        continue;
                }
                if (kp_guest_regular_file(a->s, f->path, &e, &size) != 1 ||
                    kp_guest_sha256(a->s, f->path, &e, sha) < 0 || !streq(sha, f->sha256))
                        continue;
                a->stale[i] = true;
                a->n_stale++;
                a->freed += size;
        }
        return 0;
}

/*
 * The manifest as it is about to be: a record per job (with its ELF's
 * sha256, or zeros until it is fetched: a record's size does not depend on
 * it), then the stale copies the configuration still boots; and which of
 * configuration, backup and manifest are written or removed. Called again
 * once the jobs are fetched.
 */
static int decide_manifest(Apply *a)
{
        static const char unknown[KP_SHA256_HEX_SIZE] = "0000000000000000000000000000000000000000000000000000000000000000";
        const KpPvgrubManifest *old = a->old;
        KpPvgrubManifest *next;
        char new_sha[KP_SHA256_HEX_SIZE];
        int r;

        kp_pvgrub_manifest_free(a->next);
        a->new_text = mfree(a->new_text);
        next = a->next = calloc(1, sizeof(KpPvgrubManifest));
        if (!next)
                return -ENOMEM;
        for (size_t i = 0; i < a->n_jobs; i++) {
                const Job *j = &a->jobs[i];

                r = kp_pvgrub_manifest_add_file(next, j->target, j->write && j->fd < 0 ? unknown : j->sha256,
                                                j->source, j->source_sha256);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; old && i < old->n_files; i++) {
                const KpPvgrubFile *f = &old->files[i];

                if (!a->keep[i] || kp_pvgrub_manifest_find(next, f->path))
                        continue;
                r = kp_pvgrub_manifest_add_file(next, f->path, f->sha256, f->source, f->source_sha256);
                if (r < 0)
                        return r;
        }

        a->write_config = !a->ours && a->rw.n_tokens > 0;
        if (a->ours) {
                next->config = strdup(old->config);
                next->backup = strdup(old->backup);
                if (!next->config || !next->backup)
                        return -ENOMEM;
                memcpy(next->config_sha256, old->config_sha256, KP_SHA256_HEX_SIZE);
                memcpy(next->backup_sha256, old->backup_sha256, KP_SHA256_HEX_SIZE);
        } else if (a->write_config) {
                r = sha256_hex(a->rw.config, a->rw.config_size, new_sha);
                if (r < 0)
                        return r;
                next->config = strdup(a->path);
                next->backup = strdup(a->bpath);
                if (!next->config || !next->backup)
                        return -ENOMEM;
                memcpy(next->config_sha256, new_sha, KP_SHA256_HEX_SIZE);
                memcpy(next->backup_sha256, a->config_sha, KP_SHA256_HEX_SIZE);
        }
        a->remove_old_backup = !a->ours && !a->write_config && old && old->backup;
        a->remove_manifest = !next->config && next->n_files == 0;
        r = kp_pvgrub_manifest_format(next, &a->new_text, &a->new_size);
        if (r < 0)
                return r;
        a->write_manifest = !a->remove_manifest &&
                            (!a->old_text || a->old_size != a->new_size ||
                             memcmp(a->old_text, a->new_text, a->new_size) != 0);
        return 0;
}

/*
 * What the writes need on the guest's filesystem: every copy to write (its
 * ELF's size once fetched, its bound before), the backup and temporary
 * file of the configuration and the new configuration, and the manifest.
 */
static uint64_t guest_needs(const Apply *a)
{
        uint64_t needed = 0;

        for (size_t i = 0; i < a->n_jobs; i++)
                if (a->jobs[i].write)
                        needed += a->jobs[i].fd >= 0 ? a->jobs[i].size : a->jobs[i].bound;
        if (a->write_config)
                needed += 2 * a->config_size + a->rw.config_size;
        if (a->write_manifest)
                needed += a->new_size;
        return needed;
}

/*
 * The guest's filesystem must hold everything, with KP_PVGRUB_SPACE_RESERVE
 * to spare: -ENOSPC otherwise. how says by which figures (bounds or sizes).
 */
static int check_space(Apply *a, const char *how, KpError *error, KpPvgrubReport *rep)
{
        uint64_t free_bytes, needed = guest_needs(a);
        int r;

        r = kp_guest_free_bytes(a->s, "/", error, &free_bytes);
        if (r < 0)
                return r;
        rep->bytes_needed = needed;
        rep->bytes_free = free_bytes;
        if (needed > 0 && needed + KP_PVGRUB_SPACE_RESERVE > free_bytes + a->freed) {
                char more[96] = "";

                if (a->freed > 0)
                        (void) snprintf(more, sizeof(more),
                                        " (%" PRIu64 " more once kunpack's stale copies are gone)", a->freed);
                return kp_error_set(error, -ENOSPC,
                                    "%s on %s has %" PRIu64 " bytes free%s, kunpack needs %" PRIu64
                                    "%s (and keeps %" PRIu64 " free); nothing written",
                                    a->path, a->device, free_bytes, more, needed, how,
                                    (uint64_t) KP_PVGRUB_SPACE_RESERVE);
        }
        return 0;
}

/*
 * dom0's side, before anything is downloaded: the compressed kernels and
 * their ELFs (by their bounds) must fit in tmp_dir's filesystem above the
 * floor the cache keeps there too (kunpack.conf cache_min_free).
 */
static int check_dom0_space(Apply *a, KpError *error)
{
        struct statvfs sv;
        uint64_t needed = 0, avail;

        for (size_t i = 0; i < a->n_jobs; i++)
                if (a->jobs[i].write)
                        needed += a->jobs[i].source_size + a->jobs[i].bound;
        if (needed == 0)
                return 0;
        if (statvfs(a->o->tmp_dir, &sv) < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot ask for the free space of %s",
                                          a->o->tmp_dir);
        if (MUL_OVERFLOW((uint64_t) sv.f_bavail, (uint64_t) sv.f_frsize, &avail))
                avail = UINT64_MAX;
        if (needed + a->o->tmp_min_free > avail)
                return kp_error_set(error, -ENOSPC,
                                    "%s has %" PRIu64 " bytes free; the kernels to decompress need %" PRIu64
                                    " there (by the sizes their headers claim) and %" PRIu64
                                    " stay free (cache_min_free); nothing downloaded",
                                    a->o->tmp_dir, avail, needed, a->o->tmp_min_free);
        return 0;
}

/*
 * A file at a copy's name that no manifest records: kept (and recorded)
 * when it is exactly the copy just made, which only an interrupted run of
 * kunpack leaves there; a file of the guest's own is refused (-EEXIST),
 * nothing written.
 */
static int adopt_or_refuse(Apply *a, Job *j, KpError *error)
{
        char sha[KP_SHA256_HEX_SIZE];
        int r;

        r = kp_guest_sha256(a->s, j->target, error, sha);
        if (r < 0)
                return r;
        if (!streq(sha, j->sha256))
                return kp_error_set(error, -EEXIST, "%s exists and kunpack did not write it; nothing written",
                                    j->target);
        j->write = false;
        j->fd = safe_close(j->fd);
        return 0;
}

/* Downloads and decompresses every copy to write, each held to its bound. */
static int fetch_jobs(Apply *a, KpError *error)
{
        int r;

        for (size_t i = 0; i < a->n_jobs; i++) {
                if (!a->jobs[i].write)
                        continue;
                r = fetch(a->s, a->guest, a->device, &a->jobs[i], a->o, error);
                if (r >= 0 && a->jobs[i].adopt)
                        r = adopt_or_refuse(a, &a->jobs[i], error);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool needs_write(const Apply *a)
{
        if (a->write_config || a->write_manifest || a->remove_old_backup || (a->remove_manifest && a->old) ||
            a->n_stale > 0)
                return true;
        for (size_t i = 0; i < a->n_jobs; i++)
                if (a->jobs[i].write)
                        return true;
        return false;
}

/*
 * What an earlier run or revert killed between a write and its rename left
 * (".NAME.kunpack-tmp", guest/write.h) in the directories of paths, each
 * directory once: counted in *count.
 */
static int remove_leftovers(KpGuestSession *s, char *const *paths, KpError *error, unsigned *count)
{
        _cleanup_strv_free_ char **dirs = NULL;
        int r;

        for (size_t i = 0; paths && paths[i]; i++) {
                const char *slash = strrchr(paths[i], '/');
                char *dir;

                if (paths[i][0] != '/' || !slash)
                        continue;
                dir = slash == paths[i] ? strdup("/") : strndup(paths[i], (size_t) (slash - paths[i]));
                if (!dir)
                        return kp_error_set(error, -ENOMEM, "out of memory");
                if (strv_contains(dirs, dir)) {
                        free(dir);
                        continue;
                }
                if (strv_consume(&dirs, dir) < 0)
                        return kp_error_set(error, -ENOMEM, "out of memory");
        }
        for (size_t i = 0; dirs && dirs[i]; i++) {
                r = kp_guest_remove_leftovers(s, dirs[i], error);
                if (r == -ENOENT) {
                        kp_error_clear(error);
                        continue;
                }
                if (r < 0)
                        return r;
                *count += (unsigned) r;
        }
        return 0;
}

/* The writes, in the order pvgrub.h documents, then a sync of the guest's disks. */
static int write_changes(Apply *a, KpError *error, KpPvgrubReport *rep)
{
        const KpPvgrubManifest *old = a->old;
        int r;

        r = kp_guest_mount_writable(a->s, a->guest, a->device, error);
        if (r < 0)
                return r;

        /* 0. What a killed run left under a temporary name, where this one writes. */
        {
                _cleanup_strv_free_ char **paths = NULL;

                if (strv_extend(&paths, a->path) < 0)
                        return kp_error_set(error, -ENOMEM, "out of memory");
                for (size_t i = 0; i < a->n_jobs; i++)
                        if (strv_extend(&paths, a->jobs[i].target) < 0)
                                return kp_error_set(error, -ENOMEM, "out of memory");
                r = remove_leftovers(a->s, paths, error, &rep->leftovers);
                if (r < 0)
                        return r;
                if (rep->leftovers > 0)
                        rep->changed = true;
        }

        /* 1. The original, before anything points away from it, with its mode, owner and labels. */
        if (a->write_config) {
                r = kp_guest_write_data(a->s, a->bpath, a->config, a->config_size, a->path, error);
                if (r < 0)
                        return r;
                rep->changed = true;
        }
        /*
         * 2. Stale copies, which the configuration on the disk does not boot
         * (their records go with the manifest below).
         */
        for (size_t i = 0; old && i < old->n_files; i++) {
                if (!a->stale[i])
                        continue;
                r = kp_guest_remove(a->s, old->files[i].path, error);
                if (r < 0)
                        return r;
                rep->removed++;
                rep->changed = true;
        }
        /* 3. The kernels, each with its source's mode, owner and labels. */
        for (size_t i = 0; i < a->n_jobs; i++) {
                if (!a->jobs[i].write) {
                        rep->kept++;
                        continue;
                }
                r = kp_guest_write_fd(a->s, a->jobs[i].target, a->jobs[i].fd, a->jobs[i].source, error);
                if (r < 0)
                        return r;
                rep->written++;
                rep->changed = true;
        }
        /* 4. The manifest, naming the configuration as it is about to be (and as readable as it). */
        if (a->write_manifest) {
                r = kp_guest_write_data(a->s, a->mpath, a->new_text, a->new_size, a->path, error);
                if (r < 0)
                        return r;
                rep->changed = true;
        }
        /* 5. The configuration, keeping its own mode, owner and labels. */
        if (a->write_config) {
                r = kp_guest_write_data(a->s, a->path, a->rw.config, a->rw.config_size, NULL, error);
                if (r < 0)
                        return r;
                rep->config_written = true;
                rep->tokens = (unsigned) a->rw.n_tokens;
        }
        if (a->remove_old_backup) {
                r = kp_guest_remove(a->s, old->backup, error);
                if (r < 0)
                        return r;
                rep->changed = true;
        }
        if (a->remove_manifest && old) {
                r = kp_guest_remove(a->s, a->mpath, error);
                if (r < 0)
                        return r;
                rep->changed = true;
        }
        if (rep->changed) {
                r = kp_guest_sync(a->s, error);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void report_nothing(KpPvgrubReport *rep, const char *path)
{
        (void) snprintf(rep->message, sizeof(rep->message),
                        "every kernel of %s is one pvgrub loads as it is; nothing written", path ?: "the guest");
}

int kp_pvgrub_apply(KpGuestSession *s, size_t guest, const KpBootPlan *plan, const KpPvgrubOptions *o,
                    KpError *error, KpPvgrubReport *ret)
{
        _cleanup_(apply_done) Apply a = {
                .s = s,
                .guest = guest,
                .plan = plan,
                .o = o,
                .device = plan->config_device,
                .path = plan->config_path,
        };
        KpPvgrubReport rep = {};
        int r;

        if (!kp_guest_session_writable(s))
                return kp_error_set(error, -EROFS, "pvgrub mode needs a writable session");
        /* A guest whose kernels pvgrub loads as they are needs nothing, whatever its configuration is. */
        if ((!a.device || !a.path) && !kp_pvgrub_needs_rewrite(plan)) {
                report_nothing(&rep, a.path);
                *ret = rep;
                return 0;
        }
        if (!a.device || !a.path)
                return kp_error_set(error, -EOPNOTSUPP,
                                    "no boot configuration to point at a decompressed kernel (%s needs one)",
                                    plan->n_entries > 0 && plan->entries[0].kernel.path
                                            ? plan->entries[0].kernel.path
                                            : "?");

        a.mpath = path_with(a.path, KP_PVGRUB_MANIFEST_SUFFIX);
        a.bpath = path_with(a.path, KP_PVGRUB_BACKUP_SUFFIX);
        if (!a.mpath || !a.bpath)
                return -ENOMEM;

        /* Decide what to write. */
        r = read_current(&a, error);
        if (r < 0)
                return r;
        if (r > 0) {
                report_nothing(&rep, a.path);
                *ret = rep;
                return 0;
        }
        r = kp_pvgrub_rewrite(plan, a.config, a.config_size, error, &a.rw);
        if (r < 0)
                return r;
        r = list_jobs(&a, error);
        if (r >= 0)
                r = decide_jobs(&a, error);
        if (r >= 0)
                r = find_stale(&a);
        for (size_t i = 0; r >= 0 && i < a.n_jobs; i++)
                if (a.jobs[i].write)
                        r = claim_size(&a, &a.jobs[i], error);
        if (r >= 0)
                r = decide_manifest(&a);
        if (r < 0)
                return r;
        /* Check space, by the bounds, before anything crosses into dom0. */
        r = check_space(&a, " by the sizes the kernels' headers claim", error, &rep);
        if (r >= 0)
                r = check_dom0_space(&a, error);
        if (r < 0)
                return r;
        /* Fetch and decompress; then check again, by the sizes. */
        r = fetch_jobs(&a, error);
        if (r >= 0)
                r = decide_manifest(&a);
        if (r >= 0)
                r = check_space(&a, "", error, &rep);
        if (r < 0)
                return r;

        if (!needs_write(&a)) {
                (void) snprintf(rep.message, sizeof(rep.message),
                                "%s on %s: already in pvgrub mode (%u kernel%s), nothing written", a.path,
                                a.device, (unsigned) a.n_jobs, a.n_jobs == 1 ? "" : "s");
                rep.kept = (unsigned) a.n_jobs;
                *ret = rep;
                return 0;
        }
        /* Write, 1-5. */
        r = write_changes(&a, error, &rep);
        if (r < 0)
                return r;

        if (!rep.changed)
                (void) snprintf(rep.message, sizeof(rep.message),
                                "%s on %s: already in pvgrub mode (%u kernel%s), nothing written", a.path,
                                a.device, rep.kept, rep.kept == 1 ? "" : "s");
        else
                (void) snprintf(rep.message, sizeof(rep.message),
                                "%s on %s: %u kernel%s decompressed, %u kept, %u stale cop%s removed, %s%s",
                                a.path, a.device, rep.written, rep.written == 1 ? "" : "s", rep.kept,
                                rep.removed, rep.removed == 1 ? "y" : "ies",
                                rep.config_written ? "configuration rewritten (original kept)"
                                                   : "configuration unchanged",
                                rep.leftovers > 0 ? "; what an interrupted run left removed" : "");
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

        /* What a killed run or revert left under a temporary name, where kunpack wrote. */
        {
                _cleanup_strv_free_ char **paths = NULL;

                if (strv_extend(&paths, mpath) < 0 || (m->config && strv_extend(&paths, m->config) < 0))
                        return kp_error_set(error, -ENOMEM, "out of memory");
                for (size_t i = 0; i < m->n_files; i++)
                        if (strv_extend(&paths, m->files[i].path) < 0)
                                return kp_error_set(error, -ENOMEM, "out of memory");
                r = remove_leftovers(s, paths, error, &rep.leftovers);
                if (r < 0)
                        return r;
        }

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
                        /*
                         * The backup itself becomes the configuration: the original's
                         * bytes, and the mode, owner and labels apply gave it from the
                         * original, in one rename.
                         */
                        r = kp_guest_replace(s, m->backup, m->config, error);
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
        (void) snprintf(rep.message, sizeof(rep.message), "%s: %s, %u decompressed kernel%s removed%s", device,
                        restored      ? "original configuration restored"
                        : kept_config ? "configuration left as the guest rewrote it"
                                      : "no configuration to restore",
                        rep.removed, rep.removed == 1 ? "" : "s",
                        rep.leftovers > 0 ? ", and what an interrupted run left" : "");
        *ret = rep;
        return 0;
}
