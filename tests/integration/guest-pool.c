/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A pooled appliance on the real libguestfs and qemu (docs/pool.md), in
 * one launch: booted with its scratch drive alone, then given one guest of
 * several disks over QMP; the names guestfsd gives them, the inspection
 * and a download through them; and every way of giving it a second guest,
 * refused. What it relies on in libguestfs and qemu is asserted here by
 * value (the scratch drive is /dev/sda, the guest's disks /dev/sdc on in
 * their order, qemu's virtio-scsi controller is "scsi"), so that a new
 * libguestfs or qemu that changes any of it fails this test loudly.
 *
 * Usage: guest-pool OTHER_DISK DISK... : prints "key value" lines (the
 * plan, timings) for test-pool-session.py, which knows what the guest
 * should boot.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/guest-internal.h"
#include "guest/inspect.h"
#include "guest/qmp.h"
#include "tests.h"
#include "util/error.h"
#include "util/json.h"
#include "util/sha256.h"
#include "util/strv.h"
#include "util/time-util.h"

static double ms_since(uint64_t t0)
{
        return (double) (kp_now_usec(CLOCK_MONOTONIC) - t0) / 1000.0;
}

/* Names in dir other than . and .. */
static char **list_dir(const char *path)
{
        char **names = NULL;
        DIR *d = opendir(path);
        struct dirent *de;

        ASSERT_TRUE(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        ASSERT_OK(strv_extend(&names, de->d_name));
        closedir(d);
        return names;
}

int main(int argc, char **argv)
{
        _cleanup_(kp_guest_session_freep) KpGuestSession *s = NULL;
        _cleanup_(kp_boot_plan_freep) KpBootPlan *plan = NULL;
        _cleanup_free_ KpDiskSpec *disks = NULL;
        KpDiskSpec other = { .path = argv[1], .format = KP_DISK_FORMAT_RAW };
        size_t n = (size_t) argc - 2, guest = 99;
        KpInspectOptions io = { .selected_only = true };
        const KpBootEntry *e;
        KpError error = {};
        uint64_t t0;

        ASSERT_TRUE(argc >= 3);
        disks = calloc(n, sizeof(KpDiskSpec));
        ASSERT_TRUE(disks);
        for (size_t i = 0; i < n; i++)
                disks[i] = (KpDiskSpec) { .path = argv[i + 2], .format = KP_DISK_FORMAT_RAW };

        ASSERT_OK(kp_guest_session_new(NULL, &error, &s));
        /* Nothing to attach to before the launch. */
        ASSERT_ERROR(kp_guest_session_attach_guest(s, disks, n, &error, NULL), -EINVAL);
        ASSERT_STREQ(error.message, "disks are attached to a launched pooled appliance only");
        s = kp_guest_session_free(s);

        ASSERT_OK(kp_guest_session_new(NULL, &error, &s));
        t0 = kp_now_usec(CLOCK_MONOTONIC);
        if (kp_guest_session_launch_pooled(s, &error) < 0)
                TEST_FAIL("launch: %s", error.message);
        printf("launch_ms %.0f\n", ms_since(t0));
        ASSERT_EQ(kp_guest_session_launches(s), 1);
        /* What everything else relies on, by value. */
        ASSERT_STREQ(s->scratch_device, "/dev/sda");
        ASSERT_TRUE(s->qmp);
        {
                _cleanup_(yajl_tree_freep) yajl_val tree = NULL;
                yajl_val v = NULL;
                ASSERT_OK(kp_qmp_execute(s->qmp, "qom-list", "{\"path\":\"/machine/peripheral\"}", 0, &error, &tree,
                                         &v));
                ASSERT_TRUE(YAJL_IS_ARRAY(v));
        }
        /* The QMP socket is root's alone: its directory is 0700. */
        {
                struct stat st;
                ASSERT_TRUE(stat(s->tmpdir, &st) == 0);
                ASSERT_EQ(st.st_mode & 07777, 0700);
                ASSERT_TRUE(lstat(s->qmp_path, &st) == 0 && S_ISSOCK(st.st_mode));
        }
        /* A launched appliance takes no drive the libguestfs way. */
        ASSERT_ERROR(kp_guest_session_add_guest(s, &other, 1, &error, NULL), -EBUSY);

        t0 = kp_now_usec(CLOCK_MONOTONIC);
        if (kp_guest_session_attach_guest(s, disks, n, &error, &guest) < 0)
                TEST_FAIL("attach: %s", error.message);
        printf("attach_ms %.0f\n", ms_since(t0));
        ASSERT_EQ(guest, 0);
        /* By serial, in the guest's order: after the scratch drive (sda) and the appliance's root (sdb). */
        ASSERT_EQ(strv_length(s->devices), n);
        for (size_t i = 0; i < n; i++) {
                char want[16];
                (void) snprintf(want, sizeof(want), "/dev/sd%c", (char) ('c' + i));
                ASSERT_STREQ(s->devices[i], want);
                printf("device %zu %s\n", i, s->devices[i]);
        }
        /* The overlays are nobody's to find by name any more, and still measured. */
        {
                _cleanup_strv_free_ char **names = list_dir(s->tmpdir);
                STRV_FOREACH(name, names)
                        ASSERT_TRUE(streq(*name, "qmp") || startswith_lit(*name, "libguestfs"));
                ASSERT_EQ(s->n_overlay_fds, n);
        }

        /*
         * Each guest disk is the read-only backing node of its overlay, with
         * its format named (raw, never probed); the overlay above it is
         * qcow2 and takes the appliance's writes. Asked of qemu itself, so
         * that a change in what blockdev-add makes of our arguments fails
         * here.
         */
        {
                _cleanup_(yajl_tree_freep) yajl_val tree = NULL;
                yajl_val nodes = NULL;
                size_t seen_disk = 0, seen_overlay = 0;

                if (kp_qmp_execute(s->qmp, "query-named-block-nodes", "{\"flat\":true}", 0, &error, &tree, &nodes) < 0)
                        TEST_FAIL("query-named-block-nodes: %s", error.message);
                ASSERT_TRUE(YAJL_IS_ARRAY(nodes));
                for (size_t k = 0; k < nodes->u.array.len; k++) {
                        yajl_val node = nodes->u.array.values[k];
                        const char *name = kp_json_get_string(node, "node-name");
                        const char *drv = kp_json_get_string(node, "drv");
                        const char *file = kp_json_get_string(node, "file");
                        bool ro = false;

                        if (!name)
                                continue;
                        if (startswith_lit(name, "kp-disk")) {
                                size_t i = strtoul(name + STRLEN("kp-disk"), NULL, 10);

                                ASSERT_TRUE(i < n);
                                ASSERT_STREQ(drv, "raw");
                                ASSERT_OK(kp_json_get_bool(node, "ro", &ro));
                                ASSERT_TRUE(ro);
                                /* The file under it is the guest's disk itself, by its real path. */
                                {
                                        _cleanup_free_ char *real = realpath(disks[i].path, NULL);
                                        ASSERT_TRUE(real);
                                        ASSERT_STREQ(file, real);
                                }
                                printf("backing %zu %s ro\n", i, drv);
                                seen_disk++;
                        } else if (startswith_lit(name, "kp-overlay")) {
                                ASSERT_STREQ(drv, "qcow2");
                                ASSERT_OK(kp_json_get_bool(node, "ro", &ro));
                                ASSERT_FALSE(ro);
                                /* Unlinked once qemu held it: the name qemu opened is gone. */
                                ASSERT_TRUE(file && access(file, F_OK) < 0 && errno == ENOENT);
                                seen_overlay++;
                        }
                }
                ASSERT_EQ(seen_disk, n);
                ASSERT_EQ(seen_overlay, n);
        }

        /* Never a second guest: not attached, not added, whatever the first one's fate. */
        ASSERT_ERROR(kp_guest_session_attach_guest(s, &other, 1, &error, NULL), -EBUSY);
        ASSERT_STREQ(error.message, "an appliance holds the disks of one guest only");
        ASSERT_ERROR(kp_guest_session_add_guest(s, &other, 1, &error, NULL), -EBUSY);
        ASSERT_EQ(kp_guest_session_n_guests(s), 1);

        t0 = kp_now_usec(CLOCK_MONOTONIC);
        if (kp_guest_session_inspect(s, 0, &io, &error, &plan) < 0)
                TEST_FAIL("inspect: %s", error.message);
        printf("inspect_ms %.0f\n", ms_since(t0));
        e = kp_boot_plan_selected(plan);
        ASSERT_TRUE(e && e->kernel.have_info);
        printf("config_device %s\nkernel %s\nkernel_sha256 %s\n", plan->config_device, e->kernel.path,
               e->kernel.sha256);

        /* The bytes come through the attached disk and hash to what the appliance computed. */
        {
                _cleanup_close_ int fd = open(getenv("TMPDIR") ?: "/var/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
                char sha[KP_SHA256_HEX_SIZE];
                uint64_t size = 0, hashed = 0;

                ASSERT_TRUE(fd >= 0);
                t0 = kp_now_usec(CLOCK_MONOTONIC);
                if (kp_guest_session_download(s, 0, e->kernel.device, e->kernel.path, fd, MiB(256), &error, &size) < 0)
                        TEST_FAIL("download: %s", error.message);
                printf("download_ms %.0f\n", ms_since(t0));
                ASSERT_EQ_U64(size, e->kernel.size);
                ASSERT_TRUE(lseek(fd, 0, SEEK_SET) == 0);
                ASSERT_OK(kp_sha256_fd(fd, MiB(256), sha, &hashed));
                ASSERT_EQ_U64(hashed, size);
                ASSERT_STREQ(sha, e->kernel.sha256);
        }
        return 0;
}
