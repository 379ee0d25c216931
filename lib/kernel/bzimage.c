/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "kernel/bzimage.h"
#include "util/error.h"
#include "util/macro.h"
#include "kernel/unaligned.h"

/* One sector of the boot protocol: the boot sector and each setup sector. */
#define SECTOR_SIZE 512
/* boot.rst: "If this field is 0, the real value is 4." */
#define SETUP_SECTS_LEGACY 4

int kp_bzimage_parse_header(const uint8_t *buf, size_t size, uint64_t file_size, KpError *error,
                            KpBzImageHeader *ret)
{
        uint64_t protected_mode, offset, end;
        uint32_t payload_offset, payload_length;
        unsigned setup_sects;
        uint16_t version;

        if (!buf || size < KP_BZIMAGE_OFF_BOOT_FLAG + 2 || kp_le16(buf + KP_BZIMAGE_OFF_BOOT_FLAG) != 0xaa55)
                return kp_error_set(error, -EMEDIUMTYPE,
                                    "not an x86 kernel image: no boot flag 0xAA55 at offset 0x1FE");
        if (size < KP_BZIMAGE_OFF_VERSION || memcmp(buf + KP_BZIMAGE_OFF_HEADER, "HdrS", 4) != 0)
                return kp_error_set(error, -EMEDIUMTYPE,
                                    "not an x86 bzImage: no \"HdrS\" setup header at offset 0x202");
        if (size < KP_BZIMAGE_OFF_VERSION + 2)
                return kp_error_set(error, -EBADMSG, "setup header cut short after %zu bytes", size);

        version = kp_le16(buf + KP_BZIMAGE_OFF_VERSION);
        if (version < KP_BZIMAGE_PROTOCOL_PAYLOAD)
                return kp_error_set(error, -EPROTONOSUPPORT,
                                    "boot protocol %u.%02u too old: no payload fields",
                                    (unsigned) (version >> 8), (unsigned) (version & 0xff));
        if (size < KP_BZIMAGE_HEADER_END)
                return kp_error_set(error, -EBADMSG, "setup header cut short: %zu of %u bytes", size,
                                    (unsigned) KP_BZIMAGE_HEADER_END);

        setup_sects = buf[KP_BZIMAGE_OFF_SETUP_SECTS];
        if (setup_sects == 0)
                setup_sects = SETUP_SECTS_LEGACY;
        payload_offset = kp_le32(buf + KP_BZIMAGE_OFF_PAYLOAD_OFFSET);
        payload_length = kp_le32(buf + KP_BZIMAGE_OFF_PAYLOAD_LENGTH);

        /* payload_offset counts from the protected-mode code, after the boot sector and the setup. */
        protected_mode = ((uint64_t) setup_sects + 1) * SECTOR_SIZE;
        if (ADD_OVERFLOW(protected_mode, (uint64_t) payload_offset, &offset) ||
            ADD_OVERFLOW(offset, (uint64_t) payload_length, &end))
                return kp_error_set(error, -EBADMSG, "payload offset overflows");

        if (payload_length == 0)
                return kp_error_set(error, -EBADMSG, "payload length is zero");
        if (file_size != KP_BZIMAGE_SIZE_UNKNOWN) {
                if (offset >= file_size)
                        return kp_error_set(error, -EBADMSG,
                                            "payload offset %" PRIu64
                                            " is past the end of the file (%" PRIu64 " bytes)",
                                            offset, file_size);
                if (end > file_size)
                        return kp_error_set(error, -EBADMSG,
                                            "payload runs past end of file: %" PRIu64
                                            " bytes at offset %" PRIu64 ", file has %" PRIu64,
                                            (uint64_t) payload_length, offset, file_size);
        }

        *ret = (KpBzImageHeader) {
                .version = version,
                .setup_sects = setup_sects,
                .payload_offset = offset,
                .payload_length = payload_length,
        };
        return 0;
}
