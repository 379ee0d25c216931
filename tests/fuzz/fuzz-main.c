/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runs a fuzzer's entry point on files, without libFuzzer: this is how the
 * seed corpus runs as a regression test in every build (gcc included).
 * Usage: fuzz-<name>-regress FILE|DIR...
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "util/fileio.h"
#include "util/macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Corpus files are small by construction; anything bigger is a mistake. */
#define FUZZ_INPUT_MAX (16 * 1024 * 1024)

static int run_file(const char *path)
{
        _cleanup_free_ char *data = NULL;
        size_t size = 0;
        int r;

        r = kp_read_file(path, FUZZ_INPUT_MAX, NULL, &data, &size);
        if (r < 0) {
                fprintf(stderr, "%s: cannot read: %s\n", path, strerror(-r));
                return r;
        }
        fprintf(stderr, "running %s (%zu bytes)\n", path, size);
        (void) LLVMFuzzerTestOneInput((const uint8_t *) data, size);
        return 0;
}

static int run_path(const char *path)
{
        struct stat st;
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (stat(path, &st) < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -errno;
        }
        if (!S_ISDIR(st.st_mode))
                return run_file(path);

        d = opendir(path);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&p, "%s/%s", path, de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                r = run_path(p);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r;
}

int main(int argc, char **argv)
{
        for (int i = 1; i < argc; i++)
                if (run_path(argv[i]) < 0)
                        return 1;
        return 0;
}
