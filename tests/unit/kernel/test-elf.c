/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kp_elf_check(): the rules of Xen's PV loader on synthetic ELFs, and
 * malformed ELFs refused without reading out of bounds.
 */
#include <elf.h>
#include <sys/mman.h>

#include "kernel/elf.h"
#include "synth.h"
#include "tests.h"

static int check_buf(const SynthBuf *b, bool xen_check, KpError *e, KpElfInfo *info)
{
        int fd = memfd_create("kp-test-elf", MFD_CLOEXEC), r;

        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, b->data, b->size), (ssize_t) b->size);
        r = kp_elf_check(fd, b->size, xen_check, e, info);
        close(fd);
        return r;
}

static int check_opts(const SynthElf *o, KpError *e, KpElfInfo *info)
{
        _cleanup_synth_ SynthBuf b = synth_elf(o);
        return check_buf(&b, true, e, info);
}

#define ASSERT_ELF_REFUSED(opts, err, msg)                                                                 \
        do {                                                                                               \
                KpError _e = {};                                                                           \
                KpElfInfo _i;                                                                              \
                ASSERT_ERROR(check_opts((opts), &_e, &_i), (err));                                         \
                ASSERT_STREQ(_e.message, (msg));                                                           \
        } while (0)

#define ASSERT_BUF_REFUSED(buf, err, msg)                                                                  \
        do {                                                                                               \
                KpError _e = {};                                                                           \
                KpElfInfo _i;                                                                              \
                ASSERT_ERROR(check_buf((buf), true, &_e, &_i), (err));                                     \
                ASSERT_STREQ(_e.message, (msg));                                                           \
        } while (0)

static void test_where_notes_are(void)
{
        const SynthElf segment = {}, section = { .notes = SYNTH_NOTES_SECTION },
                       legacy = { .notes = SYNTH_NOTES_LEGACY },
                       legacy32 = { .notes = SYNTH_NOTES_LEGACY, .elf32 = true };
        KpElfInfo info;
        KpError e = {};

        ASSERT_OK(check_opts(&segment, &e, &info));
        ASSERT_EQ(info.n_xen_notes, 11);
        ASSERT_FALSE(info.xen_guest_section);

        /* No PT_NOTE: Xen falls back to SHT_NOTE sections. */
        ASSERT_OK(check_opts(&section, &e, &info));
        ASSERT_EQ(info.n_xen_notes, 11);
        ASSERT_STREQ(info.xen_notes[8].name, "LOADER");

        /* Neither: the legacy __xen_guest string. */
        ASSERT_OK(check_opts(&legacy, &e, &info));
        ASSERT_TRUE(info.xen_guest_section);
        ASSERT_EQ(info.n_xen_notes, 9);
        ASSERT_STREQ(info.xen_notes[0].name, "GUEST_OS");
        ASSERT_STREQ(info.xen_notes[0].value, "linux");
        ASSERT_EQ(info.xen_notes[5].type, KP_XEN_ELFNOTE_ENTRY);
        ASSERT_STREQ(info.xen_notes[5].name, "VIRT_ENTRY");
        ASSERT_STREQ(info.xen_notes[5].value, "0xffffffff81000040");
        ASSERT_OK(check_opts(&legacy32, &e, &info));
}

static void test_xen_rules(void)
{
        SynthElf o = {};

        o = (SynthElf) { .loader = "bsd", .guest_os = "netbsd" };
        ASSERT_ELF_REFUSED(
                &o, -ENOEXEC,
                "not a Xen PV kernel: loader \"bsd\", guest OS \"netbsd\" (Xen loads only \"generic\" or "
                "\"linux\" kernels)");
        /* Either one is enough, and only a prefix counts, as in Xen. */
        o = (SynthElf) { .loader = "bsd", .guest_os = "linux-custom" };
        {
                KpError e = {};
                KpElfInfo i;
                ASSERT_OK(check_opts(&o, &e, &i));
        }

        o = (SynthElf) { .xen_version = "xen-4.0" };
        ASSERT_ELF_REFUSED(&o, -ENOEXEC,
                           "not a Xen PV kernel: built for Xen version \"xen-4.0\", not \"xen-3.0\"");

        o = (SynthElf) { .features = "writable_page_tables|!dom0" };
        ASSERT_ELF_REFUSED(&o, -ENOEXEC,
                           "kernel runs only as dom0 (FEATURES requires dom0), not as a guest");
        o = (SynthElf) { .features = "!writable_page_tables|!shiny_new_thing" };
        ASSERT_ELF_REFUSED(&o, -ENOEXEC,
                           "not a Xen PV kernel: it requires the unknown Xen feature \"shiny_new_thing\"");
        /* An unknown feature that is merely supported is fine. */
        o = (SynthElf) { .features = "shiny_new_thing|pae_pgdir_above_4gb" };
        {
                KpError e = {};
                KpElfInfo i;
                ASSERT_OK(check_opts(&o, &e, &i));
        }

        /* ENTRY beyond the end of the kernel (48 KiB of file, 52 KiB of memory). */
        o = (SynthElf) { .entry_delta = 0x20000 };
        ASSERT_ELF_REFUSED(&o, -ENOEXEC,
                           "entry point 0xffffffff81020000 lies outside the kernel at "
                           "0xffffffff81000000-0xffffffff8100d000");

        o = (SynthElf) { .elf32 = true, .no_pae = true };
        ASSERT_ELF_REFUSED(&o, -ENOEXEC,
                           "32-bit PV kernel without PAE: Xen runs 32-bit PV guests only in PAE mode");

        o = (SynthElf) { .notes = SYNTH_NOTES_NONE };
        ASSERT_ELF_REFUSED(&o, -ENOEXEC, "not a Xen PV kernel: no Xen ELF notes");
        {
                _cleanup_synth_ SynthBuf b = synth_elf(&o);
                KpError e = {};
                KpElfInfo i;
                ASSERT_OK(check_buf(&b, false, &e, &i));
                ASSERT_EQ(i.n_xen_notes, 0);
        }
}

static void test_malformed(void)
{
        _cleanup_synth_ SynthBuf good = synth_elf(NULL);
        SynthBuf b = { malloc(good.size), good.size };
        Elf64_Ehdr *eh = (Elf64_Ehdr *) b.data;
        Elf64_Phdr *ph = (Elf64_Phdr *) (b.data + sizeof(Elf64_Ehdr));

        ASSERT_TRUE(b.data);

#define RESET() memcpy(b.data, good.data, good.size), b.size = good.size

        RESET();
        eh->e_machine = EM_AARCH64;
        ASSERT_BUF_REFUSED(&b, -ENOEXEC, "ELF64 for machine 183, not x86-64");

        RESET();
        b.data[EI_DATA] = ELFDATA2MSB;
        ASSERT_BUF_REFUSED(&b, -ENOEXEC, "ELF is not little-endian, so not an x86 kernel");

        RESET();
        b.data[EI_CLASS] = 3;
        ASSERT_BUF_REFUSED(&b, -ENOEXEC, "ELF class 3 is neither 32- nor 64-bit");

        RESET();
        b.data[0] = 0;
        ASSERT_BUF_REFUSED(&b, -EBADMSG, "not an ELF: no ELF magic");

        RESET();
        b.size = 40;
        ASSERT_BUF_REFUSED(&b, -EBADMSG, "ELF of 40 bytes is too short for its header");

        RESET();
        eh->e_phnum = 0xffff;
        ASSERT_BUF_REFUSED(&b, -EBADMSG, "ELF program headers run past the end of the file");

        RESET();
        eh->e_phoff = UINT64_MAX - 8;
        ASSERT_BUF_REFUSED(&b, -EBADMSG, "ELF program headers run past the end of the file");

        RESET();
        eh->e_shoff = good.size;
        eh->e_shnum = 1;
        ASSERT_BUF_REFUSED(&b, -EBADMSG, "ELF section headers run past the end of the file");

        RESET();
        eh->e_phentsize = 32;
        ASSERT_BUF_REFUSED(&b, -EBADMSG, "ELF program header size 32 is wrong for its class");

        RESET();
        ph[0].p_offset = UINT64_MAX - 10;
        ASSERT_BUF_REFUSED(&b, -EBADMSG, "ELF segment 0 runs past the end of the file");

        RESET();
        ph[0].p_filesz = good.size;
        ASSERT_BUF_REFUSED(&b, -EBADMSG, "ELF segment 0 runs past the end of the file");

        RESET();
        ph[0].p_memsz = ph[0].p_filesz - 1;
        ASSERT_BUF_REFUSED(&b, -EBADMSG, "ELF segment 0 has more file bytes than memory");

        RESET();
        ph[0].p_paddr = UINT64_MAX - 100;
        ASSERT_BUF_REFUSED(&b, -EBADMSG, "ELF segment 0 wraps around the address space");

        RESET();
        ph[0].p_type = PT_NULL;
        ASSERT_BUF_REFUSED(&b, -ENOEXEC, "ELF has no loadable segments");

        /* A loadable segment without R, W or X is not loaded (elf_phdr_is_loadable). */
        RESET();
        ph[0].p_flags = 0;
        ASSERT_BUF_REFUSED(&b, -ENOEXEC, "ELF has no loadable segments");

        /* Notes that run past the end of the file. */
        RESET();
        ph[1].p_filesz = good.size;
        {
                char msg[128];
                (void) snprintf(msg, sizeof(msg),
                                "ELF notes at offset %" PRIu64 " run past the end of the file",
                                (uint64_t) ph[1].p_offset);
                ASSERT_BUF_REFUSED(&b, -EBADMSG, msg);
        }

        /* A note segment at offset 0 is skipped, as Xen does for old binutils. */
        RESET();
        ph[1].p_offset = 0;
        ASSERT_BUF_REFUSED(&b, -ENOEXEC, "not a Xen PV kernel: no Xen ELF notes");

#undef RESET
        synth_buf_free(&b);
}

/* A hostile note list: every note is counted against Xen's limit, and none is read out of bounds. */
/* Xen's guard against copying the image over and over: segments total at most twice their span. */
static void test_segment_total(void)
{
        const SynthElf twice = { .extra_loads = 1 }, thrice = { .extra_loads = 2 };
        KpElfInfo info;
        KpError e = {};

        ASSERT_OK(check_opts(&twice, &e, &info));
        ASSERT_ELF_REFUSED(&thrice, -EBADMSG,
                           "ELF loadable segments total 159744 bytes, more than twice the 53248 they span");
}

static void test_note_walk(void)
{
        _cleanup_synth_ SynthBuf good = synth_elf(NULL);
        Elf64_Phdr *ph = (Elf64_Phdr *) (good.data + sizeof(Elf64_Ehdr));
        uint8_t *note = good.data + ph[1].p_offset;
        KpElfInfo info;
        KpError e = {};

        /* The tenth note (PADDR_OFFSET) claims a name of nearly 4 GiB: the walk ends after it. */
        for (int i = 0; i < 9; i++) {
                uint32_t namesz = note[0] | note[1] << 8, descsz = note[4] | note[5] << 8;
                note += 12 + ((namesz + 3) & ~3u) + ((descsz + 3) & ~3u);
        }
        ASSERT_EQ(note[8], KP_XEN_ELFNOTE_PADDR_OFFSET);
        synth_put_le32(note, 0xfffffff0);
        ASSERT_OK(check_buf(&good, true, &e, &info));
        /* Xen finds the name by its bytes, not its size: that note still counts, its value (out of the file)
         * reads 0. */
        ASSERT_EQ(info.n_xen_notes, 10);
        ASSERT_STREQ(info.xen_notes[9].name, "PADDR_OFFSET");
        ASSERT_STREQ(info.xen_notes[9].value, "0x0");

        /* An unterminated string note (its value runs into the next bytes): recorded, as Xen reads it. */
        {
                _cleanup_synth_ SynthBuf b = synth_elf(NULL);
                Elf64_Phdr *p = (Elf64_Phdr *) (b.data + sizeof(Elf64_Ehdr));
                uint8_t *n = b.data + p[1].p_offset;

                /* The first note is GUEST_OS "linux\0" (descsz 6): drop its NUL. */
                ASSERT_EQ(n[4], 6);
                n[16 + 5] = 'X';
                ASSERT_OK(check_buf(&b, true, &e, &info));
                ASSERT_CONTAINS(info.xen_notes[0].value, "linuxX");
        }
}

int main(void)
{
        test_where_notes_are();
        test_xen_rules();
        test_malformed();
        test_segment_total();
        test_note_walk();
        return 0;
}
