/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A client of qemu's QMP monitor, the one piece of kunpack that talks to
 * the appliance's qemu without libguestfs: a pooled appliance is given
 * its guest's disks through it (guest/hotplug.c, docs/pool.md). Nothing
 * else of kunpack may use QMP; QMP is not libguestfs's API, and this file
 * keeps what kunpack relies on in one place.
 *
 * The socket is root-equivalent (it can attach any host file to the
 * appliance), so it lives in a directory only root can enter (the
 * session's 0700 temp directory). What comes back is read with limits:
 * qemu sends events whenever it likes, and an appliance taken over by a
 * hostile filesystem can make it send more (a guest-triggered reset, I/O
 * errors), so every line, every command's wait and the number of
 * messages skipped while waiting are bounded, and a violation ends the
 * connection with an error, never a hang or an allocation the peer chose.
 */

#include <stdint.h>
#include <yajl/yajl_tree.h>

#include "kunpack.h"
#include "util/macro.h"
#include "util/time-util.h"

/* One QMP message: our commands' replies are under 1 KiB, qom-list of a few devices a few KiB. */
#define KP_QMP_MAX_LINE (64 * 1024)
/* Messages (events, stray replies) skipped while one command waits for its reply. */
#define KP_QMP_MAX_SKIPPED 256
/* How long one command may take when the caller gives no earlier deadline: qemu answers in milliseconds. */
#define KP_QMP_COMMAND_TIMEOUT_USEC (10 * USEC_PER_SEC)

typedef struct KpQmp KpQmp;

/*
 * Connects to the QMP socket at path, reads qemu's greeting and leaves
 * capabilities negotiation mode. deadline: CLOCK_MONOTONIC µs (0: the
 * command timeout from now). -ECONNREFUSED / -ENOENT when nobody listens.
 */
int kp_qmp_connect(const char *path, uint64_t deadline, KpError *error, KpQmp **ret);

KpQmp *kp_qmp_free(KpQmp *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(KpQmp *, kp_qmp_free);

/*
 * Runs one command and waits for its reply: arguments is a JSON object's
 * text (NULL: none). On success, ret_return (if given) gets the reply's
 * "return" value, a tree the caller frees with yajl_tree_free() through
 * ret_tree. qemu's refusal is -EIO with its error class and description;
 * -ETIMEDOUT, -EMSGSIZE (a line past KP_QMP_MAX_LINE), -EPROTO (too many
 * messages skipped, or not QMP), -ECONNRESET (qemu went away) end the
 * connection: every later call fails at once.
 */
int kp_qmp_execute(KpQmp *q, const char *command, const char *arguments, uint64_t deadline, KpError *error,
                   yajl_val *ret_tree, yajl_val *ret_return);

/* Messages skipped so far (events, replies of no command of ours), for tests. */
uint64_t kp_qmp_skipped(const KpQmp *q);
