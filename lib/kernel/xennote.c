/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "kernel/unaligned.h"
#include "kernel/xennote.h"
#include "util/error.h"
#include "util/macro.h"

/* Names as readnotes prints them (xen/include/public/elfnote.h). */
static const char *const note_names[] = {
        [KP_XEN_ELFNOTE_INFO] = "INFO",
        [KP_XEN_ELFNOTE_ENTRY] = "ENTRY",
        [KP_XEN_ELFNOTE_HYPERCALL_PAGE] = "HYPERCALL_PAGE",
        [KP_XEN_ELFNOTE_VIRT_BASE] = "VIRT_BASE",
        [KP_XEN_ELFNOTE_PADDR_OFFSET] = "PADDR_OFFSET",
        [KP_XEN_ELFNOTE_XEN_VERSION] = "XEN_VERSION",
        [KP_XEN_ELFNOTE_GUEST_OS] = "GUEST_OS",
        [KP_XEN_ELFNOTE_GUEST_VERSION] = "GUEST_VERSION",
        [KP_XEN_ELFNOTE_LOADER] = "LOADER",
        [KP_XEN_ELFNOTE_PAE_MODE] = "PAE_MODE",
        [KP_XEN_ELFNOTE_FEATURES] = "FEATURES",
        [KP_XEN_ELFNOTE_BSD_SYMTAB] = "BSD_SYMTAB",
        [KP_XEN_ELFNOTE_HV_START_LOW] = "HV_START_LOW",
        [KP_XEN_ELFNOTE_L1_MFN_VALID] = "L1_MFN_VALID",
        [KP_XEN_ELFNOTE_SUSPEND_CANCEL] = "SUSPEND_CANCEL",
        [KP_XEN_ELFNOTE_INIT_P2M] = "INIT_P2M",
        [KP_XEN_ELFNOTE_MOD_START_PFN] = "MOD_START_PFN",
        [KP_XEN_ELFNOTE_SUPPORTED_FEATURES] = "SUPPORTED_FEATURES",
        [KP_XEN_ELFNOTE_PHYS32_ENTRY] = "PHYS32_ENTRY",
};

/* The features elf_xen_parse_features() knows by name; a required ("!") one it does not know is fatal. */
static const char *const feature_names[] = {
        "writable_page_tables",
        "writable_descriptor_tables",
        "auto_translated_physmap",
        "supervisor_mode_kernel",
        "pae_pgdir_above_4gb",
        "hvm_callback_vector",
        "dom0",
};

/* Xen's parse loop takes at most this much of one feature name. */
#define FEATURE_NAME_MAX 63

KpXenParams *kp_xen_params_new(void)
{
        KpXenParams *p = calloc(1, sizeof(KpXenParams));

        if (!p)
                return NULL;
        p->virt_base = p->virt_entry = p->p2m_base = p->paddr_offset = KP_XEN_UNSET;
        return p;
}

bool kp_xen_note_is_string(uint32_t type)
{
        switch (type) {
        case KP_XEN_ELFNOTE_XEN_VERSION:
        case KP_XEN_ELFNOTE_GUEST_OS:
        case KP_XEN_ELFNOTE_GUEST_VERSION:
        case KP_XEN_ELFNOTE_LOADER:
        case KP_XEN_ELFNOTE_PAE_MODE:
        case KP_XEN_ELFNOTE_FEATURES:
        case KP_XEN_ELFNOTE_BSD_SYMTAB:
                return true;
        default:
                return false;
        }
}

/* Guest text is shown to people and written as JSON: printable ASCII only. */
static void copy_printable(char *dst, size_t size, const char *src)
{
        size_t i;

        for (i = 0; i + 1 < size && src[i]; i++)
                dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
        dst[i] = '\0';
}

/* Xen's safe_strcpy(): as much as fits, always terminated. */
static void copy_param(char dst[KP_XEN_PARAM_STRING_MAX], const char *src)
{
        (void) snprintf(dst, KP_XEN_PARAM_STRING_MAX, "%s", src);
}

static void record(KpXenParams *p, uint32_t type, const char *name, const char *value)
{
        KpXenNote *n;

        if (p->n_notes >= KP_XEN_NOTES_MAX)
                return; /* shown only; the parameters above still take every note into account */
        n = &p->notes[p->n_notes++];
        n->type = type;
        if (name)
                copy_printable(n->name, sizeof(n->name), name);
        else if (type < ELEMENTSOF(note_names))
                copy_printable(n->name, sizeof(n->name), note_names[type]);
        else
                (void) snprintf(n->name, sizeof(n->name), "TYPE_%" PRIu32, type);
        copy_printable(n->value, sizeof(n->value), value);
}

/*
 * elf_xen_parse_features(): "a|!b|c", "!" marking a feature the kernel
 * requires. An unknown required feature is fatal for a note; Xen ignores the
 * same failure in a legacy __xen_guest string (strict false).
 */
static void parse_features(KpXenParams *p, const char *features, bool strict)
{
        for (const char *s = features; *s;) {
                char feature[FEATURE_NAME_MAX + 1];
                size_t len = 0;
                bool required, known = false;

                while (len < FEATURE_NAME_MAX && s[len] && s[len] != '|')
                        len++;
                memcpy(feature, s, len);
                feature[len] = '\0';
                s += len;
                if (*s == '|' && len < FEATURE_NAME_MAX)
                        s++;

                required = feature[0] == '!';
                for (size_t i = 0; i < ELEMENTSOF(feature_names); i++)
                        if (streq(feature + required, feature_names[i]))
                                known = true;
                if (strict && required && !known && !p->unknown_required[0])
                        copy_printable(p->unknown_required, sizeof(p->unknown_required), feature + 1);
                if (required && streq(feature + 1, "dom0"))
                        p->dom0_required = true;
        }
}

int kp_xen_params_add_string(KpXenParams *p, uint32_t type, const char *value, KpError *error)
{
        p->have_notes = true;
        record(p, type, NULL, value ? value : "");
        if (!value)
                return 0; /* elf_strval() failed: Xen skips the note */

        switch (type) {
        case KP_XEN_ELFNOTE_LOADER:
                copy_param(p->loader, value);
                break;
        case KP_XEN_ELFNOTE_GUEST_OS:
                copy_param(p->guest_os, value);
                break;
        case KP_XEN_ELFNOTE_XEN_VERSION:
                copy_param(p->xen_ver, value);
                break;
        case KP_XEN_ELFNOTE_PAE_MODE:
                if (streq(value, "yes") || strstr(value, "bimodal"))
                        p->pae = true;
                break;
        case KP_XEN_ELFNOTE_FEATURES:
                parse_features(p, value, true);
                break;
        default:
                break;
        }
        return 0;
}

/* A note value as readnotes would show it: a number, or the 64-bit words of a longer value. */
static void render_numeric(char *buf, size_t size, const uint8_t *desc, size_t got, uint32_t descsz,
                           uint64_t value)
{
        size_t n = 0;

        if (descsz == 1 || descsz == 2 || descsz == 4 || descsz == 8) {
                (void) snprintf(buf, size, "0x%" PRIx64, value);
                return;
        }
        buf[0] = '\0';
        if (descsz % 8 == 0) {
                for (size_t i = 0; i + 8 <= got && n < size; i += 8)
                        n += (size_t) snprintf(buf + n, size - n, "%s0x%" PRIx64, i ? " " : "",
                                               kp_le64(desc + i));
                return;
        }
        for (size_t i = 0; i < got && n + 3 <= size; i++)
                n += (size_t) snprintf(buf + n, size - n, "%02x", desc[i]);
}

int kp_xen_params_add_numeric(KpXenParams *p, uint32_t type, const uint8_t *desc, size_t got,
                              uint32_t descsz, KpError *error)
{
        char text[KP_XEN_NOTE_VALUE_MAX];
        uint64_t value = 0;

        p->have_notes = true;
        if (got == descsz) {
                /* elf_note_numeric(): only these sizes are numbers; everything else reads as 0. */
                if (descsz == 1)
                        value = desc[0];
                else if (descsz == 2)
                        value = kp_le16(desc);
                else if (descsz == 4)
                        value = kp_le32(desc);
                else if (descsz == 8)
                        value = kp_le64(desc);
        }
        render_numeric(text, sizeof(text), desc, got, descsz, value);
        record(p, type, NULL, text);

        switch (type) {
        case KP_XEN_ELFNOTE_VIRT_BASE:
                p->virt_base = value;
                break;
        case KP_XEN_ELFNOTE_ENTRY:
                p->virt_entry = value;
                break;
        case KP_XEN_ELFNOTE_INIT_P2M:
                p->p2m_base = value;
                break;
        case KP_XEN_ELFNOTE_PADDR_OFFSET:
                p->paddr_offset = value;
                break;
        default:
                break;
        }
        return 0;
}

/* The note type a legacy __xen_guest key stands for, for display. */
static uint32_t guest_info_type(const char *key)
{
        static const struct {
                const char *key;
                uint32_t type;
        } map[] = {
                { "LOADER", KP_XEN_ELFNOTE_LOADER },
                { "GUEST_OS", KP_XEN_ELFNOTE_GUEST_OS },
                { "GUEST_VER", KP_XEN_ELFNOTE_GUEST_VERSION },
                { "XEN_VER", KP_XEN_ELFNOTE_XEN_VERSION },
                { "PAE", KP_XEN_ELFNOTE_PAE_MODE },
                { "BSD_SYMTAB", KP_XEN_ELFNOTE_BSD_SYMTAB },
                { "VIRT_BASE", KP_XEN_ELFNOTE_VIRT_BASE },
                { "VIRT_ENTRY", KP_XEN_ELFNOTE_ENTRY },
                { "ELF_PADDR_OFFSET", KP_XEN_ELFNOTE_PADDR_OFFSET },
                { "HYPERCALL_PAGE", KP_XEN_ELFNOTE_HYPERCALL_PAGE },
                { "FEATURES", KP_XEN_ELFNOTE_FEATURES },
        };

        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (streq(key, map[i].key))
                        return map[i].type;
        return KP_XEN_ELFNOTE_INFO;
}

int kp_xen_params_add_guest_info(KpXenParams *p, const char *text, KpError *error)
{
        /* elf_xen_parse_guest_info() keeps 31 bytes of a key and 127 of a value. */
        char key[32], value[128];

        p->have_guest_info = true;
        for (const char *s = text; *s;) {
                size_t k = 0, v = 0;

                while (*s && *s != ',' && *s != '=') {
                        if (k + 1 < sizeof(key))
                                key[k++] = *s;
                        s++;
                }
                key[k] = '\0';
                if (*s == '=') {
                        s++;
                        while (*s && *s != ',') {
                                if (v + 1 < sizeof(value))
                                        value[v++] = *s;
                                s++;
                        }
                }
                value[v] = '\0';
                if (*s == ',')
                        s++;

                record(p, guest_info_type(key), key, value);
                if (streq(key, "LOADER"))
                        copy_param(p->loader, value);
                else if (streq(key, "GUEST_OS"))
                        copy_param(p->guest_os, value);
                else if (streq(key, "XEN_VER"))
                        copy_param(p->xen_ver, value);
                else if (streq(key, "PAE"))
                        p->pae = startswith_lit(value, "yes");
                else if (streq(key, "VIRT_BASE"))
                        p->virt_base = strtoull(value, NULL, 0);
                else if (streq(key, "VIRT_ENTRY"))
                        p->virt_entry = strtoull(value, NULL, 0);
                else if (streq(key, "ELF_PADDR_OFFSET"))
                        p->paddr_offset = strtoull(value, NULL, 0);
                else if (streq(key, "FEATURES"))
                        parse_features(p, value, false);
        }
        return 0;
}

int kp_xen_params_check(const KpXenParams *p, bool is64, uint64_t e_entry, uint64_t pstart, uint64_t pend,
                        KpError *error)
{
        uint64_t virt_base, paddr_offset, offset, kstart, kend, entry;

        /* elf_xen_note_check() */
        if (!p->have_notes && !p->have_guest_info)
                return kp_error_set(error, -ENOEXEC, "not a Xen PV kernel: no Xen ELF notes");
        if (p->unknown_required[0])
                return kp_error_set(error, -ENOEXEC,
                                    "not a Xen PV kernel: it requires the unknown Xen feature \"%s\"",
                                    p->unknown_required);
        if (!startswith_lit(p->loader, "generic") && !startswith_lit(p->guest_os, "linux"))
                return kp_error_set(
                        error, -ENOEXEC,
                        "not a Xen PV kernel: loader \"%s\", guest OS \"%s\" (Xen loads only \"generic\" "
                        "or \"linux\" kernels)",
                        p->loader, p->guest_os);
        if (!startswith_lit(p->xen_ver, "xen-3.0"))
                return kp_error_set(error, -ENOEXEC,
                                    "not a Xen PV kernel: built for Xen version \"%s\", not \"xen-3.0\"",
                                    p->xen_ver);

        /* xc_dom_parse_elf_kernel() and xc_dom_guest_type() */
        if (p->dom0_required)
                return kp_error_set(error, -ENOEXEC,
                                    "kernel runs only as dom0 (FEATURES requires dom0), not as a guest");
        if (!is64 && !p->pae)
                return kp_error_set(
                        error, -ENOEXEC,
                        "32-bit PV kernel without PAE: Xen runs 32-bit PV guests only in PAE mode");

        /* elf_xen_addr_calc_check(), for PV */
        if (p->paddr_offset != KP_XEN_UNSET && p->virt_base == KP_XEN_UNSET)
                return kp_error_set(error, -ENOEXEC, "ELF notes set PADDR_OFFSET without VIRT_BASE");
        virt_base = p->virt_base == KP_XEN_UNSET ? 0 : p->virt_base;
        if (p->paddr_offset != KP_XEN_UNSET)
                paddr_offset = p->paddr_offset;
        else
                paddr_offset = p->have_notes ? 0 : virt_base; /* legacy __xen_guest: addresses are virtual */
        /* Xen computes these modulo 2^64, and so do we. */
        offset = virt_base - paddr_offset;
        kstart = pstart + offset;
        kend = pend + offset;
        entry = p->virt_entry != KP_XEN_UNSET ? p->virt_entry : e_entry;

        if (kstart > kend || entry < kstart || entry > kend)
                return kp_error_set(error, -ENOEXEC,
                                    "entry point 0x%" PRIx64 " lies outside the kernel at 0x%" PRIx64
                                    "-0x%" PRIx64,
                                    entry, kstart, kend);
        if (virt_base > kstart)
                return kp_error_set(error, -ENOEXEC,
                                    "VIRT_BASE 0x%" PRIx64 " lies above the kernel's start 0x%" PRIx64,
                                    virt_base, kstart);
        if (p->p2m_base != KP_XEN_UNSET && p->p2m_base >= kstart && p->p2m_base < kend)
                return kp_error_set(error, -ENOEXEC, "INIT_P2M 0x%" PRIx64 " lies inside the kernel",
                                    p->p2m_base);
        return 0;
}
