/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * kp_boot_config_parse_full() in a process of its own (isolate.h), for
 * every program that launches a libguestfs appliance: a parser that
 * escaped its budgets, or was made to misbehave, meets the child's
 * RLIMIT_AS, RLIMIT_DATA and RLIMIT_CPU and the parent's deadline, never
 * the process qemu inherits its limits from. The unit tests and the
 * fuzzers call the parsers in-process.
 *
 * The child parses, checks every string of the plan as
 * kp_boot_plan_validate() does (JSON carries no invalid UTF-8), and sends
 * the plan as JSON (bootplan-json.h) behind the entries' kernel source
 * spans, which JSON does not carry and pvgrub mode needs.
 */

#include "bootcfg/bootplan.h"
#include "bootcfg/isolate.h"

/*
 * Parses as kp_boot_config_parse_full() would, in a child under options'
 * limits and deadline (options may be NULL), reading further files
 * through fs in this process. The plan and the errors are the parser's,
 * except: a plan with a string kp_boot_plan_validate() refuses is refused
 * here with its message, and a child that hit a limit, broke the protocol
 * or outlived the deadline fails as kp_isolate_run() says. ret_stats (may
 * be NULL) is filled whenever the child was waited for, failure or not.
 */
int kp_boot_config_parse_isolated(KpBootConfigKind kind, const char *path, const char *data, size_t size,
                                  const KpBootFs *fs, KpBootParseFlags flags, const KpIsolateOptions *options,
                                  KpError *error, KpBootPlan **ret_plan, KpIsolateStats *ret_stats);
