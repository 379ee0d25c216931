/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Whether a domain uses a disk: pvgrub mode writes into a guest's disk
 * only while no domain has it (a running guest's page cache and journal
 * would be corrupted by writes from the appliance). Where Xen runs, libxl
 * is asked for every domain's disks (their backends' params, what
 * `xl block-list` shows); a disk is the same when it is the same file
 * (device and inode) or the same block device (rdev), whatever path names
 * it. Without Xen no domain can use it.
 */

#include <stdbool.h>
#include <stdint.h>

#include "kunpack.h"

/* Domains looked at: far above any host's guest count (Xen allows 32752), it bounds a reply. */
#define KP_XL_MAX_DOMAINS 4096

/* One disk of one domain, as libxl lists it. */
typedef struct KpXlDomainDisk {
        uint32_t domid;
        const char *path; /* the backend's params (pdev_path): a file or a block device */
} KpXlDomainDisk;

/*
 * The first entry of disks (skipping domain exclude_domid, the one being
 * built, for which the bootloader runs) that names the same file or block
 * device as disk; -1 when none. When disk cannot be stat()ed, paths are
 * compared as far as they resolve.
 */
ssize_t kp_xl_disk_find_user(const char *disk, const KpXlDomainDisk *disks, size_t n_disks,
                             uint32_t exclude_domid);

/* Whether Xen runs here with this host as its control domain (/proc/xen/capabilities says "control_d"). */
bool kp_xl_xen_running(void);
/* Whether the capabilities file at path (xenfs's, size 0 as procfs files are) says "control_d". */
bool kp_xl_capabilities_say_control(const char *path);

/*
 * Fails (-EBUSY, naming the domain) when a domain other than exclude_domid
 * (UINT32_MAX: none) uses disk; 0 when none does or Xen does not run
 * here. When Xen runs but libxl cannot be asked, -EHOSTDOWN: in doubt,
 * nothing is written.
 */
int kp_xl_check_disk_unused(const char *disk, uint32_t exclude_domid, KpError *error);

/*
 * What a scan reads must be what the disk holds once no domain has it,
 * so every scan asks who has the disk now (docs/pool.md, "In use"):
 *
 *  - a disk backend in dom0's xenstore, of any domain, dom0's own attach
 *    for a bootloader included, and of every kind (vbd: blkback; qdisk:
 *    qemu; vbd3: tapdisk), whose params name the disk (by path, or the
 *    same file or block device by another name) or whose physical-device
 *    is the disk's device number;
 *  - a loop device bound to it (/sys/block/loopN/loop/backing_file, what
 *    losetup -j reads): a guest's block script or an admin may write
 *    through it.
 *
 * A scan of a disk in use still runs (a running guest's kernel is worth
 * caching), but its record is provisional: never fresh.
 */

/* Backends a dom0 serves, as one pass reads them: a bound on what xenstore can make us hold. */
#define KP_XL_MAX_BACKENDS 16384
/* Loop devices looked at. */
#define KP_XL_MAX_LOOPS 4096

/* One disk backend as xenstore describes it. */
typedef struct KpXlBackend {
        const char *type;            /* "vbd", "qdisk", "vbd3" */
        uint32_t frontend;           /* the domain using it; 0 for dom0's own attach */
        uint32_t devid;
        const char *params;          /* "/dev/vg/lv", "/srv/guest.img", "aio:/img", "qcow2:/img" */
        const char *physical_device; /* "fd:3" (major:minor in hex), or NULL */
} KpXlBackend;

/*
 * The path in a backend's params: the whole of it when it starts with "/",
 * else what follows the format prefixes ("raw:", "aio:", "tapdisk:aio:");
 * NULL when there is none.
 */
const char *kp_xl_backend_params_path(const char *params);

/* The first backend that refers to disk (see above); -1 when none. */
ssize_t kp_xl_backends_find(const char *disk, const KpXlBackend *backends, size_t n);

/*
 * The loop device under sys_block (normally "/sys/block") bound to disk:
 * 1 with its name ("loop3") in ret_loop, 0 when none.
 */
int kp_xl_loop_find(const char *disk, const char *sys_block, char *ret_loop, size_t size);

/*
 * Whether anything uses disk now: 1 with who in ret_user ("domain 5's vbd
 * 51712", "loop device /dev/loop3"), 0 when nothing does, a negative errno
 * (with the reason in ret_user) when it cannot be told, which a caller
 * takes as in use. Where Xen does not run, only loop devices are asked.
 */
int kp_xl_disk_in_use(const char *disk, char *ret_user, size_t size);
