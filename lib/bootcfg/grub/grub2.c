/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "bootcfg/parsers.h"
#include "bootcfg/grub/interp.h"
#include "bootcfg/menu.h"
#include "bootcfg/text.h"
#include "util/error.h"

/*
 * grub.cfg to boot plan: run the config as GRUB would (interp.h),
 * then each entry's body on its own copy of the variables, entering
 * submenus as GRUB does, and finally read `default` as run_menu() does.
 *
 * Where emulating pvgrub2 exactly would defeat the guest's intent, the
 * guest's own GRUB is emulated instead, on the Xen platform:
 *   - $prefix is the config's directory, not pvgrub2's (memdisk)/boot/grub,
 *     so grubenv (saved_entry, next_entry, kernelopts) is read as the
 *     guest's tools meant it;
 *   - linux16/linuxefi and initrd16/initrdefi load like linux/initrd;
 *   - a config that runs blscfg is Fedora's, and Fedora's GRUB reads
 *     `default` ids first (menu.h).
 * Functions run like any other commands (bounded): Ubuntu's `gfxmode
 * $linux_gfx_mode` in an entry sets vt_handoff=vt.handoff=7 when
 * linux_gfx_mode is "keep", which it is on any non-pc platform unless
 * grubenv has recordfail=1, so "$vt_handoff" becomes what GRUB passes.
 */

static void nodes_free(KpMenuNode *nodes, size_t n)
{
        for (size_t i = 0; i < n; i++)
                kp_menu_node_done(&nodes[i]);
        free(nodes);
}

static int eval_entry(GrubInterp *in, const GrubMenuItem *item, const GrubEnv *ctx, const char *prefix,
                      KpBootEntry *ret)
{
        GrubEnv *env = NULL, *saved_env = in->env;
        GrubBoot *saved_boot = in->boot;
        const char *saved_file = in->file;
        unsigned saved_line = in->line;
        GrubBoot boot = {};
        GrubSaved saved = {};
        KpBootEntry e = {};
        int r = 0;

        /* The copy of the variables is charged to the entry's line in its own file. */
        in->file = item->file;
        in->line = item->line;
        r = grub_interp_env_copy(in, ctx, false, &env);
        if (r >= 0) {
                r = grub_interp_save(in, &saved);
                if (r < 0)
                        grub_interp_env_drop(in, env);
        }
        if (r < 0) {
                in->file = saved_file;
                in->line = saved_line;
                return r;
        }

        in->env = env;
        in->boot = &boot;
        if (item->body)
                r = grub_interp_run_with_params(in, item->body, item->params, item->n_params);
        grub_interp_restore(in, &saved);
        grub_interp_env_drop(in, env);
        in->env = saved_env;
        in->boot = saved_boot;
        in->file = saved_file;
        in->line = saved_line;
        if (r < 0) {
                grub_boot_done(&boot);
                return r;
        }

        e.title = strdup(item->title);
        e.id = item->id ? strdup(item->id) : NULL;
        e.menu_path = kp_menu_path_append(prefix, item->title);
        if (!e.title || (item->id && !e.id) || !e.menu_path)
                goto nomem;
        if (boot.have_kernel) {
                e.kernel.path = TAKE_PTR(boot.kernel);
                e.kernel_span = boot.kernel_span;
                e.root = boot.kernel_spec;
                boot.kernel_spec = (KpDeviceSpec) {};
                e.cmdline = TAKE_PTR(boot.cmdline);
                for (size_t i = 0; i < boot.n_initrds; i++) {
                        r = kp_boot_entry_add_initrd(&e, boot.initrds[i]);
                        if (r < 0)
                                goto fail;
                }
        } else
                e.cmdline = strdup("");
        if (!e.cmdline)
                goto nomem;
        grub_boot_done(&boot);
        *ret = e;
        return 0;
nomem:
        r = -ENOMEM;
fail:
        grub_boot_done(&boot);
        kp_boot_entry_done(&e);
        return r;
}

/* What a menu node holds, as the memory budget counts it (kept until the plan is done). */
static size_t node_cost(const GrubMenuItem *item)
{
        return 2 * sizeof(KpMenuNode) + grub_alloc_cost(strlen(item->title) + 1) +
               (item->id ? grub_alloc_cost(strlen(item->id) + 1) : 0);
}

static int build_level(GrubInterp *in, GrubMenu *menu, GrubEnv *ctx, const char *prefix, unsigned depth,
                       KpBootPlan *plan, KpMenuNode **ret_nodes, size_t *ret_n)
{
        const char *saved_file = in->file;
        unsigned saved_line = in->line;
        KpMenuNode *nodes = NULL;
        size_t n_nodes = 0;
        int r = 0;

        for (size_t i = 0; i < menu->n_items; i++) {
                const GrubMenuItem *item = &menu->items[i];
                KpMenuNode *node;

                in->file = item->file;
                in->line = item->line;
                r = grub_interp_hold(in, node_cost(item));
                if (r < 0)
                        break;
                node = kp_menu_level_append(&nodes, &n_nodes);
                if (!node || !(node->title = strdup(item->title)) || (item->id && !(node->id = strdup(item->id)))) {
                        r = -ENOMEM;
                        break;
                }

                if (!item->submenu) {
                        KpBootEntry e = {};

                        r = eval_entry(in, item, ctx, prefix, &e);
                        if (r < 0)
                                break;
                        node->entry_index = plan->n_entries;
                        r = kp_boot_plan_take_entry(plan, &e);
                        if (r < 0) {
                                kp_boot_entry_done(&e);
                                if (r == -E2BIG)
                                        r = grub_interp_fail(in, r, item->line, "more than %d menu entries",
                                                             KP_BOOTCFG_MAX_ENTRIES);
                                else if (r == -ENOSPC)
                                        r = grub_interp_fail(in, -E2BIG, item->line, KP_BOOTCFG_PLAN_TEXT_MESSAGE,
                                                             KP_BOOTCFG_MAX_PLAN_TEXT);
                                break;
                        }
                        continue;
                }

                /* A submenu runs in a new context of the exported variables, with its own menu. */
                _cleanup_free_ char *path = NULL;
                GrubEnv *sub = NULL, *saved_env = in->env;
                GrubMenu *saved_menu = in->menu;
                GrubMenu sub_menu = {};
                GrubSaved saved = {};
                size_t path_cost;
                const char *own;

                if (depth + 1 >= KP_BOOTCFG_MAX_DEPTH) {
                        r = grub_interp_fail(in, -ELOOP, item->line, "submenus nested deeper than %d levels",
                                             KP_BOOTCFG_MAX_DEPTH);
                        break;
                }
                path = kp_menu_path_append(prefix, item->title);
                if (!path) {
                        r = -ENOMEM;
                        break;
                }
                /* Each level's path is alive while the levels below it are built. */
                path_cost = grub_alloc_cost(strlen(path) + 1);
                r = grub_interp_hold(in, path_cost);
                if (r < 0)
                        break;
                r = grub_interp_env_copy(in, ctx, true, &sub);
                if (r >= 0) {
                        r = grub_interp_save(in, &saved);
                        if (r < 0)
                                grub_interp_env_drop(in, sub);
                }
                if (r < 0) {
                        grub_interp_release(in, path_cost);
                        break;
                }
                node->submenu = true;

                in->env = sub;
                in->menu = &sub_menu;
                /* GRUB sets `default` to the rest of the path before the body runs; what the body sets wins. */
                grub_interp_unset(in, "default");
                r = item->body ? grub_interp_run_with_params(in, item->body, item->params, item->n_params) : 0;
                in->env = saved_env;
                in->menu = saved_menu;
                in->file = item->file;
                in->line = item->line;
                if (r >= 0 && (own = grub_env_get(sub, "default"))) {
                        r = grub_interp_hold(in, grub_alloc_cost(strlen(own) + 1));
                        if (r >= 0 && !(node->own_default = strdup(own)))
                                r = -ENOMEM;
                }
                if (r >= 0)
                        r = build_level(in, &sub_menu, sub, path, depth + 1, plan, &node->children,
                                        &node->n_children);
                grub_interp_restore(in, &saved);
                grub_interp_env_drop(in, sub);
                grub_interp_release(in, sub_menu.bytes + path_cost);
                grub_menu_done(&sub_menu);
                if (r < 0)
                        break;
        }
        in->file = saved_file;
        in->line = saved_line;
        if (r < 0) {
                nodes_free(nodes, n_nodes);
                return r;
        }
        *ret_nodes = nodes;
        *ret_n = n_nodes;
        return 0;
}

static int select_default(GrubInterp *in, const KpMenuNode *nodes, size_t n, KpBootPlan *plan)
{
        _cleanup_free_ char *shown = NULL, *source = NULL;
        const GrubVar *def = grub_env_find(in->env, "default");
        KpMenuResult res;
        const KpMenuNode *first;

        first = kp_menu_first_entry(nodes, n, KP_BOOTCFG_MAX_DEPTH + 1);
        plan->selected = first ? first->entry_index : 0;
        plan->reason = KP_SELECT_FIRST;

        if (!def)
                return kp_boot_plan_set_detail(plan, "no default set");
        shown = kp_text_escape(def->value, strlen(def->value), 256);
        if (!shown)
                return -ENOMEM;
        if (def->origin != GRUB_ORIGIN_SCRIPT) {
                _cleanup_free_ char *p = kp_text_escape_short(in->grubenv_path ?: "grubenv");
                if (asprintf(&source, "%s=\"%s\" from %s",
                             def->origin == GRUB_ORIGIN_NEXT_ENTRY ? "next_entry" : "saved_entry", shown,
                             p ?: "grubenv") < 0)
                        return -ENOMEM;
        } else if (asprintf(&source, "default=\"%s\"", shown) < 0)
                return -ENOMEM;

        if (!kp_menu_resolve_grub(nodes, n, def->value, in->used_blscfg ? KP_MENU_GRUB_FEDORA : KP_MENU_GRUB_UPSTREAM,
                                  KP_BOOTCFG_MAX_DEPTH + 1, &res))
                return kp_boot_plan_set_detail(plan, "%s names no entry; GRUB boots the first", source);

        plan->selected = res.entry->entry_index;
        if (def->origin == GRUB_ORIGIN_NEXT_ENTRY)
                plan->reason = KP_SELECT_NEXT_ENTRY;
        else if (def->origin == GRUB_ORIGIN_SAVED_ENTRY)
                plan->reason = KP_SELECT_SAVED_ENTRY;
        else if (res.levels > 1)
                plan->reason = KP_SELECT_DEFAULT_PATH;
        else if (res.first == KP_MENU_MATCH_INDEX)
                plan->reason = KP_SELECT_DEFAULT_INDEX;
        else if (res.first == KP_MENU_MATCH_TITLE)
                plan->reason = KP_SELECT_DEFAULT_TITLE;
        else
                plan->reason = KP_SELECT_DEFAULT_ID;
        return kp_boot_plan_set_detail(plan, "%s", source);
}

int kp_grub2_parse(const char *path, const char *data, size_t size, const KpBootFs *fs, KpBootParseFlags flags,
                   KpError *error, KpBootPlan **ret)
{
        _cleanup_(kp_boot_plan_freep) KpBootPlan *plan = NULL;
        _cleanup_(grub_script_freep) GrubScript *script = NULL;
        const char *file = path ?: "grub.cfg";
        KpBootFsReader reader = { .fs = fs };
        KpWarnings warnings = {};
        KpMenuNode *nodes = NULL;
        size_t n_nodes = 0;
        GrubInterp in;
        GrubMenu top = {};
        int r;

        plan = kp_boot_plan_new(KP_BOOT_CONFIG_GRUB2);
        if (!plan)
                return -ENOMEM;
        if (path && !(plan->config_path = strdup(path)))
                return -ENOMEM;

        r = grub_interp_init(&in, path, &reader, flags, &warnings, error);
        if (r < 0)
                goto finish;
        /* The configuration's own tree counts against the same memory budget as everything after it. */
        r = grub_script_parse_budget(file, data, size, &in.budget, error, &script);
        if (r < 0)
                goto finish;
        in.menu = &top;
        r = grub_interp_run(&in, script);
        if (r < 0)
                goto finish;

        r = build_level(&in, &top, in.env, NULL, 0, plan, &nodes, &n_nodes);
        if (r < 0)
                goto finish;
        if (plan->n_entries == 0) {
                r = kp_error_set(error, -ENOENT, "%s: no menu entry", file);
                goto finish;
        }
        r = select_default(&in, nodes, n_nodes, plan);
        if (r < 0)
                goto finish;
        r = kp_warnings_finish(&warnings, &plan->warnings);
        if (r < 0)
                goto finish;
        *ret = TAKE_PTR(plan);
finish:
        nodes_free(nodes, n_nodes);
        grub_menu_done(&top);
        grub_interp_done(&in);
        kp_warnings_done(&warnings);
        return r;
}
