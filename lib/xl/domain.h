/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * xl domain configuration files, read the way xl reads them (libxlutil's
 * parser, disks through xlu_disk_parse()), for kunpackd's guest registry:
 * which guests boot through kunpack-boot, with which disks, entry and mode.
 *
 * Only what kunpack needs is taken: name, bootloader, bootloader_args and
 * the disks. A file whose bootloader is not kunpack-boot is reported as
 * such (ret->kunpack false), not as an error: /etc/xen holds many other
 * files (xl.conf, scripts, HVM guests).
 */

#include <stdbool.h>

#include "guest/diskspec.h"
#include "kunpack.h"
#include "util/macro.h"

/* Domain configs are a few hundred bytes; xl itself reads them whole. This is a thousand times that. */
#define KP_DOMAIN_CONFIG_MAX_SIZE (256 * 1024)
/* Disks of one guest: xl's vdev namespace (xvda..xvdzz) is far larger, real guests have a handful. */
#define KP_DOMAIN_MAX_DISKS 64

typedef struct KpDomainConfig {
        char *path;             /* the file read */
        char *name;             /* xl's name = "..." */
        bool kunpack;           /* bootloader names kunpack-boot */
        char *bootloader;
        char *entry;            /* --entry= from bootloader_args, or NULL */
        char *mode;             /* --mode= from bootloader_args, or NULL (direct) */
        char *config;           /* --config= from bootloader_args, or NULL */
        KpDiskSpec *disks;      /* in the config's order, CD-ROMs left out */
        size_t n_disks;
} KpDomainConfig;

KpDomainConfig *kp_domain_config_free(KpDomainConfig *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(KpDomainConfig *, kp_domain_config_free);

/*
 * Whether a file name in a domain config directory is not a domain config:
 * editor backups, package manager leftovers and hidden files.
 */
bool kp_domain_config_name_ignored(const char *name);

/* Whether a bootloader = "..." value is kunpack-boot: the bare name or any path ending in /kunpack-boot. */
bool kp_domain_bootloader_is_kunpack(const char *bootloader);

/*
 * Parses an xl domain config (at most KP_DOMAIN_CONFIG_MAX_SIZE bytes).
 * Errors carry "FILE: reason" (libxlutil's "FILE:LINE: ..." for syntax):
 * -EINVAL for a syntax error, a kunpack guest without a name or disk, a
 * disk spec xl would refuse, or a disk format kunpack cannot read
 * (-EOPNOTSUPP). For files whose bootloader is something else only the
 * name is required to be readable; their disks are not looked at.
 */
int kp_domain_config_load(const char *path, KpError *error, KpDomainConfig **ret);
int kp_domain_config_parse(const char *path, const char *text, size_t size, KpError *error, KpDomainConfig **ret);
