/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "daemon/manager.h"

/* Registers org.kunpack.Manager1 at /org/kunpack/Manager on a root client's connection. */
int bus_add_manager_object(Manager *m, sd_bus *bus);
