/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "util/grow.h"
#include "bootcfg/grub/interp.h"
#include "bootcfg/grubenv.h"
#include "bootcfg/text.h"
#include "util/error.h"

/*
 * GRUB commands that matter for what boots, emulated; the rest of what
 * grub-mkconfig writes, accepted as the no-ops they are for that question.
 * Statuses follow GRUB: 0 is success, anything else failure ($? and if).
 */

/* Whether the long option a ("--name" or "--name=value", name len bytes long) is name. */
static bool long_is(const char *a, size_t len, const char *name)
{
        return len == strlen(name) && strncmp(a + 2, name, len) == 0;
}

static int cmd_status(GrubInterp *in, int status)
{
        in->status = status;
        return 0;
}

static int cmd_true(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc)
{
        return cmd_status(in, 0);
}

static int cmd_false(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc)
{
        return cmd_status(in, 1);
}

static int cmd_set(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc)
{
        char *eq;
        int r;

        /* `set` alone lists the variables; `set a=b c` ignores c, as GRUB's grub_core_cmd_set() does. */
        if (argc < 2)
                return cmd_status(in, 0);
        eq = strchr(argv[1], '=');
        if (!eq)
                return cmd_status(in, 1); /* "not an assignment" */
        *eq = '\0';
        r = grub_interp_set(in, c->line, argv[1], eq + 1, grub_interp_set_origin(in, c));
        *eq = '=';
        if (r < 0)
                return r;
        return cmd_status(in, 0);
}

static int cmd_unset(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc)
{
        for (size_t i = 1; i < argc; i++)
                grub_interp_unset(in, argv[i]);
        return cmd_status(in, 0);
}

static int cmd_export(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc)
{
        int r;

        for (size_t i = 1; i < argc; i++) {
                r = grub_interp_export(in, c->line, argv[i]);
                if (r < 0)
                        return r;
        }
        return cmd_status(in, 0);
}

/* increment/decrement (Fedora's boot counting): numbers as grub_strtol() reads them. */
static int cmd_step(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc)
{
        const char *v;
        char buf[32];
        long long n;
        int r;

        if (argc != 2)
                return cmd_status(in, 1);
        v = grub_interp_get(in, argv[1]);
        if (!v)
                return cmd_status(in, 1);
        n = strtoll(v, NULL, 10);
        n += streq(argv[0], "increment") ? 1 : -1;
        (void) snprintf(buf, sizeof(buf), "%lld", n);
        r = grub_interp_set(in, c->line, argv[1], buf, GRUB_ORIGIN_SCRIPT);
        if (r < 0)
                return r;
        return cmd_status(in, 0);
}

static int cmd_load_env(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc)
{
        _cleanup_free_ char *file = NULL, *path = NULL, *data = NULL, *shown = NULL;
        _cleanup_(kp_grubenv_freep) KpGrubEnv *env = NULL;
        char **whitelist = NULL;
        size_t n_white = 0, size = 0, held;
        KpError perr = {};
        int r;

        whitelist = calloc(argc, sizeof(char *));
        if (!whitelist)
                return -ENOMEM;
        for (size_t i = 1; i < argc; i++) {
                const char *a = argv[i], *value = NULL;

                if (streq(a, "-f") || streq(a, "--file")) {
                        if (i + 1 >= argc || argv[i + 1][0] == '-') {
                                free(whitelist);
                                return cmd_status(in, 1); /* missing mandatory option */
                        }
                        value = argv[++i];
                } else if (startswith_lit(a, "--file="))
                        value = a + STRLEN("--file=");
                else if (streq(a, "-s") || streq(a, "--skip-sig"))
                        continue;
                else if (a[0] == '-' && a[1]) {
                        free(whitelist);
                        return cmd_status(in, 1); /* unknown argument */
                } else {
                        whitelist[n_white++] = argv[i];
                        continue;
                }
                free(file);
                file = strdup(value);
                if (!file) {
                        free(whitelist);
                        return -ENOMEM;
                }
        }
        if (!file) {
                if (asprintf(&file, "%s/grubenv", grub_interp_get(in, "prefix") ?: "") < 0) {
                        free(whitelist);
                        return -ENOMEM;
                }
        }

        r = grub_interp_read_file(in, c->line, file, &path, &data, &size);
        if (r == -ENOENT || r == -EREMOTE) {
                shown = kp_text_escape_short(file);
                if (r == -EREMOTE)
                        grub_interp_warn(in, c->line, "load_env: \"%s\" is not on the configuration's filesystem; not read",
                                         shown ?: "?");
                free(whitelist);
                return cmd_status(in, 1);
        }
        if (r < 0) {
                free(whitelist);
                return r;
        }

        /* The text and the variables parsed from it are held while they are read. */
        held = 3 * grub_alloc_cost(size + 1);
        r = grub_interp_hold(in, held);
        if (r < 0) {
                free(whitelist);
                return r;
        }
        r = kp_grubenv_parse(data, size, &perr, &env);
        if (r == -ENOMEM) {
                grub_interp_release(in, held);
                free(whitelist);
                return r;
        }
        if (r < 0) {
                shown = kp_text_escape_short(path);
                grub_interp_warn(in, c->line, "load_env: %s: %s", shown ?: "?", perr.message);
                grub_interp_release(in, held);
                free(whitelist);
                return cmd_status(in, 1);
        }

        for (size_t i = 0; r >= 0 && i < env->n_vars; i++) {
                const KpGrubEnvVar *v = &env->vars[i];
                GrubOrigin origin = GRUB_ORIGIN_SCRIPT;
                bool listed = n_white == 0;

                for (size_t k = 0; k < n_white && !listed; k++)
                        listed = streq(whitelist[k], v->name);
                if (!listed)
                        continue;
                if (streq(v->name, "next_entry")) {
                        if (in->flags & KP_BOOTCFG_IGNORE_NEXT_ENTRY)
                                continue;
                        origin = GRUB_ORIGIN_NEXT_ENTRY;
                } else if (streq(v->name, "saved_entry"))
                        origin = GRUB_ORIGIN_SAVED_ENTRY;
                r = grub_interp_set(in, c->line, v->name, v->value, origin);
        }
        grub_interp_release(in, held);
        free(whitelist);
        if (r < 0)
                return r;
        free(in->grubenv_path);
        in->grubenv_path = TAKE_PTR(path);
        return cmd_status(in, 0);
}

/* What a search command asks for. */
typedef struct SearchArgs {
        const char *key;
        const char *var;        /* the variable to set, NULL for none */
        bool by_file, by_label, by_uuid;
} SearchArgs;

/* search.fs_uuid KEY [VAR], search.fs_label, search.file: 1 when parsed, 0 (status set) when GRUB fails it. */
static int parse_search_shortcut(GrubInterp *in, char **argv, size_t argc, SearchArgs *ret)
{
        if (argc < 2)
                return cmd_status(in, 1);
        *ret = (SearchArgs) {
                .by_uuid = streq(argv[0], "search.fs_uuid"),
                .by_label = streq(argv[0], "search.fs_label"),
                .by_file = streq(argv[0], "search.file"),
                .key = argv[1],
                .var = argc > 2 ? argv[2] : NULL,
        };
        return 1;
}

static int search_unknown_option(GrubInterp *in, const GrubCmd *c, const char *a)
{
        _cleanup_free_ char *shown = kp_text_escape_short(a);
        grub_interp_warn(in, c->line, "search: unknown option \"%s\"", shown ?: "?");
        return cmd_status(in, 1);
}

/*
 * search [--file|--label|--fs-uuid] [--set[=VAR]] [--no-floppy] [--hint...] KEY,
 * options read as GRUB 2.06's grub_arg_parse() reads them. 1 when parsed,
 * 0 (status set) when GRUB would fail the command.
 */
static int parse_search(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc, SearchArgs *ret)
{
        static const char *const valued_long[] = { "hint", "hint-ieee1275", "hint-bios", "hint-baremetal",
                                                   "hint-efi", "hint-arc" };
        SearchArgs a = {};
        const char *set_value = NULL;
        bool set = false;

        for (size_t i = 1; i < argc; i++) {
                const char *w = argv[i];

                if (w[0] != '-' || strlen(w) == 1) {
                        if (!a.key)
                                a.key = w;
                        continue;
                }
                if (streq(w, "--")) {
                        if (!a.key && i + 1 < argc)
                                a.key = argv[i + 1];
                        break;
                }
                if (w[1] == '-') {
                        const char *eq = strchr(w, '=');
                        size_t len = eq ? (size_t) (eq - w - 2) : strlen(w) - 2;
                        const char *value = eq ? eq + 1 : NULL;
                        bool valued = long_is(w, len, "set");

                        for (size_t k = 0; k < ELEMENTSOF(valued_long); k++)
                                valued = valued || long_is(w, len, valued_long[k]);
                        /* A long option taking a value takes the next word unless it starts with '-'. */
                        if (!value && valued && i + 1 < argc && argv[i + 1][0] != '-')
                                value = argv[++i];
                        if (long_is(w, len, "file"))
                                a.by_file = true;
                        else if (long_is(w, len, "label"))
                                a.by_label = true;
                        else if (long_is(w, len, "fs-uuid"))
                                a.by_uuid = true;
                        else if (long_is(w, len, "no-floppy"))
                                ;
                        else if (long_is(w, len, "set")) {
                                set = true;
                                set_value = value;
                        } else if (!valued)
                                return search_unknown_option(in, c, w);
                        else if (!value)
                                return cmd_status(in, 1); /* missing mandatory option */
                        continue;
                }
                /* Short options, possibly several in one word. */
                for (const char *s = w + 1; *s; s++) {
                        bool last = s[1] == '\0';
                        switch (*s) {
                        case 'f':
                                a.by_file = true;
                                break;
                        case 'l':
                                a.by_label = true;
                                break;
                        case 'u':
                                a.by_uuid = true;
                                break;
                        case 'n':
                                break;
                        case 's':
                                set = true;
                                /* Optional value: the next word, unless it looks like an option. */
                                if (last && i + 1 < argc && (strlen(argv[i + 1]) < 2 || argv[i + 1][0] != '-'))
                                        set_value = argv[++i];
                                break;
                        case 'h':
                                if (!last || i + 1 >= argc)
                                        return cmd_status(in, 1);
                                i++;
                                break;
                        default:
                                return search_unknown_option(in, c, w);
                        }
                        if (argv[i] != w)
                                break; /* the value consumed the next word */
                }
        }

        if (set)
                a.var = set_value ?: "root";
        if (!a.key) {
                if (!set || !set_value)
                        return cmd_status(in, 1); /* "one argument expected" */
                a.key = set_value;
                a.var = "root";
        }
        *ret = a;
        return 1;
}

/*
 * What a search found, as a device name ("kp-uuid:<uuid>") whose meaning
 * the device table keeps, put in the variable it sets. Whether it is the
 * configuration's own filesystem is the best guess the reader allows.
 */
static int search_record(GrubInterp *in, const GrubCmd *c, const SearchArgs *a)
{
        _cleanup_(kp_device_spec_done) KpDeviceSpec spec = {};
        _cleanup_free_ char *name = NULL;
        const KpBootFs *fs = in->reader ? in->reader->fs : NULL;
        bool is_config_fs = false;
        int r;

        if (a->by_label) {
                spec.kind = KP_DEVICE_LABEL;
                is_config_fs = fs && fs->fs_label && streq(fs->fs_label, a->key);
        } else if (a->by_uuid) {
                spec.kind = KP_DEVICE_UUID;
                is_config_fs = fs && fs->fs_uuid && strcasecmp(fs->fs_uuid, a->key) == 0;
        } else if (a->by_file) {
                KpFileKind kind;
                spec.kind = KP_DEVICE_FILE;
                /* pvgrub2 takes the first disk holding the file; the config's own filesystem is the likely one. */
                if (a->key[0] == '/') {
                        r = kp_boot_fs_probe(in->reader, a->key, in->error, &kind);
                        if (r == -E2BIG)
                                return kp_error_prefix(in->error, r, "%s:%u: search", in->file, c->line);
                        is_config_fs = r >= 0 && kind != KP_FILE_MISSING;
                }
        } else
                return cmd_status(in, 1); /* "unspecified search type" */

        spec.value = strdup(a->key);
        if (!spec.value || asprintf(&name, "kp-%s:%s", kp_device_kind_to_string(spec.kind), a->key) < 0)
                return -ENOMEM;
        r = grub_interp_add_device(in, name, &spec, is_config_fs);
        if (r >= 0 && a->var)
                r = grub_interp_set(in, c->line, a->var, name, GRUB_ORIGIN_SCRIPT);
        if (r < 0)
                return r;
        return cmd_status(in, 0);
}

static int cmd_search(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc)
{
        SearchArgs a;
        int r;

        if (argv[0][6] == '.')
                r = parse_search_shortcut(in, argv, argc, &a);
        else
                r = parse_search(in, c, argv, argc, &a);
        if (r <= 0)
                return r;
        return search_record(in, c, &a);
}

int grub_interp_add_item(GrubInterp *in, unsigned line, const char *title, const char *id, bool submenu,
                         char **params, size_t n_params, const GrubScript *body)
{
        GrubMenuItem *n, *it;
        size_t cost, copied = 0;
        int r;

        if (in->n_items_total >= KP_BOOTCFG_MAX_ENTRIES)
                return grub_interp_fail(in, -E2BIG, line, "more than %d menu entries", KP_BOOTCFG_MAX_ENTRIES);
        /*
         * An item keeps its title, id and every parameter until the menu
         * it is on is done: 40 entries with 2,000 parameters of 32 KiB
         * each would hold 2.6 GB.
         */
        cost = 2 * sizeof(GrubMenuItem) + grub_alloc_cost(strlen(title) + 1) +
               (id ? grub_alloc_cost(strlen(id) + 1) : 0) + grub_alloc_cost(strlen(in->file) + 1) +
               grub_alloc_cost((n_params + 1) * sizeof(char *));
        for (size_t i = 0; i < n_params; i++) {
                size_t len = strlen(params[i]);
                cost += grub_alloc_cost(len + 1);
                copied += len;
        }
        r = grub_interp_hold(in, cost);
        if (r < 0)
                return r;
        in->menu->bytes += cost;
        r = grub_interp_charge(in, copied);
        if (r < 0)
                return r;
        n = kp_grow(in->menu->items, in->menu->n_items, sizeof(GrubMenuItem));
        if (!n)
                return -ENOMEM;
        in->menu->items = n;
        it = &n[in->menu->n_items];
        *it = (GrubMenuItem) {
                .title = strdup(title),
                .id = id ? strdup(id) : NULL,
                .submenu = submenu,
                .params = calloc(n_params + 1, sizeof(char *)),
                .body = body,
                .file = strdup(in->file),
                .line = line,
        };
        in->menu->n_items++;
        in->n_items_total++;
        if (!it->title || (id && !it->id) || !it->params || !it->file)
                return -ENOMEM;
        for (size_t i = 0; i < n_params; i++) {
                it->params[i] = strdup(params[i]);
                if (!it->params[i])
                        return -ENOMEM;
                it->n_params++;
        }
        return 0;
}

/* menuentry/submenu TITLE [--class C] [--id ID] [--users U] [--hotkey K] [--unrestricted] [ARGS] { ... } */
static int cmd_menuentry(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc)
{
        bool submenu = argv[0][0] == 's';
        const char *id = NULL, *source = NULL;
        const GrubScript *body = c->block;
        _cleanup_free_ char **pos = NULL;
        size_t n_pos = 0;
        int r;

        /* An entry defined while another one boots goes to a menu nobody sees. */
        if (in->boot)
                return cmd_status(in, 0);

        pos = calloc(argc, sizeof(char *));
        if (!pos)
                return -ENOMEM;
        for (size_t i = 1; i < argc; i++) {
                const char *a = argv[i];
                if (streq(a, "--")) {
                        while (++i < argc)
                                pos[n_pos++] = argv[i];
                        break;
                }
                if (a[0] == '-' && a[1] == '-') {
                        const char *eq = strchr(a, '=');
                        size_t len = eq ? (size_t) (eq - a - 2) : strlen(a) - 2;
                        const char *value = eq ? eq + 1 : NULL;
                        bool valued = long_is(a, len, "class") || long_is(a, len, "users") || long_is(a, len, "hotkey") ||
                                      long_is(a, len, "source") || long_is(a, len, "id");
                        if (!valued && !long_is(a, len, "unrestricted")) {
                                /* GRUB_COMMAND_ACCEPT_DASH: an unknown option is an argument. */
                                pos[n_pos++] = argv[i];
                                continue;
                        }
                        if (valued && !value && i + 1 < argc && argv[i + 1][0] != '-')
                                value = argv[++i];
                        if (valued && !value) {
                                _cleanup_free_ char *shown = kp_text_escape_short(a);
                                grub_interp_warn(in, c->line, "%s: option %s without a value", argv[0], shown ?: "?");
                                return cmd_status(in, 1);
                        }
                        if (long_is(a, len, "id"))
                                id = value;
                        else if (long_is(a, len, "source"))
                                source = value;
                        continue;
                }
                pos[n_pos++] = argv[i];
        }

        if (n_pos == 0) {
                grub_interp_warn(in, c->line, "%s without a title ignored", argv[0]);
                return cmd_status(in, 1);
        }
        if (source && body) {
                grub_interp_warn(in, c->line, "%s with both --source and a block ignored", argv[0]);
                return cmd_status(in, 1);
        }
        if (source) {
                GrubScript *s = NULL;
                KpError perr = {};

                r = grub_script_parse_budget("menuentry --source", source, strlen(source), &in->budget, &perr, &s);
                if (r == -ENOMEM)
                        return r;
                if (r == -E2BIG)
                        return kp_error_set(in->error, r, "%s", perr.message);
                if (r < 0)
                        grub_interp_warn(in, c->line, "%s --source: %s", argv[0], perr.message);
                else {
                        r = grub_interp_own(in, s, NULL, NULL);
                        if (r < 0)
                                return r;
                        body = s;
                }
        } else if (!body) {
                grub_interp_warn(in, c->line, "%s without a body ignored", argv[0]);
                return cmd_status(in, 1);
        }

        r = grub_interp_add_item(in, c->line, pos[0], id, submenu, pos, n_pos, body);
        if (r < 0)
                return r;
        return cmd_status(in, 0);
}

static int cmd_source(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc)
{
        _cleanup_free_ char *path = NULL, *data = NULL, *shown = NULL;
        GrubScript *s = NULL;
        const char *saved_file = in->file, *name = NULL;
        KpError perr = {};
        size_t size = 0, held;
        int r;

        if (argc < 2)
                return cmd_status(in, 1);
        shown = kp_text_escape_short(argv[1]);
        r = grub_interp_read_file(in, c->line, argv[1], &path, &data, &size);
        if (r == -EREMOTE) {
                grub_interp_warn(in, c->line, "source: \"%s\" is not on the configuration's filesystem; not read",
                                 shown ?: "?");
                return cmd_status(in, 1);
        }
        if (r == -ENOENT)
                return cmd_status(in, 1);
        if (r < 0)
                return r;

        /* The file's name is guest text: messages show it escaped. */
        _cleanup_free_ char *file = kp_text_escape(path, strlen(path), KP_BOOTCFG_MAX_PATH);
        if (!file)
                return -ENOMEM;
        /* Its text is held while it is parsed; the tree stays as long as the evaluation. */
        held = grub_alloc_cost(size + 1);
        r = grub_interp_hold(in, held);
        if (r < 0)
                return r;
        r = grub_script_parse_budget(file, data, size, &in->budget, &perr, &s);
        grub_interp_release(in, held);
        data = mfree(data);
        if (r == -EBADMSG) {
                /* GRUB reports the error and goes on with the next command. */
                grub_interp_warn(in, c->line, "source: %s", perr.message);
                return cmd_status(in, 1);
        }
        if (r < 0)
                return kp_error_set(in->error, r, "%s", perr.message[0] ? perr.message : "cannot parse sourced file");
        r = grub_interp_own(in, s, file, &name);
        if (r < 0)
                return r;

        if (in->call_depth >= KP_BOOTCFG_MAX_DEPTH)
                return grub_interp_fail(in, -ELOOP, c->line, "source nested deeper than %d levels",
                                        KP_BOOTCFG_MAX_DEPTH);
        in->call_depth++;
        in->file = name;
        r = grub_interp_run(in, s);
        in->file = saved_file;
        in->call_depth--;
        return r;
}

static int cmd_configfile(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc)
{
        _cleanup_free_ char *shown = kp_text_escape_short(argc > 1 ? argv[1] : "");
        grub_interp_warn(in, c->line, "%s \"%s\" not followed: kunpack reads one configuration", argv[0],
                         shown ?: "?");
        return cmd_status(in, 0);
}

static int cmd_return(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc)
{
        in->returning = true;
        return cmd_status(in, argc > 1 ? atoi(argv[1]) : in->status);
}

static int cmd_shift(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc)
{
        size_t k = argc > 1 ? strtoul(argv[1], NULL, 10) : 1;

        if (!in->in_scope || k > in->n_params)
                return cmd_status(in, 1);
        in->params += k;
        in->n_params -= k;
        return cmd_status(in, 0);
}

/* Commands whose outcome kunpack cannot know: say so, and take the failure branch. */
static int cmd_uncertain(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc)
{
        _cleanup_free_ char *shown = kp_text_escape_short(argv[0]);
        grub_interp_warn(in, c->line, "\"%s\" not evaluated; taken as failing", shown ?: "?");
        return cmd_status(in, 1);
}

static int cmd_warn_ignored(GrubInterp *in, const GrubCmd *c, char **argv, size_t argc)
{
        _cleanup_free_ char *shown = kp_text_escape_short(argv[0]);
        grub_interp_warn(in, c->line, "\"%s\" ignored", shown ?: "?");
        return cmd_status(in, 0);
}

static const struct {
        const char *name;
        GrubCommandFn fn;
} commands[] = {
        { "set", cmd_set },
        { "unset", cmd_unset },
        { "export", cmd_export },
        { "true", cmd_true },
        { "false", cmd_false },
        { "[", grub_cmd_test },
        { "test", grub_cmd_test },
        { "load_env", cmd_load_env },
        { "search", cmd_search },
        { "search.fs_uuid", cmd_search },
        { "search.fs_label", cmd_search },
        { "search.file", cmd_search },
        { "menuentry", cmd_menuentry },
        { "submenu", cmd_menuentry },
        { "source", cmd_source },
        { ".", cmd_source },
        { "configfile", cmd_configfile },
        { "legacy_configfile", cmd_configfile },
        { "blscfg", grub_cmd_blscfg },
        { "bls_import", grub_cmd_blscfg },
        /* Linux as GRUB's Xen loader sees it; linux16/linuxefi name the same thing for the guest's own GRUB. */
        { "linux", grub_cmd_linux },
        { "linux16", grub_cmd_linux },
        { "linuxefi", grub_cmd_linux },
        { "initrd", grub_cmd_initrd },
        { "initrd16", grub_cmd_initrd },
        { "initrdefi", grub_cmd_initrd },
        { "boot", grub_cmd_boot },
        { "chainloader", grub_cmd_other_loader },
        { "multiboot", grub_cmd_other_loader },
        { "multiboot2", grub_cmd_other_loader },
        { "knetbsd", grub_cmd_other_loader },
        { "kfreebsd", grub_cmd_other_loader },
        { "kopenbsd", grub_cmd_other_loader },
        { "appleloader", grub_cmd_other_loader },
        { "xnu_kernel", grub_cmd_other_loader },
        { "xnu_kernel64", grub_cmd_other_loader },
        { "ntldr", grub_cmd_other_loader },
        { "module", cmd_true },
        { "module2", cmd_true },
        { "return", cmd_return },
        { "shift", cmd_shift },
        { "increment", cmd_step },
        { "decrement", cmd_step },
        /* Harmless for the question what boots. */
        { "save_env", cmd_true },
        { "insmod", cmd_true },
        { "rmmod", cmd_true },
        { "echo", cmd_true },
        { "terminal_output", cmd_true },
        { "terminal_input", cmd_true },
        { "terminal", cmd_true },
        { "serial", cmd_true },
        { "background_color", cmd_true },
        { "background_image", cmd_true },
        { "clear", cmd_true },
        { "sleep", cmd_true },
        { "play", cmd_true },
        { "password", cmd_true },
        { "password_pbkdf2", cmd_true },
        { "gettext", cmd_true },
        { "lsmod", cmd_true },
        { "ls", cmd_true },
        { "cat", cmd_true },
        { "videoinfo", cmd_true },
        /* pvgrub2 is an x86_64 PV guest: long mode is there. */
        { "cpuid", cmd_true },
        /* A PV console has no fonts, no keyboard state, no PC hardware to match. */
        { "loadfont", cmd_false },
        { "keystatus", cmd_false },
        { "hwmatch", cmd_false },
        { "cmostest", cmd_false },
        { "fwsetup", cmd_false },
        { "read", cmd_false },
        { "probe", cmd_uncertain },
        { "regexp", cmd_uncertain },
        { "eval", cmd_uncertain },
        { "setparams", cmd_warn_ignored },
        { "normal", cmd_warn_ignored },
        { "normal_exit", cmd_warn_ignored },
        { "halt", cmd_warn_ignored },
        { "reboot", cmd_warn_ignored },
        { "exit", cmd_warn_ignored },
        { "break", cmd_warn_ignored },
        { "continue", cmd_warn_ignored },
};

GrubCommandFn grub_command_find(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (streq(commands[i].name, name))
                        return commands[i].fn;
        return NULL;
}
