/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "boot/pool-protocol.h"
#include "boot/scan-summary.h"
#include "boot/spawn.h"
#include "daemon/pool.h"
#include "daemon/registry.h"
#include "daemon/scheduler.h"
#include "daemon/worker.h"
#include "util/error.h"
#include "util/log.h"
#include "util/messages.h"
#include "util/strv.h"
#include "util/time-util.h"

/* The progress pipe is this fd in the scan program (after stdin, stdout, stderr). */
#define KP_WORKER_PROGRESS_FD 3

void worker_free(Worker *w)
{
        if (!w)
                return;
        sd_event_source_disable_unref(w->child);
        sd_event_source_disable_unref(w->out_source);
        sd_event_source_disable_unref(w->progress_source);
        sd_event_source_disable_unref(w->timer);
        sd_event_source_disable_unref(w->control_source);
        safe_close(w->control_fd);
        safe_close(w->out_fd);
        safe_close(w->progress_fd);
        safe_close(w->pidfd);
        free(w->out);
        free(w->progress);
        free(w->disks);
        free(w);
}

static void worker_unlink(Worker *w)
{
        Manager *m = w->manager;

        KP_LIST_FOREACH(workers, x, m->workers)
                if (x == w) {
                        KP_LIST_REMOVE(workers, m->workers, w);
                        m->n_workers--;
                        return;
                }
}

/* Reads what is there; false at end of file. Output past max is dropped (and the summary then refused). */
static bool drain(int fd, char **buf, size_t *size, size_t max)
{
        for (;;) {
                char chunk[8192];
                ssize_t n = read(fd, chunk, sizeof(chunk));
                char *p;

                if (n < 0)
                        return errno == EAGAIN || errno == EINTR;
                if (n == 0)
                        return false;
                if (*size + (size_t) n > max)
                        continue;
                p = realloc(*buf, *size + (size_t) n + 1);
                if (!p)
                        continue;
                memcpy(p + *size, chunk, (size_t) n);
                *size += (size_t) n;
                p[*size] = '\0';
                *buf = p;
        }
}

static Disk *worker_find_disk(Worker *w, const char *path, const char *request)
{
        for (size_t i = 0; i < w->n_disks; i++)
                if (w->disks[i] && streq(w->disks[i]->request.disk, path) &&
                    streq(w->disks[i]->request_key, request ? request : ""))
                        return w->disks[i];
        return NULL;
}

/*
 * Progress lines: "<index> <step> <percent>", index the disk's position
 * on the command line from 0, or "-" for the whole run (the appliance's
 * launch).
 */
static void handle_progress_line(Worker *w, char *line)
{
        char index[32], step[32];
        unsigned percent;

        if (sscanf(line, "%31s %31s %u", index, step, &percent) != 3 || percent > 100)
                return;
        for (const char *c = step; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || *c == '-'))
                        return;
        if (streq(index, "-")) {
                for (size_t i = 0; i < w->n_disks; i++)
                        if (w->disks[i])
                                scheduler_disk_progress(w->disks[i], step, percent);
                return;
        }
        char *end;
        unsigned long i = strtoul(index, &end, 10);
        if (*end == '\0' && i < w->n_disks && w->disks[i])
                scheduler_disk_progress(w->disks[i], step, percent);
}

static int on_progress(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Worker *w = userdata;
        bool open = drain(fd, &w->progress, &w->progress_size, KP_WORKER_MAX_PROGRESS_LINE * 4);
        char *nl;

        while (w->progress && (nl = memchr(w->progress, '\n', w->progress_size))) {
                size_t len = (size_t) (nl - w->progress) + 1;
                *nl = '\0';
                handle_progress_line(w, w->progress);
                memmove(w->progress, w->progress + len, w->progress_size - len + 1);
                w->progress_size -= len;
        }
        if (!open)
                w->progress_source = sd_event_source_disable_unref(w->progress_source);
        return 0;
}

static int on_output(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Worker *w = userdata;

        if (!drain(fd, &w->out, &w->out_size, KP_SCAN_SUMMARY_MAX))
                w->out_source = sd_event_source_disable_unref(w->out_source);
        return 0;
}

/* The kernel a scanned disk's record now names, for the journal. */
static void scanned_kernel(Manager *m, Disk *d, char ret[KP_SHA256_HEX_SIZE])
{
        _cleanup_(kp_disk_state_freep) KpDiskState *st = NULL;
        const KpBootEntry *e;

        ret[0] = '\0';
        if (kp_state_load(m->state, d->request.disk, d->request_key, NULL, &st) < 0)
                return;
        e = kp_boot_plan_selected(st->plan);
        if (e && e->kernel.have_info)
                memcpy(ret, e->kernel.sha256, KP_SHA256_HEX_SIZE);
}

static int on_worker_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        Worker *w = userdata;
        Manager *m = w->manager;
        KpScanSummaryDisk *results = NULL;
        size_t n_results = 0;
        unsigned launches = 0;
        char status[64];
        KpError error = {};
        int r;

        /* The scan program is a zombie until we return: its group id cannot be reused. Nothing of it stays. */
        (void) kill(-w->pid, SIGKILL);
        if (w->pooled) {
                /* It never had a guest: nothing to report but why it went. */
                pool_worker_exited(w, si);
                return 0;
        }
        if (w->out_fd >= 0)
                (void) drain(w->out_fd, &w->out, &w->out_size, KP_SCAN_SUMMARY_MAX);
        if (w->progress_fd >= 0)
                (void) on_progress(NULL, w->progress_fd, 0, w);

        if (si->si_code == CLD_EXITED)
                (void) snprintf(status, sizeof(status), "exited with status %d", si->si_status);
        else
                (void) snprintf(status, sizeof(status), "killed by SIG%s",
                                sigabbrev_np(si->si_status) ? sigabbrev_np(si->si_status) : "?");

        r = w->out ? kp_scan_summary_parse(w->out, &error, &results, &n_results, &launches) : -ENODATA;
        if (r >= 0)
                m->appliance_runs += launches;

        worker_unlink(w);
        for (size_t i = 0; r >= 0 && i < n_results; i++) {
                Disk *d = worker_find_disk(w, results[i].disk, results[i].request);
                char sha[KP_SHA256_HEX_SIZE];

                if (!d)
                        continue;
                for (size_t j = 0; j < w->n_disks; j++)
                        if (w->disks[j] == d)
                                w->disks[j] = NULL;
                if (results[i].status == KP_SCAN_FAILED)
                        scheduler_disk_finished(d, results[i].error < 0 ? results[i].error : -EIO,
                                                results[i].message, NULL);
                else {
                        scanned_kernel(m, d, sha);
                        scheduler_disk_finished(d, 0,
                                                results[i].status == KP_SCAN_FRESH ? "already fresh" : NULL, sha);
                }
        }
        kp_scan_summary_disks_free(results, n_results);

        /* Disks the summary does not mention: stopped, killed, or the program failed as a whole. */
        for (size_t i = 0; i < w->n_disks; i++) {
                Disk *d = w->disks[i];
                _cleanup_free_ char *why = NULL;

                if (!d)
                        continue;
                if (w->requeue && !m->stopping) {
                        scheduler_disk_requeue(d);
                        continue;
                }
                if (asprintf(&why, "%s %s%s%s", m->scan_program, status, r < 0 && w->out_size ? ": " : "",
                             r < 0 && w->out_size ? kp_error_message(&error, r) : "") < 0)
                        why = NULL;
                scheduler_disk_finished(d, w->terminated ? -ECANCELED : -EIO, why ? why : status, NULL);
        }

        worker_free(w);
        manager_exit_if_idle(m);
        manager_update_status(m);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Worker *w = userdata;

        if (w->pooled && !w->terminated) {
                pool_worker_expired(w);
                return 0;
        }
        if (!w->terminated) {
                log_warning("scan program (pid %d) ran past its deadline: stopping it", (int) w->pid);
                worker_terminate(w, false);
                return 0;
        }
        /* It did not go on SIGTERM: now it must. */
        (void) kill(-w->pid, SIGKILL);
        return 0;
}

void worker_terminate(Worker *w, bool requeue)
{
        if (w->terminated)
                return;
        w->terminated = true;
        w->requeue = requeue;
        (void) kill(-w->pid, SIGTERM);
        (void) sd_event_source_set_time_relative(w->timer, KP_WORKER_KILL_GRACE_USEC);
        (void) sd_event_source_set_enabled(w->timer, SD_EVENT_ONESHOT);
}

/*
 * The xl domain config of a guest that has this disk first and more disks
 * (a separate /boot, LVM), whose disks kunpack-scan then puts in the one
 * appliance; NULL when the disk alone is the guest.
 */
static const char *multi_disk_config(Manager *m, Disk *d)
{
        if (d->n_specs < 2)
                return NULL;
        KP_LIST_FOREACH(guests, g, m->guests)
                if (g->disk == d && g->origin == GUEST_ORIGIN_CONFIG && g->config_file)
                        return g->config_file;
        return NULL;
}

/*
 * The command line, kunpack-scan's (tools/kunpack-scan.c), for one guest:
 * its disk, or the xl domain config whose disks are the guest's. force: a
 * rescan that must look even at a fresh record. pooled: the request to a
 * pooled run (boot/pool-protocol.h), which is the same but for --config.
 */
static int build_argv(Manager *m, Disk *d, uint64_t timeout_usec, bool force, bool pooled, char ***ret)
{
        _cleanup_strv_free_ char **argv = NULL;
        const KpBootRequest *q = &d->request;
        const char *config = multi_disk_config(m, d);
        char *s;

        if (strv_extend(&argv, m->scan_program) < 0)
                return -ENOMEM;
        /* A pooled run read the settings when it started; its request names the guest only. */
        if (!pooled && m->settings->path &&
            (asprintf(&s, "--config=%s", m->settings->path) < 0 || strv_consume(&argv, s) < 0))
                return -ENOMEM;
        if (strv_extend(&argv, "--json") < 0 ||
            asprintf(&s, "--timeout=%" PRIu64, MAX((timeout_usec + USEC_PER_SEC - 1) / USEC_PER_SEC, UINT64_C(1))) < 0 ||
            strv_consume(&argv, s) < 0)
                return -ENOMEM;
        /* Steps for STATUS=, List and kunpackctl's progress display (ScanProgress). */
        if (asprintf(&s, "--progress-fd=%d", KP_WORKER_PROGRESS_FD) < 0 || strv_consume(&argv, s) < 0)
                return -ENOMEM;
        if (force && strv_extend(&argv, "--force") < 0)
                return -ENOMEM;
        if (q->entry && (asprintf(&s, "--entry=%s", q->entry) < 0 || strv_consume(&argv, s) < 0))
                return -ENOMEM;
        if (q->kernel && (asprintf(&s, "--kernel=%s", q->kernel) < 0 || strv_consume(&argv, s) < 0))
                return -ENOMEM;
        if (q->ramdisk && (asprintf(&s, "--ramdisk=%s", q->ramdisk) < 0 || strv_consume(&argv, s) < 0))
                return -ENOMEM;
        if (config && (asprintf(&s, "--domain-config=%s", config) < 0 || strv_consume(&argv, s) < 0))
                return -ENOMEM;
        /* A qcow2 image says so: kunpack-scan reads DISK as raw unless told, and never probes. */
        if (!config && d->n_specs > 0 && d->specs[0].format != KP_DISK_FORMAT_RAW &&
            (asprintf(&s, "--format=%s", kp_disk_format_to_string(d->specs[0].format)) < 0 ||
             strv_consume(&argv, s) < 0))
                return -ENOMEM;
        if (strv_extend(&argv, "--") < 0)
                return -ENOMEM;
        if (!config && strv_extend(&argv, q->disk) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(argv);
        return 0;
}

static _noreturn_ void child(char **argv, int in, int out, int progress)
{
        sigset_t none;

        (void) setpgid(0, 0);
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        (void) signal(SIGPIPE, SIG_DFL);
        if (in < 0)
                in = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (in < 0 || dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
            dup2(progress, KP_WORKER_PROGRESS_FD) < 0)
                _exit(127);
        /* dup2() onto itself keeps O_CLOEXEC: the pipe must outlive the exec. */
        if (progress == KP_WORKER_PROGRESS_FD && fcntl(progress, F_SETFD, 0) < 0)
                _exit(127);
        /* stderr stays the daemon's: the scan program's own log lines reach the journal. */
        execv(argv[0], argv);
        _exit(127);
}

int worker_spawn(Manager *m, char **argv, int in, uint64_t timeout_usec, Worker **ret)
{
        _cleanup_close_ int out_r = -EBADF, out_w = -EBADF, prog_r = -EBADF, prog_w = -EBADF;
        Worker *w;
        int pipes[2], r;
        pid_t pid;

        if (pipe2(pipes, O_CLOEXEC) < 0)
                return log_error_errno(-errno, "cannot create a pipe: %m");
        out_r = pipes[0], out_w = pipes[1];
        if (pipe2(pipes, O_CLOEXEC) < 0)
                return log_error_errno(-errno, "cannot create a pipe: %m");
        prog_r = pipes[0], prog_w = pipes[1];

        w = calloc(1, sizeof(Worker));
        if (!w)
                return log_oom();
        w->manager = m;
        w->out_fd = w->progress_fd = w->pidfd = w->control_fd = -EBADF;
        w->started_usec = kp_now_usec(CLOCK_MONOTONIC);

        pid = fork();
        if (pid < 0) {
                worker_free(w);
                return log_error_errno(-errno, "cannot start %s: %m", m->scan_program);
        }
        if (pid == 0)
                child(argv, in, out_w, prog_w);
        (void) setpgid(pid, pid);
        w->pid = pid;
        (void) fcntl(out_r, F_SETFL, O_NONBLOCK);
        (void) fcntl(prog_r, F_SETFL, O_NONBLOCK);
        w->out_fd = TAKE_FD(out_r);
        w->progress_fd = TAKE_FD(prog_r);

        r = sd_event_add_child(m->event, &w->child, pid, WEXITED, on_worker_exit, w);
        if (r >= 0)
                r = sd_event_add_io(m->event, &w->out_source, w->out_fd, EPOLLIN, on_output, w);
        if (r >= 0)
                r = sd_event_add_io(m->event, &w->progress_source, w->progress_fd, EPOLLIN, on_progress, w);
        if (r >= 0)
                r = sd_event_add_time_relative(m->event, &w->timer, CLOCK_MONOTONIC, timeout_usec, USEC_PER_SEC / 10,
                                               on_timer, w);
        if (r < 0) {
                /* Without its event sources we cannot follow it: stop it at once and reap it here. */
                (void) kill(-pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                worker_free(w);
                return log_error_errno(r, "cannot watch the scan program: %s", strerror(-r));
        }
        *ret = w;
        return 0;
}

/* Hands d's scan to a ready pooled run: its request, its deadline. 0, or negative when it could not take it. */
static int give_to_pooled(Manager *m, Worker *w, Disk *d, char **argv, uint64_t timeout)
{
        _cleanup_free_ char *msg = NULL;
        size_t size;
        int r;

        r = kp_pool_request_encode(argv, &msg, &size);
        if (r < 0)
                return log_error_errno(r, "cannot make the request for %s: %s", disk_display_name(m, d), strerror(-r));
        /* One packet, well under the socket's buffer; a worker that went meanwhile refuses it. */
        if (send(w->control_fd, msg, size, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t) size)
                return errno > 0 ? -errno : -EIO;
        /* From here on it is a scan like any other, for the rest of its life. */
        w->control_source = sd_event_source_disable_unref(w->control_source);
        w->control_fd = safe_close(w->control_fd);
        w->pooled = false;
        w->started_usec = kp_now_usec(CLOCK_MONOTONIC);
        (void) sd_event_source_set_time_relative(w->timer, timeout);
        (void) sd_event_source_set_enabled(w->timer, SD_EVENT_ONESHOT);
        return 0;
}

int worker_start(Manager *m, Disk *d)
{
        /* One guest per run, so one per appliance: the disk's and, with it, its guest's other disks. */
        Disk **disks = &d;
        size_t n = 1;
        _cleanup_strv_free_ char **argv = NULL;
        uint64_t timeout = KP_WORKER_TIMEOUT_BASE_USEC + n * KP_WORKER_TIMEOUT_PER_DISK_USEC, now;
        bool force = false, pooled = false;
        Worker *w = NULL;
        int r;

        /* A start that waits has its own deadline; the run gets no more than the latest of them. */
        now = kp_now_usec(CLOCK_MONOTONIC);
        {
                uint64_t latest = 0;
                bool only_waiting = true;
                for (size_t i = 0; i < n; i++) {
                        bool any = false;
                        KP_LIST_FOREACH(waiters, x, disks[i]->waiters)
                                if (x->kind == WAITER_PREPARE) {
                                        any = true;
                                        latest = MAX(latest, x->deadline_usec);
                                }
                        only_waiting = only_waiting && any;
                }
                if (only_waiting && latest > now)
                        timeout = latest - now;
        }
        for (size_t i = 0; i < n; i++)
                force = force || disks[i]->priority >= SCAN_PRIORITY_ADMIN;

        /* A ready pooled appliance if there is one (docs/pool.md); else a run that launches its own. */
        while (!w && (w = pool_take(m))) {
                r = build_argv(m, d, timeout, force, true, &argv);
                if (r < 0) {
                        pool_give_back(w);
                        return log_oom();
                }
                r = give_to_pooled(m, w, d, argv, timeout);
                argv = strv_free(argv);
                if (r < 0) {
                        log_warning("pooled appliance (pid %d) did not take the scan of %s: %s", (int) w->pid,
                                    disk_display_name(m, d), strerror(-r));
                        pool_give_back(w);
                        pool_recycle(w, "it refused a request");
                        w = NULL;
                        continue;
                }
                pooled = true;
        }
        if (!w) {
                r = build_argv(m, d, timeout, force, false, &argv);
                if (r < 0)
                        return log_oom();
                r = worker_spawn(m, argv, -EBADF, timeout, &w);
                if (r < 0)
                        return r;
        }

        w->disks = calloc(n, sizeof(Disk *));
        if (!w->disks) {
                /* It runs, for nobody: stop it; its exit finds no disk to report. */
                KP_LIST_PREPEND(workers, m->workers, w);
                m->n_workers++;
                worker_terminate(w, false);
                return log_oom();
        }
        memcpy(w->disks, disks, n * sizeof(Disk *));
        w->n_disks = n;
        KP_LIST_PREPEND(workers, m->workers, w);
        m->n_workers++;

        for (size_t i = 0; i < n; i++) {
                disks[i]->scan = DISK_RUNNING;
                disks[i]->worker = w;
                disks[i]->changed = false;
                disks[i]->rescan_after = false;
                free(disks[i]->step);
                disks[i]->step = strdup("starting");
                disks[i]->percent = 0;
                disks[i]->scan_started_usec = kp_now_usec(CLOCK_MONOTONIC);
        }
        if (pooled) {
                m->pool_taken++;
                log_disk_event(LOG_INFO, 0, KP_MESSAGE_SCAN_STARTED, m, d, NULL,
                               "scanning %s in a pooled appliance booted %" PRIu64 " s ago, pid %d",
                               disk_display_name(m, d), (now - w->ready_usec) / USEC_PER_SEC, (int) w->pid);
                /* Its place in the pool is free: another one boots, in the background. */
                pool_refill(m);
        } else
                log_disk_event(LOG_INFO, 0, KP_MESSAGE_SCAN_STARTED, m, d, NULL,
                               "scanning %s in an appliance of its own, pid %d", disk_display_name(m, d), (int) w->pid);
        return 0;
}
