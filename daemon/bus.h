/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The control socket (bus.c): root clients, their connections, and the
 * signals kunpackd emits on them.
 */

#include "daemon/manager.h"

int bus_listen(Manager *m);
void bus_close(Manager *m);
void bus_emit_progress(Manager *m, Disk *d);
void bus_emit_finished(Manager *m, Disk *d);
int bus_reply_errno(sd_bus_message *call, int r, const char *message);
