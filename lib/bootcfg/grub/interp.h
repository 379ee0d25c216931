/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The evaluator for grub.cfg: it walks the parsed script the way GRUB 2.06
 * running as a Xen PV guest (pvgrub2, grub_platform "xen") would, for the
 * commands that decide what boots, and nothing else. Nothing is executed:
 * every command is an emulation, most of them no-ops; files are only read
 * through the KpBootFs, and only to evaluate what GRUB itself would read
 * (grubenv, [ -f ... ] tests, source, BLS snippets).
 *
 * What GRUB does, and so what this does:
 *   - the config runs top to bottom; `menuentry`/`submenu` only record an
 *     entry and its body;
 *   - an entry's body runs when it boots, with the variables as the whole
 *     config left them, its title and extra arguments as $1, $2...;
 *   - a submenu's body runs when it is entered, in a new context holding
 *     only the exported variables (grub_env_context_open());
 *   - `set default=` is read after the config ran (run_menu()).
 * Each entry's body is evaluated on its own copy of the variables.
 *
 * Where a value is not certain on a PV boot (a file on another disk, a
 * hardware probe), the evaluator takes what grub-mkconfig's output relies
 * on and records a warning.
 */

#include <stdbool.h>
#include <stdint.h>

#include "bootcfg/bootfs.h"
#include "bootcfg/bootplan-internal.h"
#include "bootcfg/grub/budget.h"
#include "bootcfg/grub/parser.h"

/* Variables in one context: real configs set fewer than a hundred. */
#define GRUB_MAX_VARIABLES 4096
/*
 * One expanded word or variable value. Nothing GRUB hands on is longer
 * than a command line; 16 times that leaves room for intermediate values
 * while `set a=$a$a` cannot double its way to gigabytes.
 */
#define GRUB_MAX_VALUE (16 * KP_BOOTCFG_MAX_CMDLINE)
/* Arguments of one command after expansion: a 1 MiB config cannot sensibly need more. */
#define GRUB_MAX_ARGS 65536
/*
 * Commands evaluated for one plan. Ubuntu's generated grub.cfg with 1023
 * entries needs about 27,000; a million bounds loops through functions and
 * `source` without refusing anything real.
 */
#define GRUB_MAX_STEPS (1000000 / GRUB_BUDGET_DIVISOR) /* budget.h: divided only for fuzzing */
/*
 * Variable and function names compared while looking them up. Lookups are
 * linear, so a config with thousands of variables read a million times
 * would take minutes within every other limit; Ubuntu's generated grub.cfg
 * with 1023 entries compares about 260,000 names, and 16 million take a
 * tenth of a second.
 */
#define GRUB_MAX_LOOKUPS (16 * 1000 * 1000 / GRUB_BUDGET_DIVISOR)
/* Device names recorded from search and set root=. */
#define GRUB_MAX_DEVICES 256

typedef enum GrubOrigin {
        GRUB_ORIGIN_SCRIPT = 0,
        GRUB_ORIGIN_SAVED_ENTRY, /* saved_entry as load_env read it */
        GRUB_ORIGIN_NEXT_ENTRY,  /* next_entry as load_env read it */
} GrubOrigin;

typedef struct GrubVar {
        char *name;
        char *value;
        size_t name_len;        /* lengths: names are compared by length first */
        size_t value_len;
        bool exported;
        GrubOrigin origin;
} GrubVar;

typedef struct GrubEnv {
        GrubVar *vars;
        size_t n_vars;
        size_t bytes;           /* what its variables hold, as charged to the memory budget */
} GrubEnv;

GrubEnv *grub_env_new(void);
GrubEnv *grub_env_free(GrubEnv *env);
DEFINE_TRIVIAL_CLEANUP_FUNC(GrubEnv *, grub_env_free);
/* What one variable holds, as the memory budget counts it. */
size_t grub_var_cost(size_t name_len, size_t value_len);
/* A deep copy; with exported_only, what grub_env_context_open() keeps. */
GrubEnv *grub_env_copy(const GrubEnv *env, bool exported_only);
/* What grub_env_copy() would allocate (its bytes), without copying. */
size_t grub_env_copy_cost(const GrubEnv *env, bool exported_only);
const GrubVar *grub_env_find(const GrubEnv *env, const char *name);
const char *grub_env_get(const GrubEnv *env, const char *name);

/* A device name GRUB would have put in a variable, and what it stands for. */
typedef struct GrubDevice {
        char *name;
        size_t name_len;
        KpDeviceSpec spec;
        bool is_config_fs;      /* the filesystem KpBootFs reads */
} GrubDevice;

/* A file argument as a command sees it: "(dev)/path" or "/path" on $root. */
typedef struct GrubFileRef {
        KpDeviceSpec spec;
        char *device_name;      /* as written or as $root held it */
        char *path;             /* normalised when absolute; as written otherwise */
        bool is_config_fs;
} GrubFileRef;

void grub_file_ref_done(GrubFileRef *f);

typedef struct GrubMenu GrubMenu;

typedef struct GrubMenuItem {
        char *title;
        char *id;               /* --id, NULL when not given */
        bool submenu;
        char **params;          /* $1 (the title), $2...: GRUB's setparams */
        size_t n_params;
        const GrubScript *body; /* NULL when GRUB could not have parsed it (BLS) */
        char *file;             /* where it was defined, for messages */
        unsigned line;
} GrubMenuItem;

struct GrubMenu {
        GrubMenuItem *items;
        size_t n_items;
        size_t bytes;           /* what its items hold, as charged to the memory budget */
};

void grub_menu_done(GrubMenu *m);

/* What an entry's body loaded, as GRUB's Xen loader would have it. */
typedef struct GrubBoot {
        bool have_kernel;
        char *kernel;           /* path, NULL when no linux command ran */
        KpDeviceSpec kernel_spec;
        KpSourceSpan kernel_span; /* the kernel's name in grub.cfg itself, when a literal there */
        char *cmdline;
        char **initrds;
        size_t n_initrds;
        KpDeviceSpec initrd_spec;
        bool initrd_loaded;
        const char *other_loader; /* "chainloader", "multiboot", ... that replaced a Linux kernel */
        bool booted;            /* `boot` ran: the rest of the body does not */
} GrubBoot;

void grub_boot_done(GrubBoot *b);

typedef struct GrubInterp {
        const char *config_path;        /* the grub.cfg, for messages */
        const char *file;               /* the file being run (grub.cfg, a sourced file) */
        KpBootFsReader *reader;
        KpBootParseFlags flags;
        KpError *error;
        KpWarnings *warnings;

        GrubEnv *env;
        struct {
                char *name;
                size_t name_len;
                const GrubScript *body;
        } *funcs;
        size_t n_funcs;
        GrubDevice *devices;
        size_t n_devices;

        GrubMenu *menu;                 /* where menuentry and submenu add */
        size_t n_items_total;

        GrubScript **owned;             /* scripts from source, BLS, --source */
        size_t n_owned;
        char **owned_names;             /* file names those scripts' messages use */
        size_t n_owned_names;

        char **params;                  /* $1... of the running function or entry */
        size_t n_params;
        bool in_scope;                  /* inside a function or an entry: $# and $@ exist */
        unsigned call_depth;
        uint64_t steps;
        uint64_t lookups;               /* names compared, against GRUB_MAX_LOOKUPS */
        GrubBudget budget;              /* bytes held, bytes of work, words (budget.h) */
        unsigned line;                  /* of the command running, for the budgets' messages */
        int over_budget;                /* a charge that could not fail there failed: the error to return */
        int status;                     /* $? */
        bool returning;                 /* `return` ran in a function */

        char *grubenv_path;             /* the last grubenv load_env read, for the reason */
        bool used_blscfg;               /* the config is Fedora's: its GRUB reads `default` its own way */
        GrubBoot *boot;                 /* set while an entry's body runs */
} GrubInterp;

int grub_interp_init(GrubInterp *in, const char *config_path, KpBootFsReader *reader, KpBootParseFlags flags,
                     KpWarnings *warnings, KpError *error);
void grub_interp_done(GrubInterp *in);

/*
 * What running one entry's or submenu's body may change that GRUB would
 * not keep for another one: GRUB runs only the bodies on the path to the
 * entry it boots, so functions defined (or redefined) and the grubenv read
 * in one body must not reach the next. Variables need no saving: each
 * body runs on its own copy of them.
 */
typedef struct GrubSaved {
        const GrubScript **bodies;      /* each function's body as it was */
        size_t n_funcs;
        char *grubenv_path;
        size_t bytes;                   /* charged for bodies */
} GrubSaved;

int grub_interp_save(GrubInterp *in, GrubSaved *ret);
/* Puts back what grub_interp_save() kept, and frees it. */
void grub_interp_restore(GrubInterp *in, GrubSaved *saved);

/* Runs a script in the current context. < 0 only for fatal errors (limits, ENOMEM). */
int grub_interp_run(GrubInterp *in, const GrubScript *s);
/* The same with $1... set to params (a menu entry's or submenu's body). */
int grub_interp_run_with_params(GrubInterp *in, const GrubScript *body, char **params, size_t n_params);
/* Where the value of `set name=value` (the command's first argument word) comes from. */
GrubOrigin grub_interp_set_origin(GrubInterp *in, const GrubCmd *c);
/* Keeps s (and a copy of name) alive as long as the interpreter. */
int grub_interp_own(GrubInterp *in, GrubScript *s, const char *name, const char **ret_name);

/*
 * The budgets (budget.h), charged with the file and line of the command
 * running. grub_interp_hold() fails (-E2BIG, with the reason) when bytes
 * would not fit in the memory budget; grub_interp_release() gives them
 * back. grub_interp_charge() charges bytes of work; where its caller
 * cannot fail, the failure is kept in over_budget and the command ends
 * with it.
 */
int grub_interp_hold(GrubInterp *in, size_t bytes);
void grub_interp_release(GrubInterp *in, size_t bytes);
int grub_interp_charge(GrubInterp *in, uint64_t bytes);
/* Whether name (of len bytes) equals a known name, with the bytes compared charged as work. */
bool grub_interp_name_eq(GrubInterp *in, const char *known, size_t known_len, const char *name, size_t len);

/* A copy of env (exported_only: grub_env_context_open()'s), charged to the memory budget. */
int grub_interp_env_copy(GrubInterp *in, const GrubEnv *env, bool exported_only, GrubEnv **ret);
/* Frees a copy from grub_interp_env_copy() and gives its bytes back. NULL is fine. */
void grub_interp_env_drop(GrubInterp *in, GrubEnv *env);

/* Records a warning "file:line: ...". */
void grub_interp_warn(GrubInterp *in, unsigned line, const char *format, ...) _printf_(3, 4);
/* Fails with -err and "file:line: ...". */
int grub_interp_fail(GrubInterp *in, int err, unsigned line, const char *format, ...) _printf_(4, 5);

/* Variables (variables.c). origin tells where a value came from (GRUB_ORIGIN_SCRIPT mostly). */
/* grub_env_find() and grub_env_get() in the current context, counted against GRUB_MAX_LOOKUPS. */
const GrubVar *grub_interp_find_var(GrubInterp *in, const char *name);
const char *grub_interp_get(GrubInterp *in, const char *name);
int grub_interp_set(GrubInterp *in, unsigned line, const char *name, const char *value, GrubOrigin origin);
void grub_interp_unset(GrubInterp *in, const char *name);
int grub_interp_export(GrubInterp *in, unsigned line, const char *name);

/* Devices and files (device-names.c). */
int grub_interp_add_device(GrubInterp *in, const char *name, const KpDeviceSpec *spec, bool is_config_fs);
int grub_interp_resolve_file(GrubInterp *in, const char *arg, GrubFileRef *ret);
/* The device spec a device name (without parentheses) stands for. */
int grub_interp_device_spec(GrubInterp *in, const char *name, KpDeviceSpec *ret, bool *ret_is_config_fs);

/*
 * What [ -e/-f/-d/-s ] needs to know. Returns 1 when known, 0 when the
 * file is on a filesystem KpBootFs cannot read (a warning is recorded).
 */
typedef struct GrubFileFacts {
        bool exists;
        bool is_dir;
        bool non_empty;
} GrubFileFacts;
int grub_interp_probe_file(GrubInterp *in, unsigned line, const char *arg, GrubFileFacts *ret);
/* Reads a file argument through KpBootFs; -ENOENT/-EREMOTE (another filesystem) are not fatal. */
int grub_interp_read_file(GrubInterp *in, unsigned line, const char *arg, char **ret_path, char **ret_data,
                          size_t *ret_size);

/* Commands (commands.c, cmd-linux.c, cmd-test.c, cmd-blscfg.c): argv[0] is the command name. */
typedef int (*GrubCommandFn)(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc);
/* The emulation of a command GRUB would know on Xen, or NULL. */
GrubCommandFn grub_command_find(const char *name);

int grub_cmd_test(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc);
int grub_cmd_linux(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc);
int grub_cmd_initrd(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc);
int grub_cmd_boot(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc);
int grub_cmd_other_loader(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc);
int grub_cmd_blscfg(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc);

/* Adds a menu entry or submenu to the current menu (commands.c; blscfg uses it too). */
int grub_interp_add_item(GrubInterp *in, unsigned line, const char *title, const char *id, bool submenu,
                         char **params, size_t n_params, const GrubScript *body);
