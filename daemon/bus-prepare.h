/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Prepare (bus-prepare.c): the call kunpack-boot makes at a domain start.
 */

#include "daemon/manager.h"

int method_prepare(sd_bus_message *m, void *userdata, sd_bus_error *error);
/* Tries to answer a waiting Prepare: 1 answered, 0 still needs a scan. */
int prepare_try_answer(Waiter *w, bool after_scan);
