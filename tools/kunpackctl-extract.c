/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kunpackctl extract KERNEL -o OUTPUT: decompress a kernel to the ELF a Xen
 * PV loader boots, atomically. kunpackctl extract --check KERNEL: say what
 * the kernel is, without keeping the output.
 */
#include <getopt.h>
#include <stdio.h>

#include "kernel/unpack.h"
#include "kunpack.h"
#include "kunpackctl-extract.h"
#include "kunpackctl.h"
#include "util/error.h"
#include "util/json.h"
#include "util/log.h"
#include "util/macro.h"
#include "util/sha256.h"

static void help(void)
{
        printf("Usage: kunpackctl extract [OPTIONS] KERNEL -o OUTPUT\n"
               "       kunpackctl extract --check [--json] KERNEL\n\n"
               "Decompress an x86 Linux kernel (bzImage with any payload, or ELF) to the ELF\n"
               "a Xen PV loader boots, checking its Xen notes.\n\n"
               "Options:\n"
               "  -o --output=FILE        Write the ELF to FILE (atomically)\n"
               "     --check              Only check the kernel; print what it is\n"
               "     --json               With --check, print JSON\n"
               "     --max-output=BYTES   Refuse an ELF larger than BYTES (default and most: %" PRIu64 ")\n"
               "     --no-xen-check       Accept an ELF without Xen notes\n"
               "  -v --verbose            Say what was done\n"
               "  -h --help               Show this help\n",
               KP_MAX_OUTPUT_DEFAULT);
}

static const char *machine_name(unsigned machine)
{
        switch (machine) {
        case 62:
                return "x86-64";
        case 3:
                return "i386";
        default:
                return "unknown";
        }
}

static int parse_bytes(const char *s, uint64_t *ret)
{
        char *end;
        unsigned long long v;

        if (!s || !*s || *s == '-')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end != '\0' || v == 0)
                return -EINVAL;
        *ret = (uint64_t) v;
        return 0;
}

static void print_text(const char *kernel, const KpUnpackInfo *r)
{
        char sha[KP_SHA256_HEX_SIZE];

        kp_sha256_to_hex(r->output_sha256, sha);
        printf("kernel:         %s\n", kernel);
        printf("format:         %s%s\n", kp_format_to_string(r->format),
               kp_format_pvgrub_can_load(r->format) ? "" : " (pvgrub cannot load it)");
        if (r->format != KP_FORMAT_ELF)
                printf("boot protocol:  %u.%02u\n", (unsigned) (r->boot_protocol >> 8),
                       (unsigned) (r->boot_protocol & 0xff));
        printf("input size:     %" PRIu64 " bytes\n", r->input_size);
        if (r->format != KP_FORMAT_ELF)
                printf("payload size:   %" PRIu64 " bytes\n", r->payload_size);
        printf("output size:    %" PRIu64 " bytes\n", r->output_size);
        printf("output sha256:  %s\n", sha);
        printf("ELF:            %u-bit %s, entry 0x%" PRIx64 "\n", r->elf.elf_class,
               machine_name(r->elf.machine), r->elf.entry);
        printf("Xen notes:%s\n", r->elf.xen_guest_section ? " (from the legacy __xen_guest section)" : "");
        if (r->elf.n_xen_notes == 0)
                printf("  (none)\n");
        for (size_t i = 0; i < r->elf.n_xen_notes; i++)
                printf("  %-20s %s\n", r->elf.xen_notes[i].name, r->elf.xen_notes[i].value);
}

static int print_json(const char *kernel, const KpUnpackInfo *r)
{
        _cleanup_(yajl_gen_freep) yajl_gen g = NULL;
        _cleanup_free_ char *text = NULL;
        char sha[KP_SHA256_HEX_SIZE], proto[16], entry[32];
        size_t size;
        int k;

        k = kp_json_gen_new(true, &g);
        if (k < 0)
                return k;
        kp_sha256_to_hex(r->output_sha256, sha);
        (void) snprintf(proto, sizeof(proto), "%u.%02u", (unsigned) (r->boot_protocol >> 8),
                        (unsigned) (r->boot_protocol & 0xff));

        yajl_gen_map_open(g);
        kp_json_kv_string(g, "kernel", kernel);
        kp_json_kv_string(g, "format", kp_format_to_string(r->format));
        kp_json_kv_bool(g, "pvgrub_can_load", kp_format_pvgrub_can_load(r->format));
        kp_json_key(g, "boot_protocol");
        kp_json_string(g, r->format == KP_FORMAT_ELF ? NULL : proto);
        kp_json_kv_uint(g, "input_size", r->input_size);
        kp_json_kv_uint(g, "payload_size", r->payload_size);
        kp_json_kv_uint(g, "output_size", r->output_size);
        kp_json_kv_string(g, "output_sha256", sha);
        kp_json_key(g, "elf");
        yajl_gen_map_open(g);
        kp_json_kv_uint(g, "class", r->elf.elf_class);
        kp_json_kv_string(g, "machine", machine_name(r->elf.machine));
        /* Hexadecimal text: a 64-bit kernel address does not survive a JSON number in most readers. */
        (void) snprintf(entry, sizeof(entry), "0x%" PRIx64, r->elf.entry);
        kp_json_kv_string(g, "entry", entry);
        kp_json_kv_bool(g, "xen_guest_section", r->elf.xen_guest_section);
        yajl_gen_map_close(g);
        kp_json_key(g, "xen_notes");
        yajl_gen_array_open(g);
        for (size_t i = 0; i < r->elf.n_xen_notes; i++) {
                yajl_gen_map_open(g);
                kp_json_kv_uint(g, "type", r->elf.xen_notes[i].type);
                kp_json_kv_string(g, "name", r->elf.xen_notes[i].name);
                kp_json_kv_string(g, "value", r->elf.xen_notes[i].value);
                yajl_gen_map_close(g);
        }
        yajl_gen_array_close(g);
        yajl_gen_map_close(g);

        k = kp_json_gen_finish(g, &text, &size);
        if (k < 0)
                return k;
        fputs(text, stdout);
        if (size == 0 || text[size - 1] != '\n')
                fputc('\n', stdout);
        return 0;
}

int verb_extract(int argc, char **argv)
{
        enum { ARG_CHECK = 0x100, ARG_JSON, ARG_MAX_OUTPUT, ARG_NO_XEN_CHECK };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "output", required_argument, NULL, 'o' },
                { "check", no_argument, NULL, ARG_CHECK },
                { "json", no_argument, NULL, ARG_JSON },
                { "max-output", required_argument, NULL, ARG_MAX_OUTPUT },
                { "no-xen-check", no_argument, NULL, ARG_NO_XEN_CHECK },
                { "verbose", no_argument, NULL, 'v' },
                {}
        };
        KpUnpackParams opts = { .want_output_sha256 = false };
        KpUnpackInfo result;
        KpError error = {};
        const char *output = NULL, *kernel;
        bool check = false, json = arg_json;
        int verbose = arg_verbose, c, r;

        while ((c = getopt_long(argc, argv, "ho:v", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return KPCTL_EXIT_OK;
                case 'o':
                        output = optarg;
                        break;
                case ARG_CHECK:
                        check = true;
                        break;
                case ARG_JSON:
                        json = true;
                        break;
                case ARG_MAX_OUTPUT:
                        if (parse_bytes(optarg, &opts.max_output) < 0 ||
                            opts.max_output > KP_MAX_OUTPUT_DEFAULT) {
                                log_error("--max-output=%s: expected a number of bytes from 1 to %" PRIu64,
                                          optarg, KP_MAX_OUTPUT_DEFAULT);
                                return KPCTL_EXIT_USAGE;
                        }
                        break;
                case ARG_NO_XEN_CHECK:
                        opts.skip_xen_check = true;
                        break;
                case 'v':
                        verbose++;
                        break;
                default:
                        return KPCTL_EXIT_USAGE;
                }
        }

        if (optind + 1 != argc) {
                log_error("extract: expected exactly one KERNEL; see kunpackctl extract --help");
                return KPCTL_EXIT_USAGE;
        }
        kernel = argv[optind];
        if (check == !!output) {
                log_error("extract: give either -o OUTPUT or --check");
                return KPCTL_EXIT_USAGE;
        }
        if (json && !check) {
                log_error("extract: --json goes with --check");
                return KPCTL_EXIT_USAGE;
        }
        opts.want_output_sha256 = check;

        r = kp_unpack_path(kernel, output, &opts, &error, &result);
        if (r < 0) {
                log_error("%s: %s", kernel, kp_error_message(&error, r));
                return KPCTL_EXIT_FAILURE;
        }

        if (check) {
                if (json) {
                        r = print_json(kernel, &result);
                        if (r < 0) {
                                log_error("cannot format JSON: %s", strerror(-r));
                                return KPCTL_EXIT_FAILURE;
                        }
                } else
                        print_text(kernel, &result);
        } else if (verbose > 0)
                printf("%s: %s payload, %" PRIu64 " bytes of ELF written to %s\n", kernel,
                       kp_format_to_string(result.format), result.output_size, output);

        if (fflush(stdout) != 0 || ferror(stdout)) {
                log_error("cannot write to standard output");
                return KPCTL_EXIT_FAILURE;
        }
        return KPCTL_EXIT_OK;
}
