/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Journal message IDs of domain starts, shared by kunpack-boot and
 * kunpackd, so that `journalctl MESSAGE_ID=...` finds one kind of event
 * whoever logged it. Each is a random 128-bit id, never to be reused for
 * another meaning.
 */

/* A start was answered with a kernel from the cache (hot or after a scan). */
#define KP_MESSAGE_BOOT_ANSWERED "MESSAGE_ID=1ad5a70e5702419c806aa3ea9e1cafdf"
/* A start could not be answered by kunpack: on_failure applied (pvgrub, or the start failed). */
#define KP_MESSAGE_BOOT_FAILED "MESSAGE_ID=7ffa099686584680b8122e9be9c96e8f"
/* A state record or cache entry was found damaged, removed, and the disk rescanned. */
#define KP_MESSAGE_DAMAGE_REPAIRED "MESSAGE_ID=2761bb35d3b44821bafd4c8e62635c0d"
/* A scan of a disk finished (kunpack-scan), successfully or not. */
#define KP_MESSAGE_SCAN_FINISHED "MESSAGE_ID=b6326b81dbb24d28b71135b6c034d22f"
