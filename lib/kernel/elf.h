/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Would a Xen PV loader boot this ELF? We apply the rules of Xen's own
 * loader (xen/common/libelf: libelf-loader.c, libelf-dominfo.c, and
 * tools/libs/guest/xg_dom_elfloader.c, as of Xen 4.17) to a file, reading
 * it with pread(2) so that only headers and notes are ever in memory:
 *
 *  - an ELF64 for x86-64 or an ELF32 for i386, little-endian;
 *  - program and section header tables inside the file; loadable segments
 *    whose file bytes are inside the file and no larger than their memory
 *    size, without overflow, totalling at most twice the span they cover;
 *  - Xen notes (name "Xen") from PT_NOTE segments, else from SHT_NOTE
 *    sections, else the legacy "__xen_guest" section;
 *  - LOADER "generic" or GUEST_OS "linux", XEN_VERSION "xen-3.0", no
 *    required feature Xen does not know, not dom0-only, PAE for 32-bit;
 *  - the entry point inside the kernel's virtual range, VIRT_BASE below it.
 *
 * Where Xen would read a malformed note past the end of the file (and see
 * zeros), we refuse the file instead: no real kernel is shaped like that.
 */

#include <stdbool.h>
#include <stdint.h>

#include "kunpack.h"

/* Xen's ELF_MAX_TOTAL_NOTE_COUNT (xen/include/xen/libelf.h). */
#define KP_ELF_NOTES_MAX 65536
/* Xen's ELF_MAX_STRING_LENGTH: a string note longer than this is ignored. */
#define KP_ELF_STRING_MAX 4096

/*
 * The Xen notes kept for people and for the cache's metadata: a real
 * kernel has about fifteen (Debian's 6.1 kernel has 16), so 32 leaves room; notes
 * beyond that are still checked, only not listed.
 */
#define KP_XEN_NOTES_MAX 32
#define KP_XEN_NOTE_VALUE_MAX 128

/* One Xen note as found, value rendered as text ("0xffffffff81000000", "generic"). */
typedef struct KpXenNote {
        uint32_t type;                       /* KP_XEN_ELFNOTE_* (kunpack.h) */
        char name[24];                       /* "ENTRY", "LOADER", ..., or "TYPE_<n>" */
        char value[KP_XEN_NOTE_VALUE_MAX];
} KpXenNote;

/* What the check found: the ELF's identity and its Xen notes. */
typedef struct KpElfInfo {
        unsigned elf_class;                  /* 32 or 64 */
        unsigned machine;                    /* EM_X86_64 (62) or EM_386 (3) */
        uint64_t entry;                      /* e_entry */
        bool xen_guest_section;              /* legacy "__xen_guest" section present */
        size_t n_xen_notes;
        KpXenNote xen_notes[KP_XEN_NOTES_MAX];
} KpElfInfo;

/*
 * Checks the ELF of size bytes in fd. With xen_check false only the ELF's
 * own structure is checked (notes are still collected). Fills ret on
 * success. Errors: -EBADMSG for a malformed ELF, -ENOEXEC for a well-formed
 * one a Xen PV loader would refuse, or the errno of a failed read.
 */
int kp_elf_check(int fd, uint64_t size, bool xen_check, KpError *error, KpElfInfo *ret);
