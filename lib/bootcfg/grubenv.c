/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "bootcfg/bootplan.h"
#include "util/grow.h"
#include "bootcfg/grubenv.h"
#include "util/error.h"
#include "util/macro.h"

#define GRUBENV_SIGNATURE "# GRUB Environment Block\n"

KpGrubEnv *kp_grubenv_free(KpGrubEnv *env)
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

const char *kp_grubenv_get(const KpGrubEnv *env, const char *name)
{
        for (size_t i = 0; env && i < env->n_vars; i++)
                if (streq(env->vars[i].name, name))
                        return env->vars[i].value;
        return NULL;
}

static int set_var(KpGrubEnv *env, char *name, char *value, KpError *error)
{
        KpGrubEnvVar *n;

        for (size_t i = 0; i < env->n_vars; i++)
                if (streq(env->vars[i].name, name)) {
                        free(env->vars[i].value);
                        env->vars[i].value = value;
                        free(name);
                        return 0;
                }
        if (env->n_vars >= KP_GRUBENV_MAX_VARIABLES) {
                free(name);
                free(value);
                return kp_error_set(error, -E2BIG, "grubenv holds more than %d variables",
                                    KP_GRUBENV_MAX_VARIABLES);
        }
        n = kp_grow(env->vars, env->n_vars, sizeof(KpGrubEnvVar));
        if (!n) {
                free(name);
                free(value);
                return -ENOMEM;
        }
        env->vars = n;
        env->vars[env->n_vars++] = (KpGrubEnvVar) { name, value };
        return 0;
}

int kp_grubenv_parse(const char *data, size_t size, KpError *error, KpGrubEnv **ret)
{
        _cleanup_(kp_grubenv_freep) KpGrubEnv *env = NULL;
        const char *p, *end = data + size;
        int r;

        if (size > KP_BOOTCFG_MAX_SIZE)
                return kp_error_set(error, -EFBIG, "grubenv of %zu bytes exceeds the limit of %d bytes", size,
                                    KP_BOOTCFG_MAX_SIZE);
        /* GRUB compares the signature but wants one byte more than it (sizeof counts the NUL). */
        if (size < sizeof(GRUBENV_SIGNATURE) || memcmp(data, GRUBENV_SIGNATURE, STRLEN(GRUBENV_SIGNATURE)) != 0)
                return kp_error_set(error, -EBADMSG, "invalid environment block: no \"# GRUB Environment Block\" signature");

        env = calloc(1, sizeof(*env));
        if (!env)
                return -ENOMEM;

        p = data + STRLEN(GRUBENV_SIGNATURE);
        while (p < end) {
                if (*p != '#') {
                        const char *name = p, *name_end, *value;
                        char *n, *v, *q;

                        while (p < end && *p != '=')
                                p++;
                        if (p == end)
                                break; /* broken: GRUB stops here */
                        name_end = p++;
                        value = p;
                        while (p < end && *p != '\n')
                                p += *p == '\\' ? 2 : 1;
                        if (p >= end)
                                break; /* broken */

                        /* C strings, as in GRUB: a NUL ends the name or the value. */
                        n = strndup(name, (size_t) (name_end - name));
                        v = malloc((size_t) (p - value) + 1);
                        if (!n || !v) {
                                free(n);
                                free(v);
                                return -ENOMEM;
                        }
                        q = v;
                        for (const char *s = value; s < p; s++) {
                                if (*s == '\\')
                                        s++;
                                *q++ = *s;
                        }
                        *q = '\0';
                        r = set_var(env, n, v, error);
                        if (r < 0)
                                return r;
                }
                /* The next line. */
                while (p < end && *p != '\n')
                        p++;
                if (p < end)
                        p++;
        }

        *ret = TAKE_PTR(env);
        return 0;
}
