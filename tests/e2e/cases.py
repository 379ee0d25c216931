# SPDX-License-Identifier: LGPL-2.1-or-later
"""The end-to-end cases, as data (issue 7).

A case names the parts of kunpack it needs; while one of them is missing
from the build directory the case is reported as skipped with the reason,
and it runs as soon as the part is built. Nothing here is a result: every
expectation is checked against what a real Xen guest printed.

Guest disks (DISKS) hold kernels named by their offset from the fixture
kernel's ABI number: CURRENT is the fixture bzImage itself, OLD and NEW are
relabelled copies (guests.relabel_elf). The newest installed kernel is the
one the guest's grub.cfg boots by default.

Steps (run in order inside dom0, see dom0/driver.py):

  {"kind": "start", "xl": {...}, "expect": {...}}
        xl keys written into the guest's config, values formatted with
        the placeholders of run-e2e.py's placeholders(); expect is one of
          "boots": {"kernel": OLD|CURRENT|NEW, "cmdline": "...",
                    "via": "pvgrub"|"direct"}
              the initrd of that kernel on this disk ran (its marker),
              `uname -r` is that kernel's release, /proc/cmdline is
              exactly cmdline ({uuid}, {extra} filled in), and the boot
              went through pvgrub (GRUB read the guest's grub.cfg) or
              not at all (direct: no GRUB output on the console);
          "not_xen_image": True
              pvgrub stops with "error: not xen image" and no kernel runs;
          "xl_fails": "TEXT"
              `xl create` fails and its output holds TEXT.
  {"kind": "host", "action": "install-kernel", "kernel": NEW}
        on the host, between two starts: install that kernel in the
        case's disk as the guest's package manager would (update-grub).
  {"kind": "host", "action": "prepare"}
        on the host: rerun kunpack's host-side prepare step on the disk.
  {"kind": "dom0", "argv": [...], "background": bool}
        a command in dom0 (argv formatted like xl values).

Cases whose "prepare" is set have kunpack's host-side prepare step
(HOST_PREPARE, or the case's "prepare_argv") run on their disk before QEMU
starts: a libguestfs launch inside the nested dom0 takes 8-9.5 minutes, on
the host about 10 s.
"""

OLD, CURRENT, NEW = -1, 0, 1

PVGRUB = "/usr/lib/grub-xen/grub-x86_64-xen.bin"

# Parts of kunpack, detected by a file in $KP_BUILD_DIR.
PARTS = {
    "kunpack-boot": ("tools/kunpack-boot", "kunpack-boot (issue 4)"),
    "pvgrub-mode": ("tools/kunpackctl.p/kunpackctl-revert.c.o", "pvgrub mode (issue 6, kunpackctl revert)"),
    "kunpackd": ("daemon/kunpackd", "kunpackd (issue 5)"),
    # The Debian package (debian/, scripts/build-deb.sh), built by run-e2e.py when a case needs it.
    "package": ("/usr/bin/dpkg-buildpackage", "dpkg-buildpackage (scripts/install-deps.sh)"),
}

# The host-side prepare step: run before QEMU starts for each case with
# "prepare" set (and by a {"action": "prepare"} host step), as root, in the
# run directory, with a timeout of PREPARE_TIMEOUT seconds. Each element
# is formatted with: {kunpack_boot} {kunpackctl} {kunpackd} {kunpack_scan} {config} (the case's
# kunpack.conf, the same file dom0 uses), {disk} (the guest image, the same
# path in dom0), {mode} (direct|pvgrub), {outdir} (an empty directory) and
# {output} (an existing empty file in it). It must exit 0 leaving a fresh
# boot plan for {disk} in the config's state_dir and its kernels in
# cache_dir. By default it is kunpack-boot itself, run as libxl runs it:
# its cold path scans the disk and fills the cache.
HOST_PREPARE = [
    "{kunpack_boot}", "--config={config}", "--mode={mode}", "--output={output}",
    "--output-format=simple0", "--output-directory={outdir}", "{disk}",
]
PREPARE_TIMEOUT = 300
# A case's "prepare_argv" replaces HOST_PREPARE: kunpack-boot is given what
# libxl would give it, which for a qcow2 image is a /dev/xvdX of dom0's; on
# the host the image itself is scanned, as kunpackd scans it.
HOST_PREPARE_QCOW2 = ["{kunpack_scan}", "--config={config}", "--format=qcow2", "--", "{disk}"]

# kunpack.conf of a case (issue 4's contract), unless the case overrides
# keys ("kunpack_conf") or gives the whole text ("kunpack_conf_text").
# on_failure = "fail" so that a kunpack failure fails the start instead of
# hiding behind the pvgrub fallback. trust_foreign_plans: dom0 sees the
# image through 9p, so the identity the host recorded (device, inode)
# cannot be re-checked there; the host's prepare step is what keeps the
# plan fresh.
KUNPACK_CONF = {
    "cache_dir": "{run_dir}/kunpack/cache",
    "state_dir": "{run_dir}/kunpack/state",
    "on_failure": "fail",
    "pvgrub_path": PVGRUB,
    "trust_foreign_plans": 1,
}

DISKS = {
    # Ubuntu 20.04 (LZ4 kernels, 19.10-21.04) and 22.04 (zstd) style.
    "lz4": {"format": "lz4", "distro": "focal", "kernels": [OLD, CURRENT]},
    "zstd": {"format": "zstd", "distro": "jammy", "kernels": [OLD, CURRENT]},
    # A kernel pvgrub can load, for the controls and the fallback.
    "xz": {"format": "xz", "distro": "focal", "kernels": [OLD, CURRENT]},
    # Disks a case changes get their own copy.
    "lz4-upgrade": {"format": "lz4", "distro": "focal", "kernels": [OLD, CURRENT]},
    "lz4-pvgrub-mode": {"format": "lz4", "distro": "focal", "kernels": [OLD, CURRENT]},
    "xz-fallback": {"format": "xz", "distro": "focal", "kernels": [OLD, CURRENT]},
    "lz4-daemon": {"format": "lz4", "distro": "focal", "kernels": [OLD, CURRENT]},
    # A qcow2 image ("image", default raw): xl's format=qcow2.
    "lz4-qcow2": {"format": "lz4", "distro": "focal", "kernels": [OLD, CURRENT], "image": "qcow2"},
}

# What GRUB passes for the guests' default entry on a Xen PV boot:
# gfxmode() sets vt_handoff=vt.handoff=7 because linux_gfx_mode is "keep"
# (no gfxblacklist.txt), and GRUB's argument joining collapses the double
# space of "ro  quiet splash $vt_handoff".
GRUB_CMDLINE = "root=UUID={uuid} ro quiet splash vt.handoff=7"
# What kunpack's direct mode must pass: the entry's command line as GRUB
# expands it (the pvgrub controls prove that string on real GRUB) followed
# by the xl config's extra, as pygrub does.
DIRECT_CMDLINE = GRUB_CMDLINE + " {extra}"

# Seconds from `xl create` to the guest's last line on an idle machine;
# dom0's driver multiplies it by today's slowdown (up to 8x, see
# dom0/driver.py). Idle: pvgrub needs 25-55 s for the xz kernel (GRUB
# decompresses 66 MiB under emulation), a direct boot about 8 s.
START_TIMEOUT = 120

# kunpackd running in dom0, in the background, for the cases it answers. The
# build's kunpack-scan: the installed path (libexecdir) does not exist in the
# build tree.
KUNPACKD_STEP = {"kind": "dom0", "argv": ["{kunpackd}", "--config={config}", "--scan-program={kunpack_scan}"],
                 "background": True, "settle": 5}

KUNPACK_BOOT_XL = {
    "bootloader": "{kunpack_boot}",
    "bootloader_args": ["--config={config}"],
}

CASES = [
    {
        "name": "lz4-pvgrub-not-xen-image",
        "issue_case": 1,
        "title": "LZ4 guest, kernel = pvgrub2 (the bug)",
        "expected": "GRUB: error: not xen image",
        "disk": "lz4",
        "steps": [
            {"kind": "start", "xl": {"kernel": PVGRUB}, "expect": {"not_xen_image": True}},
        ],
    },
    {
        "name": "zstd-pvgrub-not-xen-image",
        "issue_case": 1,
        "title": "zstd guest, kernel = pvgrub2 (the bug, Ubuntu 22.04 and later)",
        "expected": "GRUB: error: not xen image",
        "disk": "zstd",
        "steps": [
            {"kind": "start", "xl": {"kernel": PVGRUB}, "expect": {"not_xen_image": True}},
        ],
    },
    {
        "name": "xz-pvgrub-control",
        "title": "xz guest, kernel = pvgrub2, kernel upgraded between two starts (control)",
        "expected": "GRUB boots the default kernel with grub.cfg's command line; after the upgrade, the new one",
        "disk": "xz",
        "steps": [
            {"kind": "start", "xl": {"kernel": PVGRUB},
             "expect": {"boots": {"kernel": CURRENT, "cmdline": GRUB_CMDLINE, "via": "pvgrub"}}},
            {"kind": "host", "action": "install-kernel", "kernel": NEW},
            {"kind": "start", "xl": {"kernel": PVGRUB},
             "expect": {"boots": {"kernel": NEW, "cmdline": GRUB_CMDLINE, "via": "pvgrub"}}},
        ],
    },
    {
        "name": "elf-direct-control",
        "title": "kernel = reference vmlinux ELF + ramdisk + extra (control)",
        "expected": "kernel, initrd and extra exactly as given",
        "disk": None,
        "steps": [
            {"kind": "start",
             "xl": {"kernel": "{vmlinux}", "ramdisk": "{elf_initrd}", "extra": "{extra}"},
             "expect": {"boots": {"kernel": CURRENT, "cmdline": "{extra}", "via": "direct"}}},
        ],
    },
    {
        "name": "lz4-direct",
        "issue_case": 2,
        "title": "LZ4 guest, bootloader = kunpack-boot (direct mode)",
        "expected": "the default kernel boots, grub.cfg's command line + extra",
        "disk": "lz4",
        "needs": ["kunpack-boot"],
        "prepare": "direct",
        "steps": [
            {"kind": "start", "xl": dict(KUNPACK_BOOT_XL, extra="{extra}"),
             "expect": {"boots": {"kernel": CURRENT, "cmdline": DIRECT_CMDLINE, "via": "direct"}}},
        ],
    },
    {
        "name": "lz4-package-bare-name",
        "issue": 15,
        "title": "LZ4 guest, bootloader = \"kunpack-boot\" by bare name, from the installed Debian package",
        "expected": "dom0 installs the .deb; libxl finds kunpack-boot on PATH; the default kernel boots",
        "disk": "lz4",
        "needs": ["kunpack-boot", "package"],
        "prepare": "direct",
        "steps": [
            {"kind": "start",
             "xl": {"bootloader": "kunpack-boot", "bootloader_args": ["--config={config}"], "extra": "{extra}"},
             "expect": {"boots": {"kernel": CURRENT, "cmdline": DIRECT_CMDLINE, "via": "direct"}}},
        ],
    },
    {
        "name": "zstd-direct",
        "issue_case": 3,
        "title": "zstd guest, bootloader = kunpack-boot (direct mode)",
        "expected": "the default kernel boots, grub.cfg's command line + extra",
        "disk": "zstd",
        "needs": ["kunpack-boot"],
        "prepare": "direct",
        "steps": [
            {"kind": "start", "xl": dict(KUNPACK_BOOT_XL, extra="{extra}"),
             "expect": {"boots": {"kernel": CURRENT, "cmdline": DIRECT_CMDLINE, "via": "direct"}}},
        ],
    },
    {
        "name": "lz4-pvgrub-mode",
        "issue_case": 4,
        "title": "LZ4 guest, kunpack-boot --mode=pvgrub",
        "expected": "GRUB reads the rewritten grub.cfg and boots the default kernel",
        "disk": "lz4-pvgrub-mode",
        "needs": ["kunpack-boot", "pvgrub-mode"],
        "prepare": "pvgrub",
        "steps": [
            {"kind": "start",
             "xl": {"bootloader": "{kunpack_boot}", "bootloader_args": ["--config={config}", "--mode=pvgrub"]},
             "expect": {"boots": {"kernel": CURRENT, "cmdline": GRUB_CMDLINE, "via": "pvgrub"}}},
        ],
    },
    {
        "name": "lz4-direct-upgrade",
        "issue_case": 5,
        "title": "LZ4 guest, kunpack-boot, kernel upgraded between two starts",
        "expected": "the stale plan is refused, a rescan finds the new kernel, it boots",
        "disk": "lz4-upgrade",
        "needs": ["kunpack-boot"],
        "prepare": "direct",
        "steps": [
            {"kind": "start", "xl": dict(KUNPACK_BOOT_XL, extra="{extra}"),
             "expect": {"boots": {"kernel": CURRENT, "cmdline": DIRECT_CMDLINE, "via": "direct"}}},
            {"kind": "host", "action": "install-kernel", "kernel": NEW},
            {"kind": "host", "action": "prepare"},
            {"kind": "start", "xl": dict(KUNPACK_BOOT_XL, extra="{extra}"),
             "expect": {"boots": {"kernel": NEW, "cmdline": DIRECT_CMDLINE, "via": "direct"}}},
        ],
    },
    {
        "name": "xz-fallback-broken-config",
        "issue_case": 6,
        "title": "xz guest, kunpack-boot with a broken config (fallback)",
        "expected": "kunpack-boot answers pvgrub, GRUB boots the default kernel",
        "disk": "xz-fallback",
        "needs": ["kunpack-boot"],
        "kunpack_conf_text": "# broken on purpose: an unterminated list\ncache_dir = [ \"/nowhere\"\n",
        "steps": [
            {"kind": "start", "xl": dict(KUNPACK_BOOT_XL),
             "expect": {"boots": {"kernel": CURRENT, "cmdline": GRUB_CMDLINE, "via": "pvgrub"}}},
        ],
    },
    {
        "name": "xz-fallback-cache-unwritable",
        "issue_case": 6,
        "title": "xz guest, kunpack-boot with an unwritable cache and no plan (fallback)",
        "expected": "kunpack-boot answers pvgrub, GRUB boots the default kernel",
        "disk": "xz-fallback",
        "needs": ["kunpack-boot"],
        # No prepared plan: the start takes the cold path and cannot store
        # a kernel; boot_timeout bounds a scan inside the nested dom0.
        "kunpack_conf": {"cache_dir": "/run/kp-e2e-ro-cache", "state_dir": "{run_dir}/kunpack/state-ro-case",
                         "on_failure": "pvgrub", "boot_timeout": "40s"},
        "steps": [
            {"kind": "dom0", "argv": ["sh", "-c", "mkdir -p /run/kp-e2e-ro-cache && "
                                      "mount -t tmpfs -o ro,mode=0700 tmpfs /run/kp-e2e-ro-cache"]},
            {"kind": "start", "xl": dict(KUNPACK_BOOT_XL), "timeout": 180,
             "expect": {"boots": {"kernel": CURRENT, "cmdline": GRUB_CMDLINE, "via": "pvgrub"}}},
        ],
    },
    {
        "name": "lz4-direct-kunpackd",
        "issue_case": 7,
        "title": "LZ4 guest, kunpack-boot answered by kunpackd",
        "expected": "the daemon serves the start, the default kernel boots",
        "disk": "lz4-daemon",
        "needs": ["kunpack-boot", "kunpackd"],
        "prepare": "direct",
        # The start is served from the prepared plan; a pooled appliance booting inside this emulated
        # dom0 would only slow it down (the pool is tested in tests/integration/test-pool.py).
        "kunpack_conf": {"appliance_pool": 0},
        "steps": [
            dict(KUNPACKD_STEP),
            {"kind": "start", "xl": dict(KUNPACK_BOOT_XL, extra="{extra}"),
             "expect": {"boots": {"kernel": CURRENT, "cmdline": DIRECT_CMDLINE, "via": "direct"},
                        "dom0_log_has": {"step": 0, "text": "{disk}"}}},
        ],
    },
    {
        "name": "qcow2-direct-kunpackd",
        "issue": 14,
        "title": "LZ4 guest on a qcow2 image, kunpack-boot answered by kunpackd",
        "expected": "libxl passes dom0's /dev/xvda; kunpackd maps it back to the image (xenstore) and serves "
                    "the start from the image's fresh plan: the default kernel boots",
        "disk": "lz4-qcow2",
        "needs": ["kunpack-boot", "kunpackd"],
        "prepare": "direct",
        "prepare_argv": HOST_PREPARE_QCOW2,
        "kunpack_conf": {"appliance_pool": 0},
        "steps": [
            dict(KUNPACKD_STEP),
            # The image's name and the domain's, not /dev/xvda: the start was served by the mapping.
            {"kind": "start", "xl": dict(KUNPACK_BOOT_XL, extra="{extra}"),
             "expect": {"boots": {"kernel": CURRENT, "cmdline": DIRECT_CMDLINE, "via": "direct"},
                        "dom0_log_has": {"step": 0,
                                         "text": "start of kp-qcow2-direct-kunpackd ({disk}) served from a "
                                                 "fresh plan"}}},
        ],
    },
]
