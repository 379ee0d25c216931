/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Domain lifecycle events from a running Xen (xen.c): a domain that
 * stops makes its disks scanned again.
 */

#include "daemon/manager.h"

int xen_watch_start(Manager *m);
void xen_watch_stop(Manager *m);
