/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * kunpackctl: one program, one verb per file (kunpackctl-<verb>.c). Each verb
 * gets argv starting at its own name and parses its own options with
 * getopt_long(); options common to all verbs are parsed before the verb and
 * land in the arg_ globals below.
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
        int (*run)(int argc, char **argv);
} KpctlVerb;

/* Verbs, each in kunpackctl-<name>.c; return a KPCTL_EXIT_* code. */
int verb_extract(int argc, char **argv);
int verb_inspect(int argc, char **argv);
/* kunpackctl-daemon.c, kunpackctl-prepare.c: ask kunpackd */
int verb_status(int argc, char **argv);
int verb_list(int argc, char **argv);
int verb_show(int argc, char **argv);
int verb_rescan(int argc, char **argv);
int verb_gc(int argc, char **argv);
int verb_verify(int argc, char **argv);
int verb_prepare(int argc, char **argv);
/* kunpackctl-revert.c: pvgrub mode's changes in a guest, read from its disk */
int verb_revert(int argc, char **argv);
int verb_show_changes(int argc, char **argv);
