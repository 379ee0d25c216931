/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bootcfg/bootplan.h"
#include "bootcfg/parsers.h"
#include "util/error.h"

/*
 * Where a configuration is looked for, in pygrub's order (xen's
 * tools/pygrub/src/pygrub, read_config()): GRUB 2 first, then
 * isolinux/extlinux, then GRUB legacy, each in /boot and at the top of a
 * separate /boot filesystem. syslinux.cfg, which pygrub does not read,
 * comes last, so that wherever pygrub finds a configuration kunpack reads
 * the same one.
 */
const KpBootConfigCandidate kp_boot_config_candidates[] = {
        { "/boot/grub/grub.cfg", KP_BOOT_CONFIG_GRUB2 },
        { "/grub/grub.cfg", KP_BOOT_CONFIG_GRUB2 },
        { "/boot/grub2/grub.cfg", KP_BOOT_CONFIG_GRUB2 },
        { "/grub2/grub.cfg", KP_BOOT_CONFIG_GRUB2 },
        { "/boot/isolinux/isolinux.cfg", KP_BOOT_CONFIG_EXTLINUX },
        { "/boot/extlinux/extlinux.conf", KP_BOOT_CONFIG_EXTLINUX },
        { "/boot/extlinux.conf", KP_BOOT_CONFIG_EXTLINUX },
        { "/extlinux/extlinux.conf", KP_BOOT_CONFIG_EXTLINUX },
        { "/extlinux.conf", KP_BOOT_CONFIG_EXTLINUX },
        { "/boot/grub/menu.lst", KP_BOOT_CONFIG_GRUB_LEGACY },
        { "/boot/grub/grub.conf", KP_BOOT_CONFIG_GRUB_LEGACY },
        { "/grub/menu.lst", KP_BOOT_CONFIG_GRUB_LEGACY },
        { "/grub/grub.conf", KP_BOOT_CONFIG_GRUB_LEGACY },
        { "/boot/syslinux/syslinux.cfg", KP_BOOT_CONFIG_EXTLINUX },
        { "/syslinux/syslinux.cfg", KP_BOOT_CONFIG_EXTLINUX },
        { "/boot/syslinux.cfg", KP_BOOT_CONFIG_EXTLINUX },
        { "/syslinux.cfg", KP_BOOT_CONFIG_EXTLINUX },
};

const size_t kp_boot_config_candidates_count = ELEMENTSOF(kp_boot_config_candidates);

int kp_boot_config_parse_full(KpBootConfigKind kind, const char *path, const char *data, size_t size,
                              const KpBootFs *fs, KpBootParseFlags flags, KpError *error, KpBootPlan **ret_plan)
{
        if (kind != KP_BOOT_CONFIG_NONE && !data)
                return kp_error_set(error, -EINVAL, "no configuration text given");

        switch (kind) {
        case KP_BOOT_CONFIG_GRUB2:
                return kp_grub2_parse(path, data, size, fs, flags, error, ret_plan);
        case KP_BOOT_CONFIG_GRUB_LEGACY:
                return kp_grub_legacy_parse(path, data, size, fs, error, ret_plan);
        case KP_BOOT_CONFIG_EXTLINUX:
                return kp_extlinux_parse(path, data, size, fs, error, ret_plan);
        case KP_BOOT_CONFIG_NONE:
                return kp_fallback_parse(fs, error, ret_plan);
        case KP_BOOT_CONFIG_DIRECT:
                return kp_error_set(error, -EINVAL, "a direct boot has no configuration: use kp_boot_plan_new_direct()");
        default:
                return kp_error_set(error, -EINVAL, "unknown configuration kind %d", (int) kind);
        }
}

int kp_boot_config_parse(KpBootConfigKind kind, const char *path, const char *data, size_t size, const KpBootFs *fs,
                         KpError *error, KpBootPlan **ret_plan)
{
        return kp_boot_config_parse_full(kind, path, data, size, fs, 0, error, ret_plan);
}
