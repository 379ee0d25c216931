/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* kunpackd's request to a pooled kunpack-scan: what goes in comes out, and nothing else is a request. */
#include "boot/pool-protocol.h"
#include "tests.h"
#include "util/strv.h"

static void round_trip(char *const *args)
{
        _cleanup_free_ char *msg = NULL;
        _cleanup_strv_free_ char **back = NULL;
        size_t size;

        ASSERT_OK(kp_pool_request_encode(args, &msg, &size));
        ASSERT_OK(kp_pool_request_decode(msg, size, &back));
        ASSERT_EQ(strv_length(back), strv_length((char **) args));
        for (size_t i = 0; args[i]; i++)
                ASSERT_STREQ(back[i], args[i]);
}

int main(void)
{
        char *typical[] = { "kunpack-scan", "--json", "--timeout=95", "--progress-fd=3",
                            "--entry=Advanced options>Ubuntu, with Linux 5.15", "--", "/srv/xen/web1.img", NULL };
        char *none[] = { NULL };
        _cleanup_strv_free_ char **args = NULL;
        _cleanup_free_ char *msg = NULL, *big = NULL;
        char **many = NULL;
        size_t size;

        round_trip(typical);
        round_trip(none);

        /* The exact bytes: the prefix and every argument with its NUL. */
        {
                char *two[] = { "a", "bc", NULL };
                ASSERT_OK(kp_pool_request_encode(two, &msg, &size));
                ASSERT_EQ(size, 10);
                ASSERT_TRUE(memcmp(msg, "scan\0a\0bc\0", 10) == 0);
                msg = mfree(msg);
        }

        /* Refused: not a request, a last argument without its NUL, an empty argument, another prefix. */
        ASSERT_ERROR(kp_pool_request_decode("ready", 5, &args), -EBADMSG);
        ASSERT_ERROR(kp_pool_request_decode("scan\0a\0b", 8, &args), -EBADMSG);
        ASSERT_ERROR(kp_pool_request_decode("scan\0a\0\0", 8, &args), -EBADMSG);
        ASSERT_ERROR(kp_pool_request_decode("scam\0a\0", 7, &args), -EBADMSG);
        ASSERT_ERROR(kp_pool_request_decode("", 0, &args), -EBADMSG);
        {
                char *empty[] = { "a", "", NULL };
                ASSERT_ERROR(kp_pool_request_encode(empty, &msg, &size), -EINVAL);
        }

        /* The limits, on both sides. */
        for (size_t i = 0; i <= KP_POOL_REQUEST_MAX_ARGS; i++)
                ASSERT_OK(strv_extend(&many, "x"));
        ASSERT_ERROR(kp_pool_request_encode(many, &msg, &size), -E2BIG);
        free(many[KP_POOL_REQUEST_MAX_ARGS]);
        many[KP_POOL_REQUEST_MAX_ARGS] = NULL;
        ASSERT_OK(kp_pool_request_encode(many, &msg, &size));
        msg = mfree(msg);
        {
                /* 65 arguments built by hand: the decoder counts too. */
                char buf[5 + 2 * (KP_POOL_REQUEST_MAX_ARGS + 1)];
                memcpy(buf, "scan", 5);
                for (size_t i = 0; i <= KP_POOL_REQUEST_MAX_ARGS; i++)
                        memcpy(buf + 5 + 2 * i, "x", 2);
                ASSERT_ERROR(kp_pool_request_decode(buf, sizeof(buf), &args), -EBADMSG);
                ASSERT_OK(kp_pool_request_decode(buf, sizeof(buf) - 2, &args));
                ASSERT_EQ(strv_length(args), KP_POOL_REQUEST_MAX_ARGS);
        }
        big = malloc(KP_POOL_REQUEST_MAX);
        ASSERT_TRUE(big);
        memset(big, 'y', KP_POOL_REQUEST_MAX - 1);
        big[KP_POOL_REQUEST_MAX - 1] = '\0';
        {
                char *one[] = { big, NULL };
                ASSERT_ERROR(kp_pool_request_encode(one, &msg, &size), -E2BIG);
        }
        strv_free(many);
        return 0;
}
