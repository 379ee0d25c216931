/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Watches on the xl domain config directories and the disk images
 * (watch.c): a changed file marks its disk changed.
 */

#include "daemon/manager.h"

int watch_setup(Manager *m);
int watch_refresh(Manager *m);
void watch_close(Manager *m);
