/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A boot plan: every entry a guest's boot configuration offers, the one it
 * selects and why, and (once the guest inspection has looked) where each
 * kernel and initrd lives in the guest, how big it is, its sha256 and the
 * kernel's payload format.
 *
 * The parsers (grub/, grub-legacy.c, extlinux.c, newest-kernel.c) fill
 * in everything that the configuration text says; the guest inspection
 * (lib/guest/) fills in the KpFileInfo facts from inside the libguestfs
 * appliance. Everything here came from a hostile guest: the parsers bound
 * every size and count (KP_BOOTCFG_* below) and fail with a clear error
 * when a limit is exceeded, and kp_boot_plan_validate() refuses any string
 * that could smuggle a record into libxl's bootloader output (XSA-198).
 *
 * How to use it (what lib/guest/ does):
 *
 *   1. For each filesystem of the guest, try kp_boot_config_candidates[] in
 *      order (pygrub's order); the first path that exists is the config.
 *   2. Read it (at most KP_BOOTCFG_MAX_SIZE bytes) and call
 *      kp_boot_config_parse() with a KpBootFs reading that same
 *      filesystem. With no config anywhere, call it with KP_BOOT_CONFIG_NONE:
 *      the fallback looks for the newest /boot/vmlinuz-*.
 *   3. Look up every entry's kernel and initrds (KpBootEntry.root says on
 *      which filesystem), fill their KpFileInfo, then
 *      kp_boot_plan_validate() before anything leaves the process.
 *
 * The JSON form (kunpackctl inspect --json, state files) lives in
 * bootplan-json.h.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "kunpack.h"
#include "util/macro.h"

/* Limits on guest text and what it names (docs/design.md, "Limits"; docs/isolation.md). */
#define KP_BOOTCFG_MAX_SIZE (1024 * 1024)   /* a boot config file */
#define KP_BOOTCFG_MAX_ENTRIES 1024         /* entries in one menu tree */
#define KP_BOOTCFG_MAX_DEPTH 16             /* submenu / block nesting */
#define KP_BOOTCFG_MAX_CMDLINE 4096         /* a kernel command line */
#define KP_BOOTCFG_MAX_PATH 4096            /* a path inside the guest (PATH_MAX) */
#define KP_BOOTCFG_MAX_INITRDS 16           /* initrd files of one entry */
/* A title, id or label: GRUB puts no bound on them, real ones are < 100 bytes. */
#define KP_BOOTCFG_MAX_TITLE 1024
/* A menu path: up to KP_BOOTCFG_MAX_DEPTH titles joined by '>'. */
#define KP_BOOTCFG_MAX_MENU_PATH 4096
/*
 * All files the parsers read through KpBootFs for one plan together
 * (the config is read by the caller): grubenv, BLS snippets, sourced
 * files, extlinux INCLUDEs. 16 config files' worth.
 */
#define KP_BOOTCFG_MAX_READ_TOTAL (16 * KP_BOOTCFG_MAX_SIZE)
/*
 * The text of a plan's entries together (titles, ids, menu paths, command
 * lines, kernel and initrd paths, device names): what the plan, its JSON
 * and every copy of it cost. grub-mkconfig's output with 1023 entries has
 * 372 KiB of it, Fedora's 1024 BLS snippets 367 KiB; 2 MiB is 2 KiB per
 * entry, twice Xen's whole command line. Each string's own limit would
 * still allow 80 KiB per entry, 80 MiB for 1024.
 */
#define KP_BOOTCFG_MAX_PLAN_TEXT (2 * 1024 * 1024)
/* Warnings kept in a plan; further ones are counted in a last warning. */
#define KP_BOOTCFG_MAX_WARNINGS 64
/*
 * Xen's start_info carries at most 1024 bytes of command line
 * (MAX_GUEST_CMDLINE), NUL included; a longer one is cut by the domain
 * builder (and by pvgrub2), so the parsers warn about it.
 */
#define KP_XEN_MAX_GUEST_CMDLINE 1024

typedef enum KpBootConfigKind {
        KP_BOOT_CONFIG_NONE = 0,    /* no config found: fallback to the newest /boot/vmlinuz-* */
        KP_BOOT_CONFIG_GRUB2,       /* grub.cfg (with blscfg support) */
        KP_BOOT_CONFIG_GRUB_LEGACY, /* menu.lst / grub.conf */
        KP_BOOT_CONFIG_EXTLINUX,    /* extlinux.conf / syslinux.cfg / isolinux.cfg */
        KP_BOOT_CONFIG_DIRECT,      /* no config read: kernel and ramdisk named by the caller (--kernel=) */
        _KP_BOOT_CONFIG_KIND_MAX,
} KpBootConfigKind;

/* "none", "grub2", "grub-legacy", "extlinux", "direct"; NULL when out of range. */
const char *kp_boot_config_kind_to_string(KpBootConfigKind kind);
/* The inverse; -EINVAL for anything else. */
int kp_boot_config_kind_from_string(const char *s, KpBootConfigKind *ret);

typedef enum KpSelectReason {
        KP_SELECT_FIRST = 0,       /* no default set, or it named nothing: the first entry, as GRUB does */
        KP_SELECT_DEFAULT_INDEX,   /* set default=N / default N */
        KP_SELECT_DEFAULT_TITLE,   /* set default="Title" */
        KP_SELECT_DEFAULT_ID,      /* set default=<--id of an entry> */
        KP_SELECT_DEFAULT_PATH,    /* set default="Submenu>Entry" (titles, ids or indices) */
        KP_SELECT_SAVED_ENTRY,     /* saved_entry from grubenv (or legacy "default saved") */
        KP_SELECT_NEXT_ENTRY,      /* next_entry from grubenv (one-shot) */
        KP_SELECT_LABEL,           /* extlinux DEFAULT <label> or MENU DEFAULT */
        KP_SELECT_REQUESTED,       /* the caller asked for it (--entry) */
        KP_SELECT_FALLBACK,        /* no config: newest /boot/vmlinuz-* by version order */
        KP_SELECT_DIRECT,          /* --kernel= given: no config was parsed */
        _KP_SELECT_REASON_MAX,
} KpSelectReason;

/* "first", "default-index", "default-title", ..., "fallback", "direct"; NULL when out of range. */
const char *kp_select_reason_to_string(KpSelectReason reason);
/* The inverse; -EINVAL for anything else. */
int kp_select_reason_from_string(const char *s, KpSelectReason *ret);

/*
 * Where GRUB's $root pointed when the entry's linux/initrd ran, so the
 * inspection can look for the files on that filesystem. KP_DEVICE_SAME
 * means "the filesystem the configuration came from".
 */
typedef enum KpDeviceKind {
        KP_DEVICE_SAME = 0,
        KP_DEVICE_UUID,        /* search --fs-uuid --set=root <uuid> */
        KP_DEVICE_LABEL,       /* search --label --set=root <label> */
        KP_DEVICE_FILE,        /* search --file --set=root <path>: the filesystem holding that file */
        /*
         * (hd0,msdos1), (hd0,gpt2), (hd0), set root='hd0,1': value is the
         * text between the parentheses ("hd0,msdos1"), partitions numbered
         * from 1 as in GRUB 2. GRUB legacy's "(hd0,0)" is converted to
         * "hd0,1". Other GRUB device names ("memdisk", "xen/xvda") are kept
         * as they are; the inspection decides what it can resolve.
         */
        KP_DEVICE_GRUB,
        _KP_DEVICE_KIND_MAX,
} KpDeviceKind;

/* "same", "uuid", "label", "file", "grub"; NULL when out of range. */
const char *kp_device_kind_to_string(KpDeviceKind kind);
int kp_device_kind_from_string(const char *s, KpDeviceKind *ret);

typedef struct KpDeviceSpec {
        KpDeviceKind kind;
        char *value;           /* NULL for KP_DEVICE_SAME */
} KpDeviceSpec;

/* A file of the guest and what the inspection learnt about it. */
typedef struct KpFileInfo {
        /*
         * Absolute within the filesystem KpBootEntry.root names, with "//"
         * and "/./" collapsed ("/boot/vmlinuz-5.4.0-26-generic"). The
         * parsers keep ".." as written: kp_boot_plan_validate() refuses it.
         * NULL for the kernel of an entry that loads no Linux kernel
         * (chainloader, knetbsd, a Windows entry): such entries are kept so
         * that GRUB's entry numbers stay right.
         */
        char *path;
        /* Filled by the guest inspection; have_info says whether they are set. */
        bool have_info;
        char *device;          /* the filesystem inside the appliance ("/dev/sda1", "/dev/vg/root") */
        uint64_t size;
        char sha256[65];       /* lowercase hex */
        KpFormat format;       /* kernels only: payload format read from the header */
} KpFileInfo;

/*
 * Where a file name is written in the configuration text, for pvgrub
 * mode's rewrite of the kernel path (lib/pvgrub/). Set only when the name
 * is one literal token of the configuration file itself (no variable, no
 * quote or escape, not from a sourced file, a function or a BLS snippet),
 * so that replacing those bytes changes that file name and nothing else.
 * line 0: not such a literal. column counts bytes from the line's start in
 * the file as read; whoever rewrites checks the bytes there first.
 */
typedef struct KpSourceSpan {
        unsigned line;         /* 1-based line of KpBootPlan.config_path; 0 when not a literal */
        size_t column;         /* 0-based byte offset within that line */
        size_t length;         /* bytes of the token */
} KpSourceSpan;

typedef struct KpBootEntry {
        char *title;           /* as shown in the menu */
        /*
         * Titles from the top menu down, joined by '>', with a '>' inside a
         * title doubled (GRUB's own syntax for set default=), so the path
         * can be given back to kp_boot_plan_select().
         */
        char *menu_path;
        char *id;              /* GRUB --id (or BLS file name), extlinux LABEL; may be NULL */
        KpDeviceSpec root;     /* where kernel and initrds are looked up */
        KpFileInfo kernel;
        KpSourceSpan kernel_span; /* the kernel's file name in the config, when a literal there */
        KpFileInfo *initrds;
        size_t n_initrds;
        char *cmdline;         /* as GRUB would pass it; never NULL ("" when empty) */
} KpBootEntry;

typedef struct KpBootPlan {
        KpBootConfigKind kind;
        char *config_path;     /* the file the plan came from, on config_device; NULL for fallback/direct */
        char *config_device;   /* filled by the inspection */
        KpBootEntry *entries;  /* menu order, submenus flattened */
        size_t n_entries;
        size_t selected;       /* index into entries; valid when n_entries > 0 */
        KpSelectReason reason;
        char *reason_detail;   /* human words: "set default=\"1>2\"", "saved_entry=...", may be NULL */
        char **warnings;       /* strv: things ignored on the way ("unknown command 'foo' at line 12") */
        size_t text_bytes;     /* of the entries' strings, against KP_BOOTCFG_MAX_PLAN_TEXT */
} KpBootPlan;

KpBootPlan *kp_boot_plan_new(KpBootConfigKind kind);
KpBootPlan *kp_boot_plan_free(KpBootPlan *plan);
DEFINE_TRIVIAL_CLEANUP_FUNC(KpBootPlan *, kp_boot_plan_free);

/*
 * A plan for libxl's --kernel=/--ramdisk=/--args= (reason KP_SELECT_DIRECT):
 * one entry, no config. ramdisk and cmdline may be NULL.
 */
int kp_boot_plan_new_direct(const char *kernel, const char *ramdisk, const char *cmdline, KpBootPlan **ret);

/* The selected entry, or NULL when the plan has none. */
const KpBootEntry *kp_boot_plan_selected(const KpBootPlan *plan);

/*
 * Selects an entry by what an admin would type for --entry:
 *   - a number: the 0-based index into plan->entries (the flattened list
 *     kunpackctl inspect numbers);
 *   - an entry's exact title, id, or menu_path;
 *   - a '>' path as GRUB's set default= takes it, each element a title, an
 *     id (entries only; a submenu's id is not kept in the plan) or a
 *     0-based index within that menu level.
 * The reason becomes KP_SELECT_REQUESTED. -ENOENT (with the request in the
 * message) when nothing matches, -EINVAL for an empty request.
 */
int kp_boot_plan_select(KpBootPlan *plan, const char *request, KpError *error);

/*
 * Refuses (-EBADMSG) a plan any of whose strings (titles, ids, paths,
 * command lines, detail, warnings) holds NUL, newline or other control
 * characters or invalid UTF-8: such a string could add a record to
 * libxl's bootloader output or a terminal escape to an admin's screen.
 * Refuses (-EBADMSG) kernel and initrd paths that are not absolute or
 * contain a ".." component (nothing may point outside the guest's
 * filesystem), and (-E2BIG) strings over the limits above. Refuses
 * (-ENOENT) a plan with no entries or whose selected entry loads no Linux
 * kernel.
 */
int kp_boot_plan_validate(const KpBootPlan *plan, KpError *error);

/*
 * Read access to the guest's files for the parsers: grubenv, BLS snippets,
 * sourced files, /boot listings for the fallback. Implemented over
 * libguestfs by the inspection and over memory by the unit tests. Paths
 * are absolute within the filesystem the configuration came from
 * (fallback: the filesystem searched); symlinks are resolved inside the
 * guest only.
 */
typedef struct KpBootFs {
        void *userdata;
        /*
         * A whole file of at most max bytes: -ENOENT if absent, -EFBIG if
         * bigger, -EISDIR for a directory. The parsers also call it with
         * max 0 to ask whether a file exists and is empty (0), exists and
         * is not (-EFBIG), or does not (-ENOENT), as GRUB's [ -e ], [ -f ]
         * and [ -s ] need; an implementation should check the size before
         * reading.
         */
        int (*read_file)(void *userdata, const char *path, size_t max, char **ret_data, size_t *ret_size);
        /* The names in a directory (strv, no "." or ".."): -ENOENT if absent, -ENOTDIR if a file. */
        int (*list_dir)(void *userdata, const char *path, char ***ret_names);
        /*
         * The filesystem's UUID and label, as `search --fs-uuid` and
         * `search --label` see them, or NULL when unknown. When set, a
         * search naming this filesystem lets the parsers keep reading
         * files (BLS snippets, [ -f ... ] tests) after the search.
         */
        const char *fs_uuid;
        const char *fs_label;
} KpBootFs;

/* ---- the dispatcher (bootcfg.c) ----------------------------------------- */

/* Where pygrub looks for a configuration, in its order, and how to read what it finds there. */
typedef struct KpBootConfigCandidate {
        const char *path;
        KpBootConfigKind kind;
} KpBootConfigCandidate;

extern const KpBootConfigCandidate kp_boot_config_candidates[];
extern const size_t kp_boot_config_candidates_count;

/* Flags for kp_boot_config_parse_full(). */
typedef enum KpBootParseFlags {
        /*
         * Parse as if grubenv held no next_entry: what the guest's own GRUB
         * sees after grub-reboot's one-shot boot has cleared it. kunpack
         * never writes to a guest, so whoever served the next_entry boot
         * once (KP_SELECT_NEXT_ENTRY) asks for this afterwards.
         */
        KP_BOOTCFG_IGNORE_NEXT_ENTRY = 1 << 0,
} KpBootParseFlags;

/*
 * Parses the configuration data (size bytes, the content of path on the
 * filesystem fs reads) as kind, and returns every entry and the selected
 * one. KP_BOOT_CONFIG_NONE ignores path and data and looks for the newest
 * kernel in /boot and / of fs. Nothing is executed; fs is used only to
 * read grubenv, BLS snippets, sourced or included files and directory
 * listings, never more than KP_BOOTCFG_MAX_READ_TOTAL bytes. fs may be
 * NULL for a config read on its own (no grubenv, no BLS).
 *
 * Errors: -EFBIG (config too big), -EBADMSG (syntax error, NUL byte),
 * -ELOOP (nesting deeper than KP_BOOTCFG_MAX_DEPTH, runaway evaluation),
 * -E2BIG (more than KP_BOOTCFG_MAX_ENTRIES entries, command line over
 * KP_BOOTCFG_MAX_CMDLINE, too many initrds), -ENOENT (no entry at all,
 * fallback found no kernel), each with file and line in the message.
 * The returned plan still needs kp_boot_plan_validate().
 */
int kp_boot_config_parse(KpBootConfigKind kind, const char *path, const char *data, size_t size,
                         const KpBootFs *fs, KpError *error, KpBootPlan **ret_plan);
int kp_boot_config_parse_full(KpBootConfigKind kind, const char *path, const char *data, size_t size,
                              const KpBootFs *fs, KpBootParseFlags flags, KpError *error,
                              KpBootPlan **ret_plan);
