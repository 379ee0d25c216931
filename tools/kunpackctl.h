/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * kunpackctl: one program, one verb per file (kunpackctl-<verb>.c, with its
 * kunpackctl-<verb>.h; kunpackctl-revert.c holds two, as its header says
 * why). Each verb gets argv starting at its own name and parses its own
 * options with getopt_long(); options common to all verbs are parsed before
 * the verb and land in the arg_ globals below. The verbs that ask kunpackd
 * share kunpackctl-bus.c.
 */

#include <stdbool.h>

/* Exit codes, documented in kunpackctl(8). */
enum {
        KPCTL_EXIT_OK = 0,
        KPCTL_EXIT_FAILURE = 1,     /* the operation failed (bad kernel, nothing bootable, ...) */
        KPCTL_EXIT_USAGE = 2,       /* bad command line */
        KPCTL_EXIT_UNAVAILABLE = 3, /* the daemon could not be reached */
};

extern const char *arg_config;  /* --config=FILE, else $KUNPACK_CONFIG, else the default */
extern const char *arg_socket;  /* --socket=PATH */
extern bool arg_json;           /* --json */
extern int arg_verbose;         /* -v, repeatable */

typedef struct KpctlVerb {
        const char *name;
        const char *synopsis;    /* one line for --help */
        int (*run)(int argc, char **argv); /* returns a KPCTL_EXIT_* code */
} KpctlVerb;
