/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Hostile boot configurations, each built to spend one resource of the
 * parsers (docs/isolation.md lists them with what they cost before the
 * budgets and after): long expansions, many parameters, function
 * fan-outs, copies of a big environment per entry and per submenu, long
 * names, parse trees of tiny commands, source and INCLUDE trees, BLS
 * snippet sets, probes, plans of long paths. Each comes with the error
 * and message the parsers must refuse it with, or 0 when it parses.
 * They are made one at a time: together they are tens of MiB.
 */

#include "bootcfg/bootplan.h"
#include "memfs.h"

typedef struct Bomb {
        const char *name;
        KpBootConfigKind kind;
        const char *config_path;
        MemFs *fs;               /* the guest's filesystem, the configuration included */
        int error;               /* what the parse returns: 0 or a negative errno */
        const char *message;     /* its message, exactly */
} Bomb;

/* How many there are, and the i-th of them (bomb_done() it). */
size_t bombs_count(void);
void bomb_make(size_t i, Bomb *ret);

/*
 * Real configurations at the parsers' limits, which every budget must let
 * through: grub-mkconfig's output for 511 kernels (1023 entries, 973 KB;
 * from tests/unit/bootcfg/data/ubuntu-20.04) and Fedora's grub.cfg with
 * 1024 BLS snippets (from data/fedora-38). error is 0, and message the
 * number of entries.
 */
size_t limits_count(void);
void limit_make(size_t i, Bomb *ret);

void bomb_done(Bomb *b);
/* The configuration's text, as the inspection hands it to the parsers. */
const MemFile *bomb_config(const Bomb *b);
