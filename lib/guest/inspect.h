/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What a guest would boot, found the way pvgrub and pygrub find it, inside
 * the libguestfs appliance:
 *
 *  1. Filesystems are taken in a fixed order: disks in the guest's order
 *     (hd0 first), on each disk the whole-disk filesystem and then the
 *     partitions by number (MBR logical partitions after the primary ones,
 *     as Linux numbers them), then logical volumes. A btrfs filesystem is
 *     read through its default subvolume, as a plain mount (and SUSE's
 *     GRUB) sees it; named subvolumes are not searched. This is pygrub's
 *     order on the first disk (it looks at no other).
 *  2. On each, the configuration paths of kp_boot_config_candidates[] are tried
 *     in pygrub's order; the first filesystem holding one wins, and that
 *     file is the configuration. With none anywhere, the first filesystem
 *     holding a /boot/vmlinuz-* (or /vmlinuz-*) gives the fallback plan.
 *     The configuration is parsed in a child process under limits of
 *     memory and CPU (bootcfg/parse-isolated.h), never in this one.
 *  3. Each entry's root (search --fs-uuid, --label, --file, (hd0,msdos1))
 *     is resolved among the guest's own filesystems; a spec that matches
 *     none falls back to the configuration's filesystem with a warning.
 *  4. For every distinct kernel and initrd: size, sha256 and (kernels) the
 *     payload format from the header alone, all computed in the appliance;
 *     nothing is downloaded.
 *
 * The resulting plan has passed kp_boot_plan_validate().
 */

#include "bootcfg/bootplan.h"
#include "guest/diskspec.h"
#include "guest/session.h"

/* An initrd bigger than libxenguest's own ramdisk ceiling (XC_DOM_DECOMPRESS_MAX, 1 GiB) cannot boot. */
#define KP_GUEST_MAX_INITRD (UINT64_C(1024) * 1024 * 1024)

/* Names in one directory listed for the parsers: /boot and loader/entries hold tens; this is 100 times that. */
#define KP_GUEST_MAX_DIR_ENTRIES 4096

typedef struct KpInspectOptions {
        KpGuestOptions guest;      /* deadline, appliance vCPUs, progress (used by kp_guest_inspect()) */
        const char *entry;         /* --entry: index, title, id or menu path; NULL: what the config selects */
        /*
         * Facts (size, sha256, format) for the selected entry's files only:
         * what kunpack-boot needs, and the cheapest. Otherwise every entry's
         * files get them, as kunpackctl inspect shows.
         */
        bool selected_only;
        /*
         * Passed to the parsers (kp_boot_config_parse_isolated()): KP_BOOTCFG_IGNORE_NEXT_ENTRY
         * when the caller knows grub-reboot's one-shot entry was used up.
         */
        KpBootParseFlags parse_flags;
} KpInspectOptions;

/*
 * Inspects one guest of a session (launching it if needed) and returns its
 * boot plan. Failures carry one line in error: no filesystem at all, no
 * configuration and no kernel, a configuration refused by the parsers or by
 * kp_boot_plan_validate(), or a selected entry whose kernel or initrd is
 * missing, refused, or not a kernel (-EMEDIUMTYPE).
 */
int kp_guest_session_inspect(KpGuestSession *s, size_t guest, const KpInspectOptions *options, KpError *error,
                             KpBootPlan **ret_plan);

/*
 * The whole flow for one guest in one appliance launch. With ret_session,
 * the session stays up for follow-up downloads (its guest index is 0);
 * without, it is shut down before returning.
 */
int kp_guest_inspect(const KpDiskSpec *disks, size_t n_disks, const KpInspectOptions *options, KpError *error,
                     KpGuestSession **ret_session, KpBootPlan **ret_plan);

/*
 * Copies one file of a guest to fd on the host, for the cache: device and
 * path are a KpFileInfo's (device the filesystem as plans name it, relative
 * to the guest: "/dev/sda1" is the first partition of the guest's first
 * disk in any session, batched or not; path as the plan names it). The path is resolved inside the guest under the
 * same rules as during inspection, and a file bigger than max_size is
 * refused (-EFBIG) before a byte moves. libguestfs writes through
 * "/dev/fd/N", i.e. it reopens fd: for a regular file that starts at
 * offset 0 and truncates it; a pipe works too. For a regular file the
 * size written is checked against the size announced (-EIO if the guest
 * file changed on the way). Nothing here hashes: the caller compares the
 * sha256 of what it stored with KpFileInfo.sha256.
 */
int kp_guest_session_download(KpGuestSession *s, size_t guest, const char *device, const char *path, int fd,
                              uint64_t max_size, KpError *error, uint64_t *ret_size);
