/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/prometheus.h"

struct KpProm {
        FILE *f;
        char *buf;
        size_t size;
        char *family;          /* the current family's name, for its samples */
        bool failed;
};

int kp_prom_new(KpProm **ret)
{
        KpProm *p = calloc(1, sizeof(KpProm));

        if (!p)
                return -ENOMEM;
        p->f = open_memstream(&p->buf, &p->size);
        if (!p->f) {
                free(p);
                return -ENOMEM;
        }
        *ret = p;
        return 0;
}

KpProm *kp_prom_free(KpProm *p)
{
        if (!p)
                return NULL;
        if (p->f)
                (void) fclose(p->f);
        free(p->buf);
        free(p->family);
        free(p);
        return NULL;
}

/* HELP text escapes backslash and newline; label values also the double quote. */
static void put_escaped(KpProm *p, const char *s, bool quote)
{
        for (; *s; s++)
                if (*s == '\\')
                        fputs("\\\\", p->f);
                else if (*s == '\n')
                        fputs("\\n", p->f);
                else if (*s == '"' && quote)
                        fputs("\\\"", p->f);
                else
                        fputc(*s, p->f);
}

void kp_prom_family(KpProm *p, const char *name, const char *type, const char *help)
{
        free(p->family);
        p->family = strdup(name);
        if (!p->family)
                p->failed = true;
        fprintf(p->f, "# HELP %s ", name);
        put_escaped(p, help, false);
        fprintf(p->f, "\n# TYPE %s %s\n", name, type);
}

static void put_name(KpProm *p, const char *suffix, const char *const *labels, const char *le)
{
        bool first = true;

        fprintf(p->f, "%s%s", p->family ? p->family : "", suffix ? suffix : "");
        if ((!labels || !labels[0]) && !le)
                return;
        fputc('{', p->f);
        for (size_t i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
                fprintf(p->f, "%s%s=\"", first ? "" : ",", labels[i]);
                put_escaped(p, labels[i + 1], true);
                fputc('"', p->f);
                first = false;
        }
        if (le)
                fprintf(p->f, "%sle=\"%s\"", first ? "" : ",", le);
        fputc('}', p->f);
}

static void put_double(KpProm *p, double v)
{
        if (isinf(v))
                fputs(v > 0 ? "+Inf" : "-Inf", p->f);
        else if (isnan(v))
                fputs("NaN", p->f);
        else {
                /* The shortest text that reads back as v (what Prometheus itself writes): 0.1, not 0.10000000000000001. */
                char buf[32];
                for (int digits = 15; digits <= 17; digits++) {
                        (void) snprintf(buf, sizeof(buf), "%.*g", digits, v);
                        if (strtod(buf, NULL) == v)
                                break;
                }
                fputs(buf, p->f);
        }
}

void kp_prom_sample_u64(KpProm *p, const char *const *labels, uint64_t value)
{
        put_name(p, NULL, labels, NULL);
        fprintf(p->f, " %" PRIu64 "\n", value);
}

void kp_prom_sample_double(KpProm *p, const char *const *labels, double value)
{
        put_name(p, NULL, labels, NULL);
        fputc(' ', p->f);
        put_double(p, value);
        fputc('\n', p->f);
}

void kp_prom_histogram(KpProm *p, const double *bounds, const uint64_t *counts, size_t n, uint64_t over_max,
                       double sum)
{
        uint64_t cumulative = 0;
        char le[32];

        for (size_t i = 0; i < n; i++) {
                cumulative += counts[i];
                (void) snprintf(le, sizeof(le), "%g", bounds[i]);
                put_name(p, "_bucket", NULL, le);
                fprintf(p->f, " %" PRIu64 "\n", cumulative);
        }
        cumulative += over_max;
        put_name(p, "_bucket", NULL, "+Inf");
        fprintf(p->f, " %" PRIu64 "\n", cumulative);
        put_name(p, "_sum", NULL, NULL);
        fputc(' ', p->f);
        put_double(p, sum);
        fputc('\n', p->f);
        put_name(p, "_count", NULL, NULL);
        fprintf(p->f, " %" PRIu64 "\n", cumulative);
}

int kp_prom_finish(KpProm *p, char **ret_text, size_t *ret_size)
{
        char *text;
        size_t size;
        int r;

        assert(ret_text);

        r = fflush(p->f);
        if (r != 0 || ferror(p->f) || p->failed)
                return -ENOMEM;
        size = p->size;
        text = malloc(size + 1);
        if (!text)
                return -ENOMEM;
        memcpy(text, p->buf, size);
        text[size] = '\0';
        *ret_text = text;
        if (ret_size)
                *ret_size = size;
        return 0;
}
