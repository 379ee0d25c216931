/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot/pool-protocol.h"
#include "util/macro.h"
#include "util/strv.h"

#define REQUEST_PREFIX "scan"

int kp_pool_request_encode(char *const *args, char **ret, size_t *ret_size)
{
        size_t size = sizeof(REQUEST_PREFIX), n = 0;
        char *buf, *p;

        for (char *const *a = args; a && *a; a++, n++) {
                if (!**a)
                        return -EINVAL;
                size += strlen(*a) + 1;
        }
        if (n > KP_POOL_REQUEST_MAX_ARGS || size > KP_POOL_REQUEST_MAX)
                return -E2BIG;
        buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, REQUEST_PREFIX, sizeof(REQUEST_PREFIX));
        p = buf + sizeof(REQUEST_PREFIX);
        for (char *const *a = args; a && *a; a++) {
                size_t len = strlen(*a) + 1;
                memcpy(p, *a, len);
                p += len;
        }
        *ret = buf;
        *ret_size = size;
        return 0;
}

int kp_pool_request_decode(const char *msg, size_t size, char ***ret_args)
{
        _cleanup_strv_free_ char **args = NULL;
        const char *p, *end = msg + size;
        size_t n = 0;

        if (size > KP_POOL_REQUEST_MAX || size < sizeof(REQUEST_PREFIX) ||
            memcmp(msg, REQUEST_PREFIX, sizeof(REQUEST_PREFIX)) != 0 || msg[size - 1] != '\0')
                return -EBADMSG;
        args = calloc(1, sizeof(char *));
        if (!args)
                return -ENOMEM;
        for (p = msg + sizeof(REQUEST_PREFIX); p < end; p += strlen(p) + 1) {
                if (!*p || ++n > KP_POOL_REQUEST_MAX_ARGS)
                        return -EBADMSG;
                if (strv_extend(&args, p) < 0)
                        return -ENOMEM;
        }
        *ret_args = TAKE_PTR(args);
        return 0;
}
