/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Shared by the boot-config fuzzers: a KpBootFs in which every file
 * holds the fuzz input itself (so grubenv, BLS snippets, /boot/grub/default
 * and INCLUDEs are all hostile too), except that a sourced *.cfg is a small
 * fixed script (sourcing the input into itself 16 levels deep would only
 * make each run 16 times slower; the unit tests cover that), and every
 * directory lists two snippets and a kernel; and the checks every plan must
 * pass whatever the input.
 */

#include <stdlib.h>
#include <string.h>

#include "bootcfg/bootplan-json.h"
#include "bootcfg/bootplan.h"
#include "util/macro.h"
#include "util/strv.h"

typedef struct FuzzFs {
        const uint8_t *data;
        size_t size;
} FuzzFs;

static inline int fuzz_read_file(void *userdata, const char *path, size_t max, char **ret_data, size_t *ret_size)
{
        FuzzFs *f = userdata;
        char *d;

        /* Directories the parsers list are directories; everything else is the input. */
        if (streq(path, "/") || streq(path, "/boot") || streq(path, "/loader/entries") ||
            streq(path, "/boot/loader/entries"))
                return -EISDIR;
        if (strlen(path) > 4 && streq(path + strlen(path) - 4, ".cfg") && !strstr(path, "extlinux")) {
                static const char sourced[] = "menuentry sourced { linux /sourced $1; }\nset default=sourced\n";
                if (sizeof(sourced) - 1 > max)
                        return -EFBIG;
                d = strdup(sourced);
                if (!d)
                        return -ENOMEM;
                *ret_data = d;
                *ret_size = sizeof(sourced) - 1;
                return 0;
        }
        if (f->size > max)
                return -EFBIG;
        d = malloc(f->size + 1);
        if (!d)
                return -ENOMEM;
        memcpy(d, f->data, f->size);
        d[f->size] = '\0';
        *ret_data = d;
        *ret_size = f->size;
        return 0;
}

static inline int fuzz_list_dir(void *userdata, const char *path, char ***ret_names)
{
        char **l = NULL;

        if (strv_extend(&l, "a-1.0-1.conf") < 0 || strv_extend(&l, "b-2.0-1.conf") < 0 ||
            strv_extend(&l, "vmlinuz-1.0") < 0 || strv_extend(&l, "initrd.img-1.0") < 0) {
                strv_free(l);
                return -ENOMEM;
        }
        *ret_names = l;
        return 0;
}

/* Whatever a parser returned, the plan must hold together and survive validation and JSON. */
static inline void fuzz_check_plan(KpBootPlan *plan)
{
        _cleanup_free_ char *json = NULL, *json2 = NULL;
        KpBootPlan *back = NULL;
        KpError e = {};

        if (plan->n_entries == 0 || plan->selected >= plan->n_entries || plan->n_entries > KP_BOOTCFG_MAX_ENTRIES)
                abort();
        for (size_t i = 0; i < plan->n_entries; i++)
                if (!plan->entries[i].title || !plan->entries[i].cmdline ||
                    plan->entries[i].n_initrds > KP_BOOTCFG_MAX_INITRDS ||
                    strlen(plan->entries[i].cmdline) > KP_BOOTCFG_MAX_CMDLINE)
                        abort();
        if (kp_boot_plan_validate(plan, &e) < 0)
                return;
        /* A valid plan always has JSON, which reads back to the same JSON. */
        if (kp_boot_plan_format_json(plan, false, &json) < 0)
                abort();
        if (kp_boot_plan_from_json(json, strlen(json), &e, &back) < 0)
                abort();
        if (kp_boot_plan_format_json(back, false, &json2) < 0 || !streq(json, json2))
                abort();
        (void) kp_boot_plan_select(back, "1>0", &e);
        (void) kp_boot_plan_select(back, back->entries[0].menu_path, &e);
        kp_boot_plan_free(back);
}

static inline void fuzz_parse(KpBootConfigKind kind, const char *path, const uint8_t *data, size_t size)
{
        FuzzFs f = { data, size };
        KpBootFs fs = { .userdata = &f, .read_file = fuzz_read_file, .list_dir = fuzz_list_dir };
        KpBootPlan *plan = NULL;
        KpError e = {};

        if (kp_boot_config_parse(kind, path, (const char *) data, size, &fs, &e, &plan) >= 0) {
                fuzz_check_plan(plan);
                kp_boot_plan_free(plan);
        } else if (plan || !e.message[0])
                abort(); /* failures say why and leave nothing behind */
}
