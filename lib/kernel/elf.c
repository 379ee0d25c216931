/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <elf.h>
#include <limits.h>
#include <unistd.h>

#include "kernel/elf.h"
#include "kernel/unaligned.h"
#include "kernel/xennote.h"
#include "util/error.h"
#include "util/macro.h"

/* We read ELF structures with memcpy: only right on a little-endian host, as every Xen x86 dom0 is. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ELF headers are read in host byte order");

/* Xen's loader places the kernel in pages; the span of its loadable segments is counted in them. */
#define XEN_PAGE_SIZE 4096

typedef struct Elf {
        int fd;
        uint64_t size;
        bool is64;
        uint16_t machine;
        uint64_t entry;
        uint64_t phoff, shoff;
        unsigned phnum, shnum, shstrndx;
        uint64_t pstart, pend; /* lowest and highest physical address of the loadable segments */
} Elf;

/* Our view of a program or section header, from either class. */
typedef struct Segment {
        uint32_t type;
        uint32_t flags;
        uint64_t offset, paddr, filesz, memsz;
} Segment;

typedef struct Section {
        uint32_t name, type;
        uint64_t offset, size;
} Section;

/* Reads exactly n bytes at offset; -EBADMSG with what if the file ends first. */
static int read_at(const Elf *elf, uint64_t offset, void *buf, size_t n, const char *what, KpError *error)
{
        uint64_t end;
        size_t done = 0;

        if (ADD_OVERFLOW(offset, (uint64_t) n, &end) || end > elf->size || offset > (uint64_t) LLONG_MAX)
                return kp_error_set(error, -EBADMSG,
                                    "ELF %s at offset %" PRIu64 " runs past the end of the file", what,
                                    offset);
        while (done < n) {
                ssize_t k = pread(elf->fd, (uint8_t *) buf + done, n - done, (off_t) (offset + done));
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return kp_error_set_errno(error, negative_errno(),
                                                  "cannot read the decompressed kernel");
                }
                if (k == 0)
                        return kp_error_set(error, -EBADMSG,
                                            "ELF %s at offset %" PRIu64 " runs past the end of the file",
                                            what, offset);
                done += (size_t) k;
        }
        return 0;
}

/* Reads up to n bytes at offset, fewer at end of file. Returns the count. */
static ssize_t read_some_at(const Elf *elf, uint64_t offset, void *buf, size_t n, KpError *error)
{
        if (offset >= elf->size)
                return 0;
        n = (size_t) MIN((uint64_t) n, elf->size - offset);
        return read_at(elf, offset, buf, n, "string", error) < 0 ? -EBADMSG : (ssize_t) n;
}

static int read_header(Elf *elf, KpError *error, KpElfInfo *info)
{
        union {
                unsigned char ident[EI_NIDENT];
                Elf32_Ehdr e32;
                Elf64_Ehdr e64;
        } h = {};
        unsigned phentsize, shentsize;
        uint64_t end;
        int r;

        if (elf->size < sizeof(Elf32_Ehdr))
                return kp_error_set(error, -EBADMSG, "ELF of %" PRIu64 " bytes is too short for its header",
                                    elf->size);
        r = read_at(elf, 0, &h, MIN(sizeof(h), (size_t) elf->size), "header", error);
        if (r < 0)
                return r;
        if (memcmp(h.ident, ELFMAG, SELFMAG) != 0)
                return kp_error_set(error, -EBADMSG, "not an ELF: no ELF magic");
        if (h.ident[EI_CLASS] != ELFCLASS32 && h.ident[EI_CLASS] != ELFCLASS64)
                return kp_error_set(error, -ENOEXEC, "ELF class %u is neither 32- nor 64-bit",
                                    h.ident[EI_CLASS]);
        if (h.ident[EI_DATA] != ELFDATA2LSB)
                return kp_error_set(error, -ENOEXEC, "ELF is not little-endian, so not an x86 kernel");

        elf->is64 = h.ident[EI_CLASS] == ELFCLASS64;
        if (elf->is64) {
                if (elf->size < sizeof(Elf64_Ehdr))
                        return kp_error_set(error, -EBADMSG,
                                            "ELF64 of %" PRIu64 " bytes is too short for its header",
                                            elf->size);
                elf->machine = h.e64.e_machine;
                elf->entry = h.e64.e_entry;
                elf->phoff = h.e64.e_phoff;
                elf->shoff = h.e64.e_shoff;
                elf->phnum = h.e64.e_phnum;
                elf->shnum = h.e64.e_shnum;
                elf->shstrndx = h.e64.e_shstrndx;
                phentsize = h.e64.e_phentsize;
                shentsize = h.e64.e_shentsize;
        } else {
                elf->machine = h.e32.e_machine;
                elf->entry = h.e32.e_entry;
                elf->phoff = h.e32.e_phoff;
                elf->shoff = h.e32.e_shoff;
                elf->phnum = h.e32.e_phnum;
                elf->shnum = h.e32.e_shnum;
                elf->shstrndx = h.e32.e_shstrndx;
                phentsize = h.e32.e_phentsize;
                shentsize = h.e32.e_shentsize;
        }

        /* xc_dom_guest_type(): Xen builds PV guests from x86-64 and i386 kernels only. */
        if (elf->is64 && elf->machine != EM_X86_64)
                return kp_error_set(error, -ENOEXEC, "ELF64 for machine %u, not x86-64", elf->machine);
        if (!elf->is64 && elf->machine != EM_386)
                return kp_error_set(error, -ENOEXEC, "ELF32 for machine %u, not i386", elf->machine);

        /* elf_init(): both header tables must lie inside the file. */
        if (elf->phnum > 0 && phentsize != (elf->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)))
                return kp_error_set(error, -EBADMSG, "ELF program header size %u is wrong for its class",
                                    phentsize);
        if (elf->shnum > 0 && shentsize != (elf->is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr)))
                return kp_error_set(error, -EBADMSG, "ELF section header size %u is wrong for its class",
                                    shentsize);
        if (ADD_OVERFLOW(elf->phoff, (uint64_t) elf->phnum * phentsize, &end) || end > elf->size)
                return kp_error_set(error, -EBADMSG, "ELF program headers run past the end of the file");
        if (ADD_OVERFLOW(elf->shoff, (uint64_t) elf->shnum * shentsize, &end) || end > elf->size)
                return kp_error_set(error, -EBADMSG, "ELF section headers run past the end of the file");

        info->elf_class = elf->is64 ? 64 : 32;
        info->machine = elf->machine;
        info->entry = elf->entry;
        return 0;
}

static int read_segment(const Elf *elf, unsigned i, KpError *error, Segment *ret)
{
        int r;

        if (elf->is64) {
                Elf64_Phdr p;
                r = read_at(elf, elf->phoff + (uint64_t) i * sizeof(p), &p, sizeof(p), "program header",
                            error);
                if (r < 0)
                        return r;
                *ret = (Segment) { p.p_type, p.p_flags, p.p_offset, p.p_paddr, p.p_filesz, p.p_memsz };
        } else {
                Elf32_Phdr p;
                r = read_at(elf, elf->phoff + (uint64_t) i * sizeof(p), &p, sizeof(p), "program header",
                            error);
                if (r < 0)
                        return r;
                *ret = (Segment) { p.p_type, p.p_flags, p.p_offset, p.p_paddr, p.p_filesz, p.p_memsz };
        }
        return 0;
}

static int read_section(const Elf *elf, unsigned i, KpError *error, Section *ret)
{
        int r;

        if (elf->is64) {
                Elf64_Shdr s;
                r = read_at(elf, elf->shoff + (uint64_t) i * sizeof(s), &s, sizeof(s), "section header",
                            error);
                if (r < 0)
                        return r;
                *ret = (Section) { s.sh_name, s.sh_type, s.sh_offset, s.sh_size };
        } else {
                Elf32_Shdr s;
                r = read_at(elf, elf->shoff + (uint64_t) i * sizeof(s), &s, sizeof(s), "section header",
                            error);
                if (r < 0)
                        return r;
                *ret = (Section) { s.sh_name, s.sh_type, s.sh_offset, s.sh_size };
        }
        return 0;
}

/* elf_phdr_is_loadable(): PT_LOAD with any of R, W, X. */
static bool segment_loadable(const Segment *s)
{
        return s->type == PT_LOAD && (s->flags & (PF_R | PF_W | PF_X)) != 0;
}

/*
 * elf_parse_binary() and elf_load_binary(): the physical range the
 * loadable segments cover, each segment's file bytes inside the file, and
 * (Xen's guard against quadratic copying) their memory sizes totalling at
 * most twice the pages that range takes.
 */
static int check_segments(Elf *elf, KpError *error)
{
        uint64_t low = UINT64_MAX, high = 0, total = 0, span;
        unsigned n = 0;
        int r;

        for (unsigned i = 0; i < elf->phnum; i++) {
                Segment s;
                uint64_t end;

                r = read_segment(elf, i, error, &s);
                if (r < 0)
                        return r;
                if (!segment_loadable(&s))
                        continue;
                if (ADD_OVERFLOW(s.offset, s.filesz, &end) || end > elf->size)
                        return kp_error_set(error, -EBADMSG, "ELF segment %u runs past the end of the file",
                                            i);
                if (s.filesz > s.memsz)
                        return kp_error_set(error, -EBADMSG,
                                            "ELF segment %u has more file bytes than memory", i);
                if (ADD_OVERFLOW(s.paddr, s.memsz, &end))
                        return kp_error_set(error, -EBADMSG, "ELF segment %u wraps around the address space",
                                            i);
                if (ADD_OVERFLOW(total, s.memsz, &total))
                        return kp_error_set(error, -EBADMSG, "ELF segment sizes overflow");
                low = MIN(low, s.paddr);
                high = MAX(high, end);
                n++;
        }
        if (n == 0)
                return kp_error_set(error, -ENOEXEC, "ELF has no loadable segments");

        span = high - low;
        if (span > UINT64_MAX - XEN_PAGE_SIZE)
                return kp_error_set(error, -EBADMSG, "ELF loadable segments span the whole address space");
        span = (span + XEN_PAGE_SIZE - 1) / XEN_PAGE_SIZE * XEN_PAGE_SIZE;
        if (total / 2 > span)
                return kp_error_set(error, -EBADMSG,
                                    "ELF loadable segments total %" PRIu64
                                    " bytes, more than twice the %" PRIu64 " they span",
                                    total, span);
        elf->pstart = low;
        elf->pend = high;
        return 0;
}

/* ---- notes -------------------------------------------------------------- */

/* Reads a NUL-terminated string at offset as Xen's elf_strval() does; false if there is none. */
static int read_string(const Elf *elf, uint64_t offset, KpError *error, char ret[KP_ELF_STRING_MAX + 1],
                       bool *ret_found)
{
        ssize_t n;

        n = read_some_at(elf, offset, ret, KP_ELF_STRING_MAX + 1, error);
        if (n < 0)
                return (int) n;
        *ret_found = memchr(ret, '\0', (size_t) n) != NULL;
        if (!*ret_found)
                ret[0] = '\0';
        return 0;
}

/*
 * Walks the notes in [start, end) as elf_xen_parse_notes() does and feeds
 * every "Xen" one to the parameters. Returns how many there were.
 */
static int parse_notes(const Elf *elf, uint64_t start, uint64_t end, unsigned *total, KpXenParams *params,
                       KpError *error)
{
        _cleanup_free_ char *str = NULL;
        int xen_notes = 0;
        int r;

        if (end > elf->size)
                return kp_error_set(error, -EBADMSG,
                                    "ELF notes at offset %" PRIu64 " run past the end of the file", start);
        str = malloc(KP_ELF_STRING_MAX + 1);
        if (!str)
                return kp_error_set(error, -ENOMEM, "out of memory");

        for (uint64_t off = start; off < end;) {
                uint32_t hdr[3]; /* namesz, descsz, type: the same 12 bytes in ELF32 and ELF64 */
                uint8_t name[4] = {}, desc[KP_XEN_NOTE_DESC_MAX] = {};
                uint64_t desc_off;
                bool found;
                ssize_t n;

                if (*total >= KP_ELF_NOTES_MAX)
                        return kp_error_set(error, -EBADMSG, "ELF has more than %u notes", KP_ELF_NOTES_MAX);
                (*total)++;

                r = read_at(elf, off, hdr, sizeof(hdr), "note", error);
                if (r < 0)
                        return r;
                /* elf_note_name() compares the C string where the name starts with "Xen". */
                n = read_some_at(elf, off + sizeof(hdr), name, sizeof(name), error);
                if (n < 0)
                        return (int) n;
                desc_off = off + sizeof(hdr) + (((uint64_t) hdr[0] + 3) & ~UINT64_C(3));
                if (n == (ssize_t) sizeof(name) && memcmp(name, "Xen", 4) == 0) {
                        if (kp_xen_note_is_string(hdr[2])) {
                                r = read_string(elf, desc_off, error, str, &found);
                                if (r < 0)
                                        return r;
                                r = kp_xen_params_add_string(params, hdr[2], found ? str : NULL, error);
                        } else {
                                n = read_some_at(elf, desc_off, desc, MIN((size_t) hdr[1], sizeof(desc)),
                                                 error);
                                if (n < 0)
                                        return (int) n;
                                r = kp_xen_params_add_numeric(params, hdr[2], desc, (size_t) n, hdr[1],
                                                              error);
                        }
                        if (r < 0)
                                return r;
                        xen_notes++;
                }
                off = desc_off + (((uint64_t) hdr[1] + 3) & ~UINT64_C(3));
        }
        return xen_notes;
}

/* The legacy "__xen_guest" section, if the section names have one. */
static int find_xen_guest_section(const Elf *elf, KpError *error, Section *ret, bool *ret_found)
{
        static const char wanted[] = "__xen_guest";
        Section strtab;
        int r;

        *ret_found = false;
        if (elf->shstrndx == SHN_UNDEF || elf->shstrndx >= elf->shnum)
                return 0;
        r = read_section(elf, elf->shstrndx, error, &strtab);
        if (r < 0)
                return r;

        for (unsigned i = 1; i < elf->shnum; i++) {
                char name[sizeof(wanted)];
                uint64_t name_off;
                Section s;
                ssize_t n;

                r = read_section(elf, i, error, &s);
                if (r < 0)
                        return r;
                if (ADD_OVERFLOW(strtab.offset, (uint64_t) s.name, &name_off))
                        continue;
                n = read_some_at(elf, name_off, name, sizeof(name), error);
                if (n < 0)
                        return (int) n;
                if (n == (ssize_t) sizeof(name) && memcmp(name, wanted, sizeof(wanted)) == 0) {
                        *ret = s;
                        *ret_found = true;
                        return 0;
                }
        }
        return 0;
}

/* elf_xen_parse(): notes from segments, else sections, else "__xen_guest". */
static int collect_xen_params(const Elf *elf, KpXenParams *params, KpError *error)
{
        unsigned total = 0;
        int n, xen_notes = 0, r;

        for (unsigned i = 0; i < elf->phnum; i++) {
                Segment s;
                uint64_t end;

                r = read_segment(elf, i, error, &s);
                if (r < 0)
                        return r;
                /* "Some versions of binutils do not correctly set p_offset for note segments." */
                if (s.type != PT_NOTE || s.offset == 0)
                        continue;
                if (ADD_OVERFLOW(s.offset, s.filesz, &end))
                        return kp_error_set(error, -EBADMSG, "ELF note segment %u wraps around", i);
                n = parse_notes(elf, s.offset, end, &total, params, error);
                if (n < 0)
                        return n;
                xen_notes += n;
        }

        for (unsigned i = 1; xen_notes == 0 && i < elf->shnum; i++) {
                Section s;
                uint64_t end;

                r = read_section(elf, i, error, &s);
                if (r < 0)
                        return r;
                if (s.type != SHT_NOTE)
                        continue;
                if (ADD_OVERFLOW(s.offset, s.size, &end))
                        return kp_error_set(error, -EBADMSG, "ELF note section %u wraps around", i);
                n = parse_notes(elf, s.offset, end, &total, params, error);
                if (n < 0)
                        return n;
                xen_notes += n;
        }

        if (xen_notes == 0) {
                _cleanup_free_ char *text = NULL;
                Section s;
                bool found;
                ssize_t k;

                r = find_xen_guest_section(elf, error, &s, &found);
                if (r < 0 || !found)
                        return r;
                text = malloc(KP_ELF_STRING_MAX + 1);
                if (!text)
                        return kp_error_set(error, -ENOMEM, "out of memory");
                k = read_some_at(elf, s.offset, text, KP_ELF_STRING_MAX, error);
                if (k < 0)
                        return (int) k;
                text[k] = '\0';
                return kp_xen_params_add_guest_info(params, text, error);
        }

        params->have_notes = xen_notes > 0;
        return 0;
}

int kp_elf_check(int fd, uint64_t size, bool xen_check, KpError *error, KpElfInfo *ret)
{
        _cleanup_free_ KpXenParams *params = NULL;
        KpElfInfo info = {};
        Elf elf = { .fd = fd, .size = size };
        int r;

        r = read_header(&elf, error, &info);
        if (r < 0)
                return r;
        r = check_segments(&elf, error);
        if (r < 0)
                return r;

        params = kp_xen_params_new();
        if (!params)
                return kp_error_set(error, -ENOMEM, "out of memory");
        r = collect_xen_params(&elf, params, error);
        if (r < 0)
                return r;

        if (xen_check) {
                r = kp_xen_params_check(params, elf.is64, elf.entry, elf.pstart, elf.pend, error);
                if (r < 0)
                        return r;
        }

        info.xen_guest_section = params->have_guest_info;
        info.n_xen_notes = params->n_notes;
        memcpy(info.xen_notes, params->notes, sizeof(info.xen_notes));
        *ret = info;
        return 0;
}
