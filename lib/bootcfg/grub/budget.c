/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bootcfg/grub/budget.h"
#include "util/error.h"

int grub_budget_hold(GrubBudget *b, size_t bytes, const char *file, unsigned line, KpError *error)
{
        if (bytes > GRUB_MAX_HELD || b->held > GRUB_MAX_HELD - bytes)
                return kp_error_set(error, -E2BIG,
                                    "%s:%u: memory budget of %d bytes exceeded (variables, arguments, menu entries "
                                    "and scripts held at once)",
                                    file, line, GRUB_MAX_HELD);
        b->held += bytes;
        b->held_peak = MAX(b->held_peak, b->held);
        return 0;
}

void grub_budget_release(GrubBudget *b, size_t bytes)
{
        b->held -= MIN(bytes, b->held);
}

int grub_budget_copy(GrubBudget *b, uint64_t bytes, const char *file, unsigned line, KpError *error)
{
        if (bytes > GRUB_MAX_COPIED || b->copied > GRUB_MAX_COPIED - bytes)
                return kp_error_set(error, -E2BIG,
                                    "%s:%u: work budget of %" PRIu64 " bytes exceeded (bytes expanded, copied and "
                                    "compared)",
                                    file, line, GRUB_MAX_COPIED);
        b->copied += bytes;
        return 0;
}

int grub_budget_word(GrubBudget *b, const char *file, unsigned line, KpError *error)
{
        if (b->words >= GRUB_MAX_WORDS)
                return kp_error_set(error, -E2BIG, "%s:%u: word budget of %d arguments exceeded", file, line,
                                    GRUB_MAX_WORDS);
        b->words++;
        return 0;
}
