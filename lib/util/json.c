/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"
#include "util/json.h"

int kp_json_gen_new(bool pretty, yajl_gen *ret)
{
        yajl_gen g = yajl_gen_alloc(NULL);

        if (!g)
                return -ENOMEM;
        if (pretty) {
                yajl_gen_config(g, yajl_gen_beautify, 1);
                yajl_gen_config(g, yajl_gen_indent_string, "  ");
        }
        /* Keep "/" as is in paths; yajl escapes it otherwise only on request. */
        yajl_gen_config(g, yajl_gen_validate_utf8, 0);
        *ret = g;
        return 0;
}

void kp_json_key(yajl_gen g, const char *key)
{
        yajl_gen_string(g, (const unsigned char *) key, strlen(key));
}

void kp_json_string(yajl_gen g, const char *s)
{
        if (s)
                yajl_gen_string(g, (const unsigned char *) s, strlen(s));
        else
                yajl_gen_null(g);
}

void kp_json_uint(yajl_gen g, uint64_t v)
{
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%" PRIu64, v);

        /* yajl_gen_integer takes a long long; this keeps all 64 bits. */
        yajl_gen_number(g, buf, (size_t) n);
}

void kp_json_int(yajl_gen g, int64_t v)
{
        yajl_gen_integer(g, (long long) v);
}

void kp_json_bool(yajl_gen g, bool b)
{
        yajl_gen_bool(g, b);
}

void kp_json_null(yajl_gen g)
{
        yajl_gen_null(g);
}

void kp_json_kv_string(yajl_gen g, const char *key, const char *s)
{
        kp_json_key(g, key);
        kp_json_string(g, s);
}

void kp_json_kv_uint(yajl_gen g, const char *key, uint64_t v)
{
        kp_json_key(g, key);
        kp_json_uint(g, v);
}

void kp_json_kv_bool(yajl_gen g, const char *key, bool b)
{
        kp_json_key(g, key);
        kp_json_bool(g, b);
}

int kp_json_gen_finish(yajl_gen g, char **ret_text, size_t *ret_size)
{
        const unsigned char *buf;
        size_t len;
        char *copy;

        if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
                return -EINVAL;
        copy = malloc(len + 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, buf, len);
        copy[len] = '\0';
        *ret_text = copy;
        if (ret_size)
                *ret_size = len;
        return 0;
}

int kp_json_parse(const char *text, KpError *error, yajl_val *ret)
{
        char reason[256] = "";
        yajl_val v;

        v = yajl_tree_parse(text, reason, sizeof(reason));
        if (!v) {
                char *nl = strchr(reason, '\n');
                if (nl)
                        *nl = '\0';
                return kp_error_set(error, -EBADMSG, "invalid JSON: %s", reason[0] ? reason : "parse error");
        }
        *ret = v;
        return 0;
}

yajl_val kp_json_get(yajl_val obj, const char *key)
{
        if (!YAJL_IS_OBJECT(obj))
                return NULL;
        for (size_t i = 0; i < obj->u.object.len; i++)
                if (streq(obj->u.object.keys[i], key))
                        return obj->u.object.values[i];
        return NULL;
}

const char *kp_json_get_string(yajl_val obj, const char *key)
{
        yajl_val v = kp_json_get(obj, key);
        return YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
}

int kp_json_get_uint(yajl_val obj, const char *key, uint64_t *ret)
{
        yajl_val v = kp_json_get(obj, key);
        unsigned long long u;
        char *end;

        if (!YAJL_IS_NUMBER(v) || !v->u.number.r || v->u.number.r[0] == '-')
                return -ENOENT;
        /* Parse the text: yajl's integer is signed and would lose the top bit. */
        errno = 0;
        u = strtoull(v->u.number.r, &end, 10);
        if (errno != 0 || *end)
                return -ERANGE;
        *ret = (uint64_t) u;
        return 0;
}

int kp_json_get_bool(yajl_val obj, const char *key, bool *ret)
{
        yajl_val v = kp_json_get(obj, key);

        if (YAJL_IS_TRUE(v))
                *ret = true;
        else if (YAJL_IS_FALSE(v))
                *ret = false;
        else
                return -ENOENT;
        return 0;
}
