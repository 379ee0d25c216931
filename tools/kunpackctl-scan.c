/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "boot/spawn.h"
#include "kunpackctl-scan.h"
#include "kunpackctl.h"
#include "util/error.h"
#include "util/log.h"
#include "util/strv.h"

/*
 * kunpack-scan next to this program (a build tree) or in libexecdir, with
 * this verb's arguments after kunpackctl's own --config= and --json, which
 * mean the same there. exec: its exit status, its output and its signals
 * are kunpack-scan's own (kunpack-scan(8)).
 */
int verb_scan(int argc, char **argv)
{
        _cleanup_strv_free_ char **args = NULL;
        _cleanup_free_ char *program = NULL;
        KpError error = {};
        int r;

        r = kp_scan_helper_path(&error, &program);
        if (r < 0)
                return log_error_errno(r, "%s", error.message), KPCTL_EXIT_FAILURE;

        if (strv_extend(&args, "kunpack-scan") < 0 ||
            (arg_config && kp_strv_extendf(&args, "--config=%s", arg_config) < 0) ||
            (arg_json && strv_extend(&args, "--json") < 0))
                return log_error_errno(-ENOMEM, "out of memory"), KPCTL_EXIT_FAILURE;
        for (int i = 1; i < argc; i++)
                if (strv_extend(&args, argv[i]) < 0)
                        return log_error_errno(-ENOMEM, "out of memory"), KPCTL_EXIT_FAILURE;

        /* Without root, kunpack-scan's own failure line says that it runs as root, when that is why it failed. */
        (void) fflush(stdout);
        execv(program, args);
        return log_error_errno(-errno, "cannot run %s: %m", program), KPCTL_EXIT_FAILURE;
}
