/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Loading a library when it is first needed, as kmod does for its
 * compression libraries: a program that never meets an lz4 kernel, or
 * never opens a guest, never maps liblz4 or libguestfs and pays nothing
 * for them at start. Every library loaded this way is listed by hand in
 * docs/install.md and debian/rules, since no linker records it.
 *
 * A user of such a library declares a pointer per function it calls, with
 * the function's own type from the library's header, and calls through it:
 *
 *         static KP_DLSYM(LZ4_decompress_safe);
 *
 *         r = kp_dlopen_many(&lz4_dl, KP_SONAME_LZ4, error,
 *                            KP_DLSYM_ARG(LZ4_decompress_safe),
 *                            NULL);
 *         if (r < 0)
 *                 return r;
 *         n = sym_LZ4_decompress_safe(src, dst, ...);
 */

#include "kunpack.h"
#include "util/macro.h"

/* A pointer to the library's function f, with f's own type: sym_f. */
#define KP_DLSYM(f) __typeof__(f) *sym_##f
/* The (pointer, name) pair kp_dlopen_many() fills. */
#define KP_DLSYM_ARG(f) (void **) &sym_##f, #f

/*
 * Loads the library soname (RTLD_NOW, kept loaded for the life of the
 * process) once, then resolves each (void **pointer, const char *name)
 * pair after error, up to a NULL. *handle is the library's: NULL until it
 * is loaded, set only once every symbol is resolved, so a later call
 * returns at once. Safe to call from several threads at a time.
 *
 * -ELIBACC when the library is not installed or lacks a symbol; the error
 * names the library and what the dynamic loader said.
 */
int kp_dlopen_many(void **handle, const char *soname, KpError *error, ...) _sentinel_;
