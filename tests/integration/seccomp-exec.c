/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * seccomp-exec LIST -- PROGRAM ARGS...: runs PROGRAM under a system call
 * allow-list, as systemd's SystemCallFilter= with SystemCallErrorNumber=EPERM
 * does: every system call named in LIST (one per line) is allowed, every other
 * fails with EPERM; calls of another architecture are killed
 * (SystemCallArchitectures=native). test-daemon-sandbox.py builds LIST from
 * `systemd-analyze syscall-filter` for the groups kunpackd.service names, so
 * the daemon and everything it runs (kunpack-scan, qemu) meet the same filter
 * systemd would load.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        scmp_filter_ctx ctx;
        char line[256];
        unsigned allowed = 0, unknown = 0;
        FILE *f;
        int r;

        if (argc < 4 || strcmp(argv[2], "--") != 0) {
                fprintf(stderr, "usage: seccomp-exec LIST -- PROGRAM ARGS...\n");
                return 2;
        }
        f = fopen(argv[1], "re");
        if (!f) {
                perror(argv[1]);
                return 2;
        }
        ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
        if (!ctx)
                return 2;
        /* Other architectures' calls are killed, as SystemCallArchitectures=native does. */
        if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) < 0)
                return 2;
        while (fgets(line, sizeof(line), f)) {
                int nr;

                line[strcspn(line, "\n")] = '\0';
                if (!line[0])
                        continue;
                nr = seccomp_syscall_resolve_name(line);
                if (nr == __NR_SCMP_ERROR || nr < 0) {
                        unknown++;  /* a name of another architecture, or one this libseccomp does not know */
                        continue;
                }
                r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
                if (r < 0) {
                        fprintf(stderr, "seccomp-exec: %s: %s\n", line, strerror(-r));
                        return 2;
                }
                allowed++;
        }
        fclose(f);
        r = seccomp_load(ctx);
        if (r < 0) {
                fprintf(stderr, "seccomp-exec: cannot load the filter: %s\n", strerror(-r));
                return 2;
        }
        seccomp_release(ctx);
        fprintf(stderr, "seccomp-exec: %u system calls allowed (%u names unknown here)\n", allowed, unknown);
        execv(argv[3], argv + 3);
        perror(argv[3]);
        return 127;
}
