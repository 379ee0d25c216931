/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * pvgrub mode in a guest (docs/pvgrub-mode.md): kunpack writes a
 * decompressed copy beside every kernel pvgrub cannot load, points the
 * guest's own boot configuration at it, and records what it changed in
 * the guest (manifest.h), so that the change can be checked, repeated
 * after the guest's update-grub, and undone from the disk alone.
 *
 * Everything runs in a writable guest session (guest/write.h) of a disk
 * no domain uses; the caller checks that (xl/inuse.h) before it opens
 * one. The order of writes keeps the guest bootable and the original
 * recoverable at every point a crash could stop it:
 *
 *   1. backup of the original configuration (its pristine bytes),
 *   2. kunpack's stale copies, which the configuration on the disk does
 *      not boot (their room counts for the new ones),
 *   3. the decompressed kernels, each written to a temporary name and
 *      renamed,
 *   4. the manifest, naming the configuration as it is about to be,
 *   5. the configuration, written to a temporary name and renamed.
 *
 * Nothing is written before everything is known to fit, and nothing is
 * downloaded before it is known to fit by the sizes the kernels' headers
 * claim: the guest filesystem's free space (and the host directory's, for
 * the downloads) is checked against those claims first, each kernel's
 * decompression is held to its claim, and the guest's free space is
 * checked again against the real sizes before the first write.
 *
 * Every file kunpack writes in the guest has the metadata (mode, owner,
 * group, extended attributes with the SELinux label) of the file it
 * replaces or stands for: the configuration keeps its own, the backup and
 * the manifest get the configuration's, a decompressed kernel its
 * source's. Revert renames the backup over the configuration, so the
 * original comes back with its bytes and its metadata.
 */

#include <stdbool.h>
#include <stdint.h>

#include "bootcfg/bootplan.h"
#include "guest/session.h"
#include "kernel/unpack.h"
#include "kunpack.h"
#include "pvgrub/manifest.h"

/*
 * Free space left on the guest's filesystem after kunpack's writes: the
 * new files' own metadata (a 66 MiB ELF on ext4 takes a few KiB of extent
 * blocks), the guest's next grubenv write, and a temporary file of the
 * configuration at its 1 MiB limit.
 */
#define KP_PVGRUB_SPACE_RESERVE (UINT64_C(4) * 1024 * 1024)

typedef struct KpPvgrubOptions {
        const char *tmp_dir;    /* host directory for downloads and decompression (unnamed files) */
        uint64_t tmp_min_free;  /* bytes left free on tmp_dir's filesystem (kunpack.conf cache_min_free) */
        KpUnpackParams unpack; /* limits for the decompression */
} KpPvgrubOptions;

typedef struct KpPvgrubReport {
        unsigned written;      /* decompressed kernels written */
        unsigned kept;         /* already there and right */
        unsigned removed;      /* kunpack's copies removed (stale, or by revert) */
        unsigned tokens;       /* kernel names rewritten in the configuration */
        unsigned leftovers;    /* temporary files of a writer killed earlier, removed */
        bool config_written;   /* the configuration was rewritten (or, by revert, restored) */
        bool changed;          /* anything at all was written to the guest */
        uint64_t bytes_needed; /* what the writes needed on the guest's filesystem */
        uint64_t bytes_free;   /* what it had */
        char message[512];     /* what was done, in a line */
} KpPvgrubReport;

/*
 * Brings the guest's configuration (plan's, with facts for every entry:
 * KpInspectOptions.selected_only false) to pvgrub mode. A second call with
 * nothing changed in the guest writes nothing. Errors leave the guest as
 * it was when nothing had been written yet (space, refused configuration,
 * a file at kunpack's name that kunpack did not write: -EEXIST), and
 * bootable as before otherwise.
 */
int kp_pvgrub_apply(KpGuestSession *s, size_t guest, const KpBootPlan *plan, const KpPvgrubOptions *options,
                    KpError *error, KpPvgrubReport *ret);

/*
 * Finds kunpack's manifest among the guest's filesystems (beside any of
 * kp_boot_config_candidates[]). -ENOENT when kunpack changed nothing. The
 * filesystem it is on is left mounted.
 */
int kp_pvgrub_find(KpGuestSession *s, size_t guest, KpError *error, char **ret_device, char **ret_path,
                   KpPvgrubManifest **ret_manifest);

/*
 * Undoes what the manifest records: the configuration gets its backup's
 * bytes back (when it is still as kunpack wrote it; a configuration the
 * guest rewrote since is the guest's and stays), kunpack's copies that are
 * still as kunpack wrote them are removed, then the backup and the
 * manifest. -ENOENT when there is nothing to undo.
 */
int kp_pvgrub_revert(KpGuestSession *s, size_t guest, KpError *error, KpPvgrubReport *ret);
