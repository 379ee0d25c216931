/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The registry (registry.c): the guests kunpackd found in the xl domain
 * configs it reads, their disks, and the disks Prepare calls named.
 */

#include "daemon/manager.h"

int registry_load(Manager *m);
Guest *registry_find_guest(Manager *m, const char *name);
Disk *registry_find_disk(Manager *m, const char *path, const char *request_key);
int registry_disk_for_request(Manager *m, const KpDiskSpec *specs, size_t n_specs, const char *entry,
                              const char *kernel, const char *ramdisk, KpError *error, Disk **ret);
Guest *registry_guest_for_disk(Manager *m, Disk *d);
/* A guest for a disk only Prepare named: called domain_name when given and free, else after the disk's file. */
int registry_add_prepare_guest(Manager *m, Disk *d, const char *domain_name);
const char *disk_display_name(Manager *m, Disk *d);
void registry_free(Manager *m);
bool disk_is_vouched(Manager *m, Disk *d);
