/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What evaluating one grub.cfg may cost, in memory and in work. The
 * counts of grub.cfg's own limits (commands, names compared, arguments of
 * one command) bound how often something happens, not how big it is: a
 * 197 KB grub.cfg expanding one 32 KiB variable 65,535 times on one line
 * stays within every count and needs 2 GB. So everything the evaluator
 * allocates for the guest's text is charged here as it is allocated and
 * released as it is freed (bytes held at once), and everything it copies,
 * expands or compares is charged as it happens (bytes of work), and so is
 * every argument it makes (words). Each limit refuses the configuration
 * with its name and number in the message, never a crash or a hang.
 *
 * The numbers come from what real configurations need, measured with
 * bootcfg-dump on tests/unit/bootcfg/data and on grub-mkconfig's output
 * at the parsers' own limits (docs/isolation.md, "Budgets for guest
 * text"), and from what a dom0 can spare: every input within the 1 MiB
 * configuration limit parses within 64 MiB and 2 s of CPU.
 */

#include <stddef.h>
#include <stdint.h>

#include "kunpack.h"
#include "util/macro.h"

/*
 * The libFuzzer binaries of the boot-config parsers compile this file's
 * budget.c with every limit divided (tests/fuzz/meson.build): an input
 * that reaches a limit then costs milliseconds under the sanitizers
 * instead of seconds, so the fuzzer spends its time on the paths that
 * refuse, not in them. The checks are the same; nothing that ships or
 * runs the tests uses a divisor. The limits below and interp.h's steps and
 * lookups are divided; only budget.c and interp.c may use them, the two
 * files the fuzzers compile with the divisor.
 */
#ifndef GRUB_BUDGET_DIVISOR
#define GRUB_BUDGET_DIVISOR 1
#endif

/*
 * Bytes held at once: parse trees (the configuration, sourced files, BLS
 * snippets' bodies), variables in every copy of the environment alive,
 * functions, devices, menu entries with their parameters, the arguments
 * of the commands running. grub-mkconfig's output for 511 kernels (1023
 * entries, 973 KB) peaks at 13.7 MiB, most of it its parse tree; Fedora
 * with 1024 BLS snippets at 4.8 MiB; the configurations of
 * tests/unit/bootcfg/data under 150 KiB. 32 MiB is over twice the largest.
 */
#define GRUB_MAX_HELD (32 * 1024 * 1024 / GRUB_BUDGET_DIVISOR)

/*
 * Bytes copied, expanded and compared over the whole evaluation: every
 * argument's bytes, every environment copy, every name compared, every
 * file parsed. The 1023 entries need 4.9 MiB, Fedora's 1024 snippets 33
 * MiB (mostly their names, compared while they are sorted); 256 MiB is
 * spent in 0.15 s of CPU here.
 */
#define GRUB_MAX_COPIED (UINT64_C(256) * 1024 * 1024 / GRUB_BUDGET_DIVISOR)

/*
 * Arguments made over the whole evaluation, each a small allocation of
 * its own. The 1023 entries make 77,000; 4 million take 0.14 s here.
 */
#define GRUB_MAX_WORDS (4 * 1000 * 1000 / GRUB_BUDGET_DIVISOR)

typedef struct GrubBudget {
        size_t held;            /* bytes held now */
        size_t held_peak;       /* the most held at once, for measurements */
        uint64_t copied;
        uint64_t words;
} GrubBudget;

/*
 * What malloc(n) takes of the heap: glibc rounds a chunk up to 16 bytes
 * with 8 bytes of header and never hands out less than 32. Charging this
 * instead of n keeps a million one-byte strings from costing nothing.
 */
static inline size_t grub_alloc_cost(size_t n)
{
        size_t c = (n + 8 + 15) & ~(size_t) 15;

        return c < n ? SIZE_MAX : MAX(c, (size_t) 32);
}

/*
 * Charges bytes about to be held. -E2BIG with "file:line: memory budget
 * ... exceeded" when they would not fit; nothing is charged then.
 */
int grub_budget_hold(GrubBudget *b, size_t bytes, const char *file, unsigned line, KpError *error);
/* Gives back what grub_budget_hold() charged, once it is freed. */
void grub_budget_release(GrubBudget *b, size_t bytes);
/* Charges bytes copied, expanded or compared. -E2BIG with the reason past GRUB_MAX_COPIED. */
int grub_budget_copy(GrubBudget *b, uint64_t bytes, const char *file, unsigned line, KpError *error);
/* Charges one argument made. -E2BIG with the reason past GRUB_MAX_WORDS. */
int grub_budget_word(GrubBudget *b, const char *file, unsigned line, KpError *error);
