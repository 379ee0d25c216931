/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sys/stat.h>

#include "boot/fallback.h"
#include "util/error.h"

int kp_boot_fallback_answer(const char *pvgrub_path, const KpOutputDir *dir, const char *extra_args,
                            KpError *error, KpAnswer *ret)
{
        _cleanup_(kp_answer_done) KpAnswer a = {};
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        if (!pvgrub_path || pvgrub_path[0] != '/')
                return kp_error_set(error, -EINVAL, "pvgrub_path \"%s\" is not an absolute path",
                                    pvgrub_path ? pvgrub_path : "");
        fd = open(pvgrub_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot open pvgrub image %s", pvgrub_path);
        if (fstat(fd, &st) < 0)
                return kp_error_set_errno(error, negative_errno(), "cannot stat pvgrub image %s", pvgrub_path);
        if (!S_ISREG(st.st_mode) || st.st_size == 0 || st.st_size > KP_FALLBACK_MAX_SIZE)
                return kp_error_set(error, -EMEDIUMTYPE, "pvgrub image %s is not a regular file of 1 to %d bytes",
                                    pvgrub_path, KP_FALLBACK_MAX_SIZE);

        r = kp_answer_join_args(NULL, extra_args, error, &a.args);
        if (r < 0)
                return r;
        r = kp_answer_publish(dir, "kernel", fd, error, &a.kernel);
        if (r < 0)
                return r;

        *ret = a;
        a = (KpAnswer) {};
        return 0;
}
