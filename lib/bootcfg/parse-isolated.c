/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>
#include <string.h>

#include "bootcfg/bootplan-json.h"
#include "bootcfg/parse-isolated.h"
#include "util/error.h"

/*
 * The reply: uint32_t n, then n spans of three uint64_t (line, column,
 * length) in entry order, then the plan's JSON. Host order: both ends
 * are the same program.
 */
typedef struct WireSpan {
        uint64_t line, column, length;
} WireSpan;

typedef struct ParseJob {
        KpBootConfigKind kind;
        const char *path;
        const char *data;
        size_t size;
        KpBootParseFlags flags;
} ParseJob;

static void parse_child(KpIsolateChild *c, void *userdata)
{
        const ParseJob *job = userdata;
        _cleanup_(kp_boot_plan_freep) KpBootPlan *plan = NULL;
        _cleanup_free_ char *json = NULL, *reply = NULL;
        KpError e = {};
        uint32_t n;
        size_t len, head;
        int r;

        r = kp_boot_config_parse_full(job->kind, job->path, job->data, job->size, kp_isolate_child_fs(c), job->flags,
                                      &e, &plan);
        if (r < 0) {
                (void) kp_isolate_child_fail(c, r, kp_error_message(&e, r));
                return;
        }
        /*
         * Strings first: only the selected entry's checks (-ENOENT) may
         * fail here, as they come after every string's; the caller
         * validates the whole plan again once it chose an entry.
         */
        r = kp_boot_plan_validate(plan, &e);
        if (r < 0 && r != -ENOENT) {
                (void) kp_isolate_child_fail(c, r, kp_error_message(&e, r));
                return;
        }
        r = kp_boot_plan_format_json(plan, false, &json);
        if (r < 0) {
                (void) kp_isolate_child_fail(c, r, "the plan cannot be written as JSON");
                return;
        }

        n = (uint32_t) plan->n_entries;
        len = strlen(json);
        head = sizeof(n) + n * sizeof(WireSpan);
        if (len > KP_ISOLATE_MAX_REPLY - head) {
                (void) kp_isolate_child_fail(c, -E2BIG, "the plan's JSON exceeds the limit of the reply");
                return;
        }
        reply = malloc(head + len);
        if (!reply) {
                (void) kp_isolate_child_fail(c, -ENOMEM, "out of memory");
                return;
        }
        memcpy(reply, &n, sizeof(n));
        for (size_t i = 0; i < n; i++) {
                const KpSourceSpan *s = &plan->entries[i].kernel_span;
                WireSpan w = { s->line, s->column, s->length };
                memcpy(reply + sizeof(n) + i * sizeof(w), &w, sizeof(w));
        }
        memcpy(reply + head, json, len);
        (void) kp_isolate_child_reply(c, reply, head + len);
}

/* Reads the reply back into a plan: spans checked against the plan's own entries. */
static int read_reply(const char *reply, size_t size, KpError *error, KpBootPlan **ret)
{
        _cleanup_(kp_boot_plan_freep) KpBootPlan *plan = NULL;
        uint32_t n;
        size_t head;
        int r;

        if (size < sizeof(n))
                return kp_error_set(error, -EPROTO, "the parsing process sent a short plan");
        memcpy(&n, reply, sizeof(n));
        if (n > KP_BOOTCFG_MAX_ENTRIES || size - sizeof(n) < n * sizeof(WireSpan))
                return kp_error_set(error, -EPROTO, "the parsing process sent a malformed plan");
        head = sizeof(n) + n * sizeof(WireSpan);
        r = kp_boot_plan_from_json(reply + head, size - head, error, &plan);
        if (r < 0)
                return kp_error_prefix(error, r, "the parsing process sent a plan that cannot be read");
        if (plan->n_entries != n)
                return kp_error_set(error, -EPROTO, "the parsing process sent %" PRIu32 " spans for %zu entries", n,
                                    plan->n_entries);
        for (size_t i = 0; i < n; i++) {
                WireSpan w;
                memcpy(&w, reply + sizeof(n) + i * sizeof(w), sizeof(w));
                if (w.line > UINT_MAX || w.column > KP_BOOTCFG_MAX_SIZE || w.length > KP_BOOTCFG_MAX_SIZE)
                        return kp_error_set(error, -EPROTO, "the parsing process sent a span out of range");
                plan->entries[i].kernel_span = (KpSourceSpan) {
                        .line = (unsigned) w.line,
                        .column = (size_t) w.column,
                        .length = (size_t) w.length,
                };
        }
        *ret = TAKE_PTR(plan);
        return 0;
}

int kp_boot_config_parse_isolated(KpBootConfigKind kind, const char *path, const char *data, size_t size,
                                  const KpBootFs *fs, KpBootParseFlags flags, const KpIsolateOptions *options,
                                  KpError *error, KpBootPlan **ret_plan, KpIsolateStats *ret_stats)
{
        _cleanup_free_ char *reply = NULL;
        ParseJob job = { kind, path, data, size, flags };
        size_t reply_size = 0;
        int r;

        /* Refused before a process is made for it, as kp_boot_config_parse_full() would. */
        if (kind != KP_BOOT_CONFIG_NONE && !data)
                return kp_error_set(error, -EINVAL, "no configuration text given");

        r = kp_isolate_run(parse_child, &job, fs, options, error, &reply, &reply_size, ret_stats);
        if (r < 0)
                return r;
        return read_reply(reply, reply_size, error, ret_plan);
}
