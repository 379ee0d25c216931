/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fuzzes the GRUB environment block reader. */
#include <string.h>

#include "bootcfg/grubenv.h"
#include "util/macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        KpGrubEnv *env = NULL;
        KpError e = {};

        if (kp_grubenv_parse((const char *) data, size, &e, &env) < 0) {
                if (env || !e.message[0])
                        abort();
                return 0;
        }
        if (env->n_vars > KP_GRUBENV_MAX_VARIABLES)
                abort();
        for (size_t i = 0; i < env->n_vars; i++) {
                /* Names and values come from the block, so neither can be longer than it. */
                if (strlen(env->vars[i].name) > size || strlen(env->vars[i].value) > size)
                        abort();
                if (kp_grubenv_get(env, env->vars[i].name) != env->vars[i].value)
                        abort(); /* a later line replaced an earlier one: names are unique */
        }
        kp_grubenv_free(env);
        return 0;
}
