/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "guest/guest-devices.h"
#include "util/error.h"

/*
 * Which of a guest's filesystems an entry's root names. Only the guest's
 * own filesystems are candidates: a UUID that another guest of a batched
 * session shares (cloned images do) never leads there.
 */

/* "hd0", "hd0,msdos1", "hd0,gpt2", "hd0,1": disk index and 1-based partition (0: whole disk). */
static bool parse_hd(const char *value, size_t *ret_disk, unsigned *ret_partition)
{
        const char *p = value;
        unsigned long disk, part = 0;
        char *end;

        if (startswith_lit(p, "hd"))
                p += 2;
        else
                return false;
        if (*p < '0' || *p > '9')
                return false;
        disk = strtoul(p, &end, 10);
        if (disk > KP_GUEST_MAX_DISKS)
                return false;
        p = end;
        if (*p == ',') {
                p++;
                if (startswith_lit(p, "msdos"))
                        p += STRLEN("msdos");
                else if (startswith_lit(p, "gpt"))
                        p += STRLEN("gpt");
                if (*p < '0' || *p > '9')
                        return false;
                part = strtoul(p, &end, 10);
                /* Nested labels ("hd0,msdos1,bsd1") name nothing Linux shows. */
                if (*end != '\0' || part == 0 || part > 128)
                        return false;
        } else if (*p != '\0')
                return false;

        *ret_disk = disk;
        *ret_partition = (unsigned) part;
        return true;
}

/* GRUB's name for an LV, "lvm/VG-LV" with '-' inside either name doubled, against "/dev/VG/LV". */
static bool lvm_name_matches(const char *grub_name, const char *mountable)
{
        const char *vg = mountable + STRLEN("/dev/");
        const char *q = grub_name;

        if (!startswith_lit(mountable, "/dev/"))
                return false;
        for (const char *p = vg; *p; p++) {
                if (*p == '/') {
                        if (*q++ != '-')
                                return false;
                        continue;
                }
                if (*p == '-') {
                        if (q[0] != '-' || q[1] != '-')
                                return false;
                        q += 2;
                        continue;
                }
                if (*q++ != *p)
                        return false;
        }
        return *q == '\0';
}

static int resolve_once(KpGuestSession *s, size_t guest, size_t config_fs, const KpDeviceSpec *root,
                        KpError *error, size_t *ret_fs, bool *ret_matched)
{
        size_t found = SIZE_MAX;
        int r;

        switch (root->kind) {
        case KP_DEVICE_SAME:
                *ret_fs = config_fs;
                *ret_matched = true;
                return 0;

        case KP_DEVICE_UUID:
        case KP_DEVICE_LABEL:
                for (size_t i = 0; i < s->n_filesystems; i++) {
                        const KpGuestFs *fs = &s->filesystems[i];
                        bool match;

                        if (fs->guest != guest)
                                continue;
                        r = kp_guest_fs_load_ids(s, i, error);
                        if (r < 0)
                                return r;
                        /* GRUB compares UUIDs without regard to case, labels exactly. */
                        match = root->kind == KP_DEVICE_UUID ? strcasecmp(fs->uuid, root->value) == 0
                                                             : streq(fs->label, root->value);
                        if (!match)
                                continue;
                        /* Several filesystems with one UUID (a snapshot, a clone): prefer the config's. */
                        if (i == config_fs) {
                                found = i;
                                break;
                        }
                        if (found == SIZE_MAX)
                                found = i;
                }
                break;

        case KP_DEVICE_FILE:
                /* GRUB's search --file: the first filesystem, in our order, that has it. */
                for (size_t i = 0; i < s->n_filesystems; i++) {
                        KpError e = {};

                        if (s->filesystems[i].guest != guest)
                                continue;
                        if (kp_guest_mount(s, i, &e) < 0) {
                                if (e.code == -ECANCELED || e.code == -ETIMEDOUT)
                                        return kp_error_set(error, e.code, "%s", e.message);
                                continue;
                        }
                        r = kp_guest_lookup(s, root->value, KP_GUEST_FILE_REGULAR, &e, NULL, NULL);
                        if (r == -ECANCELED || r == -ETIMEDOUT)
                                return kp_error_set(error, r, "%s", e.message);
                        if (r >= 0) {
                                found = i;
                                break;
                        }
                }
                break;

        case KP_DEVICE_GRUB: {
                size_t disk;
                unsigned partition;

                if (startswith_lit(root->value, "lvm/")) {
                        for (size_t i = 0; i < s->n_filesystems; i++)
                                if (s->filesystems[i].guest == guest && s->filesystems[i].lvm &&
                                    lvm_name_matches(root->value + STRLEN("lvm/"), s->filesystems[i].mountable)) {
                                        found = i;
                                        break;
                                }
                        break;
                }
                if (!parse_hd(root->value, &disk, &partition))
                        break;
                for (size_t i = 0; i < s->n_filesystems; i++) {
                        const KpGuestFs *fs = &s->filesystems[i];

                        if (fs->guest == guest && !fs->lvm && fs->disk == disk && fs->partition == partition) {
                                found = i;
                                break;
                        }
                }
                break;
        }

        default:
                break;
        }

        if (found == SIZE_MAX) {
                *ret_fs = config_fs;
                *ret_matched = false;
                return 0;
        }
        *ret_fs = found;
        *ret_matched = true;
        return 0;
}

int kp_guest_resolve_root(KpGuestSession *s, size_t guest, size_t config_fs, const KpDeviceSpec *root,
                          KpError *error, size_t *ret_fs, bool *ret_matched)
{
        int r;

        r = resolve_once(s, guest, config_fs, root, error, ret_fs, ret_matched);
        if (r < 0 || *ret_matched || !s->lvm_pending)
                return r;
        /* Not on any partition: perhaps on a logical volume nobody has listed yet. */
        r = kp_guest_scan_lvm(s, error);
        if (r < 0)
                return r;
        return resolve_once(s, guest, config_fs, root, error, ret_fs, ret_matched);
}
