/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>

#include "util/dlopen.h"
#include "util/error.h"

/* One lock for every lazily loaded library: loading happens a few times per process. */
static pthread_mutex_t dlopen_lock = PTHREAD_MUTEX_INITIALIZER;

static int resolve(void *dl, const char *soname, KpError *error, va_list ap)
{
        for (;;) {
                void **ptr = va_arg(ap, void **);
                const char *name;
                void *p;

                if (!ptr)
                        return 0;
                name = va_arg(ap, const char *);
                (void) dlerror();
                p = dlsym(dl, name);
                if (!p) {
                        const char *why = dlerror();
                        return kp_error_set(error, -ELIBACC, "%s has no %s (%s)", soname, name,
                                            why ?: "symbol not found");
                }
                *ptr = p;
        }
}

int kp_dlopen_many(void **handle, const char *soname, KpError *error, ...)
{
        va_list ap;
        void *dl;
        int r;

        /* Published with release order after every symbol: seeing the handle means seeing them too. */
        if (__atomic_load_n(handle, __ATOMIC_ACQUIRE))
                return 0;

        (void) pthread_mutex_lock(&dlopen_lock);
        if (*handle) {
                (void) pthread_mutex_unlock(&dlopen_lock);
                return 0;
        }
        dl = dlopen(soname, RTLD_NOW | RTLD_NODELETE | RTLD_LOCAL);
        if (!dl) {
                const char *why = dlerror();
                r = kp_error_set(error, -ELIBACC, "cannot load %s (%s)", soname, why ?: "not found");
                (void) pthread_mutex_unlock(&dlopen_lock);
                return r;
        }
        va_start(ap, error);
        r = resolve(dl, soname, error, ap);
        va_end(ap);
        if (r < 0)
                (void) dlclose(dl);
        else
                __atomic_store_n(handle, dl, __ATOMIC_RELEASE);
        (void) pthread_mutex_unlock(&dlopen_lock);
        return r;
}
