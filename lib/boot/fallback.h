/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The answer that boots a guest exactly as it booted before kunpack:
 * pvgrub2 as the kernel, no ramdisk, and libxl's own --args. pvgrub then
 * reads the guest's boot configuration itself. kunpack-boot gives it
 * whenever it cannot give a better one and on_failure = "pvgrub" (the
 * default), so that nothing kunpack does leaves a guest unbootable that
 * would have booted without it.
 *
 * It must be given when everything else failed, a full /var included:
 * libxl's directory is on /var, pvgrub_path usually on /usr, so the image
 * is copied there, and a copy needs room. A link needs none, so kunpack
 * keeps a copy of the image in the cache directory ("staged": the cache is
 * meant to share libxl's filesystem, docs/boot-path.md) and links that
 * where it cannot link the image itself:
 *
 *   CACHE/pvgrub/<dev>-<ino>-<size>-<mtime>   pvgrub_path's bytes, named by
 *                                              its identity, sealed (cache.h)
 *
 * A new pvgrub image (a package upgrade) has another identity, so a stale
 * copy is never linked; staging the new one removes the old.
 */

#include "boot/answer.h"

/* pvgrub2 images are about 2 MiB; anything far bigger is not one. */
#define KP_FALLBACK_MAX_SIZE (64 * 1024 * 1024)

/* The staged copies' directory, under the cache directory. */
#define KP_FALLBACK_STAGE_SUBDIR "pvgrub"

typedef enum KpFallbackPublished {
        KP_FALLBACK_LINKED,        /* pvgrub_path itself is linked into the output directory */
        KP_FALLBACK_LINKED_STAGED, /* the staged copy is */
        KP_FALLBACK_COPIED,        /* neither could be linked: a copy was made */
} KpFallbackPublished;

/*
 * Publishes pvgrub_path into dir (a link; else a link of the staged copy
 * under stage_dir, the cache directory, if there is a valid one; else a
 * copy, as libxl unlinks it) and fills ret. Refuses a pvgrub_path that is
 * not an absolute path to a regular file. stage_dir may be NULL. How it
 * was published goes to ret_published, if given.
 */
int kp_boot_fallback_answer(const char *pvgrub_path, const char *stage_dir, const KpOutputDir *dir,
                            const char *extra_args, KpError *error, KpAnswer *ret,
                            KpFallbackPublished *ret_published);

/*
 * Makes sure stage_dir (the cache directory, which must exist and be
 * root's) holds a staged copy of pvgrub_path as it is now, and removes
 * copies of earlier images. 0 when one was there already, 1 when it was
 * made.
 */
int kp_boot_fallback_stage(const char *pvgrub_path, const char *stage_dir, KpError *error);
