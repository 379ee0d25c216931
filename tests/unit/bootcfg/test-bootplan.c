/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Boot plans: --entry selection, validation, and the JSON form both ways. */
#include <string.h>

#include "bootcfg-test.h"
#include "bootcfg/bootplan-json.h"
#include "bootcfg/text.h"
#include "util/strv.h"

static void test_strings(void)
{
        KpBootConfigKind k;
        KpSelectReason r;
        KpDeviceKind d;

        for (int i = 0; i < _KP_BOOT_CONFIG_KIND_MAX; i++) {
                ASSERT_OK(kp_boot_config_kind_from_string(kp_boot_config_kind_to_string(i), &k));
                ASSERT_EQ(k, i);
        }
        for (int i = 0; i < _KP_SELECT_REASON_MAX; i++) {
                ASSERT_OK(kp_select_reason_from_string(kp_select_reason_to_string(i), &r));
                ASSERT_EQ(r, i);
        }
        for (int i = 0; i < _KP_DEVICE_KIND_MAX; i++) {
                ASSERT_OK(kp_device_kind_from_string(kp_device_kind_to_string(i), &d));
                ASSERT_EQ(d, i);
        }
        ASSERT_STREQ(kp_select_reason_to_string(KP_SELECT_SAVED_ENTRY), "saved-entry");
        ASSERT_STREQ(kp_boot_config_kind_to_string(KP_BOOT_CONFIG_GRUB_LEGACY), "grub-legacy");
        ASSERT_TRUE(!kp_boot_config_kind_to_string(_KP_BOOT_CONFIG_KIND_MAX));
        ASSERT_ERROR(kp_select_reason_from_string("nope", &r), -EINVAL);

        _cleanup_free_ char *p = kp_menu_path_append("A>>B", "C>D");
        ASSERT_STREQ(p, "A>>B>C>>D");
        _cleanup_free_ char *x = kp_text_escape("a\n\"\x01\xff\xc3\xa9", 7, 64);
        ASSERT_STREQ(x, "a\\n\\\"\\x01\\xff\xc3\xa9");
}

static void test_select(void)
{
        KpBootPlan *plan = parse_case("ubuntu-20.04", KP_BOOT_CONFIG_GRUB2, "/boot/grub/grub.cfg", NULL, 0, NULL);
        KpError e = {};

        ASSERT_OK(kp_boot_plan_select(plan, "3", &e));
        ASSERT_EQ(plan->selected, 3);
        ASSERT_EQ(plan->reason, KP_SELECT_REQUESTED);
        ASSERT_STREQ(plan->reason_detail, "--entry \"3\"");
        ASSERT_OK(kp_boot_plan_select(plan, "Ubuntu", &e));
        ASSERT_EQ(plan->selected, 0);
        ASSERT_OK(kp_boot_plan_select(plan, "gnulinux-5.4.0-26-generic-recovery-6a1f3f5e-8a2b-4c7d-9e10-2b3c4d5e6f70", &e));
        ASSERT_EQ(plan->selected, 4);
        ASSERT_OK(kp_boot_plan_select(plan, "Advanced options for Ubuntu>Ubuntu, with Linux 5.4.0-26-generic", &e));
        ASSERT_EQ(plan->selected, 3);
        ASSERT_OK(kp_boot_plan_select(plan, "1>1", &e));
        ASSERT_EQ(plan->selected, 2);
        ASSERT_OK(kp_boot_plan_select(plan, "Advanced options for Ubuntu>gnulinux-5.4.0-42-generic-advanced-6a1f3f5e-8a2b-4c7d-9e10-2b3c4d5e6f70", &e));
        ASSERT_EQ(plan->selected, 1);

        ASSERT_ERROR(kp_boot_plan_select(plan, "9", &e), -ENOENT);
        ASSERT_STREQ(e.message, "no entry matches \"9\" (5 entries)");
        ASSERT_ERROR(kp_boot_plan_select(plan, "1>9", &e), -ENOENT);
        ASSERT_ERROR(kp_boot_plan_select(plan, "1", &e), 0);
        ASSERT_ERROR(kp_boot_plan_select(plan, "Advanced options for Ubuntu", &e), -ENOENT); /* a submenu, not an entry */
        ASSERT_ERROR(kp_boot_plan_select(plan, "evil\x1b", &e), -ENOENT);
        ASSERT_STREQ(e.message, "no entry matches \"evil\\x1b\" (5 entries)");
        ASSERT_ERROR(kp_boot_plan_select(plan, "", &e), -EINVAL);
        kp_boot_plan_free(plan);
}

static void test_direct_and_validate(void)
{
        KpBootPlan *plan = NULL;
        KpError e = {};
        char big[KP_BOOTCFG_MAX_CMDLINE + 2];

        ASSERT_OK(kp_boot_plan_new_direct("/boot/vmlinuz", "/boot/initrd", "root=/dev/xvda1", &plan));
        ASSERT_EQ(plan->kind, KP_BOOT_CONFIG_DIRECT);
        ASSERT_EQ(plan->reason, KP_SELECT_DIRECT);
        check_entry(selected(plan), "direct", "direct", "/boot/vmlinuz", "/boot/initrd", "root=/dev/xvda1");
        ASSERT_OK(kp_boot_plan_validate(plan, &e));

        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        free(plan->entries[0].cmdline);
        plan->entries[0].cmdline = strdup(big);
        ASSERT_ERROR(kp_boot_plan_validate(plan, &e), -E2BIG);
        ASSERT_STREQ(e.message, "entry 0: command line is 4097 bytes long, more than the limit of 4096");

        free(plan->entries[0].cmdline);
        plan->entries[0].cmdline = strdup("ok \xc3\x28");
        ASSERT_ERROR(kp_boot_plan_validate(plan, &e), -EBADMSG);
        ASSERT_STREQ(e.message, "entry 0: command line \"ok \\xc3(\" is not valid UTF-8");

        free(plan->entries[0].cmdline);
        plan->entries[0].cmdline = strdup("");
        ASSERT_OK(strv_extend(&plan->warnings, "tab\there"));
        ASSERT_ERROR(kp_boot_plan_validate(plan, &e), -EBADMSG);
        ASSERT_STREQ(e.message, "warning \"tab\\there\" contains a control character");
        kp_boot_plan_free(plan);

        plan = kp_boot_plan_new(KP_BOOT_CONFIG_GRUB2);
        ASSERT_ERROR(kp_boot_plan_validate(plan, &e), -ENOENT);
        ASSERT_STREQ(e.message, "the configuration offers no entry");
        kp_boot_plan_free(plan);
}

static void check_same_plan(const KpBootPlan *a, const KpBootPlan *b)
{
        ASSERT_EQ(a->kind, b->kind);
        ASSERT_STREQ(a->config_path, b->config_path);
        ASSERT_STREQ(a->config_device, b->config_device);
        ASSERT_EQ(a->n_entries, b->n_entries);
        ASSERT_EQ(a->selected, b->selected);
        ASSERT_EQ(a->reason, b->reason);
        ASSERT_STREQ(a->reason_detail, b->reason_detail);
        ASSERT_EQ(strv_length(a->warnings), strv_length(b->warnings));
        for (size_t i = 0; a->warnings[i]; i++)
                ASSERT_STREQ(a->warnings[i], b->warnings[i]);
        for (size_t i = 0; i < a->n_entries; i++) {
                const KpBootEntry *x = &a->entries[i], *y = &b->entries[i];
                ASSERT_STREQ(x->title, y->title);
                ASSERT_STREQ(x->menu_path, y->menu_path);
                ASSERT_STREQ(x->id, y->id);
                ASSERT_STREQ(x->cmdline, y->cmdline);
                ASSERT_EQ(x->root.kind, y->root.kind);
                ASSERT_STREQ(x->root.value, y->root.value);
                ASSERT_STREQ(x->kernel.path, y->kernel.path);
                ASSERT_EQ(x->kernel.have_info, y->kernel.have_info);
                ASSERT_STREQ(x->kernel.device, y->kernel.device);
                ASSERT_EQ_U64(x->kernel.size, y->kernel.size);
                ASSERT_STREQ(x->kernel.sha256, y->kernel.sha256);
                ASSERT_EQ(x->kernel.format, y->kernel.format);
                ASSERT_EQ(x->n_initrds, y->n_initrds);
                for (size_t k = 0; k < x->n_initrds; k++) {
                        ASSERT_STREQ(x->initrds[k].path, y->initrds[k].path);
                        ASSERT_EQ(x->initrds[k].have_info, y->initrds[k].have_info);
                        ASSERT_EQ_U64(x->initrds[k].size, y->initrds[k].size);
                        ASSERT_STREQ(x->initrds[k].sha256, y->initrds[k].sha256);
                        ASSERT_STREQ(x->initrds[k].device, y->initrds[k].device);
                }
        }
}

static void test_json_round_trip(void)
{
        static const char *const cases[][3] = {
                { "ubuntu-20.04", "grub2", "/boot/grub/grub.cfg" },
                { "fedora-38", "grub2", "/grub2/grub.cfg" },
                { "centos-6", "grub-legacy", "/grub/grub.conf" },
                { "alpine", "extlinux", "/boot/extlinux.conf" },
                { "fallback", "none", NULL },
        };

        for (size_t c = 0; c < ELEMENTSOF(cases); c++) {
                _cleanup_free_ char *json = NULL, *json2 = NULL;
                KpBootConfigKind kind;
                KpBootPlan *plan, *back = NULL;
                KpError e = {};

                ASSERT_OK(kp_boot_config_kind_from_string(cases[c][1], &kind));
                plan = parse_case(cases[c][0], kind, cases[c][2], NULL, 0, NULL);

                /* What the inspection adds. */
                plan->config_device = strdup("/dev/sda1");
                KpBootEntry *s = &plan->entries[plan->selected];
                s->kernel.have_info = true;
                s->kernel.device = strdup("/dev/sda1");
                s->kernel.size = 11534336;
                s->kernel.format = KP_FORMAT_ZSTD;
                memset(s->kernel.sha256, 'a', 64);
                if (s->n_initrds > 0) {
                        s->initrds[0].have_info = true;
                        s->initrds[0].size = 123;
                        memset(s->initrds[0].sha256, 'b', 64);
                }

                ASSERT_OK(kp_boot_plan_format_json(plan, true, &json));
                ASSERT_OK(kp_boot_plan_from_json(json, strlen(json), &e, &back));
                check_same_plan(plan, back);
                ASSERT_OK(kp_boot_plan_format_json(back, true, &json2));
                ASSERT_STREQ(json, json2);
                kp_boot_plan_free(plan);
                kp_boot_plan_free(back);
        }
}

static void test_json_shape(void)
{
        _cleanup_free_ char *json = NULL;
        KpBootPlan *plan = parse_case("centos-7", KP_BOOT_CONFIG_GRUB2, "/grub2/grub.cfg", NULL, 0, NULL);

        ASSERT_OK(kp_boot_plan_format_json(plan, false, &json));
        ASSERT_CONTAINS(json, "{\"selected\":{\"index\":1,\"title\":\"CentOS Linux (3.10.0-1127.el7.x86_64) 7 (Core)\","
                              "\"menu_path\":\"CentOS Linux (3.10.0-1127.el7.x86_64) 7 (Core)\","
                              "\"id\":\"gnulinux-3.10.0-1127.el7.x86_64-advanced-b1c2d3e4-f5a6-4b7c-8d9e-0a1b2c3d4e5f\","
                              "\"kernel\":\"/vmlinuz-3.10.0-1127.el7.x86_64\","
                              "\"initrds\":[\"/initramfs-3.10.0-1127.el7.x86_64.img\"],"
                              "\"cmdline\":\"root=/dev/mapper/centos-root ro crashkernel=auto rd.lvm.lv=centos/root rd.lvm.lv=centos/swap rhgb quiet LANG=en_US.UTF-8\","
                              "\"format\":null,\"size\":null,\"sha256\":null,");
        ASSERT_CONTAINS(json, "\"config\":{\"file\":\"/grub2/grub.cfg\",\"filesystem\":null,\"kind\":\"grub2\"},"
                              "\"reason\":\"saved-entry\","
                              "\"reason_detail\":\"saved_entry=\\\"CentOS Linux (3.10.0-1127.el7.x86_64) 7 (Core)\\\" from /grub2/grubenv\","
                              "\"warnings\":[]}");
        kp_boot_plan_free(plan);
}

static void test_json_refusals(void)
{
        static const struct {
                const char *json;
                int err;
                const char *message;
        } cases[] = {
                { "[]", -EBADMSG, "plan JSON is not an object" },
                { "{", -EBADMSG, NULL },
                { "{\"config\":{\"kind\":\"grub3\"}}", -EBADMSG, "plan JSON: unknown configuration kind" },
                { "{\"config\":{\"kind\":\"grub2\"},\"reason\":\"first\",\"entries\":{}}", -EBADMSG,
                  "plan JSON: \"entries\" is missing or not a list" },
                { "{\"config\":{\"kind\":\"grub2\"},\"reason\":\"first\",\"entries\":[{\"title\":\"a\",\"cmdline\":\"\",\"initrds\":[]}],\"selected\":{\"index\":5}}",
                  -EBADMSG, "plan JSON: \"selected\" has no valid \"index\"" },
                { "{\"config\":{\"kind\":\"grub2\"},\"reason\":\"first\",\"entries\":[{\"title\":\"a\",\"cmdline\":\"\",\"initrds\":[],\"sha256\":\"XYZ\",\"size\":1}]}",
                  -EBADMSG, "plan JSON: \"sha256\" is not 64 lowercase hex digits" },
                { "{\"config\":{\"kind\":\"grub2\"},\"reason\":\"first\",\"entries\":[{\"title\":\"a\",\"cmdline\":\"\",\"initrds\":[],\"size\":-1}]}",
                  -EBADMSG, "plan JSON: \"size\" is not a non-negative integer" },
                { "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", -EBADMSG, "plan JSON nested deeper than 32 levels" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                KpBootPlan *plan = NULL;
                KpError e = {};
                ASSERT_ERROR(kp_boot_plan_from_json(cases[i].json, strlen(cases[i].json), &e, &plan), cases[i].err);
                if (cases[i].message)
                        ASSERT_STREQ(e.message, cases[i].message);
                ASSERT_TRUE(!plan);
        }
}

int main(void)
{
        test_strings();
        test_select();
        test_direct_and_validate();
        test_json_round_trip();
        test_json_shape();
        test_json_refusals();
        return 0;
}
