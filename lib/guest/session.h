/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A guest session: one libguestfs appliance holding the disks of exactly
 * one guest, every disk added read-only with an explicit format. All
 * parsing of guest filesystems happens inside that appliance; the host
 * only ever sees bytes the appliance hands back (docs/isolation.md). A
 * hostile filesystem may take the appliance over, so it never holds
 * another guest's disk and is never used for another guest: a second
 * kp_guest_session_add_guest() is refused, and a session launches once.
 *
 * The guest's disks are added first (kp_guest_session_add_guest()), then
 * kp_guest_session_launch() boots the appliance, and inspections,
 * checksums and downloads all run in it. The "guest" index the functions
 * below take is that guest's, 0.
 *
 * Deadlines and cancellation. guestfs_launch() cannot be interrupted
 * through libguestfs: guestfs_user_cancel() only stops uploads and
 * downloads, and guestfs_get_pid() waits for the handle's lock, which the
 * launching thread holds until the appliance is up. So cancelling kills the
 * hypervisor process itself: while launching, every process the launching
 * thread started since the launch began (/proc/self/task/TID/children: the
 * supermin appliance build, qemu's feature queries, the appliance's qemu);
 * afterwards the qemu whose pid guestfs_get_pid() gave. Either way the pid
 * is checked (still our child) through a pidfd before SIGKILL, so a
 * recycled pid is never hit. As libguestfs starts one such process after
 * another, the session's watchdog thread keeps killing them every 50 ms
 * until guestfs_launch() returns. Whatever libguestfs was doing then
 * fails within milliseconds, and every later call of the session fails with
 * -ECANCELED (or -ETIMEDOUT when the deadline fired). With a deadline in
 * KpGuestOptions, the watchdog fires it on its own, so a caller inside
 * libxl's 120 s bootloader limit gets control back in time.
 * A process that simply exits is covered by libguestfs's recovery process,
 * which kills the appliance when its parent dies.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "guest/diskspec.h"
#include "kunpack.h"
#include "util/macro.h"

typedef struct KpGuestSession KpGuestSession;

typedef enum KpGuestStage {
        KP_GUEST_STAGE_LAUNCH,      /* the appliance is booting; percent from libguestfs (after 5 s) */
        KP_GUEST_STAGE_READY,       /* the appliance answers */
        KP_GUEST_STAGE_SCAN,        /* listing and mounting filesystems */
        KP_GUEST_STAGE_FILES,       /* sizes, checksums and headers of kernels and initrds */
        _KP_GUEST_STAGE_MAX,
} KpGuestStage;

/* "launch", "ready", "scan", "files". */
const char *kp_guest_stage_to_string(KpGuestStage stage);

/* Called in the thread doing the work; must not call back into the session. */
typedef void (*KpGuestProgressFunc)(KpGuestStage stage, unsigned percent, void *userdata);

typedef struct KpGuestOptions {
        /* Absolute CLOCK_MONOTONIC time in µs after which the session is cancelled; 0: none. */
        uint64_t deadline;
        /* Virtual CPUs of the appliance; 0: libguestfs's default (1). */
        unsigned smp;
        /* Memory of the appliance in MiB; 0: KP_APPLIANCE_DEFAULT_MEMSIZE_MIB (settings.h). */
        unsigned memsize_mib;
        /*
         * Bytes the appliance's throw-away overlays may take in dom0's temp
         * directory (a guest's journal replays into them); past it the
         * session is stopped with -EFBIG. 0: KP_GUEST_DEFAULT_OVERLAY_MAX.
         */
        uint64_t overlay_max;
        /*
         * Disks go to qemu writable (pvgrub mode's rewrite, lib/guest/write.h)
         * instead of through a throw-away overlay. Only for a disk no domain
         * uses; every reader leaves this false.
         */
        bool writable;
        KpGuestProgressFunc progress;
        void *userdata;
} KpGuestOptions;

/*
 * The overlays' share of dom0's temp directory per appliance: an ext4
 * journal is 128 MiB for filesystems from 32 GiB up (mke2fs.conf), 256 MiB
 * from 256 GiB up; a replay writes at most the journal's blocks.
 */
#define KP_GUEST_DEFAULT_OVERLAY_MAX (512 * 1024 * 1024ULL)
/* How often the overlays are measured while the appliance runs. */
#define KP_GUEST_OVERLAY_CHECK_USEC (250 * 1000ULL)

/* Appliance vCPUs beyond which nothing gets faster: its work is one thread at a time. */
#define KP_GUEST_MAX_SMP 4

/* Disks one session may hold: the virtio-scsi limit libguestfs's direct backend reports (max_disks). */
#define KP_GUEST_MAX_DISKS 255

/* A pooled appliance's scratch drive: its size (what libguestfs will create), and its serial number. */
#define KP_GUEST_SCRATCH_SIZE (4 * 1024 * 1024)
#define KP_GUEST_SCRATCH_SERIAL "kpscratch"
/*
 * How long an attached disk may take to appear in a pooled appliance:
 * under emulation the kernel's SCSI scan and udev take a few hundred
 * milliseconds; a hundred times that is a stuck appliance.
 */
#define KP_GUEST_ATTACH_TIMEOUT_USEC (30 * 1000 * 1000ULL)

int kp_guest_session_new(const KpGuestOptions *options, KpError *error, KpGuestSession **ret);

/*
 * Frees the session: stops the watchdog, shuts the appliance down and
 * waits for it. Must not race with any other call on the session,
 * kp_guest_session_cancel() included.
 */
KpGuestSession *kp_guest_session_free(KpGuestSession *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(KpGuestSession *, kp_guest_session_free);

/*
 * Adds the guest's disks, in the guest's order (its first disk is GRUB's
 * hd0), before the launch; -EBUSY for a second guest. Every disk goes to qemu read-only, through a
 * throw-away overlay (unless the session is writable), with its format
 * given: nothing is written to a guest disk and nothing is probed. The index of the guest within the
 * session goes to ret_guest.
 */
int kp_guest_session_add_guest(KpGuestSession *s, const KpDiskSpec *disks, size_t n_disks, KpError *error,
                               size_t *ret_guest);

/* Boots the appliance (once per session). -ETIMEDOUT / -ECANCELED when stopped on the way. */
int kp_guest_session_launch(KpGuestSession *s, KpError *error);

/*
 * A pooled appliance (hotplug.c, docs/pool.md): booted before its guest is
 * known, with a small scratch drive and no guest disk, and a QMP socket in
 * the session's 0700 temp directory. It checks, once up, what attaching a
 * disk later relies on (the scratch drive is the appliance's only disk,
 * found by its serial; qemu has libguestfs's virtio-scsi bus) and fails
 * with -EPROTONOSUPPORT, naming what changed, when libguestfs or qemu no
 * longer behave so. Not for a writable session.
 */
int kp_guest_session_launch_pooled(KpGuestSession *s, KpError *error);

/*
 * Gives a pooled appliance its guest: every disk of that guest, in its
 * order (its first disk is GRUB's hd0), one at a time, each through a
 * qcow2 overlay on the host (a dirty journal replays into it; the guest's
 * disk is opened read-only, a block device with O_DIRECT so that what
 * blkback wrote is what is read). Each disk is found in the appliance by
 * its serial number, never by its position. Once: a second guest is
 * refused with -EBUSY, as by kp_guest_session_add_guest(), even after a
 * failure. A failure leaves the session stopped (a disk may be half
 * attached). ret_guest: 0, as for kp_guest_session_add_guest().
 */
int kp_guest_session_attach_guest(KpGuestSession *s, const KpDiskSpec *disks, size_t n_disks, KpError *error,
                                  size_t *ret_guest);

/*
 * Moves the session's deadline (CLOCK_MONOTONIC µs, 0: none): a pooled
 * appliance waits for its guest without one, then gets the deadline of
 * the scan that takes it.
 */
void kp_guest_session_set_deadline(KpGuestSession *s, uint64_t deadline);

/*
 * Stops the session from any thread: kills the appliance (see above) and
 * makes every further call fail with -ECANCELED. Safe to call more than
 * once and before the launch; not async-signal-safe (it takes a mutex).
 */
void kp_guest_session_cancel(KpGuestSession *s);

/*
 * The appliance's qemu (0 before the launch or once stopped): a pooled
 * appliance's owner watches it (a pidfd) while it waits for its guest.
 */
pid_t kp_guest_session_appliance_pid(KpGuestSession *s);

/* How many appliances this session has booted: 0 or 1, for tests and benchmarks. */
unsigned kp_guest_session_launches(const KpGuestSession *s);
size_t kp_guest_session_n_guests(const KpGuestSession *s);
