#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""kunpackctl inspect on every realistic guest image, as an admin runs it.

Usage: test-inspect.py KUNPACKCTL   (with $KP_FIXTURES and $KP_BUILD_DIR set)

For each image (tests/integration/images.py) it checks what the guest's own
boot loader would select: kernel path, initrds, command line, title and
reason, the configuration file, and the facts computed in the appliance
(sha256 against the file the builder put there, size against the fixture
kernel, payload format). All single-disk guests share one appliance
(--each); the four-disk guest, the human-readable output with --entry, a
disk with nothing bootable and a deadline that fires mid-launch get one
each. Every call must boot exactly one appliance (counted through
LIBGUESTFS_HV), and the deadline must stop it while it boots, in time,
leaving no qemu.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guesttest  # noqa: E402
from guesttest import check  # noqa: E402


def check_plan(name, entry, plan, fixtures):
    exp = entry["expect"]
    disk = exp.get("disk")
    sel = plan.get("selected") or {}
    check(plan.get("reason") == exp["reason"], "%s: reason %s (got %s: %s)" % (
        name, exp["reason"], plan.get("reason"), plan.get("reason_detail")))
    check(sel.get("kernel") == exp["kernel"], "%s: kernel %s (got %s)" % (name, exp["kernel"], sel.get("kernel")))
    check(sel.get("initrds") == exp["initrds"], "%s: initrds %s (got %s)" % (name, exp["initrds"], sel.get("initrds")))
    cmdline = exp["cmdline"]
    check(sel.get("cmdline") == cmdline, "%s: cmdline \"%s\" (got \"%s\")" % (name, cmdline, sel.get("cmdline")))
    if exp["title"] is not None:
        check(sel.get("title") == exp["title"], "%s: title \"%s\" (got \"%s\")" % (name, exp["title"], sel.get("title")))
    check(sel.get("format") == exp["format"], "%s: format %s (got %s)" % (name, exp["format"], sel.get("format")))

    want = guesttest.file_sha(entry, exp["kernel"], disk)
    check(want is not None and sel.get("sha256") == want,
          "%s: kernel sha256 is the placed file's %s (got %s)" % (name, want, sel.get("sha256")))
    fixture = os.path.join(fixtures, "bzImage-" + exp["format"])
    check(sel.get("size") == os.path.getsize(fixture), "%s: kernel size %d (got %s)" % (
        name, os.path.getsize(fixture), sel.get("size")))
    check(want == guesttest.sha256(fixture), "%s: the placed kernel is the %s fixture" % (name, exp["format"]))

    files = sel.get("initrd_files") or []
    for i, path in enumerate(exp["initrds"]):
        want = guesttest.file_sha(entry, path, disk)
        got = files[i].get("sha256") if i < len(files) else None
        check(want is not None and got == want, "%s: initrd %s sha256 %s (got %s)" % (name, path, want, got))

    config = plan.get("config") or {}
    check(config.get("file") == exp["config"], "%s: config file %s (got %s)" % (name, exp["config"], config.get("file")))
    check(bool(config.get("filesystem")), "%s: config filesystem named (%s)" % (name, config.get("filesystem")))
    # Every entry that loads a kernel got its facts too (not only the selected one).
    missing = [e["index"] for e in plan.get("entries", []) if e.get("kernel") and not e.get("sha256")]
    check(not missing, "%s: every entry's kernel has a sha256 (missing: %s)" % (name, missing))


def main():
    ctl = os.path.abspath(sys.argv[1])
    fixtures = guesttest.fixtures()
    outdir, manifest = guesttest.build_images()
    work = tempfile.mkdtemp(prefix="kp-inspect-")
    counter = guesttest.Counter(work)

    good = {n: e for n, e in manifest.items() if e["expect"] and len(e["disks"]) == 1}
    check(len(good) + sum(1 for e in manifest.values() if e["expect"] and len(e["disks"]) > 1) >= 12,
          "at least 12 realistic images (%d)" % len(good))

    # 1. Every single-disk guest, one appliance.
    t0 = time.monotonic()
    results, r, launches = guesttest.inspect_each(ctl, counter, good)
    print("inspect --each of %d guests: %.1f s, exit %d" % (len(good), time.monotonic() - t0, r.returncode))
    if r.returncode != 0:
        print(r.stderr, file=sys.stderr)
    check(r.returncode == 0, "inspect --each exits 0")
    check(launches == len(good), "one appliance launch per guest: %d for %d guests" % (launches, len(good)))
    for name, entry in sorted(good.items()):
        res = results.get(name) or {}
        if not check("plan" in res, "%s: a plan (%s)" % (name, res.get("error"))):
            continue
        check_plan(name, entry, res["plan"], fixtures)

    # 2. The guest with four disks: data, swap, /boot (third disk, found by label), root.
    four = manifest["four-disks"]
    counter.reset()
    r = guesttest.run([ctl, "inspect", "--json", *guesttest.disk_specs(four)], env=counter.env())
    check(r.returncode == 0, "four disks: exit 0 (%s)" % r.stderr.strip())
    check(counter.launches() == 1, "four disks: one appliance launch (%d)" % counter.launches())
    if r.returncode == 0:
        plan = json.loads(r.stdout)
        check_plan("four-disks", four, plan, fixtures)
        # The appliance's third disk is sdc; /boot is its first partition.
        check(plan["config"]["filesystem"] == "/dev/sdc1", "four disks: config on /dev/sdc1 (%s)" %
              plan["config"]["filesystem"])

    # 3. Human-readable output, with --entry naming a submenu entry by its menu path.
    u = manifest["ubuntu-20.04-lz4"]
    counter.reset()
    r = guesttest.run([ctl, "inspect", "--entry", "Advanced options for Ubuntu>Ubuntu, with Linux 5.4.0-26-generic",
                       *guesttest.disk_specs(u)], env=counter.env())
    out = r.stdout
    check(r.returncode == 0 and r.stderr == "", "human output: exit 0, nothing on stderr (%s)" % r.stderr.strip())
    check(counter.launches() == 1, "human output: one appliance launch")
    check("Config:   /boot/grub/grub.cfg on /dev/sda1 (grub2)" in out, "human output names config and filesystem")
    check("Selected: entry 3, requested" in out, "human output: entry 3 selected on request")
    check("* 3   Advanced options for Ubuntu>Ubuntu, with Linux 5.4.0-26-generic\n" in out,
          "human output marks the selected entry")
    check("  0   Ubuntu\n" in out, "human output lists the unselected default")
    sha_old = guesttest.file_sha(u, "/boot/vmlinuz-5.4.0-26-generic")
    sha_new = guesttest.file_sha(u, "/boot/vmlinuz-5.4.0-42-generic")
    check("sha256 %s, gzip\n" % sha_old in out, "human output: sha256 and format of the gzip kernel")
    check("sha256 %s, lz4 (pvgrub cannot load it)\n" % sha_new in out, "human output: lz4 flagged for pvgrub")
    check("cmdline root=UUID=6a1f3f5e-8a2b-4c7d-9e10-2b3c4d5e6f70 ro recovery nomodeset dis_ucode_ldr\n" in out,
          "human output: recovery command line")

    # 4. Nothing bootable: a disk without any filesystem. One line on stderr, exit 1.
    blank = os.path.join(work, "blank.img")
    with open(blank, "wb") as f:
        f.truncate(16 << 20)
    counter.reset()
    r = guesttest.run([ctl, "inspect", blank], env=counter.env())
    check(r.returncode == 1, "blank disk: exit 1 (%d)" % r.returncode)
    check(r.stdout == "", "blank disk: nothing on stdout")
    check(r.stderr.count("\n") == 1 and "nothing bootable: no filesystem on the guest's disks" in r.stderr,
          "blank disk: one clear line (%s)" % r.stderr.strip())

    # 5. Usage errors never start an appliance.
    counter.reset()
    r = guesttest.run([ctl, "inspect", blank + ",format=vhd"], env=counter.env())
    check(r.returncode == 2 and "disk format \"vhd\" is not supported" in r.stderr, "vhd refused as usage error")
    r = guesttest.run([ctl, "inspect", "--each", "--entry", "0", blank], env=counter.env())
    check(r.returncode == 2, "--each with --entry refused")
    check(counter.launches() == 0, "no appliance for usage errors")

    # 6. A deadline that fires while the appliance boots: stopped at once, no qemu left behind.
    # Its own TMPDIR: the appliance's overlay lives there, so its qemu is found by that path.
    tmp = os.path.join(work, "deadline-tmp")
    os.mkdir(tmp)
    env = counter.env()
    env["TMPDIR"] = tmp
    # The cached appliance stays where it is (by default libguestfs keeps it in TMPDIR too).
    env.setdefault("LIBGUESTFS_CACHEDIR", os.environ.get("TMPDIR") or "/var/tmp")
    counter.reset()
    t0 = time.monotonic()
    # 8 s: past libguestfs's qemu feature queries (the counting wrapper is new to it), well before
    # the appliance is up (a launch takes 15 s or more under software emulation).
    r = guesttest.run([ctl, "inspect", "--timeout=8", *guesttest.disk_specs(u)], env=env)
    took = time.monotonic() - t0
    check(counter.launches() == 1, "deadline: the appliance had started booting")
    check(r.returncode == 1 and "deadline passed" in r.stderr, "deadline: exit 1, says so (%s)" % r.stderr.strip())
    check(took < 12, "deadline: returned %.1f s after start (limit 8 s + shutdown)" % took)
    time.sleep(1)
    left = subprocess.run(["pgrep", "-f", tmp], stdout=subprocess.PIPE, text=True).stdout.split()
    check(not left, "deadline: no hypervisor left running (%s)" % left)

    guesttest.finish()


if __name__ == "__main__":
    main()
