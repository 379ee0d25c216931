/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "guest/guest-internal.h"
#include "settings/settings.h"
#include "util/error.h"
#include "util/strv.h"
#include "util/string-table.h"
#include "util/time-util.h"

static const char *const stage_table[_KP_GUEST_STAGE_MAX] = {
        [KP_GUEST_STAGE_LAUNCH] = "launch",
        [KP_GUEST_STAGE_READY] = "ready",
        [KP_GUEST_STAGE_SCAN] = "scan",
        [KP_GUEST_STAGE_FILES] = "files",
};

KP_DEFINE_STRING_TABLE_TO_STRING(kp_guest_stage, KpGuestStage, stage_table);

void kp_guest_progress(KpGuestSession *s, KpGuestStage stage, unsigned percent)
{
        if (s->options.progress)
                s->options.progress(stage, percent, s->options.userdata);
}

int kp_guest_check_cancelled(KpGuestSession *s, KpError *error)
{
        if (atomic_load(&s->timed_out))
                return kp_error_set(error, -ETIMEDOUT, "deadline passed: the libguestfs appliance was stopped");
        if (atomic_load(&s->overlay_full))
                return kp_error_set(error, -EFBIG,
                                    "the appliance's overlay in dom0's temp directory grew past %" PRIu64
                                    " MiB (a big journal replayed?): the libguestfs appliance was stopped",
                                    s->options.overlay_max / (1024 * 1024));
        if (atomic_load(&s->cancelled))
                return kp_error_set(error, -ECANCELED, "cancelled: the libguestfs appliance was stopped");
        return 0;
}

void kp_guest_enter(KpGuestSession *s)
{
        /*
         * libguestfs keeps the error handler per thread (thread-local
         * storage): every thread that calls into the handle must say it
         * wants no printing, or the first error it meets goes to stderr.
         */
        if (s->g)
                sym_guestfs_set_error_handler(s->g, NULL, NULL);
}

int kp_guest_error(KpGuestSession *s, KpError *error, const char *format, ...)
{
        char context[KP_ERROR_MESSAGE_MAX], reason[KP_ERROR_MESSAGE_MAX];
        const char *msg;
        va_list ap;
        int e, r;

        /* A stopped session explains every failure that follows. */
        r = kp_guest_check_cancelled(s, NULL);
        e = sym_guestfs_last_errno(s->g);
        msg = sym_guestfs_last_error(s->g);

        va_start(ap, format);
        (void) vsnprintf(context, sizeof(context), format, ap);
        va_end(ap);

        /*
         * The first line only: libguestfs appends advice about
         * LIBGUESTFS_DEBUG on further lines. It may quote guest data (a
         * file name), so it is kept printable.
         */
        (void) snprintf(reason, sizeof(reason), "%s", msg ? msg : "unknown libguestfs error");
        reason[strcspn(reason, "\n")] = '\0';
        for (char *p = reason; *p; p++)
                if ((unsigned char) *p < ' ' || *p == 0x7f)
                        *p = '?';

        if (r < 0)
                return kp_error_set(error, r, "%s: %s", context,
                                    r == -ETIMEDOUT ? "deadline passed, appliance stopped" : "cancelled");
        return kp_error_set(error, e > 0 ? -e : -EIO, "%s: %s", context, reason);
}

/* ---- killing the hypervisor ---------------------------------------------- */

static int pidfd_open_checked(pid_t pid)
{
        return (int) syscall(SYS_pidfd_open, pid, 0);
}

/*
 * Whether pid is still a child of this process, and, with want_qemu, one
 * running qemu: read from /proc/PID/stat ("pid (comm) state ppid ..."),
 * whose comm is at most 15 bytes but may itself hold ") ".
 */
static bool is_our_child(pid_t pid, bool want_qemu)
{
        char path[64], buf[512];
        _cleanup_close_ int fd = -EBADF;
        char *open_paren, *close_paren;
        ssize_t n;
        long ppid;

        (void) snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return false;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return false;
        buf[n] = '\0';

        open_paren = strchr(buf, '(');
        close_paren = strrchr(buf, ')');
        if (!open_paren || !close_paren || close_paren < open_paren)
                return false;
        if (want_qemu && strncmp(open_paren + 1, "qemu", 4) != 0)
                return false;
        if (sscanf(close_paren + 1, " %*c %ld", &ppid) != 1)
                return false;
        return ppid == (long) getpid();
}

static void kill_child(pid_t pid, bool want_qemu)
{
        _cleanup_close_ int pidfd = -EBADF;

        /*
         * Pin the process first, then check it is still ours: a pid that
         * was reaped and reused in between fails the check.
         */
        pidfd = pidfd_open_checked(pid);
        if (pidfd < 0 && errno != ENOSYS)
                return;
        if (!is_our_child(pid, want_qemu))
                return;
        if (pidfd >= 0)
                (void) syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
        else
                (void) kill(pid, SIGKILL);
}

/* The children of thread tid (/proc/self/task/TID/children), at most max of them. */
static size_t read_children(pid_t tid, pid_t *ret, size_t max)
{
        char path[96], buf[4096];
        _cleanup_close_ int fd = -EBADF;
        size_t k = 0;
        ssize_t n;
        char *p, *end;

        (void) snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int) tid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return 0;
        buf[n] = '\0';

        for (p = buf; *p && k < max; p = end) {
                long pid = strtol(p, &end, 10);

                if (end == p)
                        break;
                if (pid > 0)
                        ret[k++] = (pid_t) pid;
        }
        return k;
}

/*
 * Everything the launching thread started inside guestfs_launch(): the
 * supermin appliance build, qemu's feature queries, the appliance's qemu,
 * the recovery process. Children it had before the launch are left alone.
 */
static void kill_launch_children(KpGuestSession *s)
{
        pid_t now[KP_GUEST_MAX_CHILDREN];
        size_t n = read_children(s->launch_tid, now, ELEMENTSOF(now));

        for (size_t i = 0; i < n; i++) {
                bool before = false;

                for (size_t j = 0; j < s->n_pre_children; j++)
                        before = before || s->pre_children[j] == now[i];
                if (!before)
                        kill_child(now[i], false);
        }
}

/* How often the watchdog looks for a hypervisor to kill while a stopped session is still launching. */
#define KP_GUEST_KILL_INTERVAL_USEC (50 * USEC_PER_MSEC)

/* With s->lock held: stop whatever runs now. */
static void cancel_locked(KpGuestSession *s)
{
        atomic_store(&s->cancelled, true);
        if (s->g)
                /* Lock-free in libguestfs: stops a download in flight at once. */
                (void) sym_guestfs_user_cancel(s->g);
        if (s->hv_pid > 0)
                kill_child(s->hv_pid, true);
        else if (s->launching)
                kill_launch_children(s);
}

void kp_guest_session_cancel(KpGuestSession *s)
{
        if (!s)
                return;

        pthread_mutex_lock(&s->lock);
        cancel_locked(s);
        /* The watchdog keeps killing until the launch gives up (see below). */
        pthread_cond_signal(&s->watchdog_cond);
        pthread_mutex_unlock(&s->lock);
}

static struct timespec usec_to_timespec(uint64_t usec)
{
        return (struct timespec) {
                .tv_sec = (time_t) (usec / USEC_PER_SEC),
                .tv_nsec = (long) (usec % USEC_PER_SEC * NSEC_PER_USEC),
        };
}

/* Bytes allocated to the files under dir (libguestfs's own temp directory inside ours), two levels deep. */
static uint64_t dir_usage(int dir_fd, unsigned depth)
{
        _cleanup_close_ int fd = -EBADF;
        DIR *d;
        struct dirent *de;
        uint64_t total = 0;

        fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        d = fdopendir(fd);
        if (!d)
                return 0;
        fd = -EBADF; /* the DIR owns it now */
        while ((de = readdir(d))) {
                struct stat st;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (S_ISDIR(st.st_mode) && depth > 0) {
                        _cleanup_close_ int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        if (sub >= 0)
                                total += dir_usage(sub, depth - 1);
                } else if (S_ISREG(st.st_mode))
                        total += (uint64_t) st.st_blocks * 512;
        }
        closedir(d);
        return total;
}

/* With s->lock held: whether the overlays went past their share, then stopping the session. */
static void check_overlay_locked(KpGuestSession *s)
{
        uint64_t used;

        if (s->tmpdir_fd < 0 || atomic_load(&s->cancelled))
                return;
        used = dir_usage(s->tmpdir_fd, 2);
        for (size_t i = 0; i < s->n_overlay_fds; i++) {
                struct stat st;

                if (fstat(s->overlay_fds[i], &st) == 0)
                        used += (uint64_t) st.st_blocks * 512;
        }
        if (used > s->options.overlay_max) {
                atomic_store(&s->overlay_full, true);
                cancel_locked(s);
        }
}

/*
 * Runs from the launch until the session is freed. It fires the deadline,
 * measures the appliance's overlays every KP_GUEST_OVERLAY_CHECK_USEC,
 * and while a stopped session is still inside guestfs_launch() it kills
 * qemu again and again: libguestfs runs the hypervisor more than once
 * while launching (first to query its features, then to boot the
 * appliance), so one kill may hit a process that was about to end anyway.
 */
static void *watchdog_thread(void *userdata)
{
        KpGuestSession *s = userdata;

        pthread_mutex_lock(&s->lock);
        while (!s->watchdog_stop) {
                struct timespec ts;

                if (atomic_load(&s->cancelled) && s->launching) {
                        cancel_locked(s);
                        ts = usec_to_timespec(kp_now_usec(CLOCK_MONOTONIC) + KP_GUEST_KILL_INTERVAL_USEC);
                        (void) pthread_cond_timedwait(&s->watchdog_cond, &s->lock, &ts);
                } else if (!atomic_load(&s->cancelled)) {
                        uint64_t now = kp_now_usec(CLOCK_MONOTONIC), wake = now + KP_GUEST_OVERLAY_CHECK_USEC;
                        bool deadline = s->options.deadline != 0 && s->options.deadline <= wake;

                        ts = usec_to_timespec(deadline ? s->options.deadline : wake);
                        if (pthread_cond_timedwait(&s->watchdog_cond, &s->lock, &ts) == ETIMEDOUT &&
                            !s->watchdog_stop) {
                                if (deadline) {
                                        atomic_store(&s->timed_out, true);
                                        cancel_locked(s);
                                } else
                                        check_overlay_locked(s);
                        }
                } else
                        (void) pthread_cond_wait(&s->watchdog_cond, &s->lock);
        }
        pthread_mutex_unlock(&s->lock);
        return NULL;
}

static int watchdog_start(KpGuestSession *s)
{
        int r;

        if (s->have_watchdog)
                return 0;
        r = pthread_create(&s->watchdog, NULL, watchdog_thread, s);
        if (r != 0)
                return -r;
        s->have_watchdog = true;
        return 0;
}

static void watchdog_stop(KpGuestSession *s)
{
        if (!s->have_watchdog)
                return;
        pthread_mutex_lock(&s->lock);
        s->watchdog_stop = true;
        pthread_cond_signal(&s->watchdog_cond);
        pthread_mutex_unlock(&s->lock);
        (void) pthread_join(s->watchdog, NULL);
        s->have_watchdog = false;
}

/* ---- the session ------------------------------------------------------------ */

static void event_callback(guestfs_h *g, void *opaque, uint64_t event, int event_handle, int flags,
                           const char *buf, size_t buf_len, const uint64_t *array, size_t array_len)
{
        KpGuestSession *s = opaque;

        /* array: proc_nr, serial, position, total; proc_nr 0 is the launch (lib/launch.c). */
        if (event == GUESTFS_EVENT_PROGRESS && array_len >= 4 && array[0] == 0 && array[3] > 0 &&
            !s->launched)
                kp_guest_progress(s, KP_GUEST_STAGE_LAUNCH, (unsigned) MIN(array[2] * 100 / array[3], 100));
}

/*
 * A temp directory of this session's own for libguestfs (its sockets and
 * the drives' overlays go in a directory it creates inside), so that the
 * watchdog can measure what the appliance writes there. Under $TMPDIR as
 * libguestfs itself would use, else /tmp.
 */
static int make_tmpdir(KpGuestSession *s, KpError *error)
{
        const char *base = getenv("TMPDIR");

        if (!base || base[0] != '/')
                base = "/tmp";
        if (asprintf(&s->tmpdir, "%s/kunpack-appliance-XXXXXX", base) < 0) {
                s->tmpdir = NULL;
                return -ENOMEM;
        }
        if (!mkdtemp(s->tmpdir)) {
                int r = negative_errno();
                s->tmpdir = mfree(s->tmpdir);
                return kp_error_set_errno(error, r, "cannot create a temporary directory in %s", base);
        }
        s->tmpdir_fd = open(s->tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->tmpdir_fd < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot open %s", s->tmpdir);
        if (sym_guestfs_set_tmpdir(s->g, s->tmpdir) < 0)
                return kp_guest_error(s, error, "guestfs_set_tmpdir(%s)", s->tmpdir);
        return 0;
}

int kp_guest_session_new(const KpGuestOptions *options, KpError *error, KpGuestSession **ret)
{
        _cleanup_(kp_guest_session_freep) KpGuestSession *s = NULL;
        pthread_condattr_t attr;
        int r;

        /* Every session's first step: the library it drives is loaded now, not at program start. */
        r = kp_guestfs_dlopen(error);
        if (r < 0)
                return r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        if (options)
                s->options = *options;
        if (s->options.smp > KP_GUEST_MAX_SMP)
                s->options.smp = KP_GUEST_MAX_SMP;
        if (s->options.memsize_mib == 0)
                s->options.memsize_mib = KP_APPLIANCE_DEFAULT_MEMSIZE_MIB;
        if (s->options.overlay_max == 0)
                s->options.overlay_max = KP_GUEST_DEFAULT_OVERLAY_MAX;
        s->mounted = -1;
        s->tmpdir_fd = -EBADF;
        pthread_mutex_init(&s->lock, NULL);
        /* The deadline is on CLOCK_MONOTONIC, immune to the wall clock being set. */
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&s->watchdog_cond, &attr);
        pthread_condattr_destroy(&attr);

        /*
         * No environment at creation, so that errors in it are ours to
         * report; then read it (LIBGUESTFS_BACKEND_SETTINGS=force_tcg and
         * friends are how an admin tunes libguestfs).
         */
        s->g = sym_guestfs_create_flags(GUESTFS_CREATE_NO_ENVIRONMENT);
        if (!s->g)
                return kp_error_set(error, -ENOMEM, "could not create a libguestfs handle");
        /* The library never prints: errors are read with guestfs_last_error(). */
        sym_guestfs_set_error_handler(s->g, NULL, NULL);
        if (sym_guestfs_parse_environment(s->g) < 0)
                return kp_guest_error(s, error, "libguestfs environment variables");
        /* Nothing is written (unless writable): skip the sync a shutdown would do. */
        if (sym_guestfs_set_autosync(s->g, s->options.writable ? 1 : 0) < 0)
                return kp_guest_error(s, error, "guestfs_set_autosync");
        if (s->options.smp > 0 && sym_guestfs_set_smp(s->g, (int) s->options.smp) < 0)
                return kp_guest_error(s, error, "guestfs_set_smp");
        if (sym_guestfs_set_memsize(s->g, (int) s->options.memsize_mib) < 0)
                return kp_guest_error(s, error, "guestfs_set_memsize(%u)", s->options.memsize_mib);
        r = make_tmpdir(s, error);
        if (r < 0)
                return r;
        if (sym_guestfs_set_event_callback(s->g, event_callback, GUESTFS_EVENT_PROGRESS, 0, s) < 0)
                return kp_guest_error(s, error, "guestfs_set_event_callback");

        *ret = TAKE_PTR(s);
        return 0;
}

KpGuestSession *kp_guest_session_free(KpGuestSession *s)
{
        if (!s)
                return NULL;

        watchdog_stop(s);

        /* From here on kp_guest_session_cancel() finds nothing to kill. */
        pthread_mutex_lock(&s->lock);
        s->hv_pid = 0;
        s->launching = false;
        pthread_mutex_unlock(&s->lock);

        kp_guest_hotplug_done(s);
        if (s->g) {
                kp_guest_enter(s);
                sym_guestfs_close(s->g);
        }
        for (size_t i = 0; i < s->n_overlay_fds; i++)
                safe_close(s->overlay_fds[i]);
        free(s->overlay_fds);
        /* libguestfs removed its own directory inside ours on close; qemu's QMP socket is ours to remove. */
        if (s->qmp_path)
                (void) unlink(s->qmp_path);
        free(s->qmp_path);
        safe_close(s->tmpdir_fd);
        if (s->tmpdir)
                (void) rmdir(s->tmpdir);
        free(s->tmpdir);

        for (size_t i = 0; i < s->n_filesystems; i++) {
                KpGuestFs *fs = &s->filesystems[i];
                free(fs->mountable);
                free(fs->name);
                free(fs->vfs_type);
                free(fs->uuid);
                free(fs->label);
                free(fs->mount_error);
        }
        free(s->filesystems);
        for (size_t i = 0; i < s->n_facts; i++) {
                free(s->facts[i].path);
                free(s->facts[i].error_message);
        }
        free(s->facts);
        for (size_t i = 0; i < s->n_notes; i++)
                free(s->notes[i].text);
        free(s->notes);
        strv_free(s->devices);
        kp_disk_specs_free(s->disks, s->n_disks);
        free(s->guests);
        pthread_cond_destroy(&s->watchdog_cond);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
}

int kp_guest_claim(KpGuestSession *s, const KpDiskSpec *disks, size_t n_disks, KpError *error)
{
        KpDiskSpec *all;

        /*
         * One guest, one appliance (docs/isolation.md): a guest that takes
         * over the appliance sees every disk attached to it, so no other
         * guest's disk is ever added, now or later, whether the first
         * guest's disks were added before the launch or attached after it,
         * and whether or not they all made it.
         */
        if (s->n_guests > 0)
                return kp_error_set(error, -EBUSY, "an appliance holds the disks of one guest only");
        if (n_disks == 0)
                return kp_error_set(error, -EINVAL, "a guest needs at least one disk");
        if (n_disks > KP_GUEST_MAX_DISKS)
                return kp_error_set(error, -E2BIG, "more than %d disks in one appliance", KP_GUEST_MAX_DISKS);
        for (size_t i = 0; i < n_disks; i++)
                if (!kp_disk_format_to_string(disks[i].format))
                        return kp_error_set(error, -EINVAL, "disk %s: invalid format", disks[i].path);

        all = calloc(n_disks, sizeof(KpDiskSpec));
        s->guests = calloc(1, sizeof(struct KpGuestRange));
        if (!all || !s->guests) {
                free(all);
                return kp_error_set(error, -ENOMEM, "out of memory");
        }
        /* From here on the session is this guest's, whatever happens to its disks. */
        s->n_guests = 1;
        s->guests[0] = (struct KpGuestRange) { .first_disk = 0, .n_disks = n_disks };
        s->disks = all;
        for (size_t i = 0; i < n_disks; i++) {
                all[i] = (KpDiskSpec) { .path = strdup(disks[i].path), .format = disks[i].format };
                if (!all[i].path) {
                        atomic_store(&s->cancelled, true);
                        return kp_error_set(error, -ENOMEM, "out of memory");
                }
                s->n_disks++;
        }
        return 0;
}

int kp_guest_session_add_guest(KpGuestSession *s, const KpDiskSpec *disks, size_t n_disks, KpError *error,
                               size_t *ret_guest)
{
        int r;

        kp_guest_enter(s);
        if (s->launched)
                return kp_error_set(error, -EBUSY, "disks must be added before the appliance is launched");
        r = kp_guest_claim(s, disks, n_disks, error);
        if (r < 0)
                return r;

        for (size_t i = 0; i < s->n_disks; i++)
                /*
                 * readonly: qemu gets a throw-away overlay, so even a dirty
                 * journal replays without touching the disk; format: never
                 * let qemu probe what a guest wrote.
                 */
                if (sym_guestfs_add_drive_opts(s->g, s->disks[i].path,
                                           GUESTFS_ADD_DRIVE_OPTS_READONLY, s->options.writable ? 0 : 1,
                                           GUESTFS_ADD_DRIVE_OPTS_FORMAT,
                                           kp_disk_format_to_string(s->disks[i].format),
                                           -1) < 0) {
                        r = kp_guest_error(s, error, "could not add disk %s", s->disks[i].path);
                        /* libguestfs keeps the drives added before the failure: the session is spent. */
                        atomic_store(&s->cancelled, true);
                        return r;
                }

        if (ret_guest)
                *ret_guest = 0;
        return 0;
}

int kp_guest_launch_appliance(KpGuestSession *s, KpError *error)
{
        int r, pid;

        r = kp_guest_check_cancelled(s, error);
        if (r < 0)
                return r;
        if (s->options.deadline != 0 && kp_usec_left(s->options.deadline) == 0)
                return kp_error_set(error, -ETIMEDOUT, "deadline passed before the appliance was launched");

        r = watchdog_start(s);
        if (r < 0)
                return kp_error_set_errno(error, r, "could not start the session's watchdog");

        pthread_mutex_lock(&s->lock);
        s->launching = true;
        s->launch_tid = gettid();
        s->n_pre_children = read_children(s->launch_tid, s->pre_children, ELEMENTSOF(s->pre_children));
        pthread_mutex_unlock(&s->lock);

        kp_guest_progress(s, KP_GUEST_STAGE_LAUNCH, 0);
        r = sym_guestfs_launch(s->g);
        /* Recursive handle lock: asking from the launching thread is fine. */
        pid = r < 0 ? 0 : sym_guestfs_get_pid(s->g);

        pthread_mutex_lock(&s->lock);
        s->launching = false;
        s->hv_pid = pid > 0 ? pid : 0;
        pthread_cond_signal(&s->watchdog_cond);
        pthread_mutex_unlock(&s->lock);

        if (r < 0) {
                r = kp_guest_error(s, error, "could not launch the libguestfs appliance");
                /*
                 * Whatever errno libguestfs left (often none), an appliance
                 * that did not come up is the host's trouble (qemu, memory,
                 * the appliance image), never the guest's: kunpack-boot's
                 * on_failure = "last-good" tells the two apart by it.
                 */
                if (r != -ETIMEDOUT && r != -ECANCELED && r != -ENOMEM)
                        r = error ? (error->code = -EHOSTDOWN) : -EHOSTDOWN;
                return r;
        }
        s->launched = true;
        s->n_launches++;

        /* A cancel that came while get_pid was running found no pid to kill. */
        if (atomic_load(&s->cancelled))
                kp_guest_session_cancel(s);
        return kp_guest_check_cancelled(s, error);
}

int kp_guest_session_launch(KpGuestSession *s, KpError *error)
{
        char **devices;
        int r;

        kp_guest_enter(s);
        if (s->launched)
                return 0;
        if (s->n_disks == 0)
                return kp_error_set(error, -EINVAL, "no disks to inspect");
        r = kp_guest_launch_appliance(s, error);
        if (r < 0)
                return r;

        devices = sym_guestfs_list_devices(s->g);
        if (!devices)
                return kp_guest_error(s, error, "could not list the appliance's disks");
        s->devices = devices;
        if (strv_length(devices) != s->n_disks)
                return kp_error_set(error, -EIO, "the appliance shows %zu disks, %zu were added",
                                    strv_length(devices), s->n_disks);

        kp_guest_progress(s, KP_GUEST_STAGE_READY, 100);
        return 0;
}

void kp_guest_session_set_deadline(KpGuestSession *s, uint64_t deadline)
{
        pthread_mutex_lock(&s->lock);
        s->options.deadline = deadline;
        /* The watchdog sleeps until the old deadline: wake it to take the new one. */
        pthread_cond_signal(&s->watchdog_cond);
        pthread_mutex_unlock(&s->lock);
}

int kp_guest_track_overlay(KpGuestSession *s, int fd)
{
        int *fds;

        pthread_mutex_lock(&s->lock);
        fds = reallocarray(s->overlay_fds, s->n_overlay_fds + 1, sizeof(int));
        if (fds) {
                s->overlay_fds = fds;
                s->overlay_fds[s->n_overlay_fds++] = fd;
        }
        pthread_mutex_unlock(&s->lock);
        return fds ? 0 : -ENOMEM;
}

pid_t kp_guest_session_appliance_pid(KpGuestSession *s)
{
        pid_t pid;

        pthread_mutex_lock(&s->lock);
        pid = s->hv_pid;
        pthread_mutex_unlock(&s->lock);
        return pid;
}

unsigned kp_guest_session_launches(const KpGuestSession *s)
{
        return s->n_launches;
}

size_t kp_guest_session_n_guests(const KpGuestSession *s)
{
        return s->n_guests;
}
