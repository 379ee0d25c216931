/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "util/grow.h"
#include "bootcfg/grub/interp.h"
#include "bootcfg/text.h"

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
                d->name = strdup(v->name);
                d->value = strdup(v->value);
                if (!d->name || !d->value) {
                        free(d->name);
                        free(d->value);
                        return NULL;
                }
                d->exported = v->exported;
                d->origin = v->origin;
                c->n_vars++;
        }
        return TAKE_PTR(c);
}

const GrubVar *grub_env_find(const GrubEnv *env, const char *name)
{
        for (size_t i = 0; env && i < env->n_vars; i++)
                if (streq(env->vars[i].name, name))
                        return &env->vars[i];
        return NULL;
}

const char *grub_env_get(const GrubEnv *env, const char *name)
{
        const GrubVar *v = grub_env_find(env, name);
        return v ? v->value : NULL;
}

const GrubVar *grub_interp_find_var(GrubInterp *in, const char *name)
{
        in->lookups += in->env->n_vars;
        return grub_env_find(in->env, name);
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
        char *val;
        size_t len = strlen(value);

        if (len > GRUB_MAX_VALUE) {
                _cleanup_free_ char *shown = kp_text_escape_short(name);
                return grub_interp_fail(in, -E2BIG, line, "value of %zu bytes for variable \"%s\" exceeds the limit of %d bytes",
                                        len, shown ?: "?", GRUB_MAX_VALUE);
        }
        val = strdup(value);
        if (!val)
                return -ENOMEM;

        v = find_mutable(in, name);
        if (v) {
                free(v->value);
                v->value = val;
                v->origin = origin;
                return 0;
        }
        if (env->n_vars >= GRUB_MAX_VARIABLES) {
                free(val);
                return grub_interp_fail(in, -E2BIG, line, "more than %d variables", GRUB_MAX_VARIABLES);
        }
        n = kp_grow(env->vars, env->n_vars, sizeof(GrubVar));
        if (!n) {
                free(val);
                return -ENOMEM;
        }
        env->vars = n;
        v = &env->vars[env->n_vars];
        *v = (GrubVar) { .name = strdup(name), .value = val, .origin = origin };
        if (!v->name) {
                free(val);
                return -ENOMEM;
        }
        env->n_vars++;
        return 0;
}

void grub_interp_unset(GrubInterp *in, const char *name)
{
        GrubEnv *env = in->env;

        for (size_t i = 0; i < env->n_vars; i++)
                if (streq(env->vars[i].name, name)) {
                        free(env->vars[i].name);
                        free(env->vars[i].value);
                        memmove(&env->vars[i], &env->vars[i + 1], (env->n_vars - i - 1) * sizeof(GrubVar));
                        env->n_vars--;
                        return;
                }
}

int grub_interp_export(GrubInterp *in, unsigned line, const char *name)
{
        GrubVar *v = find_mutable(in, name);
        int r;

        /* GRUB's grub_env_export() creates an empty variable to export. */
        if (!v) {
                r = grub_interp_set(in, line, name, "", GRUB_ORIGIN_SCRIPT);
                if (r < 0)
                        return r;
                v = find_mutable(in, name);
        }
        v->exported = true;
        return 0;
}
