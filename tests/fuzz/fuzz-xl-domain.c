/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzzes the xl domain config reader (lib/xl/domain.c): libxlutil's
 * parser, its disk-spec parser, and what kunpack takes from them (name,
 * bootloader, bootloader_args, disks). kunpackd reads every file in
 * domain_config_dirs with it. Whatever the bytes, a file is refused with
 * a message or read into a config that holds what the registry relies on:
 * a guest booted by kunpack-boot has a name and one to KP_DOMAIN_MAX_DISKS
 * disks, each with a path and a format kunpack reads; any other file has
 * no disks.
 */
#include <string.h>

#include "guest/diskspec.h"
#include "util/error.h"
#include "xl/domain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * libxlutil leaks the values of statements it drops while recovering from
 * a syntax error (tests/fuzz/settings-xlutil.c says more), and libxenlight
 * what its disk parser kept of a refused spec: not ours to fix.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
        return "leak:libxlutil.so\nleak:libxenlight.so\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(kp_domain_config_freep) KpDomainConfig *c = NULL;
        KpError e = {};

        if (size > KP_DOMAIN_CONFIG_MAX_SIZE)
                return 0;
        if (kp_domain_config_parse("/etc/xen/fuzz.cfg", (const char *) data, size, &e, &c) < 0) {
                if (c || !e.message[0])
                        abort(); /* refusals say why and leave nothing behind */
                return 0;
        }
        if (!c || !streq(c->path, "/etc/xen/fuzz.cfg") || c->kunpack != kp_domain_bootloader_is_kunpack(c->bootloader))
                abort();
        if (!c->kunpack) {
                if (c->n_disks != 0 || c->entry || c->mode || c->config)
                        abort();
                return 0;
        }
        if (!c->name || !*c->name || c->n_disks < 1 || c->n_disks > KP_DOMAIN_MAX_DISKS)
                abort();
        for (size_t i = 0; i < c->n_disks; i++)
                if (!c->disks[i].path || !*c->disks[i].path || !kp_disk_format_to_string(c->disks[i].format))
                        abort();
        return 0;
}
