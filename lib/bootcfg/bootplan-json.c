/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <yajl/yajl_tree.h>

#include "bootcfg/bootplan-internal.h"
#include "bootcfg/bootplan-json.h"
#include "util/json.h"
#include "util/error.h"
#include "util/strv.h"

/* ---- writing ---- */

#define CHECK(expr)                                                                                        \
        do {                                                                                               \
                if ((expr) != yajl_gen_status_ok)                                                          \
                        return -EINVAL;                                                                    \
        } while (0)

static int gen_string(yajl_gen g, const char *s)
{
        if (!s)
                CHECK(yajl_gen_null(g));
        else
                CHECK(yajl_gen_string(g, (const unsigned char *) s, strlen(s)));
        return 0;
}

static int gen_key(yajl_gen g, const char *k)
{
        return gen_string(g, k);
}

static int gen_file_info(yajl_gen g, const KpFileInfo *f)
{
        CHECK(yajl_gen_map_open(g));
        if (gen_key(g, "path") < 0 || gen_string(g, f->path) < 0 || gen_key(g, "device") < 0 ||
            gen_string(g, f->device) < 0 || gen_key(g, "size") < 0)
                return -EINVAL;
        if (f->have_info)
                CHECK(yajl_gen_integer(g, (long long) f->size));
        else
                CHECK(yajl_gen_null(g));
        if (gen_key(g, "sha256") < 0 || gen_string(g, f->have_info ? f->sha256 : NULL) < 0)
                return -EINVAL;
        CHECK(yajl_gen_map_close(g));
        return 0;
}

static int gen_entry(yajl_gen g, const KpBootEntry *e, size_t index)
{
        const KpFileInfo *k = &e->kernel;
        bool info = k->path && k->have_info;

        CHECK(yajl_gen_map_open(g));
        if (gen_key(g, "index") < 0)
                return -EINVAL;
        CHECK(yajl_gen_integer(g, (long long) index));
        if (gen_key(g, "title") < 0 || gen_string(g, e->title) < 0 || gen_key(g, "menu_path") < 0 ||
            gen_string(g, e->menu_path) < 0 || gen_key(g, "id") < 0 || gen_string(g, e->id) < 0 ||
            gen_key(g, "kernel") < 0 || gen_string(g, k->path) < 0 || gen_key(g, "initrds") < 0)
                return -EINVAL;
        CHECK(yajl_gen_array_open(g));
        for (size_t i = 0; i < e->n_initrds; i++)
                if (gen_string(g, e->initrds[i].path) < 0)
                        return -EINVAL;
        CHECK(yajl_gen_array_close(g));
        if (gen_key(g, "cmdline") < 0 || gen_string(g, e->cmdline ?: "") < 0 || gen_key(g, "format") < 0 ||
            gen_string(g, info ? kp_format_to_string(k->format) : NULL) < 0 || gen_key(g, "size") < 0)
                return -EINVAL;
        if (info)
                CHECK(yajl_gen_integer(g, (long long) k->size));
        else
                CHECK(yajl_gen_null(g));
        if (gen_key(g, "sha256") < 0 || gen_string(g, info ? k->sha256 : NULL) < 0)
                return -EINVAL;

        if (gen_key(g, "root") < 0)
                return -EINVAL;
        CHECK(yajl_gen_map_open(g));
        if (gen_key(g, "kind") < 0 || gen_string(g, kp_device_kind_to_string(e->root.kind)) < 0 ||
            gen_key(g, "value") < 0 || gen_string(g, e->root.value) < 0)
                return -EINVAL;
        CHECK(yajl_gen_map_close(g));
        if (gen_key(g, "kernel_device") < 0 || gen_string(g, k->device) < 0 || gen_key(g, "initrd_files") < 0)
                return -EINVAL;
        CHECK(yajl_gen_array_open(g));
        for (size_t i = 0; i < e->n_initrds; i++)
                if (gen_file_info(g, &e->initrds[i]) < 0)
                        return -EINVAL;
        CHECK(yajl_gen_array_close(g));
        CHECK(yajl_gen_map_close(g));
        return 0;
}

int kp_boot_plan_to_json(const KpBootPlan *plan, yajl_gen g)
{
        const KpBootEntry *sel = kp_boot_plan_selected(plan);

        CHECK(yajl_gen_map_open(g));
        if (gen_key(g, "selected") < 0)
                return -EINVAL;
        if (sel) {
                if (gen_entry(g, sel, plan->selected) < 0)
                        return -EINVAL;
        } else
                CHECK(yajl_gen_null(g));

        if (gen_key(g, "entries") < 0)
                return -EINVAL;
        CHECK(yajl_gen_array_open(g));
        for (size_t i = 0; i < plan->n_entries; i++)
                if (gen_entry(g, &plan->entries[i], i) < 0)
                        return -EINVAL;
        CHECK(yajl_gen_array_close(g));

        if (gen_key(g, "config") < 0)
                return -EINVAL;
        CHECK(yajl_gen_map_open(g));
        if (gen_key(g, "file") < 0 || gen_string(g, plan->config_path) < 0 || gen_key(g, "filesystem") < 0 ||
            gen_string(g, plan->config_device) < 0 || gen_key(g, "kind") < 0 ||
            gen_string(g, kp_boot_config_kind_to_string(plan->kind)) < 0)
                return -EINVAL;
        CHECK(yajl_gen_map_close(g));

        if (gen_key(g, "reason") < 0 || gen_string(g, kp_select_reason_to_string(plan->reason)) < 0 ||
            gen_key(g, "reason_detail") < 0 || gen_string(g, plan->reason_detail) < 0 ||
            gen_key(g, "warnings") < 0)
                return -EINVAL;
        CHECK(yajl_gen_array_open(g));
        STRV_FOREACH(w, plan->warnings)
                if (gen_string(g, *w) < 0)
                        return -EINVAL;
        CHECK(yajl_gen_array_close(g));
        CHECK(yajl_gen_map_close(g));
        return 0;
}

int kp_boot_plan_format_json(const KpBootPlan *plan, bool pretty, char **ret)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        const unsigned char *buf;
        size_t len;
        char *s;
        int r;

        g = yajl_gen_alloc(NULL);
        if (!g)
                return -ENOMEM;
        (void) yajl_gen_config(g, yajl_gen_validate_utf8, 1);
        if (pretty) {
                (void) yajl_gen_config(g, yajl_gen_beautify, 1);
                (void) yajl_gen_config(g, yajl_gen_indent_string, "  ");
        }
        r = kp_boot_plan_to_json(plan, g);
        if (r < 0)
                return r;
        if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
                return -EINVAL;
        s = strndup((const char *) buf, len);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* ---- reading ---- */

/* yajl frees trees recursively: refuse deep nesting before it builds one. */
static int check_depth(const char *text, size_t size, KpError *error)
{
        unsigned depth = 0;
        bool in_string = false;

        for (size_t i = 0; i < size; i++) {
                char c = text[i];
                if (in_string) {
                        if (c == '\\')
                                i++;
                        else if (c == '"')
                                in_string = false;
                        continue;
                }
                if (c == '"')
                        in_string = true;
                else if (c == '[' || c == '{') {
                        if (++depth > KP_BOOTPLAN_JSON_MAX_DEPTH)
                                return kp_error_set(error, -EBADMSG, "plan JSON nested deeper than %d levels",
                                                    KP_BOOTPLAN_JSON_MAX_DEPTH);
                } else if ((c == ']' || c == '}') && depth > 0)
                        depth--;
        }
        return 0;
}

static yajl_val get(yajl_val obj, const char *key)
{
        if (!YAJL_IS_OBJECT(obj))
                return NULL;
        for (size_t i = 0; i < obj->u.object.len; i++)
                if (streq(obj->u.object.keys[i], key))
                        return obj->u.object.values[i];
        return NULL;
}

/* A string or null member: *ret is a copy or NULL. */
static int get_string(yajl_val obj, const char *key, bool nullable, size_t max, KpError *error, char **ret)
{
        yajl_val v = get(obj, key);
        char *s;

        if ((!v || YAJL_IS_NULL(v)) && nullable) {
                *ret = NULL;
                return 0;
        }
        if (!v || !YAJL_IS_STRING(v))
                return kp_error_set(error, -EBADMSG, "plan JSON: \"%s\" is missing or not a string", key);
        if (strlen(v->u.string) > max)
                return kp_error_set(error, -E2BIG, "plan JSON: \"%s\" longer than %zu bytes", key, max);
        s = strdup(v->u.string);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int get_u64(yajl_val obj, const char *key, bool *ret_have, uint64_t *ret, KpError *error)
{
        yajl_val v = get(obj, key);

        if (!v || YAJL_IS_NULL(v)) {
                *ret_have = false;
                return 0;
        }
        if (!YAJL_IS_INTEGER(v) || v->u.number.i < 0)
                return kp_error_set(error, -EBADMSG, "plan JSON: \"%s\" is not a non-negative integer", key);
        *ret_have = true;
        *ret = (uint64_t) v->u.number.i;
        return 0;
}

static int get_sha256(yajl_val obj, KpError *error, bool *ret_have, char ret[static 65])
{
        yajl_val v = get(obj, "sha256");

        if (!v || YAJL_IS_NULL(v)) {
                *ret_have = false;
                return 0;
        }
        if (!YAJL_IS_STRING(v) || strlen(v->u.string) != 64 || strspn(v->u.string, "0123456789abcdef") != 64)
                return kp_error_set(error, -EBADMSG, "plan JSON: \"sha256\" is not 64 lowercase hex digits");
        memcpy(ret, v->u.string, 65);
        *ret_have = true;
        return 0;
}

static int read_file_info(yajl_val v, KpFileInfo *f, KpError *error)
{
        bool have_size, have_sha;
        int r;

        if (!YAJL_IS_OBJECT(v))
                return kp_error_set(error, -EBADMSG, "plan JSON: an initrd file is not an object");
        r = get_string(v, "device", true, KP_BOOTCFG_MAX_PATH, error, &f->device);
        if (r < 0)
                return r;
        r = get_u64(v, "size", &have_size, &f->size, error);
        if (r < 0)
                return r;
        r = get_sha256(v, error, &have_sha, f->sha256);
        if (r < 0)
                return r;
        f->have_info = have_size && have_sha;
        return 0;
}

static int read_entry(yajl_val v, KpBootEntry *e, KpError *error)
{
        yajl_val initrds, files, root;
        _cleanup_free_ char *format = NULL, *root_kind = NULL;
        bool have_size, have_sha;
        int r;

        if (!YAJL_IS_OBJECT(v))
                return kp_error_set(error, -EBADMSG, "plan JSON: an entry is not an object");
        if ((r = get_string(v, "title", false, KP_BOOTCFG_MAX_TITLE, error, &e->title)) < 0 ||
            (r = get_string(v, "menu_path", true, KP_BOOTCFG_MAX_MENU_PATH, error, &e->menu_path)) < 0 ||
            (r = get_string(v, "id", true, KP_BOOTCFG_MAX_TITLE, error, &e->id)) < 0 ||
            (r = get_string(v, "kernel", true, KP_BOOTCFG_MAX_PATH, error, &e->kernel.path)) < 0 ||
            (r = get_string(v, "cmdline", false, KP_BOOTCFG_MAX_CMDLINE, error, &e->cmdline)) < 0 ||
            (r = get_string(v, "format", true, 32, error, &format)) < 0 ||
            (r = get_string(v, "kernel_device", true, KP_BOOTCFG_MAX_PATH, error, &e->kernel.device)) < 0)
                return r;

        r = get_u64(v, "size", &have_size, &e->kernel.size, error);
        if (r < 0)
                return r;
        r = get_sha256(v, error, &have_sha, e->kernel.sha256);
        if (r < 0)
                return r;
        e->kernel.have_info = e->kernel.path && have_size && have_sha;
        if (format) {
                e->kernel.format = kp_format_from_string(format);
                if (e->kernel.format == KP_FORMAT_UNKNOWN && !streq(format, "unknown"))
                        return kp_error_set(error, -EBADMSG, "plan JSON: unknown kernel format");
        }

        root = get(v, "root");
        if (root && !YAJL_IS_NULL(root)) {
                r = get_string(root, "kind", false, 16, error, &root_kind);
                if (r < 0)
                        return r;
                if (kp_device_kind_from_string(root_kind, &e->root.kind) < 0)
                        return kp_error_set(error, -EBADMSG, "plan JSON: unknown device kind");
                r = get_string(root, "value", true, KP_BOOTCFG_MAX_PATH, error, &e->root.value);
                if (r < 0)
                        return r;
        }

        initrds = get(v, "initrds");
        if (!YAJL_IS_ARRAY(initrds))
                return kp_error_set(error, -EBADMSG, "plan JSON: \"initrds\" is missing or not a list");
        if (initrds->u.array.len > KP_BOOTCFG_MAX_INITRDS)
                return kp_error_set(error, -E2BIG, "plan JSON: more than %d initrds", KP_BOOTCFG_MAX_INITRDS);
        files = get(v, "initrd_files");
        if (files && !YAJL_IS_NULL(files) && (!YAJL_IS_ARRAY(files) || files->u.array.len != initrds->u.array.len))
                return kp_error_set(error, -EBADMSG, "plan JSON: \"initrd_files\" does not match \"initrds\"");
        for (size_t i = 0; i < initrds->u.array.len; i++) {
                yajl_val p = initrds->u.array.values[i];
                if (!YAJL_IS_STRING(p) || strlen(p->u.string) > KP_BOOTCFG_MAX_PATH)
                        return kp_error_set(error, -EBADMSG, "plan JSON: an initrd is not a path");
                r = kp_boot_entry_add_initrd(e, p->u.string);
                if (r < 0)
                        return r;
                if (files && YAJL_IS_ARRAY(files)) {
                        r = read_file_info(files->u.array.values[i], &e->initrds[i], error);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int kp_boot_plan_from_json(const char *text, size_t size, KpError *error, KpBootPlan **ret)
{
        _cleanup_(yajl_tree_freep) yajl_val root = NULL;
        _cleanup_free_ char *copy = NULL;
        char errbuf[256] = "";
        int r;

        if (size > KP_BOOTPLAN_JSON_MAX)
                return kp_error_set(error, -EFBIG, "plan JSON of %zu bytes exceeds the limit of %d bytes", size,
                                    KP_BOOTPLAN_JSON_MAX);
        if (memchr(text, '\0', size))
                return kp_error_set(error, -EBADMSG, "plan JSON holds a NUL byte");
        r = check_depth(text, size, error);
        if (r < 0)
                return r;
        copy = strndup(text, size);
        if (!copy)
                return -ENOMEM;
        root = yajl_tree_parse(copy, errbuf, sizeof(errbuf));
        if (!root) {
                errbuf[strcspn(errbuf, "\n")] = '\0';
                return kp_error_set(error, -EBADMSG, "plan JSON: %s", errbuf[0] ? errbuf : "parse error");
        }
        return kp_boot_plan_from_json_value(root, error, ret);
}

int kp_boot_plan_from_json_value(yajl_val root, KpError *error, KpBootPlan **ret)
{
        _cleanup_(kp_boot_plan_freep) KpBootPlan *plan = NULL;
        _cleanup_free_ char *kind = NULL, *reason = NULL;
        yajl_val config, entries, selected, warnings, idx;
        int r;

        if (!YAJL_IS_OBJECT(root))
                return kp_error_set(error, -EBADMSG, "plan JSON is not an object");

        config = get(root, "config");
        if (!YAJL_IS_OBJECT(config))
                return kp_error_set(error, -EBADMSG, "plan JSON: \"config\" is missing or not an object");
        r = get_string(config, "kind", false, 32, error, &kind);
        if (r < 0)
                return r;
        KpBootConfigKind k;
        if (kp_boot_config_kind_from_string(kind, &k) < 0)
                return kp_error_set(error, -EBADMSG, "plan JSON: unknown configuration kind");
        plan = kp_boot_plan_new(k);
        if (!plan)
                return -ENOMEM;
        if ((r = get_string(config, "file", true, KP_BOOTCFG_MAX_PATH, error, &plan->config_path)) < 0 ||
            (r = get_string(config, "filesystem", true, KP_BOOTCFG_MAX_PATH, error, &plan->config_device)) < 0 ||
            (r = get_string(root, "reason", false, 32, error, &reason)) < 0 ||
            (r = get_string(root, "reason_detail", true, KP_BOOTCFG_MAX_MENU_PATH, error, &plan->reason_detail)) < 0)
                return r;
        if (kp_select_reason_from_string(reason, &plan->reason) < 0)
                return kp_error_set(error, -EBADMSG, "plan JSON: unknown reason");

        entries = get(root, "entries");
        if (!YAJL_IS_ARRAY(entries))
                return kp_error_set(error, -EBADMSG, "plan JSON: \"entries\" is missing or not a list");
        if (entries->u.array.len > KP_BOOTCFG_MAX_ENTRIES)
                return kp_error_set(error, -E2BIG, "plan JSON: more than %d entries", KP_BOOTCFG_MAX_ENTRIES);
        for (size_t i = 0; i < entries->u.array.len; i++) {
                KpBootEntry e = {};
                r = read_entry(entries->u.array.values[i], &e, error);
                if (r >= 0)
                        r = kp_boot_plan_take_entry(plan, &e);
                if (r < 0) {
                        kp_boot_entry_done(&e);
                        if (r == -ENOSPC)
                                return kp_error_set(error, -E2BIG, "plan JSON: " KP_BOOTCFG_PLAN_TEXT_MESSAGE,
                                                    KP_BOOTCFG_MAX_PLAN_TEXT);
                        return r;
                }
        }

        selected = get(root, "selected");
        if (selected && !YAJL_IS_NULL(selected)) {
                idx = get(selected, "index");
                if (!YAJL_IS_INTEGER(idx) || idx->u.number.i < 0 || (size_t) idx->u.number.i >= plan->n_entries)
                        return kp_error_set(error, -EBADMSG, "plan JSON: \"selected\" has no valid \"index\"");
                plan->selected = (size_t) idx->u.number.i;
        } else if (plan->n_entries > 0)
                return kp_error_set(error, -EBADMSG, "plan JSON: entries but nothing selected");

        warnings = get(root, "warnings");
        if (warnings && !YAJL_IS_NULL(warnings)) {
                if (!YAJL_IS_ARRAY(warnings) || warnings->u.array.len > KP_BOOTCFG_MAX_WARNINGS)
                        return kp_error_set(error, -EBADMSG, "plan JSON: \"warnings\" is not a list of at most %d",
                                            KP_BOOTCFG_MAX_WARNINGS);
                for (size_t i = 0; i < warnings->u.array.len; i++) {
                        yajl_val w = warnings->u.array.values[i];
                        if (!YAJL_IS_STRING(w) || strlen(w->u.string) > KP_BOOTCFG_MAX_MENU_PATH)
                                return kp_error_set(error, -EBADMSG, "plan JSON: a warning is not a string");
                        r = strv_extend(&plan->warnings, w->u.string);
                        if (r < 0)
                                return r;
                }
        }
        *ret = TAKE_PTR(plan);
        return 0;
}
