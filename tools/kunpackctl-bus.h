/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * kunpackctl's side of kunpackd's control socket (D-Bus, peer to peer;
 * lib/client/bus-api.h), shared by the verbs that ask the daemon: status,
 * list, show, rescan, gc, verify. It finds the socket (--socket=, else
 * kunpack.conf), connects, calls with a timeout, reports a failed call
 * once, and holds the small helpers those verbs print their answers with.
 * Every function that talks to the daemon returns a KPCTL_EXIT_* code, so
 * a verb passes it on as it is.
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "settings/settings.h"
#include "util/json.h"
#include "util/macro.h"
#include "util/time-util.h"

/* A method that only reads answers at once; one that scans (rescan --wait) gets its own bound. */
#define KPCTL_CALL_TIMEOUT_USEC (30 * USEC_PER_SEC)
/* rescan --wait: a batch of many guests under emulation can take many minutes. */
#define KPCTL_RESCAN_WAIT_USEC (3600 * USEC_PER_SEC)

static inline void sd_bus_flush_close_unrefp_(sd_bus **b)
{
        if (*b)
                sd_bus_flush_close_unref(*b);
}
#define _cleanup_bus_ _cleanup_(sd_bus_flush_close_unrefp_)

/* kunpack.conf as --config= or $KUNPACK_CONFIG chose it; says what is wrong with it, and returns -errno. */
int load_settings(KpSettings **ret);

/*
 * Connects to kunpackd at --socket=, else at the socket settings name
 * (settings NULL: kunpack.conf is read here when --socket= is not given),
 * or says why not; returns the exit code to use.
 */
int connect_daemon(const KpSettings *settings, sd_bus **ret);

/*
 * Says why method failed (r and e as sd_bus_call() left them) and returns
 * the exit code to use: 3 when the daemon refused the caller or the call
 * could not be sent, else 1.
 */
int call_failed(const char *method, int r, const sd_bus_error *e);

/*
 * Calls method with the arguments types describes (NULL: none) and waits
 * at most timeout for the reply in *ret; on failure says why and returns
 * the exit code to use.
 */
int call_daemon(sd_bus *bus, const char *method, uint64_t timeout, sd_bus_message **ret, const char *types,
                ...);

/* The options of a verb that takes none but --help and --json: 1 to go on, 0 after --help, -EINVAL. */
int parse_no_options(int argc, char **argv, const char *usage);

/* The daemon's JSON as it is, on a line of its own. */
void print_json_text(const char *text);
/* A member of an answer for a human: "-" when it is missing, 0 for a missing number. */
const char *json_str(yajl_val v, const char *key);
uint64_t json_uint(yajl_val v, const char *key);
/* Local time of a CLOCK_REALTIME timestamp in usec, or "-" for 0. */
void format_time(uint64_t usec, char buf[64]);
