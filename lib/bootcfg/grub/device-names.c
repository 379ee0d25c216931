/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "util/grow.h"
#include "bootcfg/grub/interp.h"
#include "bootcfg/guest-path.h"
#include "bootcfg/text.h"
#include "util/error.h"

/*
 * GRUB names devices ("hd0,msdos1", "xen/xvda,gpt2") and keeps the name in
 * $root; `search` picks one by UUID, label or file. The device a guest's
 * GRUB would find cannot be known here, so the evaluator names what a
 * search found after what it searched for ("kp-uuid:<uuid>") and keeps the
 * meaning in a table: a name read back from a variable, in "($root)/..."
 * or "($boot)/...", gets its KpDeviceSpec from there.
 */

void grub_file_ref_done(GrubFileRef *f)
{
        kp_device_spec_done(&f->spec);
        free(f->device_name);
        free(f->path);
        *f = (GrubFileRef) {};
}

/* What a device's spec value holds, as the memory budget counts it. */
static size_t spec_cost(const KpDeviceSpec *spec)
{
        return spec->value ? grub_alloc_cost(strlen(spec->value) + 1) : 0;
}

int grub_interp_add_device(GrubInterp *in, const char *name, const KpDeviceSpec *spec, bool is_config_fs)
{
        size_t len = strlen(name), cost;
        GrubDevice *n;
        int r;

        in->lookups += in->n_devices;
        for (size_t i = 0; i < in->n_devices; i++)
                if (grub_interp_name_eq(in, in->devices[i].name, in->devices[i].name_len, name, len)) {
                        size_t old = spec_cost(&in->devices[i].spec);
                        r = grub_interp_hold(in, spec_cost(spec));
                        if (r < 0)
                                return r;
                        r = kp_device_spec_copy(spec, &in->devices[i].spec);
                        if (r < 0)
                                return r;
                        grub_interp_release(in, old);
                        in->devices[i].is_config_fs = is_config_fs;
                        return 0;
                }
        if (in->over_budget < 0)
                return in->over_budget;
        if (in->n_devices >= GRUB_MAX_DEVICES)
                return kp_error_set(in->error, -E2BIG, "%s: more than %d devices searched for", in->config_path,
                                    GRUB_MAX_DEVICES);
        cost = 2 * sizeof(GrubDevice) + grub_alloc_cost(len + 1) + spec_cost(spec);
        r = grub_interp_hold(in, cost);
        if (r < 0)
                return r;
        n = kp_grow(in->devices, in->n_devices, sizeof(GrubDevice));
        if (!n)
                return -ENOMEM;
        in->devices = n;
        n = &in->devices[in->n_devices];
        *n = (GrubDevice) { .name = strdup(name), .name_len = len, .is_config_fs = is_config_fs };
        if (!n->name)
                return -ENOMEM;
        r = kp_device_spec_copy(spec, &n->spec);
        if (r < 0) {
                free(n->name);
                return r;
        }
        in->n_devices++;
        return 0;
}

int grub_interp_device_spec(GrubInterp *in, const char *name, KpDeviceSpec *ret, bool *ret_is_config_fs)
{
        size_t len = strlen(name);
        char *v;

        in->lookups += in->n_devices;
        for (size_t i = 0; i < in->n_devices; i++)
                if (grub_interp_name_eq(in, in->devices[i].name, in->devices[i].name_len, name, len)) {
                        *ret_is_config_fs = in->devices[i].is_config_fs;
                        return kp_device_spec_copy(&in->devices[i].spec, ret);
                }

        if (len >= 2 && name[0] == '(' && name[len - 1] == ')')
                name++, len -= 2;
        if (len == 0) {
                /* $root unset or empty: GRUB would fail to open the file; assume the config's filesystem. */
                kp_device_spec_done(ret);
                *ret_is_config_fs = true;
                return 0;
        }
        v = strndup(name, len);
        if (!v)
                return -ENOMEM;
        kp_device_spec_done(ret);
        *ret = (KpDeviceSpec) { .kind = KP_DEVICE_GRUB, .value = v };
        *ret_is_config_fs = false;
        return 0;
}

int grub_interp_resolve_file(GrubInterp *in, const char *arg, GrubFileRef *ret)
{
        _cleanup_(grub_file_ref_done) GrubFileRef f = {};
        const char *rest;
        int r;

        if (arg[0] == '(') {
                size_t best = 0;

                /* The longest known name that fits: a label may hold ')'. */
                in->lookups += in->n_devices;
                for (size_t i = 0; i < in->n_devices; i++) {
                        size_t n = in->devices[i].name_len;
                        if (n <= best || grub_interp_charge(in, n) < 0)
                                continue;
                        if (strncmp(arg + 1, in->devices[i].name, n) == 0 && arg[1 + n] == ')')
                                best = n;
                }
                if (in->over_budget < 0)
                        return in->over_budget;
                if (best == 0) {
                        const char *close = strchr(arg, ')');
                        if (!close)
                                return -EINVAL;
                        best = (size_t) (close - arg - 1);
                }
                f.device_name = strndup(arg + 1, best);
                rest = arg + best + 2;
        } else {
                f.device_name = strdup(grub_interp_get(in, "root") ?: "");
                rest = arg;
        }
        if (!f.device_name)
                return -ENOMEM;

        r = grub_interp_device_spec(in, f.device_name, &f.spec, &f.is_config_fs);
        if (r < 0)
                return r;

        if (rest[0] == '/') {
                r = kp_guest_path_resolve(NULL, rest, &f.path);
                if (r == -E2BIG)
                        return r;
                if (r < 0)
                        return r;
        } else {
                f.path = strdup(rest);
                if (!f.path)
                        return -ENOMEM;
        }
        *ret = f;
        f = (GrubFileRef) {};
        return 0;
}

int grub_interp_probe_file(GrubInterp *in, unsigned line, const char *arg, GrubFileFacts *ret)
{
        _cleanup_(grub_file_ref_done) GrubFileRef f = {};
        _cleanup_free_ char *shown = NULL;
        KpFileKind kind;
        int r;

        *ret = (GrubFileFacts) {};
        r = grub_interp_resolve_file(in, arg, &f);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || f.path[0] != '/')
                return 1; /* GRUB cannot open it either */

        shown = kp_text_escape_short(arg);
        if (!f.is_config_fs) {
                grub_interp_warn(in, line, "cannot look at \"%s\": not on the configuration's filesystem; taken as absent",
                                 shown ?: "?");
                return 0;
        }
        r = kp_boot_fs_probe(in->reader, f.path, in->error, &kind);
        if (r == -E2BIG)
                return kp_error_prefix(in->error, r, "%s:%u", in->file, line);
        if (r < 0) {
                grub_interp_warn(in, line, "cannot look at \"%s\"%s; taken as absent", shown ?: "?",
                                 r == -ENODEV ? ": no filesystem to read" : "");
                return 0;
        }
        ret->exists = kind != KP_FILE_MISSING;
        ret->is_dir = kind == KP_FILE_DIRECTORY;
        ret->non_empty = kind == KP_FILE_NON_EMPTY;
        return 1;
}

int grub_interp_read_file(GrubInterp *in, unsigned line, const char *arg, char **ret_path, char **ret_data,
                          size_t *ret_size)
{
        _cleanup_(grub_file_ref_done) GrubFileRef f = {};
        int r;

        r = grub_interp_resolve_file(in, arg, &f);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || f.path[0] != '/')
                return -ENOENT;
        if (!f.is_config_fs)
                return -EREMOTE;

        r = kp_boot_fs_read(in->reader, f.path, in->error, ret_data, ret_size);
        if (r == -ENOENT)
                return r;
        if (r < 0)
                return kp_error_prefix(in->error, r, "%s:%u", in->file, line);
        *ret_path = TAKE_PTR(f.path);
        return 0;
}
