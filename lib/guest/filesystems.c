/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "guest/guest-internal.h"
#include "util/error.h"
#include "util/grow.h"
#include "util/strv.h"

/*
 * Filesystems found in the appliance, without libguestfs's OS inspection:
 * a guest whose root is not recognised as an OS, or whose /boot is a
 * partition of its own, is found all the same, as pvgrub and pygrub find
 * it, by looking at every filesystem.
 */

/* Notes kept about filesystems that were skipped; more are counted, not kept. */
#define KP_GUEST_MAX_SCAN_NOTES 64

/* blkid types that hold no files we could read. */
static bool vfs_type_is_skipped(const char *type)
{
        static const char *const skipped[] = {
                "swap", "unknown", "crypto_LUKS", "LVM2_member", "linux_raid_member", "zfs_member",
                "BitLocker", "ntfs",
        };

        for (size_t i = 0; i < ELEMENTSOF(skipped); i++)
                if (streq(type, skipped[i]))
                        return true;
        return false;
}

/* A note about a device of guest (SIZE_MAX: of no guest we could tell), for "nothing bootable" messages. */
static void scan_note(KpGuestSession *s, size_t guest, const char *format, ...) _printf_(3, 4);
static void scan_note(KpGuestSession *s, size_t guest, const char *format, ...)
{
        KpGuestNote *notes;
        char *text = NULL;
        va_list ap;

        if (s->n_notes >= KP_GUEST_MAX_SCAN_NOTES)
                return;
        va_start(ap, format);
        if (vasprintf(&text, format, ap) < 0)
                text = NULL;
        va_end(ap);
        if (!text)
                return;
        notes = kp_grow(s->notes, s->n_notes, sizeof(KpGuestNote));
        if (!notes) {
                free(text);
                return;
        }
        s->notes = notes;
        s->notes[s->n_notes++] = (KpGuestNote) { .guest = guest, .text = text };
}

/* Which guest and disk an appliance device ("/dev/sdb") is; -ENOENT if none of ours. */
static int device_to_disk(KpGuestSession *s, const char *device, size_t *ret_guest, size_t *ret_disk)
{
        for (size_t d = 0; s->devices && s->devices[d]; d++) {
                if (!streq(s->devices[d], device))
                        continue;
                for (size_t gi = 0; gi < s->n_guests; gi++)
                        if (d >= s->guests[gi].first_disk && d < s->guests[gi].first_disk + s->guests[gi].n_disks) {
                                *ret_guest = gi;
                                *ret_disk = d - s->guests[gi].first_disk;
                                return 0;
                        }
        }
        return -ENOENT;
}

/*
 * A whole disk or one of its partitions: guest, disk and partition number
 * (0 for a whole disk). The appliance names partitions after their disk
 * ("/dev/sdb2", "/dev/sdaa1"), so the name says it without asking.
 */
static int locate_block_device(KpGuestSession *s, const char *name, size_t *ret_guest, size_t *ret_disk,
                               unsigned *ret_partition)
{
        _cleanup_free_ char *parent = NULL;
        size_t len = strlen(name), digits = 0;
        unsigned long partnum;
        int r;

        if (device_to_disk(s, name, ret_guest, ret_disk) >= 0) {
                *ret_partition = 0;
                return 0;
        }

        while (digits < len && name[len - digits - 1] >= '0' && name[len - digits - 1] <= '9')
                digits++;
        if (digits == 0 || digits > 3)
                return -ENODEV;
        parent = strndup(name, len - digits);
        if (!parent)
                return -ENOMEM;
        r = device_to_disk(s, parent, ret_guest, ret_disk);
        if (r < 0)
                return r;
        partnum = strtoul(name + len - digits, NULL, 10);
        if (partnum == 0)
                return -ENODEV;
        *ret_partition = (unsigned) partnum;
        return 0;
}

/*
 * vgpvuuids() gives LVM's dashed form ("z85dWf-FYB2-..."), pvs_full() the
 * 32 characters alone and without a NUL.
 */
static bool lvm_uuid_equal(const char *dashed, const char bare[32])
{
        size_t k = 0;

        for (const char *p = dashed; *p; p++) {
                if (*p == '-')
                        continue;
                if (k >= 32 || *p != bare[k])
                        return false;
                k++;
        }
        return k == 32;
}

typedef struct VgPlace {
        char *name;
        int error;              /* 0, or why the VG is not used */
        size_t guest;
        size_t disk;            /* the lowest disk holding one of its PVs */
} VgPlace;

/*
 * Where each volume group lives. A VG whose physical volumes sit on the
 * disks of two guests of the same session is refused: one guest could
 * otherwise plant a VG (same name, same PV UUIDs) that LVM assembles with
 * another guest's disk, and that guest would boot a kernel of the first.
 */
static int locate_vgs(KpGuestSession *s, VgPlace **ret, size_t *ret_n)
{
        _cleanup_strv_free_ char **vgs = NULL;
        struct guestfs_lvm_pv_list *pvs = NULL;
        VgPlace *places = NULL;
        size_t n = 0;

        vgs = sym_guestfs_vgs(s->g);
        if (!vgs)
                return -EIO;
        pvs = sym_guestfs_pvs_full(s->g);
        if (!pvs)
                return -EIO;

        places = calloc(strv_length(vgs) + 1, sizeof(VgPlace));
        if (!places) {
                sym_guestfs_free_lvm_pv_list(pvs);
                return -ENOMEM;
        }

        STRV_FOREACH(vg, vgs) {
                _cleanup_strv_free_ char **uuids = sym_guestfs_vgpvuuids(s->g, *vg);
                VgPlace *p = &places[n++];
                bool found = false;

                p->name = strdup(*vg);
                if (!uuids) {
                        p->error = -EIO;
                        continue;
                }
                STRV_FOREACH(u, uuids)
                        for (uint32_t k = 0; k < pvs->len; k++) {
                                const struct guestfs_lvm_pv *pv = &pvs->val[k];
                                size_t gi, disk;
                                unsigned partition;

                                if (!lvm_uuid_equal(*u, pv->pv_uuid))
                                        continue;
                                if (locate_block_device(s, pv->pv_name, &gi, &disk, &partition) < 0) {
                                        p->error = -ENODEV;
                                        continue;
                                }
                                if (!found) {
                                        p->guest = gi;
                                        p->disk = disk;
                                        found = true;
                                } else if (gi != p->guest)
                                        p->error = -EXDEV;
                                else
                                        p->disk = MIN(p->disk, disk);
                        }
                if (!found && p->error == 0)
                        p->error = -ENODEV;
        }

        sym_guestfs_free_lvm_pv_list(pvs);
        *ret = places;
        *ret_n = n;
        return 0;
}

static void vg_places_free(VgPlace *places, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(places[i].name);
        free(places);
}

static int compare_fs(const void *a, const void *b)
{
        const KpGuestFs *x = a, *y = b;

        if (x->guest != y->guest)
                return x->guest < y->guest ? -1 : 1;
        /* Disks and their partitions first, then logical volumes (they sit inside a partition). */
        if (x->lvm != y->lvm)
                return x->lvm ? 1 : -1;
        if (x->disk != y->disk)
                return x->disk < y->disk ? -1 : 1;
        if (x->partition != y->partition)
                return x->partition < y->partition ? -1 : 1;
        return strcmp(x->mountable, y->mountable);
}

/* TYPE, UUID and LABEL of a device from blkid's low-level probe; -ENOENT when it recognises nothing. */
static int probe(KpGuestSession *s, const char *device, char **ret_type, char **ret_uuid, char **ret_label)
{
        _cleanup_strv_free_ char **kv = NULL;
        _cleanup_free_ char *type = NULL, *uuid = NULL, *label = NULL;

        /* blkid exits non-zero for a device without any signature: that is "nothing here". */
        kv = sym_guestfs_blkid(s->g, device);
        if (!kv) {
                int r = kp_guest_check_cancelled(s, NULL);
                return r < 0 ? r : -ENOENT;
        }

        for (char **p = kv; p[0] && p[1]; p += 2) {
                char **dst = streq(p[0], "TYPE") ? &type : streq(p[0], "UUID") ? &uuid :
                             streq(p[0], "LABEL") ? &label : NULL;

                /* A partition table inside a partition: an MBR extended partition's container. */
                if (streq(p[0], "PTTYPE") && !type)
                        return -ENOTBLK;
                if (!dst)
                        continue;
                free(*dst);
                *dst = strdup(p[1]);
                if (!*dst)
                        return -ENOMEM;
        }
        if (!type)
                return -ENOENT;
        if (!uuid && !(uuid = strdup("")))
                return -ENOMEM;
        if (!label && !(label = strdup("")))
                return -ENOMEM;

        *ret_type = TAKE_PTR(type);
        *ret_uuid = TAKE_PTR(uuid);
        *ret_label = TAKE_PTR(label);
        return 0;
}

/* "/dev/sd" + the letters Linux gives disk index (a..z, aa..az, ...) + the partition number. */
static char *guest_relative_name(size_t disk, unsigned partition)
{
        char letters[8];
        size_t n = 0;
        char *name;

        for (size_t d = disk + 1; d > 0 && n < sizeof(letters); d = (d - 1) / 26)
                letters[n++] = (char) ('a' + (d - 1) % 26);
        /* Most significant letter first. */
        for (size_t i = 0; i < n / 2; i++) {
                char c = letters[i];
                letters[i] = letters[n - 1 - i];
                letters[n - 1 - i] = c;
        }
        if (partition > 0)
                return asprintf(&name, "/dev/sd%.*s%u", (int) n, letters, partition) < 0 ? NULL : name;
        return asprintf(&name, "/dev/sd%.*s", (int) n, letters) < 0 ? NULL : name;
}

/* Probes device and, if it holds a filesystem we can read, adds it. Returns 1 for an LVM PV. */
static int add_fs(KpGuestSession *s, const char *device, bool lvm, size_t guest, size_t disk, unsigned partition)
{
        _cleanup_free_ char *type = NULL, *uuid = NULL, *label = NULL;
        KpGuestFs fs = {}, *list;
        int r;

        r = probe(s, device, &type, &uuid, &label);
        if (r == -ENOTBLK)
                return 0;
        if (r < 0 && r != -ENOENT)
                return r;
        if (r >= 0 && streq(type, "LVM2_member"))
                return 1;
        if (r == -ENOENT || vfs_type_is_skipped(type)) {
                _cleanup_free_ char *name = NULL;

                if (r >= 0 && streq(type, "swap"))
                        return 0;
                name = lvm ? strdup(device) : guest_relative_name(disk, partition);
                scan_note(s, guest, "%s: %s%s", name ? name : device, r == -ENOENT ? "no filesystem recognised" : type,
                          r == -ENOENT ? "" : ", not readable");
                return 0;
        }

        fs = (KpGuestFs) {
                .mountable = strdup(device),
                .name = lvm ? strdup(device) : guest_relative_name(disk, partition),
                .vfs_type = TAKE_PTR(type),
                .uuid = TAKE_PTR(uuid),
                .label = TAKE_PTR(label),
                .have_ids = true,
                .guest = guest,
                .disk = disk,
                .partition = partition,
                .lvm = lvm,
        };
        list = fs.mountable && fs.name ? kp_grow(s->filesystems, s->n_filesystems, sizeof(KpGuestFs))
                                       : NULL;
        if (!list) {
                free(fs.mountable);
                free(fs.name);
                free(fs.vfs_type);
                free(fs.uuid);
                free(fs.label);
                return -ENOMEM;
        }
        s->filesystems = list;
        s->filesystems[s->n_filesystems++] = fs;
        return 0;
}

static int scan_logical_volumes(KpGuestSession *s)
{
        _cleanup_strv_free_ char **lvs = NULL;
        VgPlace *vgs = NULL;
        size_t n_vgs = 0;
        int r;

        /*
         * The appliance activates volume groups as udev reports their PVs
         * while it boots, asynchronously: with many disks a VG may not be
         * active yet, and an inactive VG's LVs are not listed. Rescan and
         * activate everything, synchronously, first.
         */
        if (sym_guestfs_lvm_scan(s->g, 1) < 0)
                return -EIO;

        lvs = sym_guestfs_lvs(s->g);
        if (!lvs)
                return -EIO;
        if (!lvs[0])
                return 0;
        r = locate_vgs(s, &vgs, &n_vgs);
        if (r < 0)
                return r;

        STRV_FOREACH(lv, lvs) {
                /* "/dev/VG/LV" */
                const char *vg = startswith_lit(*lv, "/dev/") ? *lv + STRLEN("/dev/") : NULL;
                const char *slash = vg ? strchr(vg, '/') : NULL;
                VgPlace *place = NULL;

                for (size_t i = 0; slash && i < n_vgs; i++)
                        if (strlen(vgs[i].name) == (size_t) (slash - vg) &&
                            strncmp(vgs[i].name, vg, (size_t) (slash - vg)) == 0)
                                place = &vgs[i];
                if (!place || place->error != 0) {
                        scan_note(s, SIZE_MAX, "%s: %s", *lv,
                                  !place ? "volume group not listed by LVM"
                                  : place->error == -EXDEV ? "volume group spans the disks of several guests, ignored"
                                  : place->error == -EIO ? "LVM did not name the volume group's physical volumes"
                                  : "none of the volume group's physical volumes is on a disk of ours");
                        continue;
                }
                r = add_fs(s, *lv, true, place->guest, place->disk, 0);
                if (r < 0)
                        break;
        }
        vg_places_free(vgs, n_vgs);
        return r < 0 ? r : 0;
}

int kp_guest_scan_filesystems(KpGuestSession *s, KpError *error)
{
        _cleanup_strv_free_ char **parts = NULL;
        bool have_pv = false;
        int r;

        if (s->scanned)
                return 0;
        if (!s->launched)
                return kp_error_set(error, -EINVAL, "the appliance is not launched");
        r = kp_guest_check_cancelled(s, error);
        if (r < 0)
                return r;

        kp_guest_progress(s, KP_GUEST_STAGE_SCAN, 0);

        /*
         * Not guestfs_list_filesystems(): it asks the appliance several
         * questions per device and always runs LVM. Here one blkid per
         * whole disk without partitions and per partition gives type, UUID
         * and label together, and LVM is asked only when a physical volume
         * was seen (the appliance activates volume groups as it boots).
         */
        parts = sym_guestfs_list_partitions(s->g);
        if (!parts)
                return kp_guest_error(s, error, "could not list the guests' partitions");

        for (size_t d = 0; s->devices[d]; d++) {
                size_t guest, disk, n = strlen(s->devices[d]);
                bool partitioned = false;

                r = device_to_disk(s, s->devices[d], &guest, &disk);
                if (r < 0)
                        continue;
                STRV_FOREACH(p, parts)
                        if (strncmp(*p, s->devices[d], n) == 0 && (*p)[n] >= '0' && (*p)[n] <= '9')
                                partitioned = true;
                if (partitioned)
                        continue;
                r = add_fs(s, s->devices[d], false, guest, disk, 0);
                if (r < 0)
                        goto fail;
                have_pv = have_pv || r > 0;
        }
        STRV_FOREACH(p, parts) {
                size_t guest, disk;
                unsigned partition;

                if (locate_block_device(s, *p, &guest, &disk, &partition) < 0) {
                        scan_note(s, SIZE_MAX, "%s: not on any disk of ours, ignored", *p);
                        continue;
                }
                r = add_fs(s, *p, false, guest, disk, partition);
                if (r < 0)
                        goto fail;
                have_pv = have_pv || r > 0;
        }
        qsort(s->filesystems, s->n_filesystems, sizeof(KpGuestFs), compare_fs);
        s->scanned = true;
        s->lvm_pending = have_pv;
        return 0;

fail:
        if (r == -ENOMEM)
                return kp_error_set(error, r, "out of memory listing filesystems");
        return kp_guest_error(s, error, "could not list the guests' filesystems");
}

int kp_guest_scan_lvm(KpGuestSession *s, KpError *error)
{
        size_t first = s->n_filesystems;
        int r;

        if (!s->lvm_pending)
                return 0;
        r = kp_guest_check_cancelled(s, error);
        if (r < 0)
                return r;
        s->lvm_pending = false;

        r = scan_logical_volumes(s);
        if (r == -ENOMEM)
                return kp_error_set(error, r, "out of memory listing logical volumes");
        if (r < 0)
                return kp_guest_error(s, error, "could not list the guests' logical volumes");
        /* Appended after every partition, so each guest still sees its partitions first. */
        qsort(s->filesystems + first, s->n_filesystems - first, sizeof(KpGuestFs), compare_fs);
        return 0;
}

int kp_guest_mount(KpGuestSession *s, size_t i, KpError *error)
{
        KpGuestFs *fs = &s->filesystems[i];
        const char *retry_options = NULL;
        int r;

        if (s->mounted == (ssize_t) i)
                return 0;
        r = kp_guest_check_cancelled(s, error);
        if (r < 0)
                return r;
        if (fs->mount_state < 0)
                return kp_error_set(error, fs->mount_state, "%s", fs->mount_error ? fs->mount_error : "");

        if (s->mounted >= 0) {
                if (sym_guestfs_umount_all(s->g) < 0)
                        return kp_guest_error(s, error, "could not unmount %s",
                                              s->filesystems[s->mounted].name);
                s->mounted = -1;
        }

        r = sym_guestfs_mount_ro(s->g, fs->mountable, "/");
        if (r < 0) {
                /*
                 * A log or journal that needs replaying normally replays
                 * into the drive's overlay; when that fails, read the
                 * filesystem as its last checkpoint left it.
                 */
                if (streq(fs->vfs_type, "xfs"))
                        retry_options = "ro,norecovery";
                else if (streq(fs->vfs_type, "ext3") || streq(fs->vfs_type, "ext4"))
                        retry_options = "ro,noload";
                if (retry_options)
                        r = sym_guestfs_mount_options(s->g, retry_options, fs->mountable, "/");
        }
        if (r < 0) {
                KpError e = {};

                r = kp_guest_error(s, &e, "could not mount %s (%s)", fs->name, fs->vfs_type);
                if (r == -ECANCELED || r == -ETIMEDOUT)
                        return kp_error_set(error, r, "%s", e.message);
                fs->mount_state = r;
                free(fs->mount_error);
                fs->mount_error = strdup(e.message);
                return kp_error_set(error, r, "%s", e.message);
        }

        fs->mount_state = 1;
        s->mounted = (ssize_t) i;
        return 0;
}

int kp_guest_fs_load_ids(KpGuestSession *s, size_t i, KpError *error)
{
        /* blkid gave them with the type when the filesystems were listed. */
        return s->filesystems[i].have_ids ? 0 : kp_error_set(error, -ENODATA, "no identity for filesystem %zu", i);
}
