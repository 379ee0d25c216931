/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "boot/scan-summary.h"
#include "util/error.h"
#include "util/json.h"
#include "util/string-table.h"

/* errno values end well below this on Linux (EHWPOISON is 133). */
#define KP_ERRNO_MAX 4096

static const char *const scan_status_table[_KP_SCAN_STATUS_MAX] = {
        [KP_SCAN_SCANNED] = "scanned",
        [KP_SCAN_FRESH] = "fresh",
        [KP_SCAN_FAILED] = "failed",
};
KP_DEFINE_STRING_TABLE(kp_scan_status, KpScanStatus, scan_status_table);

const char *kp_errno_name(int r)
{
        const char *n = strerrorname_np(r < 0 ? -r : r);
        return n ? n : "EIO";
}

int kp_errno_from_name(const char *name)
{
        for (int i = 1; name && i < KP_ERRNO_MAX; i++) {
                const char *n = strerrorname_np(i);
                if (n && streq(n, name))
                        return -i;
        }
        return -EIO;
}

void kp_scan_result_done(KpScanResult *r)
{
        r->state = kp_disk_state_free(r->state);
}

void kp_scan_result_to_json(const KpScanResult *r, const char *disk, const char *request, yajl_gen g)
{
        const KpBootEntry *e = r->state && r->state->plan ? kp_boot_plan_selected(r->state->plan) : NULL;
        bool ok = r->status != KP_SCAN_FAILED;

        yajl_gen_map_open(g);
        kp_json_kv_string(g, "disk", disk);
        kp_json_kv_string(g, "request", request ? request : "");
        kp_json_kv_string(g, "status", kp_scan_status_to_string(r->status));
        kp_json_kv_string(g, "errno", ok ? NULL : kp_errno_name(r->error));
        kp_json_kv_string(g, "error", ok ? NULL : r->message);
        if (!ok)
                e = NULL;
        kp_json_kv_string(g, "title", e ? (e->menu_path ? e->menu_path : e->title) : NULL);
        kp_json_kv_string(g, "reason", e ? kp_select_reason_to_string(r->state->plan->reason) : NULL);
        kp_json_kv_string(g, "kernel", e ? e->kernel.path : NULL);
        kp_json_kv_string(g, "kernel_sha256", e && e->kernel.have_info ? e->kernel.sha256 : NULL);
        kp_json_kv_string(g, "format", e && e->kernel.have_info ? kp_format_to_string(e->kernel.format) : NULL);
        kp_json_key(g, "initrds");
        if (e) {
                yajl_gen_array_open(g);
                for (size_t i = 0; i < e->n_initrds; i++)
                        kp_json_string(g, e->initrds[i].path);
                yajl_gen_array_close(g);
        } else
                kp_json_null(g);
        kp_json_kv_string(g, "cmdline", e ? e->cmdline : NULL);
        kp_json_kv_bool(g, "next_entry_consumed", r->next_entry_consumed);
        kp_json_kv_uint(g, "fetched", r->fetched);
        kp_json_kv_string(g, "provisional", r->state ? r->state->provisional : NULL);
        yajl_gen_map_close(g);
}

int kp_scan_summary_format(const KpScanResult *results, char *const *disks, char *const *requests, size_t n,
                           unsigned launches, double seconds, char **ret_text)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        size_t size;
        int r;

        r = kp_json_gen_new(true, &g);
        if (r < 0)
                return r;
        yajl_gen_map_open(g);
        kp_json_kv_uint(g, "version", 1);
        kp_json_kv_uint(g, "launches", launches);
        {
                /* Milliseconds are what matters; yajl's own doubles print 17 digits. */
                char num[32];
                int len = snprintf(num, sizeof(num), "%.3f", seconds);
                kp_json_key(g, "seconds");
                yajl_gen_number(g, num, (size_t) len);
        }
        kp_json_key(g, "disks");
        yajl_gen_array_open(g);
        for (size_t i = 0; i < n; i++)
                kp_scan_result_to_json(&results[i], disks[i], requests ? requests[i] : "", g);
        yajl_gen_array_close(g);
        yajl_gen_map_close(g);
        return kp_json_gen_finish(g, ret_text, &size);
}

KpScanSummaryDisk *kp_scan_summary_disks_free(KpScanSummaryDisk *d, size_t n)
{
        for (size_t i = 0; d && i < n; i++) {
                free(d[i].disk);
                free(d[i].request);
                free(d[i].message);
        }
        free(d);
        return NULL;
}

int kp_scan_summary_parse(const char *text, KpError *error, KpScanSummaryDisk **ret_disks, size_t *ret_n,
                          unsigned *ret_launches)
{
        _cleanup_(yajl_tree_freep) yajl_val v = NULL;
        KpScanSummaryDisk *disks = NULL;
        uint64_t version, launches;
        yajl_val list;
        size_t n;
        int r;

        if (strlen(text) > KP_SCAN_SUMMARY_MAX)
                return kp_error_set(error, -EFBIG, "scan summary larger than %d bytes", KP_SCAN_SUMMARY_MAX);
        r = kp_json_parse(text, error, &v);
        if (r < 0)
                return kp_error_prefix(error, -EBADMSG, "scan summary");
        if (kp_json_get_uint(v, "version", &version) < 0 || version != 1 ||
            kp_json_get_uint(v, "launches", &launches) < 0 || launches > UINT32_MAX)
                return kp_error_set(error, -EBADMSG, "scan summary: no version 1 or launches");
        list = kp_json_get(v, "disks");
        if (!YAJL_IS_ARRAY(list))
                return kp_error_set(error, -EBADMSG, "scan summary: no disks");
        n = list->u.array.len;
        disks = calloc(n + 1, sizeof(KpScanSummaryDisk));
        if (!disks)
                return kp_error_set(error, -ENOMEM, "out of memory");

        for (size_t i = 0; i < n; i++) {
                yajl_val d = list->u.array.values[i];
                const char *disk = kp_json_get_string(d, "disk"), *request = kp_json_get_string(d, "request"),
                           *message = kp_json_get_string(d, "error");

                if (!disk || !request || kp_scan_status_from_string(kp_json_get_string(d, "status"),
                                                                    &disks[i].status) < 0) {
                        kp_scan_summary_disks_free(disks, n);
                        return kp_error_set(error, -EBADMSG, "scan summary: disk %zu lacks disk, request or status",
                                            i);
                }
                disks[i].disk = strdup(disk);
                disks[i].request = strdup(request);
                disks[i].message = message ? strdup(message) : NULL;
                disks[i].error = disks[i].status == KP_SCAN_FAILED ?
                                         kp_errno_from_name(kp_json_get_string(d, "errno")) : 0;
                if (!disks[i].disk || !disks[i].request || (message && !disks[i].message)) {
                        kp_scan_summary_disks_free(disks, n);
                        return kp_error_set(error, -ENOMEM, "out of memory");
                }
        }

        *ret_disks = disks;
        *ret_n = n;
        if (ret_launches)
                *ret_launches = (unsigned) launches;
        return 0;
}
