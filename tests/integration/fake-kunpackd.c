/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A daemon on kunpackd's socket that is not kunpackd, for
 * test-boot-faults.py: it answers one Prepare call with a kernel path
 * kunpack-boot must not hand to libxl, or listens as another uid.
 *
 * Usage: fake-kunpackd SOCKET MODE
 *   outside   the kernel is /etc/passwd
 *   dotdot    the kernel is OUTPUT_DIRECTORY/../kernel.fake (a file made there)
 *   symlink   the kernel is OUTPUT_DIRECTORY/kernel.fake, a symlink to /etc/passwd made there
 *   nobody    listens as uid 65534 and answers nothing
 * It writes "ready" on standard output once it listens, serves one
 * connection and exits 0 when the caller hangs up; 5 when a caller sent
 * Prepare to the nobody mode's listener, which no caller should.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "client/bus-api.h"

static const char *mode;

static int on_message(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        const char *path, *format, *entry, *pmode, *kernel, *ramdisk, *args, *outdir;
        char answer[PATH_MAX + 64];
        uint64_t timeout, flags;
        uint32_t domid;

        if (!sd_bus_message_is_method_call(m, KP_BUS_INTERFACE, "Prepare"))
                return 0;
        if (strcmp(mode, "nobody") == 0)
                _exit(5);
        if (sd_bus_message_enter_container(m, 'a', "(ss)") < 0)
                _exit(6);
        while (sd_bus_message_read(m, "(ss)", &path, &format) > 0)
                ;
        if (sd_bus_message_exit_container(m) < 0 ||
            sd_bus_message_read(m, "ssssssttu", &entry, &pmode, &kernel, &ramdisk, &args, &outdir, &timeout, &flags,
                                &domid) < 0)
                _exit(6);

        if (strcmp(mode, "outside") == 0)
                snprintf(answer, sizeof(answer), "/etc/passwd");
        else if (strcmp(mode, "dotdot") == 0) {
                char made[PATH_MAX + 64];
                int fd;

                snprintf(made, sizeof(made), "%s/../kernel.fake", outdir);
                fd = open(made, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd < 0 || write(fd, "not a kernel", 12) != 12)
                        _exit(7);
                close(fd);
                snprintf(answer, sizeof(answer), "%s/../kernel.fake", outdir);
        } else {
                snprintf(answer, sizeof(answer), "%s/kernel.fake", outdir);
                if (symlink("/etc/passwd", answer) < 0)
                        _exit(7);
        }
        (void) sd_bus_reply_method_return(m, "sssbsss", answer, "", args, 1, "/boot/vmlinuz", "00", "fake");
        return 1;
}

int main(int argc, char **argv)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        sd_bus *bus = NULL;
        sd_id128_t id;
        int fd, conn, r;

        if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path))
                return 2;
        mode = argv[2];
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        strcpy(sa.sun_path, argv[1]);
        (void) unlink(argv[1]);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return 2;
        /* SO_PEERCRED reports who called listen(). */
        if (strcmp(mode, "nobody") == 0 &&
            (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0))
                return 2;
        if (listen(fd, 1) < 0)
                return 2;
        printf("ready\n");
        fflush(stdout);

        conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (conn < 0)
                return 3;
        r = sd_id128_randomize(&id);
        if (r >= 0)
                r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_fd(bus, conn, conn);
        if (r >= 0)
                r = sd_bus_set_server(bus, 1, id);
        if (r >= 0)
                r = sd_bus_add_filter(bus, NULL, on_message, NULL);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0)
                return 4;
        for (;;) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return 0; /* the caller went away */
                if (r == 0 && sd_bus_wait(bus, UINT64_MAX) < 0)
                        return 0;
        }
}
