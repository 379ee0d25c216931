/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What the parts of lib/guest/ share: the session's insides, the
 * filesystems found in the appliance, and the conversion of libguestfs
 * failures into KpError. Not for use outside lib/guest/.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "guest/guestfs-dl.h"
#include "guest/session.h"

/* One filesystem of a guest, as libguestfs can mount it. */
typedef struct KpGuestFs {
        char *mountable;        /* for guestfs_mount*: "/dev/sdd1", "/dev/vg/root" */
        /*
         * What plans and messages call it: the name it would have were the
         * guest alone in the appliance ("/dev/sda1" for the first
         * partition of the guest's first disk, whichever disk of a batch
         * that is), so a plan does not depend on how guests were batched.
         */
        char *name;
        char *vfs_type;         /* "ext4", "xfs", "btrfs", ... as blkid names it */
        size_t guest;           /* the guest of the session it belongs to */
        size_t disk;            /* index among that guest's disks (an LV: its first PV's disk) */
        unsigned partition;     /* 1-based partition number; 0 for a whole disk or an LV */
        bool lvm;

        /* From blkid, as GRUB's search sees them ("" when the filesystem has none). */
        bool have_ids;
        char *uuid;
        char *label;

        /* 0 not tried, 1 mounted once, negative errno: could not be mounted (reason in mount_error). */
        int mount_state;
        char *mount_error;
} KpGuestFs;

/* One file's facts, computed once per session however many entries name it. */
typedef struct KpGuestFileFacts {
        size_t fs;
        char *path;             /* as the config named it */
        bool kernel;
        int error;              /* 0, or why the facts are missing */
        char *error_message;
        uint64_t size;
        char sha256[65];
        KpFormat format;
} KpGuestFileFacts;

typedef struct KpGuestNote KpGuestNote;

/* Children of one thread we keep track of; the launch itself starts at most four at a time. */
#define KP_GUEST_MAX_CHILDREN 64

struct KpGuestSession {
        guestfs_h *g;
        KpGuestOptions options;

        KpDiskSpec *disks;      /* every guest's disks, in the order they were added */
        size_t n_disks;
        struct KpGuestRange {
                size_t first_disk;
                size_t n_disks;
        } *guests;
        size_t n_guests;

        bool launched;
        unsigned n_launches;
        char **devices;         /* the appliance's name of each disk ("/dev/sda"), after launch */

        /*
         * A pooled appliance (hotplug.c): launched with a scratch drive
         * only, its guest's disks attached later over QMP.
         */
        bool pooled;
        char *qmp_path;         /* the QMP socket, in tmpdir */
        struct KpQmp *qmp;
        char *scratch_device;   /* the scratch drive's name in the appliance, never a guest's */

        bool scanned;
        bool lvm_pending;       /* a PV was seen; its logical volumes are listed when first needed */
        KpGuestFs *filesystems; /* by guest, disk and partition; logical volumes appended later */
        size_t n_filesystems;
        struct KpGuestNote {
                size_t guest;   /* SIZE_MAX: a device of no guest we could tell */
                char *text;     /* "/dev/sdb2: no filesystem recognised" */
        } *notes;               /* devices not considered, and why */
        size_t n_notes;
        ssize_t mounted;        /* index of the filesystem mounted at "/", or -1 */

        KpGuestFileFacts *facts;
        size_t n_facts;

        /* Cancellation: lock protects the fields below it against kp_guest_session_cancel(). */
        pthread_mutex_t lock;
        bool launching;
        pid_t launch_tid;
        pid_t pre_children[KP_GUEST_MAX_CHILDREN]; /* the launching thread's children before the launch */
        size_t n_pre_children;
        pid_t hv_pid;
        atomic_bool cancelled;
        atomic_bool timed_out;
        atomic_bool overlay_full;

        /* The temp directory libguestfs puts its overlays in (guestfs_set_tmpdir), ours, measured. */
        char *tmpdir;
        int tmpdir_fd;
        /* Overlays of attached disks, unlinked once qemu has them: measured through these (under lock). */
        int *overlay_fds;
        size_t n_overlay_fds;

        /* The deadline watchdog. */
        bool have_watchdog;
        bool watchdog_stop;
        pthread_t watchdog;
        pthread_cond_t watchdog_cond;
};

/*
 * Records that the session now belongs to the guest whose disks these
 * are (their specs copied to s->disks), before any of them reaches the
 * appliance: the one place the rule "one guest per appliance, ever" is
 * enforced (docs/isolation.md). -EBUSY when the session already has a
 * guest, even one whose disks failed to attach.
 */
int kp_guest_claim(KpGuestSession *s, const KpDiskSpec *disks, size_t n_disks, KpError *error);

/* Boots the appliance with the drives added so far; the part of every launch that is not about disks. */
int kp_guest_launch_appliance(KpGuestSession *s, KpError *error);

/* Hands an overlay's descriptor to the watchdog, which measures it with the temp directory. */
int kp_guest_track_overlay(KpGuestSession *s, int fd);

/* hotplug.c: the pooled appliance's QMP connection and names, released with the session. */
void kp_guest_hotplug_done(KpGuestSession *s);

/* To be called first by every entry point, in whatever thread it runs: libguestfs's error handler is per thread. */
void kp_guest_enter(KpGuestSession *s);

/*
 * Records why a libguestfs call failed: "<context>: <guestfs's message>",
 * the message's first line only, control characters replaced, and returns the errno
 * the appliance reported (-EIO when it gave none), -ECANCELED or
 * -ETIMEDOUT when the session was stopped.
 */
int kp_guest_error(KpGuestSession *s, KpError *error, const char *format, ...) _printf_(3, 4);

/* -ECANCELED / -ETIMEDOUT (with the reason in error) once the session was stopped, else 0. */
int kp_guest_check_cancelled(KpGuestSession *s, KpError *error);

void kp_guest_progress(KpGuestSession *s, KpGuestStage stage, unsigned percent);

/* ---- filesystems.c ---- */

/*
 * Lists the filesystems on every guest's disks and partitions, once per
 * session. Logical volumes come later, from kp_guest_scan_lvm(): asking
 * LVM costs a second or more in the appliance, and most guests keep /boot
 * on a partition. Indices stay valid: logical volumes are appended.
 */
int kp_guest_scan_filesystems(KpGuestSession *s, KpError *error);

/* Adds the logical volumes of every guest (after a PV was seen), once. */
int kp_guest_scan_lvm(KpGuestSession *s, KpError *error);

/*
 * Mounts filesystem i read-only at "/" (unmounting whatever was there):
 * one at a time, so that absolute symlinks resolve inside the filesystem
 * that holds them, as GRUB resolves them. Retries a dirty xfs with
 * norecovery and a dirty ext3/4 with noload when the plain mount fails.
 */
int kp_guest_mount(KpGuestSession *s, size_t i, KpError *error);

/* Fills uuid and label of filesystem i (blkid, inside the appliance). */
int kp_guest_fs_load_ids(KpGuestSession *s, size_t i, KpError *error);

/* ---- lookup.c ---- */

typedef enum KpGuestFileType {
        KP_GUEST_FILE_REGULAR,
        KP_GUEST_FILE_DIRECTORY,
} KpGuestFileType;

/*
 * Finds path on the mounted filesystem, resolving symlinks inside the
 * appliance, and returns the resolved path and the file's size. Refuses
 * paths that are relative, too long, or have ".." or control characters
 * (-EINVAL), files of another type (-EISDIR, -ENOTDIR, -EBADFD) and
 * symlinks that lead out of the boot area (-EPERM): a link may point
 * within its own directory, anywhere under /boot, or to a file at the top
 * of the filesystem, which covers every distribution's vmlinuz/initrd.img
 * links and nothing like /etc/shadow.
 */
int kp_guest_lookup(KpGuestSession *s, const char *path, KpGuestFileType type, KpError *error,
                    char **ret_resolved, uint64_t *ret_size);

/*
 * Whether libguestfs would take path as a device of the appliance rather
 * than a file of the guest: its Dev_or_Path parameters (guestfs_download(),
 * download_offset, upload) treat names under /dev/ as devices
 * (guestfsd's is_device_parameter()), whatever the guest's filesystem
 * holds there, so a guest file named /dev/sdb would stream the appliance's
 * second disk. Every guest path is refused when this holds, as asked and
 * as resolved.
 */
bool kp_guest_path_is_device(const char *path);

/* What one guestfs_pread() may return: protocol messages are at most 4 MiB (GUESTFS_MESSAGE_MAX). */
#define KP_GUEST_PREAD_MAX (2 * 1024 * 1024)

/*
 * Reads the first size bytes (at most KP_GUEST_PREAD_MAX) of resolved, a
 * path kp_guest_lookup() returned, into a NUL-terminated buffer: one call
 * into the appliance, where guestfs_read_file() would stage the file in a
 * temporary file on the host first.
 */
int kp_guest_read_head(KpGuestSession *s, const char *resolved, uint64_t size, KpError *error, char **ret_data,
                       size_t *ret_size);
