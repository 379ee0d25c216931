/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * libxl's local attach. A disk dom0 cannot hand a bootloader as a plain
 * file (a qcow2 image, which only qemu's qdisk backend reads) is attached
 * to dom0 itself for the bootloader's run, and kunpack-boot is given the
 * device dom0 sees, /dev/xvdX (docs/boot-path.md). That device is new at
 * every start and its content cannot be dated, so a plan keyed by it is
 * never fresh. Its backend in dom0's xenstore,
 * /local/domain/0/backend/qdisk/0/<devid>, leads back to the image:
 *
 *   dev = "xvda"                                the name dom0 sees
 *   params = "qcow2:/srv/xen/app1.qcow2"        what libxl attached
 *
 * kunpackd keys the guest's plan by the image, scans the image while no
 * domain uses it, and serves a start hot from it when it is unchanged
 * (docs/qcow2.md). Only dom0's own attaches (frontend 0) are looked at:
 * libxl writes them, as root, before the bootloader runs; a guest writes
 * nothing there.
 */

#include <stdint.h>
#include <sys/types.h>

#include "guest/diskspec.h"
#include "kunpack.h"

/* One disk backend whose frontend is dom0, as xenstore describes it. */
typedef struct KpXlAttach {
        const char *type;   /* the backend kind: "qdisk", "vbd", "vbd3" */
        const char *dev;    /* the backend's "dev": the name dom0 sees ("xvda") */
        const char *params; /* "qcow2:/srv/app1.qcow2", "aio:/img", "/dev/vg/lv" */
} KpXlAttach;

/*
 * The disk a backend's params name: "qcow2:PATH" is a qcow2 image;
 * "aio:PATH", "raw:PATH" and a bare absolute PATH are raw. -EOPNOTSUPP
 * (naming the format) for formats xl knows but kunpack does not read
 * (vhd, qcow, qed), -EINVAL for anything else (no absolute path).
 */
int kp_xl_params_to_spec(const char *params, KpError *error, KpDiskSpec *ret);

/*
 * The attach whose dev is device's name ("/dev/xvda" → "xvda"); -1 when
 * none is, or device is not a name directly under /dev/.
 */
ssize_t kp_xl_attach_find(const char *device, const KpXlAttach *attaches, size_t n);

/*
 * The image behind device when it is one of dom0's own attaches: 1 with
 * the image's spec in ret, 0 when device is none (not a block device
 * under /dev/, Xen does not run here, no backend of dom0's names it), a
 * negative errno when xenstore cannot be read or the backend's params
 * name nothing kunpack reads.
 */
int kp_xl_local_attach_source(const char *device, KpError *error, KpDiskSpec *ret);

/*
 * The name of domain domid as libxl wrote it (/local/domain/<domid>/name):
 * 1 with a new string in ret, 0 (ret NULL) when unknown.
 */
int kp_xl_domain_name(uint32_t domid, char **ret);
