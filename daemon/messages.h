/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * MESSAGE_ID= of each kind of event kunpackd logs, so that
 * `journalctl MESSAGE_ID=...` finds every occurrence whatever the wording.
 * They are stable: man/kunpackd.8 lists them. Never reuse or change one;
 * a new kind of event gets a new ID (`systemd-id128 new`).
 */

#define KP_MESSAGE_SCAN_FINISHED    "MESSAGE_ID=205ac4497d2240e9b2161cca51ec2e85"  /* a disk was scanned */
#define KP_MESSAGE_SCAN_FAILED      "MESSAGE_ID=859b2a3ee5d44519be0408b9ee57219a"  /* a disk could not be scanned */
#define KP_MESSAGE_SCAN_STARTED     "MESSAGE_ID=740fbe894800466a91719bd24d806418"  /* an appliance run began */
#define KP_MESSAGE_PREPARE_HOT      "MESSAGE_ID=932d63aa053a431da4a102dc1f9e6faf"  /* a start served from a fresh plan */
#define KP_MESSAGE_PREPARE_COLD     "MESSAGE_ID=fa61b45c5a3b4ea5a08915d0f8f77dc3"  /* a start that waited for a scan */
#define KP_MESSAGE_PREPARE_FAILED   "MESSAGE_ID=5127dfb5c69a406c843d5fac688dfdcd"  /* a start the daemon could not answer */
#define KP_MESSAGE_ACCESS_DENIED    "MESSAGE_ID=17b3251a87f34fdab66d44148cfe0cad"  /* a caller other than root */
#define KP_MESSAGE_CONFIG_RELOADED  "MESSAGE_ID=fab0abb5b49e4398b9ae81fbb559a418"  /* SIGHUP: the new config is in force */
#define KP_MESSAGE_CONFIG_REFUSED   "MESSAGE_ID=d2542526aa5247b7aaf01b3a8079dca1"  /* SIGHUP: the new config is invalid, the old one stays */
#define KP_MESSAGE_GUEST_ADDED      "MESSAGE_ID=bfc2928493cc43bb82ebd33b8dd1a5c1"  /* a guest entered the registry */
#define KP_MESSAGE_GUEST_REMOVED    "MESSAGE_ID=1eb17f1ba801444d924bd6c11b3d9ca2"  /* a guest's config went away */
#define KP_MESSAGE_DISK_CHANGED     "MESSAGE_ID=52b0b85d8d0544a28e85d74811910587"  /* an image was written, or its domain stopped */
#define KP_MESSAGE_DOMAIN_EVENT     "MESSAGE_ID=ff8b87913a144083a9370b38be6c6438"  /* a domain using a known disk started or stopped */
#define KP_MESSAGE_XEN_ABSENT       "MESSAGE_ID=6bd4b13b984a4770b37a3e04c6ef686b"  /* no hypervisor: no lifecycle watcher */
