/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Guest text parsed in a process of its own (docs/isolation.md, "Budgets
 * for guest text"): the second line of defence behind the parsers'
 * budgets. The process that launches the libguestfs appliance cannot
 * carry a small RLIMIT_AS (qemu inherits it, and the appliance needs well
 * over a GiB of address space), so the parse runs in a forked child that
 * can: it lowers its own limits of address space, data and CPU time, has
 * nothing open but a socket to its parent, may make no system call but
 * for memory and that socket (util/syscall-filter.h), and asks the parent for every
 * further file the parsers read (grubenv, BLS snippets, sourced files,
 * INCLUDEs, listings). The parent serves those through the real KpBootFs,
 * bounds every message, enforces a wall-clock deadline and kills the child
 * on overrun; a child killed by a limit is a refusal naming the limit.
 *
 * The protocol, over a SOCK_STREAM socketpair, is frames of a header
 * (type, payload size; both uint32_t, host order: both ends are the same
 * program) and a payload:
 *
 *   child -> parent   READ    uint64_t max, path        a file, or a probe when max is 0
 *                     LIST    path                      a directory's names
 *                     REPLY   bytes                     the result (opaque here), last frame
 *                     FAIL    int32_t errno, message    the error, last frame
 *   parent -> child   ANSWER  int32_t result, bytes     the file, or names each ending in NUL
 *
 * Every size is bounded below; a frame past its bound, of an unknown type
 * or out of turn ends the child as misbehaving.
 */

#include <stdbool.h>
#include <stdint.h>

#include "bootcfg/bootplan.h"

/* The frames' types, and their header. */
enum {
        KP_ISOLATE_FRAME_READ = 1,
        KP_ISOLATE_FRAME_LIST,
        KP_ISOLATE_FRAME_REPLY,
        KP_ISOLATE_FRAME_FAIL,
        KP_ISOLATE_FRAME_ANSWER,
};

typedef struct KpIsolateFrameHeader {
        uint32_t type;
        uint32_t size;          /* of the payload that follows */
} KpIsolateFrameHeader;

/*
 * Memory the child may add to what it inherits from its parent, as address
 * space (RLIMIT_AS) and as writable data (RLIMIT_DATA). The parsers'
 * budgets hold the heap under 40 MiB (grub/budget.h: 32 MiB of held bytes,
 * KP_BOOTCFG_MAX_PLAN_TEXT, the reply beside the plan): the hungriest
 * input of tests/unit/bootcfg/bombs.c needs 40 MiB more address space
 * than its parent had, in the main thread or another. But a child of a
 * thread other than the main one allocates from that thread's malloc
 * arena, whose every new heap maps 128 MiB for a moment to align 64 MiB.
 * 192 MiB is both with room, and a fifth of what an appliance may take.
 */
#define KP_ISOLATE_MEMORY (UINT64_C(192) * 1024 * 1024)

/*
 * CPU seconds of the child (RLIMIT_CPU; SIGXCPU, then SIGKILL a second
 * later). The budgets keep every input of tests/unit/bootcfg/bombs.c
 * under 0.4 s here; 4 s is ten times that, for a slower or busier host.
 */
#define KP_ISOLATE_CPU_SEC 4

/*
 * Wall-clock time for one parse when the caller gives no deadline: the
 * child's own CPU time is bounded above, so this bounds the parent's
 * serving of at most KP_BOOTCFG_MAX_FS_REQUESTS reads through the
 * appliance (each a few milliseconds under software emulation).
 */
#define KP_ISOLATE_DEFAULT_TIMEOUT_USEC (UINT64_C(60) * 1000 * 1000)

/* A path the child may ask for: a directory and a name of the parsers' own limit each. */
#define KP_ISOLATE_MAX_PATH (2 * KP_BOOTCFG_MAX_PATH + 2)

/* A name in a listing: NAME_MAX, what any Linux filesystem the appliance mounts allows. */
#define KP_ISOLATE_MAX_NAME 255

/*
 * The child's result. A plan's JSON is at most twice its text (initrds are
 * written twice, and so is the selected entry), doubled again for escapes,
 * plus keys and warnings: 4 times KP_BOOTCFG_MAX_PLAN_TEXT and 2 MiB.
 */
#define KP_ISOLATE_MAX_REPLY (4 * KP_BOOTCFG_MAX_PLAN_TEXT + 2 * 1024 * 1024)

typedef struct KpIsolateChild KpIsolateChild;

/*
 * In the child: the KpBootFs that asks the parent, or NULL when the
 * parent was given none. Its fs_uuid and fs_label are the parent's.
 */
const KpBootFs *kp_isolate_child_fs(KpIsolateChild *c);

/* In the child: sends the result (at most KP_ISOLATE_MAX_REPLY bytes) or the error; once. */
int kp_isolate_child_reply(KpIsolateChild *c, const void *data, size_t size);
int kp_isolate_child_fail(KpIsolateChild *c, int err, const char *message);

/*
 * What runs in the child. It must answer with kp_isolate_child_reply() or
 * kp_isolate_child_fail() and return; it runs in a copy of the caller's
 * memory with only the calling thread, so it may read the caller's data
 * but must not take any lock another thread could have held at the fork,
 * nor touch a libguestfs handle, nor write to any file.
 */
typedef void (*KpIsolateFunc)(KpIsolateChild *c, void *userdata);

typedef struct KpIsolateOptions {
        /* Absolute CLOCK_MONOTONIC time in µs; 0: KP_ISOLATE_DEFAULT_TIMEOUT_USEC from now. */
        uint64_t deadline;
        /*
         * Asked every 50 ms while the parent waits: a negative errno (with
         * the reason in error) stops the child and is returned. May be NULL.
         */
        int (*check_stop)(void *userdata, KpError *error);
        void *userdata;
        /*
         * 0: KP_ISOLATE_MEMORY and KP_ISOLATE_CPU_SEC (ten times that in a
         * build with sanitizers); tests use smaller ones.
         */
        uint64_t memory;
        unsigned cpu_sec;
} KpIsolateOptions;

/* What the child cost, from the kernel's accounting of it (wait4()). */
typedef struct KpIsolateStats {
        uint64_t max_rss;       /* bytes; includes the pages it shares with its parent */
        uint64_t cpu_usec;      /* user and system */
        unsigned requests;      /* READ and LIST frames served */
        uint64_t bytes_served;
        bool limited;           /* false when built with a sanitizer, which RLIMIT_AS would break */
} KpIsolateStats;

/*
 * Runs fn in a child under the limits above, serves its requests through
 * fs (may be NULL: the child gets no KpBootFs), and returns its reply
 * (NUL-terminated, size without the NUL). Errors: what the child sent with
 * kp_isolate_child_fail(), errors of fs as the child saw them and passed
 * on, -E2BIG for a child killed by a limit (the limit named), -EPROTO for
 * one that broke the protocol, -ETIMEDOUT at the deadline, check_stop's
 * error; each with the reason in error. ret_stats (may be NULL) is filled
 * whenever the child was waited for.
 */
int kp_isolate_run(KpIsolateFunc fn, void *userdata, const KpBootFs *fs, const KpIsolateOptions *options,
                   KpError *error, char **ret_reply, size_t *ret_size, KpIsolateStats *ret_stats);
