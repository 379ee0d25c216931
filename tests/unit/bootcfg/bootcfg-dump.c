/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bootcfg-dump [--config=PATH --kind=KIND] [--entry=REQUEST] [--fs-uuid=UUID]
 *              [--ignore-next-entry] [--compact] [--isolated [--memory-limit=MIB]] ROOT
 *
 * Parses a boot configuration from ROOT, a host directory standing for a
 * guest's boot filesystem (test data), and prints the plan as JSON. With
 * no --config, the first of kp_boot_config_candidates[] that exists is used, as
 * the guest inspection does; with none, the fallback. Used by the pygrub
 * comparison (tests/integration/pygrub-config-diff.py) and by hand.
 *
 * With --isolated the parse runs as the guest inspection runs it, in a
 * child process under its limits (bootcfg/parse-isolated.h), and what the
 * child cost is printed to stderr: "isolated: max_rss=BYTES cpu_usec=N
 * requests=N limited=0|1". --memory-limit replaces KP_ISOLATE_MEMORY, to
 * find what an input needs.
 *
 * Files are read below ROOT only: paths with ".." or symlinks leaving it
 * are refused (O_NOFOLLOW on every component through openat()).
 *
 * Exit status: 0 with the plan on stdout; 1 with the error on stderr.
 */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "bootcfg/bootplan-json.h"
#include "bootcfg/bootplan.h"
#include "bootcfg/guest-path.h"
#include "bootcfg/parse-isolated.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/macro.h"
#include "util/strv.h"

static int root_fd = -EBADF;

/* Opens path (absolute within ROOT) one component at a time, never following a symlink. */
static int open_below_root(const char *path, int flags)
{
        _cleanup_free_ char *copy = strdup(path);
        _cleanup_close_ int dir = -EBADF;
        char *save = NULL, *comp, *next;

        if (!copy)
                return -ENOMEM;
        if (kp_guest_path_has_dotdot(path))
                return -EPERM;
        dir = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
        if (dir < 0)
                return -errno;
        comp = strtok_r(copy, "/", &save);
        if (!comp)
                return TAKE_FD(dir);
        while (comp) {
                int fd;
                next = strtok_r(NULL, "/", &save);
                fd = openat(dir, comp, (next ? O_RDONLY | O_DIRECTORY : flags) | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return errno == ELOOP ? -EPERM : -errno;
                safe_close(dir);
                dir = fd;
                comp = next;
        }
        return TAKE_FD(dir);
}

static int dir_read_file(void *userdata, const char *path, size_t max, char **ret_data, size_t *ret_size)
{
        _cleanup_close_ int fd = open_below_root(path, O_RDONLY);
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        ssize_t n;

        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uint64_t) st.st_size > max)
                return -EFBIG;
        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        n = kp_loop_read(fd, buf, (size_t) st.st_size);
        if (n < 0)
                return (int) n;
        buf[n] = '\0';
        *ret_data = TAKE_PTR(buf);
        *ret_size = (size_t) n;
        return 0;
}

static int dir_list_dir(void *userdata, const char *path, char ***ret_names)
{
        _cleanup_strv_free_ char **names = calloc(1, sizeof(char *));
        int fd = open_below_root(path, O_RDONLY | O_DIRECTORY);
        struct dirent *de;
        DIR *d;
        int r;

        if (fd < 0)
                return fd;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return -errno;
        }
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                r = strv_extend(&names, de->d_name);
                if (r < 0) {
                        closedir(d);
                        return r;
                }
        }
        closedir(d);
        *ret_names = TAKE_PTR(names);
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "kind", required_argument, NULL, 'k' },
                { "entry", required_argument, NULL, 'e' },
                { "fs-uuid", required_argument, NULL, 'u' },
                { "ignore-next-entry", no_argument, NULL, 'i' },
                { "compact", no_argument, NULL, 'C' },
                { "isolated", no_argument, NULL, 'I' },
                { "memory-limit", required_argument, NULL, 'M' },
                {}
        };
        _cleanup_(kp_boot_plan_freep) KpBootPlan *plan = NULL;
        _cleanup_free_ char *data = NULL, *json = NULL;
        const char *config = NULL, *entry = NULL;
        KpBootConfigKind kind = KP_BOOT_CONFIG_NONE;
        KpBootParseFlags flags = 0;
        KpBootFs fs = { .read_file = dir_read_file, .list_dir = dir_list_dir };
        bool have_kind = false, pretty = true, isolated = false;
        KpIsolateOptions iso = {};
        KpError e = {};
        size_t size = 0;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        config = optarg;
                        break;
                case 'k':
                        if (kp_boot_config_kind_from_string(optarg, &kind) < 0) {
                                fprintf(stderr, "unknown kind %s\n", optarg);
                                return 1;
                        }
                        have_kind = true;
                        break;
                case 'e':
                        entry = optarg;
                        break;
                case 'u':
                        fs.fs_uuid = optarg;
                        break;
                case 'i':
                        flags |= KP_BOOTCFG_IGNORE_NEXT_ENTRY;
                        break;
                case 'C':
                        pretty = false;
                        break;
                case 'I':
                        isolated = true;
                        break;
                case 'M':
                        iso.memory = strtoull(optarg, NULL, 10) * 1024 * 1024;
                        break;
                default:
                        return 1;
                }
        if (optind + 1 != argc) {
                fprintf(stderr, "usage: %s [--config=PATH --kind=KIND] [--entry=X] ROOT\n", argv[0]);
                return 1;
        }
        root_fd = open(argv[optind], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0) {
                fprintf(stderr, "%s: %s\n", argv[optind], strerror(errno));
                return 1;
        }

        if (!config)
                for (size_t i = 0; i < kp_boot_config_candidates_count; i++) {
                        _cleanup_close_ int fd = open_below_root(kp_boot_config_candidates[i].path, O_RDONLY);
                        if (fd >= 0) {
                                config = kp_boot_config_candidates[i].path;
                                if (!have_kind)
                                        kind = kp_boot_config_candidates[i].kind;
                                have_kind = true;
                                break;
                        }
                }
        if (config) {
                if (!have_kind) {
                        fprintf(stderr, "--config needs --kind\n");
                        return 1;
                }
                r = dir_read_file(NULL, config, KP_BOOTCFG_MAX_SIZE, &data, &size);
                if (r < 0) {
                        fprintf(stderr, "%s: %s\n", config, strerror(-r));
                        return 1;
                }
        }

        if (isolated) {
                KpIsolateStats st = {};
                r = kp_boot_config_parse_isolated(kind, config, data, size, &fs, flags, &iso, &e, &plan, &st);
                fprintf(stderr, "isolated: max_rss=%" PRIu64 " cpu_usec=%" PRIu64 " requests=%u limited=%d\n",
                        st.max_rss, st.cpu_usec, st.requests, st.limited);
        } else
                r = kp_boot_config_parse_full(kind, config, data, size, &fs, flags, &e, &plan);
        if (r >= 0 && entry)
                r = kp_boot_plan_select(plan, entry, &e);
        if (r >= 0)
                r = kp_boot_plan_validate(plan, &e);
        if (r >= 0)
                r = kp_boot_plan_format_json(plan, pretty, &json);
        if (r < 0) {
                fprintf(stderr, "%s\n", kp_error_message(&e, r));
                return 1;
        }
        printf("%s\n", json);
        return 0;
}
