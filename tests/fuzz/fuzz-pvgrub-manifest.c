/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzzes the reader of pvgrub mode's manifest, which a guest can write:
 * whatever it accepts must format back to exactly the bytes it read (the
 * manifest has one spelling), and parse again to the same.
 */
#include <string.h>

#include "pvgrub/manifest.h"
#include "util/macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        KpPvgrubManifest *m = NULL;
        KpError e = {};
        char *text = NULL;
        size_t n;

        if (kp_pvgrub_manifest_parse((const char *) data, size, &e, &m) < 0) {
                if (m || !e.message[0])
                        abort();
                return 0;
        }
        if (m->n_files > KP_PVGRUB_MANIFEST_MAX_FILES || !m->config != !m->backup)
                abort();
        for (size_t i = 0; i < m->n_files; i++)
                if (m->files[i].path[0] != '/' || strstr(m->files[i].path, "/../") ||
                    strlen(m->files[i].sha256) != 64)
                        abort();
        if (kp_pvgrub_manifest_format(m, &text, &n) < 0)
                abort();
        if (n != size || memcmp(text, data, n) != 0)
                abort();
        free(text);
        kp_pvgrub_manifest_free(m);
        return 0;
}
