/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * libkunpack: turn any x86 Linux kernel image into an ELF that Xen's PV
 * loaders accept.
 *
 * Conventions for every function declared here:
 *  - failures return a negative errno (-EINVAL, -EFBIG, -ENOENT, ...), never
 *    print anything, and describe themselves in the optional KpError;
 *  - output parameters are named ret_*, come last, and are written only on
 *    success;
 *  - the library keeps no global state and may be used from several threads
 *    as long as each thread uses its own objects.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------ */

#define KP_ERROR_MESSAGE_MAX 512

/*
 * Why something failed, in one line a human can act on ("payload runs past
 * end of file"). code is the negative errno the function returned.
 */
typedef struct KpError {
        int code;
        char message[KP_ERROR_MESSAGE_MAX];
} KpError;

/* ---- payload formats ----------------------------------------------------- */

typedef enum KpFormat {
        KP_FORMAT_UNKNOWN = 0,
        KP_FORMAT_ELF, /* already a plain ELF: passed through after validation */
        KP_FORMAT_GZIP,
        KP_FORMAT_BZIP2,
        KP_FORMAT_LZMA,
        KP_FORMAT_XZ,
        KP_FORMAT_LZO,
        KP_FORMAT_LZ4,
        KP_FORMAT_ZSTD,
        _KP_FORMAT_MAX,
} KpFormat;

/* "elf", "gzip", "bzip2", "lzma", "xz", "lzo", "lz4", "zstd", or "unknown". */
const char *kp_format_to_string(KpFormat format);
/* The inverse of kp_format_to_string(); KP_FORMAT_UNKNOWN for anything else. */
KpFormat kp_format_from_string(const char *s);
/*
 * Whether pvgrub2 (GRUB's Xen loader) can boot a kernel with this payload:
 * it opens payloads only through its gzip, xz and lzop filters, or a plain ELF.
 */
bool kp_format_pvgrub_can_load(KpFormat format);

/* ---- limits --------------------------------------------------------------- */

/* A compressed kernel bigger than this is refused (docs/design.md, "Limits"). */
#define KP_MAX_INPUT_DEFAULT (UINT64_C(256) * 1024 * 1024)
/* libxenguest's own ceiling for a decompressed kernel (XC_DOM_DECOMPRESS_MAX). */
#define KP_MAX_OUTPUT_DEFAULT (UINT64_C(1024) * 1024 * 1024)

/* ---- the ELF a Xen loader will see --------------------------------------- */

/* Xen ELF note types (xen/include/public/elfnote.h). */
enum {
        KP_XEN_ELFNOTE_INFO = 0,
        KP_XEN_ELFNOTE_ENTRY = 1,
        KP_XEN_ELFNOTE_HYPERCALL_PAGE = 2,
        KP_XEN_ELFNOTE_VIRT_BASE = 3,
        KP_XEN_ELFNOTE_PADDR_OFFSET = 4,
        KP_XEN_ELFNOTE_XEN_VERSION = 5,
        KP_XEN_ELFNOTE_GUEST_OS = 6,
        KP_XEN_ELFNOTE_GUEST_VERSION = 7,
        KP_XEN_ELFNOTE_LOADER = 8,
        KP_XEN_ELFNOTE_PAE_MODE = 9,
        KP_XEN_ELFNOTE_FEATURES = 10,
        KP_XEN_ELFNOTE_BSD_SYMTAB = 11,
        KP_XEN_ELFNOTE_HV_START_LOW = 12,
        KP_XEN_ELFNOTE_L1_MFN_VALID = 13,
        KP_XEN_ELFNOTE_SUSPEND_CANCEL = 14,
        KP_XEN_ELFNOTE_INIT_P2M = 15,
        KP_XEN_ELFNOTE_MOD_START_PFN = 16,
        KP_XEN_ELFNOTE_SUPPORTED_FEATURES = 17,
        KP_XEN_ELFNOTE_PHYS32_ENTRY = 18,
};

/* ---- unpacking ------------------------------------------------------------ */

/*
 * Why kp_unpack_fd() and kp_unpack_file() refuse a kernel, by errno (the
 * KpError says which case, in words):
 *
 *   -EMEDIUMTYPE      not a kernel at all: neither an x86 boot image (0xAA55
 *                     boot flag, "HdrS") nor an ELF
 *   -EPROTONOSUPPORT  a kernel in a form we cannot unpack: boot protocol
 *                     older than 2.08 (no payload fields), unknown payload
 *                     format
 *   -EOPNOTSUPP       a known format in a variant the kernel build never
 *                     writes (lzop filters or other methods, xz filters)
 *   -EBADMSG          corrupt: truncated or damaged compressed data, failed
 *                     checksums, trailing garbage, a size trailer that does
 *                     not match the output, a payload outside the file, a
 *                     payload that is not an ELF once decompressed (nested
 *                     compression), a malformed ELF
 *   -ENOEXEC          a well-formed ELF that Xen's PV loader would refuse:
 *                     not x86-64/i386, no Xen notes ("not a Xen PV kernel:
 *                     no Xen ELF notes"), wrong loader or Xen version,
 *                     dom0-only, 32-bit without PAE, entry outside the kernel
 *   -EFBIG            a limit: input larger than max_input, output larger
 *                     (or, from a file, claimed larger) than max_output, a
 *                     zstd window over 128 MiB, an lzma/xz dictionary over
 *                     128 MiB
 *   -ELIBACC          the compression library for the payload's format
 *                     cannot be loaded (libkunpack loads liblz4.so.1,
 *                     libzstd.so.1, liblzma.so.5, libz.so.1, libbz2.so.1.0
 *                     and liblzo2.so.2 when it first needs them); the
 *                     KpError names the library
 *   -EINVAL, -EBADF   the caller's arguments (output not an empty regular file)
 *   -ENOMEM, -EIO, -ENOSPC, ...  the system's own failures, passed through
 */

/*
 * How the two types below stay compatible as fields are added, without a
 * new soversion:
 *
 *  - KpUnpackOptions is the caller's, filled with plain values, so it is
 *    size-versioned: its first member is the struct's size as the caller
 *    was compiled (KP_UNPACK_OPTIONS_INIT sets it). New fields are only
 *    ever appended. The library reads the fields the caller's size covers
 *    and takes every later one as 0 (its default); a caller compiled
 *    against a newer header may pass a larger struct, whose fields this
 *    library does not know, only if those are all 0 (else -E2BIG), since
 *    it cannot honour them. This is the rule of Linux's openat2() and
 *    clone3() for their argument structs.
 *
 *  - KpUnpackResult is the library's, allocated by it and read through the
 *    functions below: it holds a list (the Xen notes) whose length no
 *    caller should have to compile in, and facts that later versions will
 *    add. The caller frees it with kp_unpack_result_free().
 *
 * KpError stays a plain struct: it is filled, never extended.
 */
typedef struct KpUnpackOptions {
        size_t struct_size;                  /* sizeof(KpUnpackOptions): use KP_UNPACK_OPTIONS_INIT */
        uint64_t max_input;                  /* 0: KP_MAX_INPUT_DEFAULT; never above it */
        uint64_t max_output;                 /* 0: KP_MAX_OUTPUT_DEFAULT; never above it */
        bool skip_xen_check;                 /* accept an ELF without Xen notes */
        bool want_output_sha256;             /* compute the output's sha256 (kp_unpack_result_get_output_sha256) */
        /* Later versions append fields here. */
} KpUnpackOptions;

/* Every option at its default; set the ones you want afterwards. */
#define KP_UNPACK_OPTIONS_INIT { .struct_size = sizeof(KpUnpackOptions) }

typedef struct KpUnpackResult KpUnpackResult;

/*
 * Reads a kernel (an x86 bzImage, or an ELF) sequentially from in_fd, which
 * may be a pipe, and writes the decompressed ELF to out_fd, which must be an
 * empty regular file opened for reading and writing (not O_APPEND). Pages of
 * zeros are left holes (the file is sparse). Then checks that the ELF is one
 * a Xen PV loader accepts.
 *
 * options may be NULL (every default). What was found goes to *ret_result
 * when ret_result is not NULL (free it with kp_unpack_result_free()).
 *
 * On failure out_fd holds garbage: callers write to a temporary file and
 * publish it only on success (see kp_unpack_file()). options with a
 * struct_size too small for this version's first fields is -EINVAL; one
 * larger than this library knows, with a non-zero field it does not know,
 * is -E2BIG.
 */
int kp_unpack_fd(int in_fd, int out_fd, const KpUnpackOptions *options, KpError *error,
                 KpUnpackResult **ret_result);

/*
 * Like kp_unpack_fd(), reading the file kernel_path and writing output_path
 * atomically: the output appears complete or not at all, even if the process
 * is killed. output_path NULL checks the kernel without keeping the output.
 *
 * A regular file is read at its end first: the size its payload claims (the
 * kernel build's size trailer) is refused before a byte is written when it
 * is over max_output (-EFBIG) or more than the output's filesystem has free
 * (-ENOSPC; $TMPDIR's, else /var/tmp's, when output_path is NULL), and the
 * output is then held to it. Within both, any ratio is accepted: a small
 * file may decompress to up to max_output. (gzip's claim, its own ISIZE,
 * is checked against the free space only.)
 */
int kp_unpack_file(const char *kernel_path, const char *output_path, const KpUnpackOptions *options,
                   KpError *error, KpUnpackResult **ret_result);

/* Frees a result; NULL is fine. Returns NULL. */
KpUnpackResult *kp_unpack_result_free(KpUnpackResult *result);

/* The payload's format, or KP_FORMAT_ELF for a kernel that was an ELF already. */
KpFormat kp_unpack_result_get_format(const KpUnpackResult *result);
/* The bzImage's boot protocol (0x020f for 2.15); 0 for an ELF input. */
uint16_t kp_unpack_result_get_boot_protocol(const KpUnpackResult *result);
/* Bytes read from the kernel file. */
uint64_t kp_unpack_result_get_input_size(const KpUnpackResult *result);
/* The compressed payload with its size trailer; 0 for an ELF input. */
uint64_t kp_unpack_result_get_payload_size(const KpUnpackResult *result);
/* Bytes of ELF written. */
uint64_t kp_unpack_result_get_output_size(const KpUnpackResult *result);
/* The output's sha256; -ENODATA unless the options asked for it (want_output_sha256). */
int kp_unpack_result_get_output_sha256(const KpUnpackResult *result, uint8_t ret_sha256[32]);

/* The ELF: its class (32 or 64), machine (62 x86-64, 3 i386) and entry point. */
unsigned kp_unpack_result_get_elf_class(const KpUnpackResult *result);
unsigned kp_unpack_result_get_elf_machine(const KpUnpackResult *result);
uint64_t kp_unpack_result_get_elf_entry(const KpUnpackResult *result);
/* Whether the Xen parameters came from the legacy "__xen_guest" section rather than notes. */
bool kp_unpack_result_get_xen_guest_section(const KpUnpackResult *result);

/* How many Xen notes were found (those Xen's loader looked at, as listed by `readnotes`). */
size_t kp_unpack_result_get_n_xen_notes(const KpUnpackResult *result);
/*
 * Note i (0-based, in file order): its type (KP_XEN_ELFNOTE_*), its name
 * ("ENTRY", "LOADER", or "TYPE_<n>") and its value as text
 * ("0xffffffff81000000", "generic"). The strings belong to result.
 * -ERANGE when i is not below kp_unpack_result_get_n_xen_notes().
 */
int kp_unpack_result_get_xen_note(const KpUnpackResult *result, size_t i, uint32_t *ret_type,
                                  const char **ret_name, const char **ret_value);

#ifdef __cplusplus
}
#endif
