/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "util/grow.h"
#include "bootcfg/grub/interp.h"
#include "bootcfg/text.h"

/* n bytes of p (a string and its NUL) in a new allocation. */
static char *memdup(const char *p, size_t n)
{
        char *d = malloc(n);

        return d ? memcpy(d, p, n) : NULL;
}

GrubEnv *grub_env_new(void)
{
        return calloc(1, sizeof(GrubEnv));
}

GrubEnv *grub_env_free(GrubEnv *env)
{
        if (!env)
                return NULL;
        for (size_t i = 0; i < env->n_vars; i++) {
                free(env->vars[i].name);
                free(env->vars[i].value);
        }
        free(env->vars);
        free(env);
        return NULL;
}

size_t grub_var_cost(size_t name_len, size_t value_len)
{
        /* Name and value, and the slot with the room kp_grow() keeps beside it. */
        return grub_alloc_cost(name_len + 1) + grub_alloc_cost(value_len + 1) + 2 * sizeof(GrubVar);
}

size_t grub_env_copy_cost(const GrubEnv *env, bool exported_only)
{
        size_t bytes = grub_alloc_cost(sizeof(GrubEnv));

        for (size_t i = 0; i < env->n_vars; i++)
                if (!exported_only || env->vars[i].exported)
                        bytes += grub_var_cost(env->vars[i].name_len, env->vars[i].value_len);
        return bytes;
}

GrubEnv *grub_env_copy(const GrubEnv *env, bool exported_only)
{
        _cleanup_(grub_env_freep) GrubEnv *c = grub_env_new();

        if (!c)
                return NULL;
        c->vars = calloc(kp_grow_capacity(env->n_vars), sizeof(GrubVar));
        if (!c->vars)
                return NULL;
        for (size_t i = 0; i < env->n_vars; i++) {
                const GrubVar *v = &env->vars[i];
                GrubVar *d;

                if (exported_only && !v->exported)
                        continue;
                d = &c->vars[c->n_vars];
                d->name = memdup(v->name, v->name_len + 1);
                d->value = memdup(v->value, v->value_len + 1);
                if (!d->name || !d->value) {
                        free(d->name);
                        free(d->value);
                        return NULL;
                }
                d->name_len = v->name_len;
                d->value_len = v->value_len;
                d->exported = v->exported;
                d->origin = v->origin;
                c->n_vars++;
        }
        c->bytes = grub_env_copy_cost(env, exported_only);
        return TAKE_PTR(c);
}

const GrubVar *grub_env_find(const GrubEnv *env, const char *name)
{
        size_t len = strlen(name);

        for (size_t i = 0; env && i < env->n_vars; i++)
                if (env->vars[i].name_len == len && memcmp(env->vars[i].name, name, len) == 0)
                        return &env->vars[i];
        return NULL;
}

const char *grub_env_get(const GrubEnv *env, const char *name)
{
        const GrubVar *v = grub_env_find(env, name);
        return v ? v->value : NULL;
}

int grub_interp_env_copy(GrubInterp *in, const GrubEnv *env, bool exported_only, GrubEnv **ret)
{
        size_t bytes = grub_env_copy_cost(env, exported_only);
        GrubEnv *c;
        int r;

        r = grub_interp_hold(in, bytes);
        if (r >= 0)
                r = grub_interp_charge(in, bytes);
        if (r < 0) {
                grub_interp_release(in, bytes);
                return r;
        }
        c = grub_env_copy(env, exported_only);
        if (!c) {
                grub_interp_release(in, bytes);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

void grub_interp_env_drop(GrubInterp *in, GrubEnv *env)
{
        if (!env)
                return;
        grub_interp_release(in, env->bytes);
        grub_env_free(env);
}

bool grub_interp_name_eq(GrubInterp *in, const char *known, size_t known_len, const char *name, size_t len)
{
        if (known_len != len)
                return false;
        /* Equal lengths: memcmp may read all of them. */
        if (grub_interp_charge(in, len) < 0)
                return false;
        return memcmp(known, name, len) == 0;
}

const GrubVar *grub_interp_find_var(GrubInterp *in, const char *name)
{
        GrubEnv *env = in->env;
        size_t len = strlen(name);

        in->lookups += env->n_vars;
        /* Measuring the name is work too: a name can be as long as the file. */
        if (grub_interp_charge(in, len) < 0)
                return NULL;
        for (size_t i = 0; i < env->n_vars; i++)
                if (grub_interp_name_eq(in, env->vars[i].name, env->vars[i].name_len, name, len))
                        return &env->vars[i];
        return NULL;
}

const char *grub_interp_get(GrubInterp *in, const char *name)
{
        const GrubVar *v = grub_interp_find_var(in, name);
        return v ? v->value : NULL;
}

static GrubVar *find_mutable(GrubInterp *in, const char *name)
{
        return (GrubVar *) grub_interp_find_var(in, name);
}

int grub_interp_set(GrubInterp *in, unsigned line, const char *name, const char *value, GrubOrigin origin)
{
        GrubEnv *env = in->env;
        GrubVar *v, *n;
        char *val, *nm;
        size_t len = strlen(value), name_len = strlen(name), cost;
        int r;

        if (len > GRUB_MAX_VALUE) {
                _cleanup_free_ char *shown = kp_text_escape_short(name);
                return grub_interp_fail(in, -E2BIG, line, "value of %zu bytes for variable \"%s\" exceeds the limit of %d bytes",
                                        len, shown ?: "?", GRUB_MAX_VALUE);
        }
        r = grub_interp_charge(in, len + name_len);
        if (r < 0)
                return r;

        v = find_mutable(in, name);
        if (in->over_budget < 0)
                return in->over_budget;
        if (v) {
                cost = grub_alloc_cost(len + 1);
                r = grub_interp_hold(in, cost);
                if (r < 0)
                        return r;
                val = memdup(value, len + 1);
                if (!val) {
                        grub_interp_release(in, cost);
                        return -ENOMEM;
                }
                grub_interp_release(in, grub_alloc_cost(v->value_len + 1));
                env->bytes = env->bytes - grub_alloc_cost(v->value_len + 1) + cost;
                free(v->value);
                v->value = val;
                v->value_len = len;
                v->origin = origin;
                return 0;
        }
        if (env->n_vars >= GRUB_MAX_VARIABLES)
                return grub_interp_fail(in, -E2BIG, line, "more than %d variables", GRUB_MAX_VARIABLES);
        cost = grub_var_cost(name_len, len);
        r = grub_interp_hold(in, cost);
        if (r < 0)
                return r;
        n = kp_grow(env->vars, env->n_vars, sizeof(GrubVar));
        if (!n) {
                grub_interp_release(in, cost);
                return -ENOMEM;
        }
        env->vars = n;
        val = memdup(value, len + 1);
        nm = memdup(name, name_len + 1);
        if (!val || !nm) {
                free(val);
                free(nm);
                grub_interp_release(in, cost);
                return -ENOMEM;
        }
        env->vars[env->n_vars++] = (GrubVar) {
                .name = nm, .value = val, .name_len = name_len, .value_len = len, .origin = origin,
        };
        env->bytes += cost;
        return 0;
}

void grub_interp_unset(GrubInterp *in, const char *name)
{
        GrubEnv *env = in->env;
        GrubVar *v = find_mutable(in, name);
        size_t i, cost;

        if (!v)
                return;
        i = (size_t) (v - env->vars);
        cost = grub_var_cost(v->name_len, v->value_len);
        free(v->name);
        free(v->value);
        memmove(&env->vars[i], &env->vars[i + 1], (env->n_vars - i - 1) * sizeof(GrubVar));
        env->n_vars--;
        env->bytes -= MIN(cost, env->bytes);
        grub_interp_release(in, cost);
}

int grub_interp_export(GrubInterp *in, unsigned line, const char *name)
{
        GrubVar *v = find_mutable(in, name);
        int r;

        if (in->over_budget < 0)
                return in->over_budget;
        /* GRUB's grub_env_export() creates an empty variable to export. */
        if (!v) {
                r = grub_interp_set(in, line, name, "", GRUB_ORIGIN_SCRIPT);
                if (r < 0)
                        return r;
                v = find_mutable(in, name);
                if (!v)
                        return in->over_budget < 0 ? in->over_budget : -ENOENT;
        }
        v->exported = true;
        return 0;
}
