/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Small conveniences over yajl, the JSON library libxenlight itself uses:
 * generating (--json output, state and cache metadata) and reading back our
 * own files. Guest data never arrives as JSON; what we parse is what we
 * wrote, but it is still read with limits because a disk can be corrupted.
 */

#include <stdbool.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "kunpack.h"
#include "util/macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC_VOID(yajl_gen, yajl_gen_free);
DEFINE_TRIVIAL_CLEANUP_FUNC_VOID(yajl_val, yajl_tree_free);

/* A generator; pretty: indented for humans (kunpackctl --json), else compact. */
int kp_json_gen_new(bool pretty, yajl_gen *ret);

void kp_json_key(yajl_gen g, const char *key);
void kp_json_string(yajl_gen g, const char *s);      /* NULL → null */
void kp_json_uint(yajl_gen g, uint64_t v);
void kp_json_int(yajl_gen g, int64_t v);
void kp_json_bool(yajl_gen g, bool b);
void kp_json_null(yajl_gen g);
/* key: value pairs, the common case. */
void kp_json_kv_string(yajl_gen g, const char *key, const char *s);
void kp_json_kv_uint(yajl_gen g, const char *key, uint64_t v);
void kp_json_kv_bool(yajl_gen g, const char *key, bool b);

/* The generated text (NUL-terminated copy) or -EINVAL if the document is incomplete. */
int kp_json_gen_finish(yajl_gen g, char **ret_text, size_t *ret_size);

/* Parses a NUL-terminated document; a reason from yajl in error on failure (-EBADMSG). */
int kp_json_parse(const char *text, KpError *error, yajl_val *ret);

/* Members of an object: NULL / -ENOENT when absent or of another type. */
yajl_val kp_json_get(yajl_val obj, const char *key);
const char *kp_json_get_string(yajl_val obj, const char *key);
int kp_json_get_uint(yajl_val obj, const char *key, uint64_t *ret);
int kp_json_get_bool(yajl_val obj, const char *key, bool *ret);
