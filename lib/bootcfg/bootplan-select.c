/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "bootcfg/bootplan-internal.h"
#include "util/grow.h"
#include "bootcfg/menu.h"
#include "bootcfg/text.h"
#include "util/error.h"

/*
 * Splits a menu_path back into its titles (">>" is a '>' inside a title).
 * Returns the number of elements, or a negative errno.
 */
static int split_menu_path(const char *path, char ***ret)
{
        char **l = NULL;
        size_t n = 0, len = strlen(path);
        _cleanup_free_ char *cur = malloc(len + 1);
        size_t j = 0;

        if (!cur)
                return -ENOMEM;
        for (const char *p = path;; p++) {
                if (p[0] == '>' && p[1] == '>') {
                        cur[j++] = '>';
                        p++;
                        continue;
                }
                if (p[0] == '>' || p[0] == '\0') {
                        char **nl = kp_grow(l, n, sizeof(char *));
                        if (!nl)
                                goto fail;
                        l = nl;
                        l[n] = strndup(cur, j);
                        if (!l[n])
                                goto fail;
                        l[++n] = NULL;
                        j = 0;
                        if (p[0] == '\0')
                                break;
                        continue;
                }
                cur[j++] = *p;
        }
        *ret = l;
        return (int) n;
fail:
        for (size_t i = 0; i < n; i++)
                free(l[i]);
        free(l);
        return -ENOMEM;
}

static void free_elems(char **l)
{
        for (size_t i = 0; l && l[i]; i++)
                free(l[i]);
        free(l);
}

/*
 * Rebuilds the menu tree from the flattened entries: consecutive entries
 * sharing a menu path prefix sit in one submenu, as the parsers emit them.
 */
static int build_tree(const KpBootPlan *plan, KpMenuNode **ret_level, size_t *ret_n)
{
        KpMenuNode *top = NULL;
        size_t n_top = 0;
        int r = 0;

        for (size_t i = 0; i < plan->n_entries; i++) {
                const KpBootEntry *e = &plan->entries[i];
                char **elems = NULL;
                KpMenuNode **level = &top;
                size_t *n = &n_top;
                KpMenuNode *node;
                int k;

                k = split_menu_path(e->menu_path ?: e->title ?: "", &elems);
                if (k < 0) {
                        r = k;
                        break;
                }
                for (int d = 0; d < k - 1; d++) {
                        KpMenuNode *last = *n > 0 ? &(*level)[*n - 1] : NULL;
                        if (!last || !last->submenu || !streq(last->title, elems[d])) {
                                last = kp_menu_level_append(level, n);
                                if (!last || !(last->title = strdup(elems[d]))) {
                                        r = -ENOMEM;
                                        break;
                                }
                                last->submenu = true;
                        }
                        level = &last->children;
                        n = &last->n_children;
                }
                if (r >= 0) {
                        node = kp_menu_level_append(level, n);
                        if (!node || !(node->title = strdup(k > 0 ? elems[k - 1] : "")) ||
                            (e->id && !(node->id = strdup(e->id))))
                                r = -ENOMEM;
                        else
                                node->entry_index = i;
                }
                free_elems(elems);
                if (r < 0)
                        break;
        }
        if (r < 0) {
                for (size_t i = 0; i < n_top; i++)
                        kp_menu_node_done(&top[i]);
                free(top);
                return r;
        }
        *ret_level = top;
        *ret_n = n_top;
        return 0;
}

int kp_boot_plan_select(KpBootPlan *plan, const char *request, KpError *error)
{
        _cleanup_free_ char *shown = NULL;
        KpMenuNode *top = NULL;
        size_t n_top = 0, found = SIZE_MAX;
        KpMenuResult res;
        int r;

        if (!request || !*request)
                return kp_error_set(error, -EINVAL, "empty entry request");

        /* A plain number is an index into the flattened list. */
        if (strspn(request, "0123456789") == strlen(request)) {
                unsigned long long v = strtoull(request, NULL, 10);
                if (v < plan->n_entries)
                        found = (size_t) v;
        }
        for (size_t i = 0; found == SIZE_MAX && i < plan->n_entries; i++) {
                const KpBootEntry *e = &plan->entries[i];
                if (streq_ptr(e->title, request) || streq_ptr(e->id, request) ||
                    streq_ptr(e->menu_path, request))
                        found = i;
        }
        if (found == SIZE_MAX && strchr(request, '>')) {
                r = build_tree(plan, &top, &n_top);
                if (r < 0)
                        return kp_error_set(error, r, "cannot rebuild the menu tree");
                if (kp_menu_resolve_strict(top, n_top, request, KP_BOOTCFG_MAX_DEPTH + 1, &res))
                        found = res.entry->entry_index;
                for (size_t i = 0; i < n_top; i++)
                        kp_menu_node_done(&top[i]);
                free(top);
        }

        if (found == SIZE_MAX) {
                shown = kp_text_escape_short(request);
                return kp_error_set(error, -ENOENT, "no entry matches \"%s\" (%zu entries)",
                                    shown ?: "?", plan->n_entries);
        }
        plan->selected = found;
        plan->reason = KP_SELECT_REQUESTED;
        shown = kp_text_escape_short(request);
        return kp_boot_plan_set_detail(plan, "--entry \"%s\"", shown ?: "?");
}
