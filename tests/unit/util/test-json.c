/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tests.h"
#include "util/json.h"

static void test_roundtrip(void)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        _cleanup_(yajl_tree_freep) yajl_val v = NULL;
        _cleanup_free_ char *text = NULL;
        KpError error = {};
        uint64_t u;
        bool b;

        ASSERT_OK(kp_json_gen_new(false, &g));
        yajl_gen_map_open(g);
        kp_json_kv_string(g, "path", "/boot/vmlinuz-5.4.0 \"quoted\"\n");
        kp_json_kv_uint(g, "big", UINT64_MAX);
        kp_json_kv_bool(g, "ok", true);
        kp_json_kv_string(g, "none", NULL);
        yajl_gen_map_close(g);
        ASSERT_OK(kp_json_gen_finish(g, &text, NULL));
        ASSERT_STREQ(text, "{\"path\":\"/boot/vmlinuz-5.4.0 \\\"quoted\\\"\\n\",\"big\":18446744073709551615,"
                           "\"ok\":true,\"none\":null}");

        ASSERT_OK(kp_json_parse(text, &error, &v));
        ASSERT_STREQ(kp_json_get_string(v, "path"), "/boot/vmlinuz-5.4.0 \"quoted\"\n");
        ASSERT_OK(kp_json_get_uint(v, "big", &u));
        ASSERT_EQ_U64(u, UINT64_MAX);
        ASSERT_OK(kp_json_get_bool(v, "ok", &b));
        ASSERT_TRUE(b);
        ASSERT_TRUE(kp_json_get_string(v, "none") == NULL);
        ASSERT_ERROR(kp_json_get_uint(v, "path", &u), -ENOENT);
        ASSERT_ERROR(kp_json_get_bool(v, "missing", &b), -ENOENT);
}

static void test_refusals(void)
{
        yajl_val v = NULL;
        KpError error = {};

        ASSERT_ERROR(kp_json_parse("{\"a\": [1, 2", &error, &v), -EBADMSG);
        ASSERT_CONTAINS(error.message, "invalid JSON: ");
        ASSERT_TRUE(v == NULL);
}

int main(void)
{
        test_roundtrip();
        test_refusals();
        return 0;
}
