/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One decompressor per payload format, all with the same contract:
 *
 *  - read one stream from in, whose window ends where the stream must end
 *    (the payload without its size trailer), and write what it decodes to
 *    out;
 *  - return 0 at the stream's own end marker, having consumed exactly the
 *    stream: whatever is left in the window is trailing garbage, which the
 *    caller measures and refuses;
 *  - otherwise fail with a reason that names the format: -EBADMSG for
 *    corrupt or truncated data, -EOPNOTSUPP for a variant of the format the
 *    kernel build never writes, -EFBIG for a limit (output cap, window or
 *    dictionary size), -ENOMEM, or the errno of a failed read or write.
 *
 * Memory is bounded by the format, never by the size of the kernel.
 */

#include "kernel/input.h"
#include "kernel/sink.h"
#include "kunpack.h"

int kp_decompress_gzip(KpInput *in, KpSink *out, KpError *error);
int kp_decompress_bzip2(KpInput *in, KpSink *out, KpError *error);
int kp_decompress_lzma(KpInput *in, KpSink *out, KpError *error);
int kp_decompress_xz(KpInput *in, KpSink *out, KpError *error);
int kp_decompress_lzo(KpInput *in, KpSink *out, KpError *error);
int kp_decompress_lz4(KpInput *in, KpSink *out, KpError *error);
int kp_decompress_zstd(KpInput *in, KpSink *out, KpError *error);
