/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "daemon/manager.h"

/* Registers org.kunpack.Manager1 at /org/kunpack/Manager on a root client's connection. */
int bus_add_manager_object(Manager *m, sd_bus *bus);
/* Records one disk's outcome in a Rescan call waiting for it, and answers the call once all are in. */
void rescan_call_result(RescanCall *c, size_t index, int error, const char *message);
