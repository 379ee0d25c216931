/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests.h"
#include "util/fileio.h"
#include "util/prometheus.h"

/* What kunpackd's metrics look like, with a label value that needs escaping. */
static const char expected[] =
        "# HELP kunpack_starts_total Domain starts kunpackd answered, by path.\n"
        "# TYPE kunpack_starts_total counter\n"
        "kunpack_starts_total{path=\"hot\"} 18446744073709551615\n"
        "kunpack_starts_total{path=\"cold\"} 2\n"
        "# HELP kunpack_config A path with a \\\\ and a\\nnewline.\n"
        "# TYPE kunpack_config gauge\n"
        "kunpack_config{path=\"/etc/a \\\"b\\\"\\\\c\\nd\",kind=\"x\"} 1\n"
        "# HELP kunpack_up Unlabelled.\n"
        "# TYPE kunpack_up gauge\n"
        "kunpack_up 0.25\n"
        "kunpack_up 163.434846\n"
        "kunpack_up 0.30000000000000004\n"
        "kunpack_up +Inf\n"
        "# HELP kunpack_scan_duration_seconds How long scans took.\n"
        "# TYPE kunpack_scan_duration_seconds histogram\n"
        "kunpack_scan_duration_seconds_bucket{le=\"1\"} 1\n"
        "kunpack_scan_duration_seconds_bucket{le=\"2.5\"} 1\n"
        "kunpack_scan_duration_seconds_bucket{le=\"30\"} 4\n"
        "kunpack_scan_duration_seconds_bucket{le=\"+Inf\"} 5\n"
        "kunpack_scan_duration_seconds_sum 91.5\n"
        "kunpack_scan_duration_seconds_count 5\n";

int main(void)
{
        _cleanup_(kp_prom_freep) KpProm *p = NULL;
        _cleanup_free_ char *text = NULL;
        static const double bounds[] = { 1, 2.5, 30 };
        static const uint64_t counts[] = { 1, 0, 3 };
        char path[] = "/tmp/kp-test-prometheus-XXXXXX";
        size_t size;
        int fd;

        ASSERT_OK(kp_prom_new(&p));
        kp_prom_family(p, "kunpack_starts_total", "counter", "Domain starts kunpackd answered, by path.");
        kp_prom_sample_u64(p, KP_PROM_LABELS("path", "hot"), UINT64_MAX);
        kp_prom_sample_u64(p, KP_PROM_LABELS("path", "cold"), 2);
        kp_prom_family(p, "kunpack_config", "gauge", "A path with a \\ and a\nnewline.");
        kp_prom_sample_u64(p, KP_PROM_LABELS("path", "/etc/a \"b\"\\c\nd", "kind", "x"), 1);
        kp_prom_family(p, "kunpack_up", "gauge", "Unlabelled.");
        kp_prom_sample_double(p, NULL, 0.25);
        kp_prom_sample_double(p, NULL, 163.434846);   /* not 163.43484599999999 */
        kp_prom_sample_double(p, NULL, 0.1 + 0.2);    /* needs all 17 digits to read back */
        kp_prom_sample_double(p, NULL, INFINITY);
        kp_prom_family(p, "kunpack_scan_duration_seconds", "histogram", "How long scans took.");
        kp_prom_histogram(p, bounds, counts, 3, 1, 91.5);
        ASSERT_OK(kp_prom_finish(p, &text, &size));
        ASSERT_STREQ(text, expected);
        ASSERT_EQ(size, strlen(expected));

        /* Prometheus's own checker, where it is installed (Debian's prometheus package: the test set). */
        if (access("/usr/bin/promtool", X_OK) == 0) {
                char cmd[128];
                fd = mkstemp(path);
                ASSERT_TRUE(fd >= 0);
                ASSERT_OK(kp_loop_write(fd, text, size));
                close(fd);
                (void) snprintf(cmd, sizeof(cmd), "/usr/bin/promtool check metrics < %s", path);
                ASSERT_EQ(system(cmd), 0);
                unlink(path);
        } else
                fprintf(stderr, "promtool not installed: the format is checked against the expected text only\n");
        return 0;
}
