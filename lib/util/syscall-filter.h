/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A seccomp filter for a process that only computes and talks through
 * the descriptors it already has: the forked parser of guest text
 * (bootcfg/isolate.h). Allowed: reading and writing open descriptors,
 * memory (brk, mmap, mremap, munmap, mprotect, madvise), reading its own
 * limits and descriptors' flags, waiting, signals to itself (abort()),
 * and leaving. Every other system call fails with EPERM (glibc copes:
 * strerror() without its catalogues, and so on), and a call of another
 * architecture's table kills the process. A parser an input managed to
 * take over can then open no file, no socket, start no program and
 * signal nobody else.
 */

/*
 * Sets no_new_privs and installs the filter; from then on it holds for the
 * process and everything it would start. 0 where the architecture is not
 * one the filter knows (it then does nothing), else a negative errno.
 */
int kp_syscall_filter_compute_only(void);
