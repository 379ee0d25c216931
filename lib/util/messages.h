/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * MESSAGE_ID= of each kind of event a kunpack program logs, one list for
 * all of them, so that `journalctl MESSAGE_ID=...` finds one kind of
 * event whoever logged it and whatever the wording. catalog/kunpack.catalog
 * explains each one (`journalctl -x`); tests/unit/test-catalog.py checks
 * that the two lists agree and that no ID is used twice. Never reuse or
 * change an ID: a new kind of event gets a new one (`systemd-id128 new`).
 */

/* kunpack-boot and kunpackd: a start was answered with a kernel from the cache (hot or after a scan). */
#define KP_MESSAGE_BOOT_ANSWERED   "MESSAGE_ID=1ad5a70e5702419c806aa3ea9e1cafdf"
/* kunpack-boot: a start kunpack could not answer: on_failure applied (pvgrub, or the start failed). */
#define KP_MESSAGE_BOOT_FAILED     "MESSAGE_ID=7ffa099686584680b8122e9be9c96e8f"
/* kunpack-boot: the command line was refused (a bad option value, a missing --config file): the start failed. */
#define KP_MESSAGE_BOOT_REFUSED    "MESSAGE_ID=94462035f61b4ab28d8317f3ed9d756e"
/* kunpack-boot: a damaged state record or cache entry was removed and the disk rescanned. */
#define KP_MESSAGE_DAMAGE_REPAIRED "MESSAGE_ID=2761bb35d3b44821bafd4c8e62635c0d"
/* kunpack-scan and kunpackd: a disk was scanned. */
#define KP_MESSAGE_SCAN_FINISHED   "MESSAGE_ID=205ac4497d2240e9b2161cca51ec2e85"
/* kunpack-scan and kunpackd: a disk could not be scanned. */
#define KP_MESSAGE_SCAN_FAILED     "MESSAGE_ID=859b2a3ee5d44519be0408b9ee57219a"
/* kunpackd: a scan program (an appliance) started. */
#define KP_MESSAGE_SCAN_STARTED    "MESSAGE_ID=740fbe894800466a91719bd24d806418"
/* kunpackd: a start served from a fresh plan. */
#define KP_MESSAGE_PREPARE_HOT     "MESSAGE_ID=932d63aa053a431da4a102dc1f9e6faf"
/* kunpackd: a start that waited for a scan. */
#define KP_MESSAGE_PREPARE_COLD    "MESSAGE_ID=fa61b45c5a3b4ea5a08915d0f8f77dc3"
/* kunpackd: a start the daemon could not answer. */
#define KP_MESSAGE_PREPARE_FAILED  "MESSAGE_ID=5127dfb5c69a406c843d5fac688dfdcd"
/* kunpackd: a caller other than root was refused. */
#define KP_MESSAGE_ACCESS_DENIED   "MESSAGE_ID=17b3251a87f34fdab66d44148cfe0cad"
/* kunpackd: SIGHUP: the new settings are in force. */
#define KP_MESSAGE_CONFIG_RELOADED "MESSAGE_ID=fab0abb5b49e4398b9ae81fbb559a418"
/* kunpackd: SIGHUP: the new settings are invalid, the old ones stay. */
#define KP_MESSAGE_CONFIG_REFUSED  "MESSAGE_ID=d2542526aa5247b7aaf01b3a8079dca1"
/* kunpackd: a guest entered the registry. */
#define KP_MESSAGE_GUEST_ADDED     "MESSAGE_ID=bfc2928493cc43bb82ebd33b8dd1a5c1"
/* kunpackd: a guest's xl domain config went away. */
#define KP_MESSAGE_GUEST_REMOVED   "MESSAGE_ID=1eb17f1ba801444d924bd6c11b3d9ca2"
/* kunpackd: an image was written, or its domain stopped. */
#define KP_MESSAGE_DISK_CHANGED    "MESSAGE_ID=52b0b85d8d0544a28e85d74811910587"
/* kunpackd: a domain using a known disk started or stopped. */
#define KP_MESSAGE_DOMAIN_EVENT    "MESSAGE_ID=ff8b87913a144083a9370b38be6c6438"
/* kunpackd: no hypervisor: no lifecycle watcher. */
#define KP_MESSAGE_XEN_ABSENT      "MESSAGE_ID=6bd4b13b984a4770b37a3e04c6ef686b"
