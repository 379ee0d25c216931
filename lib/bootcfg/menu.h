/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A menu tree (entries and submenus) and GRUB 2's rules for finding the
 * entry a `set default=` value names, '>' paths included
 * (grub-core/normal/menu.c in GRUB 2.06: get_entry_number(),
 * menuentry_eq(), and grub_menu_execute_entry() handing the rest of the
 * path to the submenu).
 */

#include <stdbool.h>
#include <stddef.h>

typedef struct KpMenuNode KpMenuNode;

struct KpMenuNode {
        char *title;
        char *id;                /* NULL: GRUB matches the title in its place */
        bool submenu;
        KpMenuNode *children;    /* submenus only */
        size_t n_children;
        /* A `set default=` the submenu's own body ran, which GRUB prefers to the rest of the path. */
        char *own_default;
        size_t entry_index;      /* entries only: index into the flattened plan */
};

void kp_menu_node_done(KpMenuNode *n);
/* Appends a zeroed node to a level and returns it, or NULL on ENOMEM. */
KpMenuNode *kp_menu_level_append(KpMenuNode **level, size_t *n);

typedef enum KpMenuMatch {
        KP_MENU_MATCH_NONE = 0,
        KP_MENU_MATCH_INDEX,
        KP_MENU_MATCH_TITLE,
        KP_MENU_MATCH_ID,
} KpMenuMatch;

typedef struct KpMenuResult {
        const KpMenuNode *entry;  /* the leaf reached, NULL when nothing matched */
        KpMenuMatch first;        /* how the top-level element matched */
        unsigned levels;          /* how many path elements were used (1 for "2", 2 for "1>2") */
} KpMenuResult;

/*
 * Whose GRUB reads the default. Upstream GRUB 2.06 (and Debian's, so
 * pvgrub2) tries a leading number first; Fedora's GRUB (which brought
 * blscfg, used by Fedora >= 30 and RHEL >= 8) tries ids first, then
 * titles, then a number that must stand alone (its
 * get_entry_number_helper()), so a BLS id like "5f1c...-6.2.9" is an id
 * there and entry 5 upstream.
 */
typedef enum KpMenuDialect {
        KP_MENU_GRUB_UPSTREAM = 0,
        KP_MENU_GRUB_FEDORA,
} KpMenuDialect;

/*
 * GRUB's reading of a default value at one level: a leading number as
 * grub_strtoul() reads it (base prefixes, trailing text ignored, so "1>2"
 * is entry 1), else the first entry whose title or id equals the first
 * '>' element ('>>' standing for '>'). Returns the index, or -1.
 */
int kp_menu_find_grub(const KpMenuNode *level, size_t n, const char *spec, KpMenuMatch *ret_match);
/* The same as Fedora's GRUB reads it. */
int kp_menu_find_fedora(const KpMenuNode *level, size_t n, const char *spec, KpMenuMatch *ret_match);

/*
 * Follows spec from level down as GRUB does: into a submenu with the rest
 * of the path (or the submenu's own default), and to its first entry when
 * the rest names nothing. Returns false when the top element names
 * nothing (GRUB then boots the first entry).
 */
bool kp_menu_resolve_grub(const KpMenuNode *level, size_t n, const char *spec, KpMenuDialect dialect,
                          unsigned max_depth, KpMenuResult *ret);

/*
 * The strict form for an admin's request: every element must match a
 * whole title, an id or an all-digit index, and must end on an entry.
 */
bool kp_menu_resolve_strict(const KpMenuNode *level, size_t n, const char *spec, unsigned max_depth,
                            KpMenuResult *ret);

/*
 * grub_strtoul(s, NULL, 0) as GRUB 2.06 has it: leading blanks skipped,
 * "0x" means hex and a leading "0" before an octal digit means octal, and
 * reading stops at the first character that is no digit. Returns 0 and the
 * value, -EINVAL when there is no digit (GRUB_ERR_BAD_NUMBER), -ERANGE on
 * overflow (GRUB_ERR_OUT_OF_RANGE).
 */
int kp_grub_strtoul(const char *s, unsigned long long *ret);

/* The first entry of a tree, depth first; NULL when it has none. */
const KpMenuNode *kp_menu_first_entry(const KpMenuNode *level, size_t n, unsigned max_depth);
