/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A boot plan: every entry a guest's boot configuration offers, the one it
 * selects and why, and (once the guest inspection has looked) where each
 * kernel and initrd lives in the guest, how big it is, its sha256 and the
 * kernel's payload format.
 *
 * The parsers (grub2.c, grub-legacy.c, extlinux.c, bls.c) fill in
 * everything that the configuration text says; the guest inspection
 * (lib/guest/) fills in the KpFileInfo facts from inside the libguestfs
 * appliance. Everything here came from a hostile guest: the parsers bound
 * every size and count (KP_BOOTCFG_* below), and kp_boot_plan_validate()
 * refuses any string that could smuggle a record into libxl's bootloader
 * output (XSA-198).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "kunpack.h"
#include "util/macro.h"

/* Limits from DESIGN.md's security model. */
#define KP_BOOTCFG_MAX_SIZE (1024 * 1024)   /* a boot config file */
#define KP_BOOTCFG_MAX_ENTRIES 1024         /* entries in one menu tree */
#define KP_BOOTCFG_MAX_DEPTH 16             /* submenu / block nesting */
#define KP_BOOTCFG_MAX_CMDLINE 4096         /* a kernel command line */
#define KP_BOOTCFG_MAX_PATH 4096            /* a path inside the guest */
#define KP_BOOTCFG_MAX_INITRDS 16           /* initrd files of one entry */

typedef enum KpConfigKind {
        KP_CONFIG_NONE = 0,    /* no config found: fallback to the newest /boot/vmlinuz-* */
        KP_CONFIG_GRUB2,       /* grub.cfg (with blscfg support) */
        KP_CONFIG_GRUB_LEGACY, /* menu.lst / grub.conf */
        KP_CONFIG_EXTLINUX,    /* extlinux.conf / syslinux.cfg / isolinux.cfg */
        KP_CONFIG_DIRECT,      /* no config read: kernel and ramdisk named by the caller (--kernel=) */
        _KP_CONFIG_KIND_MAX,
} KpConfigKind;

const char *kp_config_kind_to_string(KpConfigKind kind); /* "grub2", "grub-legacy", ... */

typedef enum KpSelectReason {
        KP_SELECT_FIRST = 0,       /* no default set, or it named nothing: the first entry, as GRUB does */
        KP_SELECT_DEFAULT_INDEX,   /* set default=N / default N */
        KP_SELECT_DEFAULT_TITLE,   /* set default="Title" */
        KP_SELECT_DEFAULT_ID,      /* set default=<--id of an entry> */
        KP_SELECT_DEFAULT_PATH,    /* set default="Submenu>Entry" (titles, ids or indices) */
        KP_SELECT_SAVED_ENTRY,     /* saved_entry from grubenv */
        KP_SELECT_NEXT_ENTRY,      /* next_entry from grubenv (one-shot) */
        KP_SELECT_LABEL,           /* extlinux DEFAULT <label> */
        KP_SELECT_REQUESTED,       /* the caller asked for it (--entry) */
        KP_SELECT_FALLBACK,        /* no config: newest /boot/vmlinuz-* by version order */
        KP_SELECT_DIRECT,          /* --kernel= given: no config was parsed */
        _KP_SELECT_REASON_MAX,
} KpSelectReason;

/* "first", "default-index", "default-title", ..., "fallback", "direct". */
const char *kp_select_reason_to_string(KpSelectReason reason);

/*
 * Where GRUB's $root pointed when the entry's linux/initrd ran, so the
 * inspection can look for the files on that filesystem. KP_DEVICE_SAME
 * means "the filesystem the configuration came from".
 */
typedef enum KpDeviceKind {
        KP_DEVICE_SAME = 0,
        KP_DEVICE_UUID,        /* search --fs-uuid --set=root <uuid>, or (UUID=...) */
        KP_DEVICE_LABEL,       /* search --label --set=root <label> */
        KP_DEVICE_FILE,        /* search --file --set=root <path> */
        KP_DEVICE_GRUB,        /* (hd0,msdos1), (hd0,gpt2), (hd0): value is "hd0,msdos1" */
} KpDeviceKind;

typedef struct KpDeviceSpec {
        KpDeviceKind kind;
        char *value;           /* NULL for KP_DEVICE_SAME */
} KpDeviceSpec;

/* A file of the guest and what the inspection learnt about it. */
typedef struct KpFileInfo {
        char *path;            /* absolute, normalised ("/boot/vmlinuz-5.4.0-26-generic") */
        /* Filled by the guest inspection; have_info says whether they are set. */
        bool have_info;
        char *device;          /* the filesystem inside the appliance ("/dev/sda1", "/dev/vg/root") */
        uint64_t size;
        char sha256[65];       /* lowercase hex */
        KpFormat format;       /* kernels only: payload format read from the header */
} KpFileInfo;

typedef struct KpBootEntry {
        char *title;           /* as shown in the menu */
        char *menu_path;       /* titles from the top menu down, joined by '>' */
        char *id;              /* GRUB --id, extlinux LABEL; may be NULL */
        KpDeviceSpec root;     /* where kernel and initrds are looked up */
        KpFileInfo kernel;
        KpFileInfo *initrds;
        size_t n_initrds;
        char *cmdline;         /* as GRUB would pass it; never NULL ("" when empty) */
} KpBootEntry;

typedef struct KpBootPlan {
        KpConfigKind kind;
        char *config_path;     /* the file the plan came from, on config_device; NULL for fallback/direct */
        char *config_device;   /* filled by the inspection */
        KpBootEntry *entries;  /* menu order, submenus flattened */
        size_t n_entries;
        size_t selected;       /* index into entries; valid when n_entries > 0 */
        KpSelectReason reason;
        char *reason_detail;   /* human words: "set default=\"1>2\"", "saved_entry=...", may be NULL */
        char **warnings;       /* strv: things ignored on the way ("unknown command 'foo' at line 12") */
} KpBootPlan;

KpBootPlan *kp_boot_plan_new(KpConfigKind kind);
KpBootPlan *kp_boot_plan_free(KpBootPlan *plan);
DEFINE_TRIVIAL_CLEANUP_FUNC(KpBootPlan *, kp_boot_plan_free);

/* The selected entry, or NULL when the plan has none. */
const KpBootEntry *kp_boot_plan_selected(const KpBootPlan *plan);

/*
 * Selects an entry by what an admin would type for --entry: a 0-based
 * index, a title, an id, or a '>' menu path. -ENOENT (with the request in
 * the message) when nothing matches.
 */
int kp_boot_plan_select(KpBootPlan *plan, const char *request, KpError *error);

/*
 * Refuses (-EBADMSG) a plan any of whose strings holds NUL, newline or other
 * control characters, or exceeds the limits above: such a string could add
 * a record to libxl's bootloader output. Also refuses kernel and initrd
 * paths that are not absolute or contain "..".
 */
int kp_boot_plan_validate(const KpBootPlan *plan, KpError *error);

/*
 * Read access to the guest's files for the parsers: grubenv, BLS snippets,
 * /boot listings for the fallback. Implemented over libguestfs by the
 * inspection and over memory by the unit tests. Paths are absolute within
 * the filesystem the configuration came from.
 */
typedef struct KpBootFs {
        void *userdata;
        /* A whole file of at most max bytes: -ENOENT if absent, -EFBIG if bigger. */
        int (*read_file)(void *userdata, const char *path, size_t max, char **ret_data, size_t *ret_size);
        /* The names in a directory (strv, no "." or ".."): -ENOENT if absent. */
        int (*list_dir)(void *userdata, const char *path, char ***ret_names);
} KpBootFs;
