/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Verify: re-hashing every cache entry (gigabytes of kernels and initrds)
 * in a thread of its own, so that the event loop goes on answering
 * Prepare, List and Show while it runs. One run at a time: a Verify call
 * that comes during a run is answered with that run's result.
 */

#include "daemon/manager.h"

/* Starts a run for call, or adds call to the run in progress. */
int verify_start(Manager *m, sd_bus_message *call);

/* Stops a run in progress (between two entries), answers its calls "shutting down", and waits for its thread. */
void verify_stop(Manager *m);

/* Whether a run is in progress (for Status). */
bool verify_running(const Manager *m);
