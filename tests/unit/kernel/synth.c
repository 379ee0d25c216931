/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <bzlib.h>
#include <elf.h>
#include <lz4.h>
#include <lz4hc.h>
#include <lzma.h>
#include <lzo/lzo1x.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "synth.h"

#define DIE(...)                                                                                           \
        do {                                                                                               \
                fprintf(stderr, "synth: " __VA_ARGS__);                                                    \
                fputc('\n', stderr);                                                                       \
                abort();                                                                                   \
        } while (0)

void synth_buf_free(SynthBuf *b)
{
        free(b->data);
        b->data = NULL;
        b->size = 0;
}

static void *xmalloc(size_t n)
{
        void *p = calloc(1, n ? n : 1);
        if (!p)
                DIE("out of memory");
        return p;
}

void synth_put_le16(uint8_t *p, uint16_t v)
{
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
}

void synth_put_le32(uint8_t *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static void put_be32(uint8_t *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (24 - 8 * i));
}

/* ---- ELF ------------------------------------------------------------------ */

typedef struct Notes {
        uint8_t data[1024];
        size_t size;
} Notes;

static void add_note(Notes *n, uint32_t type, const void *desc, uint32_t descsz)
{
        uint8_t *p = n->data + n->size;

        synth_put_le32(p, 4);
        synth_put_le32(p + 4, descsz);
        synth_put_le32(p + 8, type);
        memcpy(p + 12, "Xen", 4);
        memcpy(p + 16, desc, descsz);
        n->size += 16 + ((descsz + 3) & ~3u);
}

static void add_string(Notes *n, uint32_t type, const char *s)
{
        add_note(n, type, s, (uint32_t) strlen(s) + 1);
}

static void add_number(Notes *n, uint32_t type, uint64_t v, uint32_t size)
{
        uint8_t b[8];

        put_le64(b, v);
        add_note(n, type, b, size);
}

SynthBuf synth_elf(const SynthElf *opts)
{
        const SynthElf defaults = {};
        const SynthElf *o = opts ? opts : &defaults;
        const bool is64 = !o->elf32;
        const uint64_t virt_base = is64 ? UINT64_C(0xffffffff80000000) : UINT64_C(0xc0000000);
        const uint64_t vstart = is64 ? SYNTH_VIRT_START_64 : SYNTH_VIRT_START_32;
        const uint64_t pstart = vstart - virt_base;
        const size_t body = o->body_size ? o->body_size : 48 * 1024;
        const size_t body_off = 0x1000;
        const unsigned ptr = is64 ? 8 : 4;
        char guest_info[512];
        Notes notes = {};
        SynthBuf b;
        size_t notes_off, shstr_off, sh_off, size, phnum, shnum = 0;
        static const char shstrtab[] = "\0.shstrtab\0.notes\0__xen_guest";
        const uint32_t name_shstrtab = 1, name_notes = 11, name_xen_guest = 18;
        uint64_t entry = vstart + (o->entry_delta ? o->entry_delta : 0x40);

        add_string(&notes, KP_XEN_ELFNOTE_GUEST_OS, o->guest_os ? o->guest_os : "linux");
        add_string(&notes, KP_XEN_ELFNOTE_GUEST_VERSION, "2.6");
        add_string(&notes, KP_XEN_ELFNOTE_XEN_VERSION, o->xen_version ? o->xen_version : "xen-3.0");
        add_number(&notes, KP_XEN_ELFNOTE_VIRT_BASE, virt_base, ptr);
        add_number(&notes, KP_XEN_ELFNOTE_ENTRY, entry, ptr);
        add_number(&notes, KP_XEN_ELFNOTE_HYPERCALL_PAGE, vstart + 0x1000, ptr);
        add_string(&notes, KP_XEN_ELFNOTE_FEATURES,
                   o->features ? o->features : "!writable_page_tables|pae_pgdir_above_4gb");
        if (!o->no_pae)
                add_string(&notes, KP_XEN_ELFNOTE_PAE_MODE, "yes");
        add_string(&notes, KP_XEN_ELFNOTE_LOADER, o->loader ? o->loader : "generic");
        add_number(&notes, KP_XEN_ELFNOTE_PADDR_OFFSET, 0, ptr);
        add_number(&notes, KP_XEN_ELFNOTE_SUSPEND_CANCEL, 1, 4);

        (void) snprintf(guest_info, sizeof(guest_info),
                        "GUEST_OS=%s,XEN_VER=%s,LOADER=%s,VIRT_BASE=0x%llx,ELF_PADDR_OFFSET=0x%llx,"
                        "VIRT_ENTRY=0x%llx,HYPERCALL_PAGE=0x1,FEATURES=%s%s",
                        o->guest_os ? o->guest_os : "linux", o->xen_version ? o->xen_version : "xen-3.0",
                        o->loader ? o->loader : "generic", (unsigned long long) virt_base, 0ULL,
                        (unsigned long long) entry,
                        o->features ? o->features : "writable_page_tables", o->no_pae ? "" : ",PAE=yes");

        if (o->extra_loads > 4)
                DIE("too many extra segments");
        phnum = 1 + o->extra_loads + (o->notes == SYNTH_NOTES_SEGMENT ? 1 : 0);
        if (o->notes == SYNTH_NOTES_SECTION || o->notes == SYNTH_NOTES_LEGACY)
                shnum = 3;

        /* Layout: headers, notes, shstrtab, section headers, then the body at 0x1000. */
        notes_off = (is64 ? sizeof(Elf64_Ehdr) + phnum * sizeof(Elf64_Phdr)
                          : sizeof(Elf32_Ehdr) + phnum * sizeof(Elf32_Phdr));
        notes_off = (notes_off + 7) & ~(size_t) 7;
        shstr_off = notes_off + (o->notes == SYNTH_NOTES_LEGACY ? strlen(guest_info) + 1 : notes.size);
        sh_off = (shstr_off + sizeof(shstrtab) + 7) & ~(size_t) 7;
        if (sh_off + 3 * sizeof(Elf64_Shdr) > body_off)
                DIE("headers do not fit");
        size = body_off + body;

        b.size = size;
        b.data = xmalloc(size);

        /* The body: text that compresses, with a sprinkle of noise so that corruption shows. */
        for (size_t i = 0; i < body; i++) {
                uint32_t x = (uint32_t) i * 2654435761u;
                b.data[body_off + i] =
                        (i % 64 < 48) ? (uint8_t) ("xen pv kernel "[i % 14]) : (uint8_t) (x >> 24);
        }

        if (o->notes == SYNTH_NOTES_LEGACY)
                memcpy(b.data + notes_off, guest_info, strlen(guest_info) + 1);
        else if (o->notes != SYNTH_NOTES_NONE)
                memcpy(b.data + notes_off, notes.data, notes.size);
        if (shnum)
                memcpy(b.data + shstr_off, shstrtab, sizeof(shstrtab));

        if (is64) {
                Elf64_Ehdr eh = {
                        .e_type = ET_EXEC,
                        .e_machine = EM_X86_64,
                        .e_version = EV_CURRENT,
                        .e_entry = pstart, /* Linux's e_entry is physical; Xen uses the ENTRY note */
                        .e_phoff = sizeof(Elf64_Ehdr),
                        .e_shoff = shnum ? sh_off : 0,
                        .e_ehsize = sizeof(Elf64_Ehdr),
                        .e_phentsize = sizeof(Elf64_Phdr),
                        .e_phnum = (uint16_t) phnum,
                        .e_shentsize = sizeof(Elf64_Shdr),
                        .e_shnum = (uint16_t) shnum,
                        .e_shstrndx = shnum ? 1 : 0,
                };
                const Elf64_Phdr load = { .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = body_off,
                                          .p_vaddr = vstart, .p_paddr = pstart, .p_filesz = body,
                                          .p_memsz = body + 0x1000, .p_align = 0x1000 };
                const Elf64_Phdr note = { .p_type = PT_NOTE, .p_flags = PF_R, .p_offset = notes_off,
                                          .p_filesz = notes.size, .p_memsz = notes.size, .p_align = 4 };
                Elf64_Phdr ph[6];

                for (unsigned i = 0; i <= o->extra_loads; i++)
                        ph[i] = load;
                ph[1 + o->extra_loads] = note;
                Elf64_Shdr sh[3] = {
                        {},
                        { .sh_name = name_shstrtab, .sh_type = SHT_STRTAB, .sh_offset = shstr_off,
                          .sh_size = sizeof(shstrtab) },
                        { .sh_name = o->notes == SYNTH_NOTES_LEGACY ? name_xen_guest : name_notes,
                          .sh_type = o->notes == SYNTH_NOTES_LEGACY ? SHT_PROGBITS : SHT_NOTE,
                          .sh_offset = notes_off,
                          .sh_size = o->notes == SYNTH_NOTES_LEGACY ? strlen(guest_info) + 1 : notes.size },
                };
                memcpy(eh.e_ident, ELFMAG, SELFMAG);
                eh.e_ident[EI_CLASS] = ELFCLASS64;
                eh.e_ident[EI_DATA] = ELFDATA2LSB;
                eh.e_ident[EI_VERSION] = EV_CURRENT;
                memcpy(b.data, &eh, sizeof(eh));
                memcpy(b.data + sizeof(eh), ph, phnum * sizeof(ph[0]));
                if (shnum)
                        memcpy(b.data + sh_off, sh, sizeof(sh));
        } else {
                Elf32_Ehdr eh = {
                        .e_type = ET_EXEC,
                        .e_machine = EM_386,
                        .e_version = EV_CURRENT,
                        .e_entry = (uint32_t) vstart,
                        .e_phoff = sizeof(Elf32_Ehdr),
                        .e_shoff = (uint32_t) (shnum ? sh_off : 0),
                        .e_ehsize = sizeof(Elf32_Ehdr),
                        .e_phentsize = sizeof(Elf32_Phdr),
                        .e_phnum = (uint16_t) phnum,
                        .e_shentsize = sizeof(Elf32_Shdr),
                        .e_shnum = (uint16_t) shnum,
                        .e_shstrndx = shnum ? 1 : 0,
                };
                const Elf32_Phdr load = { .p_type = PT_LOAD,
                                          .p_flags = PF_R | PF_X,
                                          .p_offset = (uint32_t) body_off,
                                          .p_vaddr = (uint32_t) vstart,
                                          .p_paddr = (uint32_t) pstart,
                                          .p_filesz = (uint32_t) body,
                                          .p_memsz = (uint32_t) body + 0x1000,
                                          .p_align = 0x1000 };
                const Elf32_Phdr note = { .p_type = PT_NOTE,
                                          .p_flags = PF_R,
                                          .p_offset = (uint32_t) notes_off,
                                          .p_filesz = (uint32_t) notes.size,
                                          .p_memsz = (uint32_t) notes.size,
                                          .p_align = 4 };
                Elf32_Phdr ph[6];

                for (unsigned i = 0; i <= o->extra_loads; i++)
                        ph[i] = load;
                ph[1 + o->extra_loads] = note;
                Elf32_Shdr sh[3] = {
                        {},
                        { .sh_name = name_shstrtab, .sh_type = SHT_STRTAB, .sh_offset = (uint32_t) shstr_off,
                          .sh_size = sizeof(shstrtab) },
                        { .sh_name = o->notes == SYNTH_NOTES_LEGACY ? name_xen_guest : name_notes,
                          .sh_type = o->notes == SYNTH_NOTES_LEGACY ? SHT_PROGBITS : SHT_NOTE,
                          .sh_offset = (uint32_t) notes_off,
                          .sh_size = (uint32_t) (o->notes == SYNTH_NOTES_LEGACY ? strlen(guest_info) + 1
                                                                                 : notes.size) },
                };
                memcpy(eh.e_ident, ELFMAG, SELFMAG);
                eh.e_ident[EI_CLASS] = ELFCLASS32;
                eh.e_ident[EI_DATA] = ELFDATA2LSB;
                eh.e_ident[EI_VERSION] = EV_CURRENT;
                memcpy(b.data, &eh, sizeof(eh));
                memcpy(b.data + sizeof(eh), ph, phnum * sizeof(ph[0]));
                if (shnum)
                        memcpy(b.data + sh_off, sh, sizeof(sh));
        }
        return b;
}

/* ---- compressors ----------------------------------------------------------- */

static SynthBuf gzip_compress(const uint8_t *data, size_t size)
{
        z_stream z = {};
        SynthBuf b;

        if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
                DIE("deflateInit2");
        b.data = xmalloc(deflateBound(&z, size));
        z.next_in = (Bytef *) data;
        z.avail_in = (uInt) size;
        z.next_out = b.data;
        z.avail_out = (uInt) deflateBound(&z, size);
        if (deflate(&z, Z_FINISH) != Z_STREAM_END)
                DIE("deflate");
        b.size = z.total_out;
        deflateEnd(&z);
        return b;
}

static SynthBuf bzip2_compress(const uint8_t *data, size_t size)
{
        unsigned n = (unsigned) (size + size / 100 + 600);
        SynthBuf b = { xmalloc(n), 0 };

        if (BZ2_bzBuffToBuffCompress((char *) b.data, &n, (char *) data, (unsigned) size, 9, 0, 0) != BZ_OK)
                DIE("BZ2_bzBuffToBuffCompress");
        b.size = n;
        return b;
}

static SynthBuf lzma_run(lzma_stream *s, const uint8_t *data, size_t size)
{
        size_t cap = size + size / 2 + 4096;
        SynthBuf b = { xmalloc(cap), 0 };

        s->next_in = data;
        s->avail_in = size;
        s->next_out = b.data;
        s->avail_out = cap;
        if (lzma_code(s, LZMA_FINISH) != LZMA_STREAM_END)
                DIE("lzma_code");
        b.size = cap - s->avail_out;
        lzma_end(s);
        return b;
}

static SynthBuf xz_compress(const uint8_t *data, size_t size)
{
        lzma_stream s = LZMA_STREAM_INIT;
        lzma_options_lzma lz;
        /* As scripts/xz_wrap.sh: the x86 BCJ filter, LZMA2, a CRC32 check. */
        lzma_filter filters[] = {
                { .id = LZMA_FILTER_X86, .options = NULL },
                { .id = LZMA_FILTER_LZMA2, .options = &lz },
                { .id = LZMA_VLI_UNKNOWN, .options = NULL },
        };

        if (lzma_lzma_preset(&lz, 6))
                DIE("lzma_lzma_preset");
        lz.dict_size = 1 << 20;
        if (lzma_stream_encoder(&s, filters, LZMA_CHECK_CRC32) != LZMA_OK)
                DIE("lzma_stream_encoder");
        return lzma_run(&s, data, size);
}

static SynthBuf lzma_alone_compress(const uint8_t *data, size_t size)
{
        lzma_stream s = LZMA_STREAM_INIT;
        lzma_options_lzma lz;

        if (lzma_lzma_preset(&lz, 6))
                DIE("lzma_lzma_preset");
        lz.dict_size = 1 << 20;
        if (lzma_alone_encoder(&s, &lz) != LZMA_OK)
                DIE("lzma_alone_encoder");
        return lzma_run(&s, data, size);
}

/* lzop's container as `lzop -9` writes it: Adler-32 of each block's data only. */
static SynthBuf lzop_compress(const uint8_t *data, size_t size)
{
        static const uint8_t magic[9] = { 0x89, 'L', 'Z', 'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a };
        const size_t block = 256 * 1024;
        uint8_t *wrk = xmalloc(LZO1X_999_MEM_COMPRESS);
        uint8_t *cbuf = xmalloc(block + block / 16 + 64 + 3);
        SynthBuf b = { xmalloc(64 + size + (size / block + 1) * (12 + block / 16 + 64 + 3)), 0 };
        uint8_t *p = b.data, *h;

        if (lzo_init() != LZO_E_OK)
                DIE("lzo_init");
        memcpy(p, magic, sizeof(magic));
        p += sizeof(magic);
        h = p;
        p[0] = 0x10, p[1] = 0x40;            /* version 1.04 */
        p[2] = 0x20, p[3] = 0xa0;            /* LZO library 2.10 */
        p[4] = 0x09, p[5] = 0x40;            /* needs 0.94 */
        p[6] = 3;                            /* M_LZO1X_999 */
        p[7] = 9;                            /* level */
        put_be32(p + 8, 0x0300000d);         /* F_ADLER32_D | F_STDIN | F_STDOUT, Unix */
        put_be32(p + 12, 0);                 /* mode */
        put_be32(p + 16, 0);                 /* mtime low */
        put_be32(p + 20, 0);                 /* mtime high */
        p[24] = 0;                           /* no name */
        p += 25;
        put_be32(p, lzo_adler32(1, h, (lzo_uint) (p - h)));
        p += 4;

        for (size_t off = 0; off < size; off += block) {
                size_t n = size - off < block ? size - off : block;
                lzo_uint clen = 0;

                if (lzo1x_999_compress(data + off, n, cbuf, &clen, wrk) != LZO_E_OK)
                        DIE("lzo1x_999_compress");
                put_be32(p, (uint32_t) n);
                put_be32(p + 4, (uint32_t) (clen < n ? clen : n));
                put_be32(p + 8, lzo_adler32(1, data + off, n));
                p += 12;
                if (clen < n) {
                        memcpy(p, cbuf, clen);
                        p += clen;
                } else {
                        memcpy(p, data + off, n);
                        p += n;
                }
        }
        put_be32(p, 0);
        p += 4;
        b.size = (size_t) (p - b.data);
        free(wrk);
        free(cbuf);
        return b;
}

/* `lz4 -l -9`: the legacy magic, then (length, block) pairs of 8 MiB blocks. */
static SynthBuf lz4_compress(const uint8_t *data, size_t size)
{
        const size_t block = 8 * 1024 * 1024;
        SynthBuf b = { xmalloc(4 + (size / block + 1) * (4 + LZ4_compressBound((int) block))), 4 };

        synth_put_le32(b.data, 0x184c2102);
        for (size_t off = 0; off < size; off += block) {
                int n = (int) (size - off < block ? size - off : block);
                int c = LZ4_compress_HC((const char *) data + off, (char *) b.data + b.size + 4, n,
                                        LZ4_compressBound(n), 9);
                if (c <= 0)
                        DIE("LZ4_compress_HC");
                synth_put_le32(b.data + b.size, (uint32_t) c);
                b.size += 4 + (size_t) c;
        }
        return b;
}

/* `zstd -22 --ultra` on a pipe: one frame, no content size, a checksum. Level 19 keeps tests fast. */
static SynthBuf zstd_compress(const uint8_t *data, size_t size)
{
        ZSTD_CCtx *c = ZSTD_createCCtx();
        size_t cap = ZSTD_compressBound(size);
        SynthBuf b = { xmalloc(cap), 0 };
        ZSTD_inBuffer in = { data, size, 0 };
        ZSTD_outBuffer out = { b.data, cap, 0 };

        if (!c || ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 19)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0)))
                DIE("zstd setup");
        if (ZSTD_compressStream2(c, &out, &in, ZSTD_e_end) != 0)
                DIE("ZSTD_compressStream2");
        b.size = out.pos;
        ZSTD_freeCCtx(c);
        return b;
}

SynthBuf synth_compress_stream(KpFormat format, const uint8_t *data, size_t size)
{
        switch (format) {
        case KP_FORMAT_GZIP:
                return gzip_compress(data, size);
        case KP_FORMAT_BZIP2:
                return bzip2_compress(data, size);
        case KP_FORMAT_LZMA:
                return lzma_alone_compress(data, size);
        case KP_FORMAT_XZ:
                return xz_compress(data, size);
        case KP_FORMAT_LZO:
                return lzop_compress(data, size);
        case KP_FORMAT_LZ4:
                return lz4_compress(data, size);
        case KP_FORMAT_ZSTD:
                return zstd_compress(data, size);
        default:
                DIE("no compressor for format %d", (int) format);
        }
}

SynthBuf synth_compress(KpFormat format, const uint8_t *data, size_t size)
{
        SynthBuf b = synth_compress_stream(format, data, size);

        if (format == KP_FORMAT_GZIP)
                return b;
        /* size_append in scripts/Makefile.lib */
        b.data = realloc(b.data, b.size + 4);
        if (!b.data)
                DIE("out of memory");
        synth_put_le32(b.data + b.size, (uint32_t) size);
        b.size += 4;
        return b;
}

/* ---- bzImage ----------------------------------------------------------------- */

SynthBuf synth_bzimage(const uint8_t *payload, size_t size)
{
        SynthBuf b;

        b.size = SYNTH_PAYLOAD_START + size + SYNTH_CODE_AFTER;
        b.data = xmalloc(b.size);
        memset(b.data, 0xcc, b.size); /* int3: what x86 padding looks like */
        b.data[0x1f1] = SYNTH_SETUP_SECTS;
        synth_put_le16(b.data + 0x1fe, 0xaa55);
        memcpy(b.data + 0x202, "HdrS", 4);
        synth_put_le16(b.data + 0x206, 0x020f);
        synth_put_le32(b.data + 0x248, SYNTH_PAYLOAD_OFFSET);
        synth_put_le32(b.data + 0x24c, (uint32_t) size);
        memcpy(b.data + SYNTH_PAYLOAD_START, payload, size);
        return b;
}

SynthBuf synth_kernel(KpFormat format, const SynthElf *opts)
{
        SynthBuf elf = synth_elf(opts), payload, image;

        if (format == KP_FORMAT_ELF)
                return elf;
        payload = synth_compress(format, elf.data, elf.size);
        image = synth_bzimage(payload.data, payload.size);
        synth_buf_free(&payload);
        synth_buf_free(&elf);
        return image;
}
