/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "util/grow.h"
#include "bootcfg/grub/interp.h"
#include "bootcfg/text.h"
#include "util/error.h"
#include "util/strv.h"

void grub_menu_done(GrubMenu *m)
{
        for (size_t i = 0; i < m->n_items; i++) {
                GrubMenuItem *it = &m->items[i];
                free(it->title);
                free(it->id);
                for (size_t k = 0; k < it->n_params; k++)
                        free(it->params[k]);
                free(it->params);
                free(it->file);
        }
        free(m->items);
        *m = (GrubMenu) {};
}

void grub_boot_done(GrubBoot *b)
{
        free(b->kernel);
        kp_device_spec_done(&b->kernel_spec);
        free(b->cmdline);
        for (size_t i = 0; i < b->n_initrds; i++)
                free(b->initrds[i]);
        free(b->initrds);
        kp_device_spec_done(&b->initrd_spec);
        *b = (GrubBoot) {};
}

void grub_interp_warn(GrubInterp *in, unsigned line, const char *format, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&msg, format, ap);
        va_end(ap);
        if (r < 0)
                return;
        (void) kp_warnings_add(in->warnings, "%s:%u: %s", in->file, line, msg);
}

int grub_interp_fail(GrubInterp *in, int err, unsigned line, const char *format, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int r;

        /* A budget spent earlier in the command is why whatever failed after it failed. */
        if (in->over_budget < 0)
                return in->over_budget;

        va_start(ap, format);
        r = vasprintf(&msg, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return kp_error_set(in->error, err, "%s:%u: %s", in->file, line, msg);
}

int grub_interp_hold(GrubInterp *in, size_t bytes)
{
        return grub_budget_hold(&in->budget, bytes, in->file, in->line, in->error);
}

void grub_interp_release(GrubInterp *in, size_t bytes)
{
        grub_budget_release(&in->budget, bytes);
}

int grub_interp_charge(GrubInterp *in, uint64_t bytes)
{
        int r;

        /* Once over, the first reason stays: whatever the command does next is refused anyway. */
        if (in->over_budget < 0)
                return in->over_budget;
        r = grub_budget_copy(&in->budget, bytes, in->file, in->line, in->error);
        if (r < 0)
                in->over_budget = r;
        return r;
}

int grub_interp_own(GrubInterp *in, GrubScript *s, const char *name, const char **ret_name)
{
        GrubScript **n;
        char **nn, *copy = NULL;
        int r;

        if (name) {
                /* The tree was charged by its parse; the name it is known by is charged here. */
                r = grub_interp_hold(in, grub_alloc_cost(strlen(name) + 1) + 2 * sizeof(char *));
                if (r < 0) {
                        grub_script_free(s);
                        return r;
                }
                copy = strdup(name);
                if (!copy) {
                        grub_script_free(s);
                        return -ENOMEM;
                }
                nn = kp_grow(in->owned_names, in->n_owned_names, sizeof(char *));
                if (!nn) {
                        free(copy);
                        grub_script_free(s);
                        return -ENOMEM;
                }
                in->owned_names = nn;
                in->owned_names[in->n_owned_names++] = copy;
        }
        if (s) {
                n = kp_grow(in->owned, in->n_owned, sizeof(GrubScript *));
                if (!n) {
                        grub_script_free(s);
                        return -ENOMEM;
                }
                in->owned = n;
                in->owned[in->n_owned++] = s;
        }
        if (ret_name)
                *ret_name = copy;
        return 0;
}

int grub_interp_save(GrubInterp *in, GrubSaved *ret)
{
        const GrubScript **bodies = NULL;
        size_t bytes = 0;
        int r;

        if (in->n_funcs > 0) {
                bytes = grub_alloc_cost(in->n_funcs * sizeof(*bodies));
                r = grub_interp_hold(in, bytes);
                if (r < 0)
                        return r;
                bodies = calloc(in->n_funcs, sizeof(*bodies));
                if (!bodies) {
                        grub_interp_release(in, bytes);
                        return -ENOMEM;
                }
                for (size_t i = 0; i < in->n_funcs; i++)
                        bodies[i] = in->funcs[i].body;
        }
        *ret = (GrubSaved) { .bodies = bodies, .n_funcs = in->n_funcs, .grubenv_path = in->grubenv_path,
                             .bytes = bytes };
        in->grubenv_path = NULL;
        return 0;
}

void grub_interp_restore(GrubInterp *in, GrubSaved *saved)
{
        assert(saved->n_funcs <= in->n_funcs);
        for (size_t i = saved->n_funcs; i < in->n_funcs; i++) {
                grub_interp_release(in, grub_alloc_cost(in->funcs[i].name_len + 1) + 2 * sizeof(*in->funcs));
                free(in->funcs[i].name);
        }
        in->n_funcs = saved->n_funcs;
        for (size_t i = 0; i < saved->n_funcs; i++)
                in->funcs[i].body = saved->bodies[i];
        free(saved->bodies);
        grub_interp_release(in, saved->bytes);
        free(in->grubenv_path);
        in->grubenv_path = saved->grubenv_path;
        *saved = (GrubSaved) {};
}

/* The variables GRUB 2.06's normal mode and pvgrub2 set before reading grub.cfg. */
static int set_initial_variables(GrubInterp *in)
{
        /* grub-core/normal/main.c: all of these are "y" and exported. */
        static const char *const features[] = {
                "feature_chainloader_bpb", "feature_ntldr", "feature_platform_search_hint",
                "feature_default_font_path", "feature_all_video_module", "feature_menuentry_id",
                "feature_menuentry_options", "feature_200_final", "feature_nativedisk_cmd",
                "feature_timeout_style",
        };
        static const KpDeviceSpec same = { KP_DEVICE_SAME, NULL };
        _cleanup_free_ char *dir = NULL, *prefix = NULL, *file = NULL;
        const char *slash;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(features); i++) {
                r = grub_interp_set(in, 0, features[i], "y", GRUB_ORIGIN_SCRIPT);
                if (r >= 0)
                        r = grub_interp_export(in, 0, features[i]);
                if (r < 0)
                        return r;
        }

        /* pvgrub2 is GRUB for the "xen" platform; kunpack targets x86_64 guests. */
        r = grub_interp_set(in, 0, "grub_platform", "xen", GRUB_ORIGIN_SCRIPT);
        if (r >= 0)
                r = grub_interp_export(in, 0, "grub_platform");
        if (r >= 0)
                r = grub_interp_set(in, 0, "grub_cpu", "x86_64", GRUB_ORIGIN_SCRIPT);
        if (r >= 0)
                r = grub_interp_export(in, 0, "grub_cpu");
        if (r < 0)
                return r;

        /*
         * $root is the filesystem the config came from, as pvgrub2's
         * `search -f /boot/grub/grub.cfg; configfile ...` leaves it.
         * $prefix is the config's own directory: what the guest's GRUB
         * had, so that [ -s $prefix/grubenv ] and load_env find the
         * guest's grubenv. (pvgrub2 itself keeps (memdisk)/boot/grub and
         * would never see it.)
         */
        r = grub_interp_add_device(in, "kp-config", &same, true);
        if (r < 0)
                return r;
        slash = in->config_path ? strrchr(in->config_path, '/') : NULL;
        if (slash && slash != in->config_path)
                dir = strndup(in->config_path, (size_t) (slash - in->config_path));
        else
                dir = strdup(slash ? "" : "/boot/grub");
        if (!dir)
                return -ENOMEM;
        if (asprintf(&prefix, "(kp-config)%s", dir) < 0 ||
            asprintf(&file, "(kp-config)%s", in->config_path ?: "/boot/grub/grub.cfg") < 0)
                return -ENOMEM;

        static const char *const exported[] = { "root", "prefix", "config_directory", "config_file" };
        const char *values[] = { "kp-config", prefix, prefix, file };
        for (size_t i = 0; i < ELEMENTSOF(exported); i++) {
                r = grub_interp_set(in, 0, exported[i], values[i], GRUB_ORIGIN_SCRIPT);
                if (r >= 0)
                        r = grub_interp_export(in, 0, exported[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int grub_interp_init(GrubInterp *in, const char *config_path, KpBootFsReader *reader, KpBootParseFlags flags,
                     KpWarnings *warnings, KpError *error)
{
        *in = (GrubInterp) {
                .config_path = config_path ?: "grub.cfg",
                .file = config_path ?: "grub.cfg",
                .reader = reader,
                .flags = flags,
                .error = error,
                .warnings = warnings,
        };
        in->env = grub_env_new();
        if (!in->env)
                return -ENOMEM;
        return set_initial_variables(in);
}

void grub_interp_done(GrubInterp *in)
{
        grub_env_free(in->env);
        for (size_t i = 0; i < in->n_funcs; i++)
                free(in->funcs[i].name);
        free(in->funcs);
        for (size_t i = 0; i < in->n_devices; i++) {
                free(in->devices[i].name);
                kp_device_spec_done(&in->devices[i].spec);
        }
        free(in->devices);
        for (size_t i = 0; i < in->n_owned; i++)
                grub_script_free(in->owned[i]);
        free(in->owned);
        for (size_t i = 0; i < in->n_owned_names; i++)
                free(in->owned_names[i]);
        free(in->owned_names);
        free(in->grubenv_path);
        *in = (GrubInterp) {};
}

/* ---- expanding words into arguments (grub_script_arglist_to_argv) ---- */

typedef struct Argv {
        char **args;        /* args[n - 1] may be NULL: a slot nothing went into yet */
        size_t n;
        size_t len, cap;    /* of args[n - 1], so appending to it is not quadratic */
        size_t held;        /* charged to the memory budget for all of it */
} Argv;

static void argv_done(GrubInterp *in, Argv *a)
{
        for (size_t i = 0; i < a->n; i++)
                free(a->args[i]);
        free(a->args);
        grub_interp_release(in, a->held);
        *a = (Argv) {};
}

/* Opens a new argument unless the last one is still empty (GRUB's grub_script_argv_next()). */
static int argv_next(GrubInterp *in, unsigned line, Argv *a)
{
        char **n;

        int r;

        if (a->n > 0 && !a->args[a->n - 1])
                return 0;
        if (a->n >= GRUB_MAX_ARGS)
                return grub_interp_fail(in, -E2BIG, line, "more than %d arguments", GRUB_MAX_ARGS);
        r = grub_budget_word(&in->budget, in->file, line, in->error);
        if (r < 0)
                return r;
        /* The slot, with the room kp_grow() keeps beside it. */
        r = grub_interp_hold(in, 2 * sizeof(char *));
        if (r < 0)
                return r;
        a->held += 2 * sizeof(char *);
        n = kp_grow(a->args, a->n, sizeof(char *));
        if (!n)
                return -ENOMEM;
        a->args = n;
        a->args[a->n++] = NULL;
        a->args[a->n] = NULL;
        a->len = a->cap = 0;
        return 0;
}

static int argv_append(GrubInterp *in, unsigned line, Argv *a, const char *s, size_t len)
{
        char *cur = a->args[a->n - 1];
        int r;

        if (a->len + len > GRUB_MAX_VALUE)
                return grub_interp_fail(in, -E2BIG, line, "word of more than %d bytes", GRUB_MAX_VALUE);
        r = grub_interp_charge(in, len);
        if (r < 0)
                return r;
        if (!cur || a->len + len + 1 > a->cap) {
                size_t cap = MAX(a->cap * 2, a->len + len + 1);
                cap = MAX(cap, (size_t) 16);
                size_t more = grub_alloc_cost(cap) - (cur ? grub_alloc_cost(a->cap) : 0);

                r = grub_interp_hold(in, more);
                if (r < 0)
                        return r;
                cur = realloc(cur, cap);
                if (!cur) {
                        grub_interp_release(in, more);
                        return -ENOMEM;
                }
                a->held += more;
                a->args[a->n - 1] = cur;
                a->cap = cap;
        }
        memcpy(cur + a->len, s, len);
        a->len += len;
        cur[a->len] = '\0';
        return 0;
}

static bool grub_isspace(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* An unquoted value: split at blanks, the first field joins the current argument. */
static int argv_split_append(GrubInterp *in, unsigned line, Argv *a, const char *s)
{
        int r;

        /* Blanks are read but not appended: reading them is charged. */
        r = grub_interp_charge(in, strlen(s));
        if (r < 0)
                return r;
        while (*s && grub_isspace(*s))
                s++;
        while (*s) {
                const char *start = s;
                while (*s && !grub_isspace(*s))
                        s++;
                r = argv_append(in, line, a, start, (size_t) (s - start));
                if (r < 0)
                        return r;
                while (*s && grub_isspace(*s))
                        s++;
                if (*s) {
                        r = argv_next(in, line, a);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static bool is_all_digits(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

/* A variable's value as GRUB's grub_script_env_get() gives it, then appended. */
static int expand_variable(GrubInterp *in, unsigned line, Argv *a, const char *name, bool split)
{
        char buf[32];
        int r;

        if (streq(name, "?")) {
                (void) snprintf(buf, sizeof(buf), "%d", in->status);
                return split ? argv_split_append(in, line, a, buf) : argv_append(in, line, a, buf, strlen(buf));
        }
        if (streq(name, "#") || streq(name, "*") || streq(name, "@") || is_all_digits(name)) {
                /* Positional parameters exist only in a function or an entry. */
                if (!in->in_scope)
                        return 0;
                if (streq(name, "#")) {
                        (void) snprintf(buf, sizeof(buf), "%zu", in->n_params);
                        return argv_append(in, line, a, buf, strlen(buf));
                }
                if (is_all_digits(name)) {
                        unsigned long long k = strtoull(name, NULL, 10);
                        if (k == 0 || k > in->n_params)
                                return 0;
                        const char *v = in->params[k - 1];
                        return split ? argv_split_append(in, line, a, v) : argv_append(in, line, a, v, strlen(v));
                }
                for (size_t i = 0; i < in->n_params; i++) {
                        const char *v = in->params[i];
                        if (i > 0) {
                                if (!split && streq(name, "*"))
                                        r = argv_append(in, line, a, " ", 1);
                                else
                                        r = argv_next(in, line, a);
                                if (r < 0)
                                        return r;
                        }
                        r = split ? argv_split_append(in, line, a, v) : argv_append(in, line, a, v, strlen(v));
                        if (r < 0)
                                return r;
                }
                return 0;
        }

        const GrubVar *var = grub_interp_find_var(in, name);
        const char *v = var ? var->value : NULL;
        if (!v || !*v)
                return 0;
        return split ? argv_split_append(in, line, a, v) : argv_append(in, line, a, v, strlen(v));
}

static int expand_words(GrubInterp *in, unsigned line, const GrubWord *words, size_t n_words, Argv *ret)
{
        Argv a = {};
        int r = 0;

        for (size_t w = 0; w < n_words && r >= 0; w++) {
                r = argv_next(in, line, &a);
                for (size_t i = 0; r >= 0 && i < words[w].n_parts; i++) {
                        const GrubPart *p = &words[w].parts[i];
                        switch (p->kind) {
                        case GRUB_PART_TEXT:
                                if (p->text[0])
                                        r = argv_append(in, line, &a, p->text, strlen(p->text));
                                break;
                        case GRUB_PART_QUOTED:
                                r = argv_append(in, line, &a, p->text, strlen(p->text));
                                break;
                        case GRUB_PART_VAR:
                                r = expand_variable(in, line, &a, p->text, true);
                                break;
                        case GRUB_PART_DQVAR:
                                r = expand_variable(in, line, &a, p->text, false);
                                break;
                        }
                }
        }
        if (r >= 0)
                r = in->over_budget;
        if (r < 0) {
                argv_done(in, &a);
                return r;
        }
        if (a.n > 0 && !a.args[a.n - 1])
                a.n--;
        *ret = a;
        return 0;
}

/*
 * The origin of a `name=value` word's value: a value that is exactly one
 * variable ("${saved_entry}") carries that variable's origin along, so the
 * reason can say the default came from grubenv.
 */
static GrubOrigin word_value_origin(GrubInterp *in, const GrubWord *w)
{
        const GrubPart *var = NULL;
        size_t i = 0;

        if (w->n_parts == 0 || w->parts[0].kind != GRUB_PART_TEXT)
                return GRUB_ORIGIN_SCRIPT;
        const char *eq = strchr(w->parts[0].text, '=');
        if (!eq || eq[1])
                return GRUB_ORIGIN_SCRIPT;
        for (i = 1; i < w->n_parts; i++) {
                const GrubPart *p = &w->parts[i];
                if (p->kind == GRUB_PART_QUOTED && !p->text[0])
                        continue;
                if ((p->kind == GRUB_PART_VAR || p->kind == GRUB_PART_DQVAR) && !var) {
                        var = p;
                        continue;
                }
                return GRUB_ORIGIN_SCRIPT;
        }
        if (!var)
                return GRUB_ORIGIN_SCRIPT;
        const GrubVar *v = grub_interp_find_var(in, var->text);
        return v ? v->origin : GRUB_ORIGIN_SCRIPT;
}

/* ---- running commands ---- */

static int run_cmd_at_line(GrubInterp *in, const GrubCmd *c);

static int run_function(GrubInterp *in, const GrubCmd *c, const GrubScript *body, char **argv, size_t argc)
{
        char **saved_params = in->params;
        size_t saved_n = in->n_params;
        bool saved_scope = in->in_scope;
        int r;

        if (in->call_depth >= KP_BOOTCFG_MAX_DEPTH)
                return grub_interp_fail(in, -ELOOP, c->line, "function calls nested deeper than %d levels",
                                        KP_BOOTCFG_MAX_DEPTH);
        in->call_depth++;
        in->params = argv + 1;
        in->n_params = argc - 1;
        in->in_scope = true;
        r = grub_interp_run(in, body);
        in->returning = false;
        in->params = saved_params;
        in->n_params = saved_n;
        in->in_scope = saved_scope;
        in->call_depth--;
        return r;
}

static const GrubScript *find_function(GrubInterp *in, const char *name)
{
        size_t len = strlen(name);

        in->lookups += in->n_funcs;
        for (size_t i = 0; i < in->n_funcs; i++)
                if (grub_interp_name_eq(in, in->funcs[i].name, in->funcs[i].name_len, name, len))
                        return in->funcs[i].body;
        return NULL;
}

static int define_function(GrubInterp *in, const GrubCmd *c)
{
        size_t len = strlen(c->name), cost;
        typeof(in->funcs) n;
        int r;

        for (size_t i = 0; i < in->n_funcs; i++)
                if (grub_interp_name_eq(in, in->funcs[i].name, in->funcs[i].name_len, c->name, len)) {
                        in->funcs[i].body = c->body;
                        return 0;
                }
        if (in->over_budget < 0)
                return in->over_budget;
        if (in->n_funcs >= GRUB_MAX_VARIABLES)
                return grub_interp_fail(in, -E2BIG, c->line, "more than %d functions", GRUB_MAX_VARIABLES);
        cost = grub_alloc_cost(len + 1) + 2 * sizeof(*in->funcs);
        r = grub_interp_hold(in, cost);
        if (r < 0)
                return r;
        n = kp_grow(in->funcs, in->n_funcs, sizeof(*in->funcs));
        if (!n) {
                grub_interp_release(in, cost);
                return -ENOMEM;
        }
        in->funcs = n;
        in->funcs[in->n_funcs].name = strdup(c->name);
        if (!in->funcs[in->n_funcs].name) {
                grub_interp_release(in, cost);
                return -ENOMEM;
        }
        in->funcs[in->n_funcs].name_len = len;
        in->funcs[in->n_funcs++].body = c->body;
        return 0;
}

static int run_simple(GrubInterp *in, const GrubCmd *c)
{
        _cleanup_free_ char *shown = NULL;
        Argv a = {};
        char **argv;
        size_t argc;
        bool invert = false;
        GrubCommandFn fn;
        const GrubScript *func;
        int r;

        r = expand_words(in, c->line, c->words, c->n_words, &a);
        if (r < 0)
                return r;
        if (a.n == 0) {
                argv_done(in, &a);
                return 0;
        }
        argv = a.args;
        argc = a.n;
        if (streq(argv[0], "!")) {
                if (argc < 2) {
                        in->status = 1;
                        argv_done(in, &a);
                        return 0;
                }
                invert = true;
                argv++, argc--;
        }

        fn = grub_command_find(argv[0]);
        if (fn)
                r = fn(in, c, argv, argc);
        else if ((func = find_function(in, argv[0])))
                r = run_function(in, c, func, argv, argc);
        else if (strchr(argv[0], '=')) {
                /* name=value: GRUB's last resort when no command or function has that name. */
                char *eq = strchr(argv[0], '=');
                *eq = '\0';
                r = grub_interp_set(in, c->line, argv[0], eq + 1,
                                    c->n_words > 0 ? word_value_origin(in, &c->words[invert ? 1 : 0]) : GRUB_ORIGIN_SCRIPT);
                in->status = 0;
        } else {
                shown = kp_text_escape_short(argv[0]);
                grub_interp_warn(in, c->line, "unknown command \"%s\" ignored", shown ?: "?");
                in->status = 1;
        }
        if (r >= 0 && invert)
                in->status = in->status == 0 ? 1 : 0;
        argv_done(in, &a);
        return r;
}

static int run_cmd(GrubInterp *in, const GrubCmd *c)
{
        unsigned saved_line = in->line;
        int r;

        in->line = c->line;
        r = run_cmd_at_line(in, c);
        in->line = saved_line;
        /* A charge that could not fail where it happened fails the command. */
        if (r >= 0 && in->over_budget < 0)
                r = in->over_budget;
        return r;
}

static int run_cmd_at_line(GrubInterp *in, const GrubCmd *c)
{
        int r;

        if (++in->steps > GRUB_MAX_STEPS)
                return grub_interp_fail(in, -ELOOP, c->line, "evaluation took more than %d steps", GRUB_MAX_STEPS);
        if (in->lookups > GRUB_MAX_LOOKUPS)
                return grub_interp_fail(in, -ELOOP, c->line, "evaluation compared more than %d names",
                                        GRUB_MAX_LOOKUPS);

        switch (c->kind) {
        case GRUB_CMD_SIMPLE:
                return run_simple(in, c);
        case GRUB_CMD_IF:
                r = grub_interp_run(in, c->cond);
                if (r < 0 || in->returning || (in->boot && in->boot->booted))
                        return r;
                if (in->status == 0)
                        return grub_interp_run(in, c->then_part);
                if (c->else_part)
                        return grub_interp_run(in, c->else_part);
                return 0;
        case GRUB_CMD_FUNCTION:
                in->status = 0;
                return define_function(in, c);
        case GRUB_CMD_LOOP:
                grub_interp_warn(in, c->line, "'%s' loop not evaluated", c->keyword);
                in->status = 0;
                return 0;
        }
        return 0;
}

int grub_interp_run(GrubInterp *in, const GrubScript *s)
{
        int r;

        for (size_t i = 0; s && i < s->n_cmds; i++) {
                r = run_cmd(in, &s->cmds[i]);
                if (r < 0)
                        return r;
                if (in->returning || (in->boot && in->boot->booted))
                        break;
        }
        return 0;
}

GrubOrigin grub_interp_set_origin(GrubInterp *in, const GrubCmd *c)
{
        return c->n_words >= 2 ? word_value_origin(in, &c->words[1]) : GRUB_ORIGIN_SCRIPT;
}

int grub_interp_run_with_params(GrubInterp *in, const GrubScript *body, char **params, size_t n_params)
{
        char **saved_params = in->params;
        size_t saved_n = in->n_params;
        bool saved_scope = in->in_scope;
        int r;

        in->params = params;
        in->n_params = n_params;
        in->in_scope = true;
        r = grub_interp_run(in, body);
        in->returning = false;
        in->params = saved_params;
        in->n_params = saved_n;
        in->in_scope = saved_scope;
        return r;
}
