/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>

#include "boot/scan-summary.h"
#include "boot/spawn.h"
#include "bootcfg/bootplan.h"
#include "tests.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/time-util.h"

static void test_run(void)
{
        _cleanup_(kp_helper_run_done) KpHelperRun run = {};
        char *const argv[] = { (char *) "/bin/sh", (char *) "-c", (char *) "echo out; echo err >&2; exit 3", NULL };
        KpError error = {};

        ASSERT_OK(kp_helper_run(argv, kp_now_usec(CLOCK_MONOTONIC) + 30 * USEC_PER_SEC, NULL, &error, &run));
        ASSERT_EQ(run.status, 3);
        ASSERT_FALSE(run.timed_out);
        ASSERT_STREQ(run.out, "out\n");
        ASSERT_STREQ(run.err, "err\n");
}

static bool process_dead(pid_t pid)
{
        for (int i = 0; i < 200; i++) {
                _cleanup_free_ char *p = NULL, *stat = NULL;
                char *close_paren;

                ASSERT_TRUE(asprintf(&p, "/proc/%d/stat", (int) pid) > 0);
                if (kp_read_file(p, 4096, NULL, &stat, NULL) < 0)
                        return true;
                close_paren = strrchr(stat, ')');
                if (close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z')
                        return true;
                usleep(10000);
        }
        return false;
}

/*
 * A helper that hangs, with a child of its own that holds the output pipe
 * (as qemu would): at the deadline the whole group dies, and the call
 * returns promptly.
 */
static void test_deadline(void)
{
        _cleanup_(kp_helper_run_done) KpHelperRun run = {};
        char *const argv[] = { (char *) "/bin/sh", (char *) "-c",
                               (char *) "sleep 1000 & echo $! > /dev/stderr; exec sleep 1000", NULL };
        uint64_t start = kp_now_usec(CLOCK_MONOTONIC);
        KpError error = {};
        long grandchild;

        ASSERT_OK(kp_helper_run(argv, start + 300 * USEC_PER_MSEC, NULL, &error, &run));
        ASSERT_TRUE(run.timed_out);
        ASSERT_EQ(run.status, 128 + SIGKILL);
        ASSERT_TRUE(kp_now_usec(CLOCK_MONOTONIC) - start < 5 * USEC_PER_SEC);
        grandchild = strtol(run.err, NULL, 10);
        ASSERT_TRUE(grandchild > 1);
        /* Killed with its group: gone, or a zombie until init reaps it. */
        ASSERT_TRUE(process_dead((pid_t) grandchild));
}

/* SIGTERM (libxl stopping the bootloader) ends the wait and kills the helper. */
static void test_stop_signal(void)
{
        _cleanup_(kp_helper_run_done) KpHelperRun run = {};
        char *const argv[] = { (char *) "/bin/sh", (char *) "-c", (char *) "kill -TERM $PPID; exec sleep 1000", NULL };
        sigset_t stop, old;
        KpError error = {};

        sigemptyset(&stop);
        sigaddset(&stop, SIGTERM);
        ASSERT_OK(sigprocmask(SIG_BLOCK, &stop, &old));
        ASSERT_ERROR(kp_helper_run(argv, kp_now_usec(CLOCK_MONOTONIC) + 30 * USEC_PER_SEC, &stop, &error, &run),
                     -EINTR);
        ASSERT_CONTAINS(error.message, "stopped by TERM while /bin/sh ran");
        ASSERT_OK(sigprocmask(SIG_SETMASK, &old, NULL));
}

static void test_summary(void)
{
        KpScanResult res[2] = {};
        char *disks[] = { (char *) "/img/a.img", (char *) "/img/b.img" }, *requests[] = { (char *) "",
                                                                                          (char *) "entry=1" };
        _cleanup_free_ char *text = NULL;
        KpScanSummaryDisk *d = NULL;
        unsigned launches;
        KpError error = {};
        size_t n;

        res[0].status = KP_SCAN_SCANNED;
        res[0].fetched = 2;
        res[0].state = calloc(1, sizeof(KpDiskState));
        ASSERT_OK(kp_boot_plan_new_direct("/boot/vmlinuz", "/boot/initrd.img", "ro quiet", &res[0].state->plan));
        res[1].status = KP_SCAN_FAILED;
        res[1].error = -ENOSPC;
        snprintf(res[1].message, sizeof(res[1].message), "cache: No space left on device");

        ASSERT_OK(kp_scan_summary_format(res, disks, requests, 2, 1, 12.5, &text));
        ASSERT_CONTAINS(text, "\"kernel\": \"/boot/vmlinuz\"");
        ASSERT_CONTAINS(text, "\"errno\": \"ENOSPC\"");
        ASSERT_OK(kp_scan_summary_parse(text, &error, &d, &n, &launches));
        ASSERT_EQ(n, 2);
        ASSERT_EQ(launches, 1);
        ASSERT_STREQ(d[0].disk, "/img/a.img");
        ASSERT_EQ(d[0].status, KP_SCAN_SCANNED);
        ASSERT_EQ(d[0].error, 0);
        ASSERT_TRUE(d[0].message == NULL);
        ASSERT_STREQ(d[1].request, "entry=1");
        ASSERT_EQ(d[1].status, KP_SCAN_FAILED);
        ASSERT_EQ(d[1].error, -ENOSPC);
        ASSERT_STREQ(d[1].message, "cache: No space left on device");
        kp_scan_summary_disks_free(d, n);
        kp_scan_result_done(&res[0]);

        ASSERT_ERROR(kp_scan_summary_parse("{\"version\": 2}", &error, &d, &n, NULL), -EBADMSG);
        ASSERT_ERROR(kp_scan_summary_parse("kunpack-scan: usage", &error, &d, &n, NULL), -EBADMSG);
        ASSERT_EQ(kp_errno_from_name("ETIMEDOUT"), -ETIMEDOUT);
        ASSERT_EQ(kp_errno_from_name("NOT-AN-ERRNO"), -EIO);
}

int main(void)
{
        test_run();
        test_deadline();
        test_stop_signal();
        test_summary();
        return 0;
}
