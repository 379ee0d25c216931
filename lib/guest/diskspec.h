/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One disk of a guest as an admin names it: a file or block device and the
 * format of its contents. The format is always explicit when the disk is
 * handed to qemu: letting qemu probe a guest-writable image is how a guest
 * turns its raw disk into a qcow2 header pointing at a host file
 * (CVE-2008-2004), so a disk without a format is raw, as in xl.
 */

#include "kunpack.h"
#include "util/macro.h"

typedef enum KpDiskFormat {
        KP_DISK_FORMAT_RAW = 0,
        KP_DISK_FORMAT_QCOW2,
        _KP_DISK_FORMAT_MAX,
} KpDiskFormat;

/* "raw", "qcow2" (the names qemu and xl use). */
const char *kp_disk_format_to_string(KpDiskFormat format);
/* -EOPNOTSUPP for formats xl knows but the inspection does not read (vhd, qcow, qed). */
int kp_disk_format_from_string(const char *s, KpError *error, KpDiskFormat *ret);

typedef struct KpDiskSpec {
        char *path;            /* on the host: an image file or a block device */
        KpDiskFormat format;
} KpDiskSpec;

/*
 * Parses the xl-like disk spec "PATH[,format=raw|qcow2]". The keys of xl's
 * disk syntax that do not change what is read (vdev=, access=, devtype=disk,
 * backendtype=) are accepted and ignored; "target=" takes the rest of the
 * string as the path, commas included, as in xl. Anything that names a
 * disk we cannot read as a plain file (script=, devtype=cdrom, an unknown
 * key) is refused with -EINVAL.
 */
int kp_disk_spec_parse(const char *spec, KpError *error, KpDiskSpec *ret);

void kp_disk_spec_done(KpDiskSpec *disk);
/* Frees n specs and the array. Returns NULL. */
KpDiskSpec *kp_disk_specs_free(KpDiskSpec *disks, size_t n);
