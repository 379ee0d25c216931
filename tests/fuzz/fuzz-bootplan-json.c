/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzzes the plan JSON reader (state files): whatever it accepts must
 * write back out and read again to the same JSON.
 */
#include "fuzz-bootcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *json = NULL, *json2 = NULL;
        KpBootPlan *plan = NULL, *back = NULL;
        KpError e = {};

        if (kp_boot_plan_from_json((const char *) data, size, &e, &plan) < 0) {
                if (plan || !e.message[0])
                        abort();
                return 0;
        }
        /* JSON strings may hold anything; only a valid plan is promised to write out. */
        if (kp_boot_plan_validate(plan, &e) >= 0) {
                if (kp_boot_plan_format_json(plan, true, &json) < 0)
                        abort();
                if (kp_boot_plan_from_json(json, strlen(json), &e, &back) < 0)
                        abort();
                if (kp_boot_plan_format_json(back, true, &json2) < 0 || !streq(json, json2))
                        abort();
                kp_boot_plan_free(back);
        }
        kp_boot_plan_free(plan);
        return 0;
}
