/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Storing into the kernel cache (cache.h): kunpack-scan's side. A kernel
 * is decompressed on its way in, so this file, unlike cache.c, uses the
 * kernel layer's decompressors; kunpack-boot's hot path only serves
 * entries and never links it.
 */
#include <stdio.h>
#include <string.h>

#include "store/cache-internal.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/json.h"
#include "util/time-util.h"

/* ---- metadata ---------------------------------------------------------- */

static int meta_to_json(const KpCacheKernel *m, char **ret_text, size_t *ret_size)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        int r;

        r = kp_json_gen_new(true, &g);
        if (r < 0)
                return r;
        yajl_gen_map_open(g);
        kp_json_kv_string(g, "key", m->key);
        kp_json_kv_string(g, "format", kp_format_to_string(m->format));
        kp_json_kv_uint(g, "compressed_size", m->compressed_size);
        kp_json_kv_uint(g, "output_size", m->output_size);
        kp_json_kv_string(g, "output_sha256", m->output_sha256);
        kp_json_kv_uint(g, "first_seen_usec", m->first_seen_usec);
        kp_json_key(g, "elf");
        yajl_gen_map_open(g);
        kp_json_kv_uint(g, "class", m->elf.elf_class);
        kp_json_kv_uint(g, "machine", m->elf.machine);
        kp_json_kv_uint(g, "entry", m->elf.entry);
        kp_json_kv_bool(g, "xen_guest_section", m->elf.xen_guest_section);
        kp_json_key(g, "xen_notes");
        yajl_gen_array_open(g);
        for (size_t i = 0; i < m->elf.n_xen_notes && i < KP_XEN_NOTES_MAX; i++) {
                yajl_gen_map_open(g);
                kp_json_kv_uint(g, "type", m->elf.xen_notes[i].type);
                kp_json_kv_string(g, "name", m->elf.xen_notes[i].name);
                kp_json_kv_string(g, "value", m->elf.xen_notes[i].value);
                yajl_gen_map_close(g);
        }
        yajl_gen_array_close(g);
        yajl_gen_map_close(g);
        yajl_gen_map_close(g);
        return kp_json_gen_finish(g, ret_text, ret_size);
}

/* ---- storing ------------------------------------------------------------ */

/* Nothing new below the floor: said with the figures, before anything is written. */
static int floor_refusal(KpCache *c, const char *what, const char *key, KpError *error)
{
        uint64_t room = 0;

        (void) kp_cache_room(c, NULL, &room);
        return kp_error_set(error, -ENOSPC,
                            "cache: %s %s not stored: the cache's filesystem has %" PRIu64
                            " bytes above cache_min_free (%" PRIu64 " bytes), not enough for it",
                            what, key, room, c->min_free);
}

/* Checks that in_fd holds exactly the file whose sha256 is key, and rewinds it. */
static int check_input(int in_fd, const char *key, uint64_t max, const char *what, KpError *error,
                       uint64_t *ret_size)
{
        char hex[KP_SHA256_HEX_SIZE];
        int r;

        r = kp_sha256_fd(in_fd, max, hex, ret_size);
        if (r == -EFBIG)
                return kp_error_set(error, r, "%s is larger than the limit of %" PRIu64 " bytes", what, max);
        if (r < 0)
                return kp_error_set_errno(error, r, "cannot read the %s", what);
        if (!streq(hex, key))
                return kp_error_set(error, -EBADMSG,
                                    "the %s changed after its checksum was taken (expected sha256 %s, read %s)",
                                    what, key, hex);
        if (lseek(in_fd, 0, SEEK_SET) < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot rewind the %s", what);
        return 0;
}

int kp_cache_store_kernel(KpCache *c, const char *key, int in_fd, const KpUnpackParams *options, KpError *error,
                          int *ret_fd, KpCacheKernel *ret_meta)
{
        _cleanup_(kp_atomic_file_discard) KpAtomicFile elf = KP_ATOMIC_FILE_INIT;
        _cleanup_free_ char *json = NULL, *meta_path = NULL;
        KpUnpackParams opts = options ? *options : (KpUnpackParams){};
        KpUnpackInfo result;
        KpCacheKernel meta = {};
        char name[KP_SHA256_HEX_SIZE + 8];
        size_t json_size;
        uint64_t in_size, room, limit;
        bool by_room;
        int r;

        r = kp_cache_check_key(key, error);
        if (r < 0)
                return r;
        r = check_input(in_fd, key, opts.max_input ? opts.max_input : KP_MAX_INPUT_DEFAULT, "guest's kernel", error,
                        &in_size);
        if (r < 0)
                return r;

        /* The ELF's size is known once it is decompressed: it may take what is left above the floor. */
        r = kp_cache_room(c, error, &room);
        if (r < 0)
                return r;
        room = room > KP_CACHE_STORE_OVERHEAD ? room - KP_CACHE_STORE_OVERHEAD : 0;
        limit = opts.max_output ? MIN(opts.max_output, KP_MAX_OUTPUT_DEFAULT) : KP_MAX_OUTPUT_DEFAULT;
        if (room == 0)
                return floor_refusal(c, "kernel", key, error);
        by_room = room < limit;
        if (by_room)
                opts.max_output = room;

        (void) snprintf(name, sizeof(name), "%s.elf", key);
        r = kp_atomic_file_openat(c->kernels_fd, name, 0600, error, &elf);
        if (r < 0)
                return kp_error_prefix(error, r, "cache");

        opts.want_output_sha256 = true;
        r = kp_unpack(in_fd, elf.fd, &opts, error, &result);
        if (r == -EFBIG && by_room)
                return kp_error_set(error, -ENOSPC,
                                    "cache: kernel %s decompresses to more than the %" PRIu64
                                    " bytes its filesystem has above cache_min_free (%" PRIu64
                                    " bytes): not stored",
                                    key, room, c->min_free);
        if (r < 0)
                return r;

        memcpy(meta.key, key, KP_SHA256_HEX_SIZE);
        meta.format = result.format;
        meta.compressed_size = in_size;
        meta.output_size = result.output_size;
        kp_sha256_to_hex(result.output_sha256, meta.output_sha256);
        meta.first_seen_usec = kp_now_usec(CLOCK_REALTIME);
        meta.elf = result.elf;

        /* Metadata first: an ELF is only ever visible with its description. */
        r = meta_to_json(&meta, &json, &json_size);
        if (r < 0)
                return kp_error_set(error, r, "cannot describe cache entry %s", key);
        if (asprintf(&meta_path, "%s/kernels/%s.json", c->path, key) < 0)
                return kp_error_set(error, -ENOMEM, "out of memory");
        r = kp_write_file_atomic(meta_path, json, json_size, 0600, error);
        if (r < 0)
                return kp_error_prefix(error, r, "cache");

        r = kp_cache_seal(elf.fd);
        if (r < 0)
                return kp_error_set_errno(error, r, "cache: cannot set the times of %s", name);
        r = kp_atomic_file_commit(&elf, false, error);
        if (r < 0 && r != -EEXIST)
                return kp_error_prefix(error, r, "cache");
        /* -EEXIST: another process stored the same kernel first; serve theirs. */
        kp_error_clear(error);
        return kp_cache_open_kernel(c, key, error, ret_fd, ret_meta);
}


int kp_cache_store_initrd(KpCache *c, const char *key, int in_fd, uint64_t max_size, KpError *error, int *ret_fd)
{
        _cleanup_(kp_atomic_file_discard) KpAtomicFile f = KP_ATOMIC_FILE_INIT;
        uint64_t size, room;
        int r;

        r = kp_cache_check_key(key, error);
        if (r < 0)
                return r;
        r = check_input(in_fd, key, max_size, "guest's initrd", error, &size);
        if (r < 0)
                return r;
        r = kp_cache_room(c, error, &room);
        if (r < 0)
                return r;
        if (size + KP_CACHE_STORE_OVERHEAD > room)
                return floor_refusal(c, "initrd", key, error);
        r = kp_atomic_file_openat(c->initrds_fd, key, 0600, error, &f);
        if (r < 0)
                return kp_error_prefix(error, r, "cache");
        r = kp_copy_fd(in_fd, f.fd, max_size, NULL);
        if (r < 0)
                return kp_error_set_errno(error, r, "cache: cannot store initrd %s", key);
        r = kp_cache_seal(f.fd);
        if (r < 0)
                return kp_error_set_errno(error, r, "cache: cannot set the times of initrd %s", key);
        r = kp_atomic_file_commit(&f, false, error);
        if (r < 0 && r != -EEXIST)
                return kp_error_prefix(error, r, "cache");
        kp_error_clear(error);
        return kp_cache_open_initrd(c, key, size, error, ret_fd);
}
