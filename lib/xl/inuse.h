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

/*
 * Fails (-EBUSY, naming the domain) when a domain other than exclude_domid
 * (UINT32_MAX: none) uses disk; 0 when none does or Xen does not run
 * here. When Xen runs but libxl cannot be asked, -EHOSTDOWN: in doubt,
 * nothing is written.
 */
int kp_xl_check_disk_unused(const char *disk, uint32_t exclude_domid, KpError *error);
