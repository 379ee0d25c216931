/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What Xen's PV domain builder makes of a kernel's Xen notes (or of the
 * legacy "__xen_guest" string), following xen/common/libelf/libelf-dominfo.c:
 * the parameters it keeps, the checks elf_xen_note_check() and
 * elf_xen_addr_calc_check() apply, and a printable list of the notes for
 * people (kunpackctl extract --check). elf.c finds the notes; this file
 * knows what they mean.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/elf.h"
#include "kunpack.h"

/* Bytes of a numeric note's value we look at: enough for SUPPORTED_FEATURES and L1_MFN_VALID. */
#define KP_XEN_NOTE_DESC_MAX 64

/* A parameter no note set (Xen's UNSET_ADDR). */
#define KP_XEN_UNSET UINT64_MAX

/* Xen's struct elf_dom_parms keeps 16 bytes of each of these strings. */
#define KP_XEN_PARAM_STRING_MAX 16

typedef struct KpXenParams {
        char loader[KP_XEN_PARAM_STRING_MAX];
        char guest_os[KP_XEN_PARAM_STRING_MAX];
        char xen_ver[KP_XEN_PARAM_STRING_MAX];
        bool pae;               /* PAE_MODE "yes"/"bimodal", or PAE=yes in __xen_guest */
        uint64_t virt_base, virt_entry, p2m_base, paddr_offset;
        bool dom0_required;     /* FEATURES has "!dom0" */
        char unknown_required[64]; /* a "!feature" Xen does not know, which it refuses */
        bool have_notes;        /* Xen notes were found */
        bool have_guest_info;   /* the legacy "__xen_guest" section was used instead */
        size_t n_notes;         /* recorded in notes[], at most KP_XEN_NOTES_MAX */
        KpXenNote notes[KP_XEN_NOTES_MAX];
} KpXenParams;

KpXenParams *kp_xen_params_new(void);

/* Whether Xen reads this note type as a string (else as a number). */
bool kp_xen_note_is_string(uint32_t type);

/* A string note; value NULL when it had no terminating NUL within Xen's limit (Xen then ignores it). */
int kp_xen_params_add_string(KpXenParams *p, uint32_t type, const char *value, KpError *error);

/*
 * A numeric (or unknown) note: desc holds the first got bytes of its
 * descsz-byte value. Xen reads 1, 2, 4 or 8 bytes as a little-endian number
 * and anything else as 0.
 */
int kp_xen_params_add_numeric(KpXenParams *p, uint32_t type, const uint8_t *desc, size_t got,
                              uint32_t descsz, KpError *error);

/* The legacy "__xen_guest" section: "KEY=VALUE,KEY=VALUE,...". */
int kp_xen_params_add_guest_info(KpXenParams *p, const char *text, KpError *error);

/*
 * Refuses what Xen's PV builder would: no notes, a loader other than
 * "generic" or Linux, a Xen version other than xen-3.0, unknown required
 * features, dom0-only kernels, 32-bit without PAE, and an entry point or
 * VIRT_BASE outside the kernel's virtual range ([pstart, pend) are the
 * physical bounds of its loadable segments). -ENOEXEC with the reason.
 */
int kp_xen_params_check(const KpXenParams *p, bool is64, uint64_t e_entry, uint64_t pstart, uint64_t pend,
                        KpError *error);
