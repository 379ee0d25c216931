/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pooled appliances: booted with no guest disk, given exactly one guest's
 * disks later over QMP (docs/pool.md says why each step is as it is, and
 * which parts of libguestfs and qemu it relies on).
 *
 * libguestfs itself never learns of the attached disks: its handle keeps
 * talking to guestfsd, which finds them in the appliance's /dev like any
 * other disk. Two things of guestfsd matter (docs/pool.md, "What the pool
 * relies on"): it lists disks from /dev/disk/by-path and the serial-number
 * links of /dev/disk/guestfs/ as udev makes them, so a disk attached later
 * appears once udev has seen it; and it renames the disks it knew at boot
 * by their position, which for a pooled appliance is the scratch drive
 * alone, so every name of an attached disk other than "/dev/sda" passes
 * through unchanged. Both are checked, here and in the tests, rather than
 * assumed.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "guest/guest-internal.h"
#include "guest/qmp.h"
#include "util/error.h"
#include "util/json.h"
#include "util/strv.h"
#include "util/time-util.h"

/* The bus libguestfs's direct backend gives the appliance's disks (-device virtio-scsi-pci,id=scsi). */
#define QMP_SCSI_BUS "scsi.0"
#define QMP_SCSI_CONTROLLER_ID "scsi"
#define QMP_SCSI_CONTROLLER_TYPE "child<virtio-scsi-pci>"
/* How often an attached disk is looked for while it appears. */
#define ATTACH_POLL_USEC (20 * USEC_PER_MSEC)

void kp_guest_hotplug_done(KpGuestSession *s)
{
        s->qmp = kp_qmp_free(s->qmp);
        s->scratch_device = mfree(s->scratch_device);
}

/* "/dev/sd" + letters (+ nothing): the index of the disk the letters name ("a" 0, "z" 25, "aa" 26), or -1. */
static long drive_index(const char *device)
{
        long index = 0;
        const char *p;

        if (!startswith_lit(device, "/dev/sd") || !device[STRLEN("/dev/sd")])
                return -1;
        for (p = device + STRLEN("/dev/sd"); *p; p++) {
                if (*p < 'a' || *p > 'z' || index > 100000)
                        return -1;
                index = index * 26 + (*p - 'a' + 1);
        }
        return index - 1;
}

/* The appliance device whose serial-number link is serial, from guestfs_list_disk_labels(); NULL if none yet. */
static int device_of_serial(KpGuestSession *s, const char *serial, KpError *error, char **ret)
{
        _cleanup_strv_free_ char **labels = sym_guestfs_list_disk_labels(s->g);

        if (!labels)
                return kp_guest_error(s, error, "could not list the appliance's disk serial numbers");
        for (char **p = labels; p[0] && p[1]; p += 2)
                if (streq(p[0], serial)) {
                        *ret = strdup(p[1]);
                        return *ret ? 0 : -ENOMEM;
                }
        *ret = NULL;
        return 0;
}

static int qmp_path(KpGuestSession *s, KpError *error)
{
        if (asprintf(&s->qmp_path, "%s/qmp", s->tmpdir) < 0) {
                s->qmp_path = NULL;
                return kp_error_set(error, -ENOMEM, "out of memory");
        }
        /* qemu's option syntax takes a comma as a separator; a socket path is at most 107 bytes. */
        if (strchr(s->qmp_path, ',') || strlen(s->qmp_path) >= 108)
                return kp_error_set(error, -EINVAL,
                                    "the temp directory %s cannot hold a QMP socket (a comma, or too long): set "
                                    "TMPDIR elsewhere",
                                    s->tmpdir);
        return 0;
}

/* Whether qom-list of /machine/peripheral shows libguestfs's virtio-scsi controller. */
static bool has_scsi_controller(yajl_val list)
{
        if (!YAJL_IS_ARRAY(list))
                return false;
        for (size_t i = 0; i < list->u.array.len; i++) {
                const char *name = kp_json_get_string(list->u.array.values[i], "name");
                const char *type = kp_json_get_string(list->u.array.values[i], "type");

                if (name && type && streq(name, QMP_SCSI_CONTROLLER_ID) && streq(type, QMP_SCSI_CONTROLLER_TYPE))
                        return true;
        }
        return false;
}

int kp_guest_session_launch_pooled(KpGuestSession *s, KpError *error)
{
        _cleanup_strv_free_ char **devices = NULL;
        _cleanup_free_ char *scratch = NULL, *hv_value = NULL;
        _cleanup_(yajl_tree_freep) yajl_val tree = NULL;
        yajl_val peripheral = NULL;
        int r;

        kp_guest_enter(s);
        if (s->launched || s->n_guests > 0)
                return kp_error_set(error, -EBUSY, "a pooled appliance is launched before any guest is known");
        if (s->options.writable)
                return kp_error_set(error, -EINVAL, "a pooled appliance only reads");
        r = qmp_path(s, error);
        if (r < 0)
                return r;
        if (asprintf(&hv_value, "unix:%s,server=on,wait=off", s->qmp_path) < 0) {
                hv_value = NULL;
                return kp_error_set(error, -ENOMEM, "out of memory");
        }
        /* libguestfs passes this to qemu after its own options; our temp directory is 0700 (make_tmpdir). */
        if (sym_guestfs_config(s->g, "-qmp", hv_value) < 0)
                return kp_guest_error(s, error, "could not give the appliance a QMP socket");
        /*
         * libguestfs launches nothing without a drive. The scratch drive is
         * blank, lives in libguestfs's own temp directory (inside ours),
         * and carries a serial number so it is told apart from any guest
         * disk by name, not by position.
         */
        if (sym_guestfs_add_drive_scratch(s->g, KP_GUEST_SCRATCH_SIZE, GUESTFS_ADD_DRIVE_SCRATCH_LABEL,
                                          KP_GUEST_SCRATCH_SERIAL, -1) < 0)
                return kp_guest_error(s, error, "could not add the scratch drive");

        r = kp_guest_launch_appliance(s, error);
        if (r < 0)
                return r;
        s->pooled = true;

        /*
         * What the rest relies on, checked in the appliance that relies on
         * it: the scratch drive is its only disk (guestfsd hides its own
         * root), named /dev/sda by guestfsd, and found by its serial.
         */
        devices = sym_guestfs_list_devices(s->g);
        if (!devices)
                return kp_guest_error(s, error, "could not list the appliance's disks");
        r = device_of_serial(s, KP_GUEST_SCRATCH_SERIAL, error, &scratch);
        if (r < 0)
                return r;
        if (strv_length(devices) != 1 || !streq(devices[0], "/dev/sda") || !scratch || !streq(scratch, devices[0]))
                return kp_error_set(error, -EPROTONOSUPPORT,
                                    "libguestfs changed: a pooled appliance shows %zu disk(s), the first %s, its "
                                    "scratch drive as %s (expected /dev/sda alone, by its serial); see docs/pool.md",
                                    strv_length(devices), devices[0] ? devices[0] : "none",
                                    scratch ? scratch : "nothing");
        s->scratch_device = TAKE_PTR(scratch);

        r = kp_qmp_connect(s->qmp_path, s->options.deadline, error, &s->qmp);
        if (r < 0)
                return r;
        r = kp_qmp_execute(s->qmp, "qom-list", "{\"path\":\"/machine/peripheral\"}", s->options.deadline, error,
                           &tree, &peripheral);
        if (r < 0)
                return r;
        if (!has_scsi_controller(peripheral))
                return kp_error_set(error, -EPROTONOSUPPORT,
                                    "libguestfs changed: the appliance has no virtio-scsi controller \"%s\" to "
                                    "attach disks to; see docs/pool.md",
                                    QMP_SCSI_CONTROLLER_ID);

        kp_guest_progress(s, KP_GUEST_STAGE_READY, 100);
        return 0;
}

/* The arguments of blockdev-add for disk i: a qcow2 overlay on the host over the guest's disk, read-only. */
static int blockdev_add_args(size_t i, const KpDiskSpec *disk, bool block, const char *overlay, char **ret)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        char name[32];
        int r;

        r = kp_json_gen_new(false, &g);
        if (r < 0)
                return r;
        yajl_gen_map_open(g);
        kp_json_kv_string(g, "driver", "qcow2");
        (void) snprintf(name, sizeof(name), "kp-overlay%zu", i);
        kp_json_kv_string(g, "node-name", name);
        /* What the appliance writes (a journal replay) is thrown away: never flushed. */
        kp_json_key(g, "cache");
        yajl_gen_map_open(g);
        kp_json_kv_bool(g, "no-flush", true);
        yajl_gen_map_close(g);
        kp_json_key(g, "file");
        yajl_gen_map_open(g);
        kp_json_kv_string(g, "driver", "file");
        kp_json_kv_string(g, "filename", overlay);
        yajl_gen_map_close(g);

        /*
         * The guest's disk, given as the overlay's backing node explicitly:
         * its format named (never probed), read-only. A block device is read
         * with O_DIRECT: blkback writes it with bios that bypass dom0's page
         * cache, so a cached page could be older than the disk. An image file
         * is written through the page cache (qdisk, a loop device), which is
         * then what is current. Not locked, as libguestfs does for its own
         * read-only drives.
         */
        kp_json_key(g, "backing");
        yajl_gen_map_open(g);
        kp_json_kv_string(g, "driver", kp_disk_format_to_string(disk->format));
        (void) snprintf(name, sizeof(name), "kp-disk%zu", i);
        kp_json_kv_string(g, "node-name", name);
        kp_json_kv_bool(g, "read-only", true);
        kp_json_key(g, "file");
        yajl_gen_map_open(g);
        kp_json_kv_string(g, "driver", block ? "host_device" : "file");
        kp_json_kv_string(g, "filename", disk->path);
        kp_json_kv_bool(g, "read-only", true);
        kp_json_kv_string(g, "locking", "off");
        kp_json_key(g, "cache");
        yajl_gen_map_open(g);
        kp_json_kv_bool(g, "direct", block);
        yajl_gen_map_close(g);
        yajl_gen_map_close(g);
        yajl_gen_map_close(g);

        yajl_gen_map_close(g);
        return kp_json_gen_finish(g, ret, NULL);
}

static int device_add_args(size_t i, char **ret)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        char name[32];
        int r;

        r = kp_json_gen_new(false, &g);
        if (r < 0)
                return r;
        yajl_gen_map_open(g);
        kp_json_kv_string(g, "driver", "scsi-hd");
        kp_json_kv_string(g, "bus", QMP_SCSI_BUS);
        (void) snprintf(name, sizeof(name), "kp-overlay%zu", i);
        kp_json_kv_string(g, "drive", name);
        (void) snprintf(name, sizeof(name), "kp-hd%zu", i);
        kp_json_kv_string(g, "id", name);
        /*
         * The serial names the disk in the appliance (/dev/disk/guestfs/SERIAL);
         * it ends in a letter so that no partition's link ("SERIAL1") is
         * another disk's serial.
         */
        (void) snprintf(name, sizeof(name), "kpdisk%zux", i);
        kp_json_kv_string(g, "serial", name);
        yajl_gen_map_close(g);
        return kp_json_gen_finish(g, ret, NULL);
}

/* Best effort, on a failure: the appliance is spent anyway, but a disk should not stay attached to it. */
static void detach(KpGuestSession *s, size_t i, bool device)
{
        char args[64];

        if (!s->qmp)
                return;
        if (device) {
                (void) snprintf(args, sizeof(args), "{\"id\":\"kp-hd%zu\"}", i);
                (void) kp_qmp_execute(s->qmp, "device_del", args, 0, NULL, NULL, NULL);
        }
        (void) snprintf(args, sizeof(args), "{\"node-name\":\"kp-overlay%zu\"}", i);
        (void) kp_qmp_execute(s->qmp, "blockdev-del", args, 0, NULL, NULL, NULL);
}

static uint64_t attach_deadline(KpGuestSession *s)
{
        uint64_t until = kp_now_usec(CLOCK_MONOTONIC) + KP_GUEST_ATTACH_TIMEOUT_USEC;

        return s->options.deadline != 0 && s->options.deadline < until ? s->options.deadline : until;
}

static int attach_timeout(KpError *error, const char *what)
{
        return kp_error_set(error, -ETIMEDOUT, "%s did not appear in the appliance within %llu s", what,
                            (unsigned long long) (KP_GUEST_ATTACH_TIMEOUT_USEC / USEC_PER_SEC));
}

static void poll_pause(void)
{
        (void) nanosleep(&(struct timespec) { .tv_nsec = ATTACH_POLL_USEC * NSEC_PER_USEC }, NULL);
}

/*
 * Waits until disk i is in the appliance under its serial (udev made its
 * /dev/disk/guestfs/ link, and with it its /dev/disk/by-path link); its
 * name. A listing of serials is a millisecond's round trip, where
 * guestfsd's list of disks runs ls in the appliance (half a second under
 * emulation): the latter is asked once, for all disks, afterwards.
 */
static int wait_for_disk(KpGuestSession *s, size_t i, KpError *error, char **ret_device)
{
        uint64_t until = attach_deadline(s);
        char serial[32];
        int r;

        (void) snprintf(serial, sizeof(serial), "kpdisk%zux", i);
        for (;;) {
                r = kp_guest_check_cancelled(s, error);
                if (r < 0)
                        return r;
                r = device_of_serial(s, serial, error, ret_device);
                if (r < 0 || *ret_device)
                        return r;
                if (kp_now_usec(CLOCK_MONOTONIC) >= until)
                        return attach_timeout(error, s->disks[i].path);
                poll_pause();
        }
}

/* Waits until guestfsd lists every attached disk: what it lists is what its partition listing walks. */
static int wait_for_listed(KpGuestSession *s, char **attached, KpError *error)
{
        uint64_t until = attach_deadline(s);
        int r;

        for (;;) {
                _cleanup_strv_free_ char **devices = NULL;
                bool all = true;

                r = kp_guest_check_cancelled(s, error);
                if (r < 0)
                        return r;
                devices = sym_guestfs_list_devices(s->g);
                if (!devices)
                        return kp_guest_error(s, error, "could not list the appliance's disks");
                STRV_FOREACH(d, attached)
                        all = all && strv_contains(devices, *d);
                /* The scratch drive and the guest's disks, nothing else (the appliance's root is hidden). */
                if (all && strv_length(devices) == strv_length(attached) + 1)
                        return 0;
                if (all)
                        return kp_error_set(error, -EPROTONOSUPPORT,
                                            "the appliance lists %zu disks, %zu were attached to it; see docs/pool.md",
                                            strv_length(devices), strv_length(attached));
                if (kp_now_usec(CLOCK_MONOTONIC) >= until)
                        return attach_timeout(error, "the guest's disks");
                poll_pause();
        }
}

/* Disk i of the session's guest, into the appliance; its name there in *ret_device. */
static int attach_disk(KpGuestSession *s, size_t i, char **devices, KpError *error)
{
        const KpDiskSpec *disk = &s->disks[i];
        _cleanup_free_ char *overlay = NULL, *args = NULL, *device = NULL, *real = NULL;
        _cleanup_close_ int fd = -EBADF;
        KpDiskSpec resolved;
        struct stat st;
        long index;
        int r;

        /* qemu-img takes a relative backing file as relative to the overlay's directory: give it no choice. */
        real = realpath(disk->path, NULL);
        if (!real || stat(real, &st) < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot find disk %s", disk->path);
        resolved = (KpDiskSpec) { .path = real, .format = disk->format };
        if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
                return kp_error_set(error, -EMEDIUMTYPE, "disk %s is neither an image file nor a block device",
                                    disk->path);

        /* The overlay is made on the host, by libguestfs (qemu-img), as libguestfs makes its own. */
        if (asprintf(&overlay, "%s/overlay%zu.qcow2", s->tmpdir, i) < 0) {
                overlay = NULL;
                return kp_error_set(error, -ENOMEM, "out of memory");
        }
        if (sym_guestfs_disk_create(s->g, overlay, "qcow2", -1, GUESTFS_DISK_CREATE_BACKINGFILE, real,
                                    GUESTFS_DISK_CREATE_BACKINGFORMAT, kp_disk_format_to_string(disk->format),
                                    -1) < 0)
                return kp_guest_error(s, error, "could not make an overlay for disk %s", disk->path);
        fd = open(overlay, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                r = kp_error_set_errno(error, negative_errno(), "cannot open the overlay of disk %s", disk->path);
                (void) unlink(overlay);
                return r;
        }

        r = blockdev_add_args(i, &resolved, S_ISBLK(st.st_mode), overlay, &args);
        if (r < 0) {
                (void) unlink(overlay);
                return kp_error_set(error, r, "out of memory");
        }
        r = kp_qmp_execute(s->qmp, "blockdev-add", args, s->options.deadline, error, NULL, NULL);
        /* qemu holds it open now (or never will): nothing else may find it by its name. */
        (void) unlink(overlay);
        if (r < 0)
                return kp_error_prefix(error, r, "disk %s", disk->path);
        /* Its journal replays count against the session's share of the temp directory. */
        r = kp_guest_track_overlay(s, fd);
        if (r < 0) {
                detach(s, i, false);
                return kp_error_set(error, r, "out of memory");
        }
        TAKE_FD(fd);

        args = mfree(args);
        r = device_add_args(i, &args);
        if (r < 0) {
                detach(s, i, false);
                return kp_error_set(error, r, "out of memory");
        }
        r = kp_qmp_execute(s->qmp, "device_add", args, s->options.deadline, error, NULL, NULL);
        if (r < 0) {
                detach(s, i, false);
                return kp_error_prefix(error, r, "disk %s", disk->path);
        }

        r = wait_for_disk(s, i, error, &device);
        if (r < 0) {
                detach(s, i, true);
                return r;
        }
        /*
         * Never the scratch drive or another disk of ours, and never a name
         * guestfsd would rename: it renames by position only the disks it
         * saw at boot, here the scratch drive, /dev/sda (docs/pool.md).
         */
        index = drive_index(device);
        if (streq(device, s->scratch_device) || strv_contains(devices, device) || index < 1) {
                detach(s, i, true);
                return kp_error_set(error, -EPROTONOSUPPORT,
                                    "disk %s appeared in the appliance as %s, a name it cannot have; see docs/pool.md",
                                    disk->path, device);
        }
        devices[i] = TAKE_PTR(device);
        return 0;
}

int kp_guest_session_attach_guest(KpGuestSession *s, const KpDiskSpec *disks, size_t n_disks, KpError *error,
                                  size_t *ret_guest)
{
        char **devices;
        int r;

        kp_guest_enter(s);
        r = kp_guest_claim(s, disks, n_disks, error);
        if (r < 0)
                return r;
        if (!s->pooled || !s->qmp) {
                atomic_store(&s->cancelled, true);
                return kp_error_set(error, -EINVAL, "disks are attached to a launched pooled appliance only");
        }
        r = kp_guest_check_cancelled(s, error);
        if (r < 0)
                return r;

        devices = calloc(s->n_disks + 1, sizeof(char *));
        if (!devices)
                return kp_error_set(error, -ENOMEM, "out of memory");
        s->devices = devices;
        /* One at a time, so that each is found by its own serial before the next one comes. */
        for (size_t i = 0; i < s->n_disks; i++) {
                r = attach_disk(s, i, devices, error);
                if (r < 0) {
                        /* Half a guest is no guest: the session is spent. */
                        kp_guest_session_cancel(s);
                        return r;
                }
        }
        r = wait_for_listed(s, devices, error);
        if (r < 0) {
                kp_guest_session_cancel(s);
                return r;
        }
        if (ret_guest)
                *ret_guest = 0;
        return 0;
}
