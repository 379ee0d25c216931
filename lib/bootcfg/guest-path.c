/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "bootcfg/bootplan.h"
#include "bootcfg/guest-path.h"
#include "util/macro.h"

static int resolve(const char *base_dir, const char *path, bool dotdot, char **ret)
{
        size_t blen, plen, j = 0;
        _cleanup_free_ char *joined = NULL;
        char *out;

        if (!path || !*path)
                return -EINVAL;
        if (!base_dir || path[0] == '/')
                base_dir = "";
        blen = strlen(base_dir);
        plen = strlen(path);
        if (blen + plen + 2 > KP_BOOTCFG_MAX_PATH + 1)
                return -E2BIG;

        joined = malloc(blen + plen + 3);
        if (!joined)
                return -ENOMEM;
        /* "/" + base_dir + "/" + path: the separators collapse below. */
        (void) snprintf(joined, blen + plen + 3, "/%s/%s", base_dir, path);

        out = malloc(strlen(joined) + 1);
        if (!out)
                return -ENOMEM;
        for (const char *p = joined; *p;) {
                const char *end;
                size_t n;

                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                end = strchrnul(p, '/');
                n = (size_t) (end - p);
                if (dotdot && n == 2 && p[0] == '.' && p[1] == '.') {
                        /* Drop the last component, unless there is none or it is itself an unresolvable "..". */
                        char *slash = j > 0 ? memrchr(out, '/', j) : NULL;
                        if (slash && !(out + j - slash == 3 && slash[1] == '.' && slash[2] == '.')) {
                                j = (size_t) (slash - out);
                                p = end;
                                continue;
                        }
                }
                if (!(n == 1 && p[0] == '.')) {
                        out[j++] = '/';
                        memcpy(out + j, p, n);
                        j += n;
                }
                p = end;
        }
        if (j == 0)
                out[j++] = '/';
        out[j] = '\0';
        if (j > KP_BOOTCFG_MAX_PATH) {
                free(out);
                return -E2BIG;
        }
        *ret = out;
        return 0;
}

int kp_guest_path_resolve(const char *base_dir, const char *path, char **ret)
{
        return resolve(base_dir, path, false, ret);
}

int kp_guest_path_resolve_relative(const char *base_dir, const char *path, char **ret)
{
        return resolve(base_dir, path, true, ret);
}

int kp_guest_path_dirname(const char *path, char **ret)
{
        const char *slash = strrchr(path, '/');
        char *d;

        if (!slash || slash == path)
                d = strdup("/");
        else
                d = strndup(path, (size_t) (slash - path));
        if (!d)
                return -ENOMEM;
        *ret = d;
        return 0;
}

bool kp_guest_path_has_dotdot(const char *path)
{
        for (const char *p = path; p && *p;) {
                const char *end = strchrnul(p, '/');
                if (end - p == 2 && p[0] == '.' && p[1] == '.')
                        return true;
                p = *end ? end + 1 : end;
        }
        return false;
}
