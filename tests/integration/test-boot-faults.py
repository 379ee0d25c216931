#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""kunpack-boot when things go wrong, and under load, run as libxl runs it.

Usage: test-boot-faults.py   (with $KP_FIXTURES and $KP_BUILD_DIR set; needs root)

Nothing kunpack does may leave a guest unbootable that would have booted
without it. Each fault below must end either in the right answer (kunpack
repaired it) or in the pvgrub answer (pvgrub as the kernel, libxl's --args)
with exactly one log line naming the disk and the reason; with
on_failure = "fail", in a non-zero exit and one line on stderr.

  broken config            pvgrub from the built-in path, whatever the file says
  missing --config file    exit 2, one line, no answer (a usage error, not a fault)
  unreadable disk          pvgrub / fail
  cache on a full tmpfs    pvgrub, and the cache left as it was
  appliance never answers  (a qemu that hangs) pvgrub / fail within boot_timeout, no qemu left
  corrupt cache entry      (a flipped byte mid-ELF) refused, re-fetched, served right
  truncated state file     removed, rescanned, served right
  kill -9 mid cache write  pvgrub for that start, the next start right, nothing half-written
  16 concurrent starts     16 right answers, one appliance launch, one download of each file
  --args with a newline    the answer without them (hot path, and pvgrub's), one line saying so
  /var full                libxl's directory cannot take a copy of pvgrub: the copy staged in
                           the cache (on /var) is linked; without it, no answer and one line
  not kunpackd             kunpackd's socket served by uid 65534, or answers naming a file
                           outside --output-directory: nothing of it used, the work done here
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import boottest  # noqa: E402
import guesttest  # noqa: E402
from guesttest import check  # noqa: E402

EXTRA = "console=hvc0"
HANG_TIMEOUT = 20  # boot_timeout for the hung appliance: well inside libxl's 120 s


def fake_hanging_qemu(work):
    """A LIBGUESTFS_HV that answers libguestfs's capability queries (the real qemu) but never boots."""
    qemu = subprocess.run(["sh", "-c", "command -v qemu-system-x86_64"], stdout=subprocess.PIPE,
                          text=True).stdout.strip()
    log = os.path.join(work, "hung.pids")
    path = os.path.join(work, "qemu-hangs")
    with open(path, "w") as f:
        f.write('#!/bin/sh\n# An appliance that never answers: every launch hangs, queries work.\n'
                'for a in "$@"; do [ "$a" = -kernel ] && { echo $$ >> %s; exec sleep 1000; }; done\n'
                'exec %s "$@"\n' % (log, qemu))
    os.chmod(path, 0o755)
    return path, log


def process_gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def kill_mid_cache_write(rig, found):
    """Waits for kunpack-scan to be writing a kernel into the cache (its unnamed file in kernels/), then
    kill -9 its process group (kunpack-scan, qemu, everything of the scan)."""
    real = rig.real_scan
    kernels = os.path.join(rig.cache, "kernels") + "/"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    argv0 = f.read().split(b"\0")[0].decode()
                if argv0 != real:
                    continue
                for fd in os.listdir("/proc/%s/fd" % pid):
                    target = os.readlink("/proc/%s/fd/%s" % (pid, fd))
                    if target.startswith(kernels) and target.endswith("(deleted)"):
                        # The decompressed kernel is being written: let a few MiB of it land first.
                        size = os.stat("/proc/%s/fd/%s" % (pid, fd)).st_size
                        if size < 4 * 1024 * 1024:
                            continue
                        os.killpg(os.getpgid(int(pid)), signal.SIGKILL)
                        found.append((int(pid), target, size))
                        return
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
        time.sleep(0.02)


def fill_leaving(path, left):
    """Fills the filesystem of path but for about left bytes."""
    filler = os.path.join(path, "filler")
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError:
            pass
    os.truncate(filler, max(0, os.path.getsize(filler) - left))


def full_var(work, missing):
    """libxl's directory on a /var with 64 KiB left: no copy of pvgrub fits, a link of the staged one does."""
    var = os.path.join(work, "full-var-var")
    os.mkdir(var, 0o700)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", var]).returncode != 0:
        print("cannot mount a tmpfs here: full /var case not run")
        return
    try:
        cache = os.path.join(var, "cache")
        os.mkdir(cache, 0o700)
        rig = boottest.Rig(work, "full-var", conf_extra={"cache_dir": cache})
        rig.domains = os.path.join(var, "xen")
        os.mkdir(rig.domains)
        # A start that must copy pvgrub (another filesystem) stages it in the cache for the next ones.
        ans = rig.start(missing, args=EXTRA)
        boottest.check_fallback("full /var, before", ans, EXTRA, missing, r"cannot open disk")
        staged = os.listdir(os.path.join(cache, "pvgrub"))
        check(len(staged) == 1 and guesttest.sha256(os.path.join(cache, "pvgrub", staged[0])) ==
              guesttest.sha256(boottest.PVGRUB), "full /var: pvgrub staged in the cache (%s)" % staged)

        fill_leaving(var, 64 * 1024)
        ans = rig.start(missing, args=EXTRA)
        boottest.check_fallback("full /var: the staged copy linked", ans, EXTRA, missing, r"cannot open disk")
        st = os.stat(os.path.join(cache, "pvgrub", staged[0]))
        check(st.st_nlink == 1, "full /var: libxl unlinked its name, the staged copy stays (%d links)" % st.st_nlink)

        # Without the staged copy (and the room it took), nothing answers: one line says why.
        os.unlink(os.path.join(cache, "pvgrub", staged[0]))
        fill_leaving(var, 64 * 1024)
        ans = rig.start(missing, args=EXTRA)
        lines = ans.lines()
        check(ans.rc != 0 and len(lines) == 1 and "cannot answer with pvgrub either" in lines[0]
              and "No space left on device" in lines[0],
              "full /var without the staged copy: no answer, one line (%s, %s)" % (ans.rc, lines))
    finally:
        subprocess.run(["umount", "-l", var])


def not_kunpackd(work):
    """A listener of another uid, and answers naming files outside --output-directory. The disk is a FIFO:
    kunpackd would be asked about it, and kunpack-boot's own work ends at once, in the pvgrub answer."""
    fake = os.path.join(os.environ["KP_BUILD_DIR"], "tests", "integration", "fake-kunpackd")
    if not os.path.exists(fake):
        print("no fake-kunpackd (built without libsystemd): not-kunpackd cases not run")
        return
    sock = os.path.join(work, "fake-kunpackd.sock")
    disk = os.path.join(work, "not-a-disk")
    os.mkfifo(disk)
    expect = {
        "nobody": r"is served by uid 65534 \(pid \d+\), not root: not kunpackd, not asked: doing the work here",
        "outside": r"kunpackd's answer names kernel \"/etc/passwd\" outside .*: doing the work here",
        "dotdot": r"kunpackd's answer names kernel \".*/\.\./kernel\.fake\", not a file of .*: doing the work here",
        "symlink": r"kunpackd's answer names kernel .*/kernel\.fake, which is not a regular file: doing the work here",
    }
    for mode, warning in expect.items():
        rig = boottest.Rig(work, "fake-daemon-" + mode, conf_extra={"socket_path": sock})
        daemon = subprocess.Popen([fake, sock, mode], stdout=subprocess.PIPE, text=True)
        try:
            check(daemon.stdout.readline().strip() == "ready", "fake kunpackd (%s) listens" % mode)
            ans = rig.start(disk, args=EXTRA)
            lines = ans.lines()
            check(ans.rc == 0 and ans.kernel_sha256 == guesttest.sha256(boottest.PVGRUB) and ans.args == EXTRA,
                  "not kunpackd (%s): the answer is kunpack-boot's own (pvgrub for a FIFO) (%s)" %
                  (mode, ans.records))
            check(len(lines) == 2 and re.search(warning, lines[0]) and
                  "neither a regular file nor a block device" in lines[1],
                  "not kunpackd (%s): one line saying its answer is not used, then kunpack-boot's (%s)" %
                  (mode, lines))
            check(daemon.wait(timeout=10) == 0, "not kunpackd (%s): asked as expected (exit %s)" %
                  (mode, daemon.returncode))
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()


def main():
    if os.geteuid() != 0:
        print("needs root (tmpfs mounts, kunpack's root-owned cache): skipping")
        sys.exit(77)
    fixtures = guesttest.fixtures()
    build = os.environ["KP_BUILD_DIR"]
    outdir, manifest = guesttest.build_images()
    work = tempfile.mkdtemp(prefix="boot-faults-", dir=os.path.join(build, "tests", "integration"))
    vmlinux = guesttest.sha256(os.path.join(fixtures, "vmlinux"))
    lz4 = manifest["ubuntu-20.04-lz4"]
    src = lz4["disks"][0]["path"]
    initrd = guesttest.file_sha(lz4, "/boot/initrd.img-5.4.0-42-generic")
    args = lz4["expect"]["cmdline"] + " " + EXTRA

    # --args that could add a record: dropped with a line, and the pvgrub answer still given.
    rig = boottest.Rig(work, "bad-args")
    with open(rig.config, "a") as f:
        f.write('cache_dirr = "/oops"\n')
    bad = EXTRA + "\nkernel /etc/shadow"
    ans = rig.start(os.path.join(work, "no-such-disk.img"), args=bad)
    lines = ans.lines()
    check(ans.rc == 0 and ans.kernel_sha256 == guesttest.sha256(boottest.PVGRUB) and ans.args is None
          and ans.count("args") == 0 and not ans.unexpected,
          "--args with a newline, pvgrub answer: pvgrub, no args record (%s, %s)" % (ans.rc, ans.records))
    check(len(lines) == 2 and "--args contains a control character (0x0a at offset 12)" in lines[0]
          and "boots without them" in lines[0] and "booting it with pvgrub" in lines[1],
          "--args with a newline: one line saying they are dropped, one for the fallback (%s)" % lines)

    # Broken config: the guest boots through the built-in pvgrub, even if the file asked for "fail".
    rig = boottest.Rig(work, "broken-config")
    with open(rig.config, "w") as f:
        f.write('on_failure = "fail"\ncache_dirr = "/var/cache/kunpack"\n')
    ans = rig.start(src, args=EXTRA)
    boottest.check_fallback("broken config", ans, EXTRA, src, re.escape(rig.config) + r":2: .*cache_dirr")
    check(rig.counter.launches() == 0 and rig.scans() == [], "broken config: nothing scanned")

    # Unreadable disk (gone), both policies. A --config file that does not exist is a typo in
    # bootloader_args, not a fault of the host: the start fails (exit 2) with one line, no answer.
    missing = os.path.join(work, "no-such-disk.img")
    ans = rig.start(missing, bootloader_args=["--config=/nonexistent/kunpack.conf"], args=EXTRA)
    check(ans.rc == 2 and ans.records == [] and ans.lines() == [
        "kunpack-boot: %s: invalid command line: --config=/nonexistent/kunpack.conf: no such file; the start fails"
        % missing], "missing config file named by --config: exit 2, one line, no answer (%s, %s)"
        % (ans.rc, ans.lines()))
    rig = boottest.Rig(work, "unreadable")
    ans = rig.start(missing, args=EXTRA)
    boottest.check_fallback("unreadable disk", ans, EXTRA, missing, r"cannot open disk .*No such file or directory")
    rig_fail = boottest.Rig(work, "unreadable-fail", conf_extra={"on_failure": "fail"})
    ans = rig_fail.start(missing, args=EXTRA)
    boottest.check_failed("unreadable disk, on_failure=fail", ans, missing, r"No such file or directory")
    ans = rig_fail.start("/dev/null", args=EXTRA)
    boottest.check_failed("/dev/null as the disk, on_failure=fail", ans, "/dev/null",
                          r"neither a regular file nor a block device")

    # /var full: libxl's directory and the cache on a tmpfs with 64 KiB left, pvgrub on another filesystem.
    full_var(work, missing)

    # kunpackd's socket served by something else: nothing it says is used, kunpack-boot does the work.
    not_kunpackd(work)

    # The cache on a full filesystem: the ELF (66 MB) does not fit in 32 MiB, far below the default
    # cache_min_free: refused before the download. (on_failure=fail is shown on the faults that need no
    # appliance launch.)
    rig = boottest.Rig(work, "full")
    os.makedirs(rig.cache, mode=0o700)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m,mode=0700", "tmpfs", rig.cache]).returncode != 0:
        print("cannot mount a tmpfs here: full-cache case not run")
    else:
        try:
            ans = rig.start(src, args=EXTRA)
            boottest.check_fallback("cache on a full tmpfs", ans, EXTRA, src,
                                    r"needs \d+ bytes in the cache, whose filesystem has 0 above cache_min_free; "
                                    r"nothing downloaded")
            left = [n for d in ("kernels", "initrds") for n in os.listdir(os.path.join(rig.cache, d))]
            check(left == [], "cache on a full tmpfs: left as it was (found %s)" % left)
            check(rig.counter.launches() == 1, "cache on a full tmpfs: one launch")
        finally:
            subprocess.run(["umount", "-l", rig.cache])

    # An appliance that never answers: the deadline fires, everything of the scan dies.
    hv, hung_log = fake_hanging_qemu(work)
    for policy in ("pvgrub", "fail"):
        rig = boottest.Rig(work, "hung-" + policy, conf_extra={"on_failure": policy, "boot_timeout": HANG_TIMEOUT},
                           hv=hv)
        if os.path.exists(hung_log):
            os.unlink(hung_log)
        ans = rig.start(src, args=EXTRA)
        what = "hung appliance (%s)" % policy
        if policy == "pvgrub":
            boottest.check_fallback(what, ans, EXTRA, src, r"(?i)time|deadline")
        else:
            boottest.check_failed(what, ans, src, r"(?i)time|deadline")
        check(ans.seconds <= HANG_TIMEOUT + 2, "%s: answered in %.1f s (boot_timeout %d s)" % (
            what, ans.seconds, HANG_TIMEOUT))
        pids = [int(p) for p in open(hung_log).read().split()] if os.path.exists(hung_log) else []
        check(pids != [], "%s: the hanging qemu was started (%s)" % (what, pids))
        time.sleep(0.5)
        check(all(process_gone(p) for p in pids), "%s: no qemu left behind (%s)" % (what, pids))

    # 16 starts of the same guest at once (xendomains starting everything, say).
    rig = boottest.Rig(work, "concurrent")
    disk = boottest.copy_image(src, os.path.join(work, "concurrent.img"))
    answers = [None] * 16

    def one(i):
        answers[i] = rig.start(disk, args=EXTRA)
    t0 = time.monotonic()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("16 concurrent cold starts: %.1f s" % (time.monotonic() - t0))
    good = 0
    for i, ans in enumerate(answers):
        ok = (ans is not None and ans.rc == 0 and ans.kernel_sha256 == vmlinux and ans.ramdisk_sha256 == initrd
              and ans.args == args and ans.count("kernel") == 1 and ans.count("ramdisk") == 1)
        good += ok
        if not ok:
            print("start %d: %s" % (i, ans.lines() if ans else None), file=sys.stderr)
    check(good == 16, "16 concurrent starts: 16 right answers (%d)" % good)
    check(rig.counter.launches() == 1, "16 concurrent starts: one appliance launch (%d)" % rig.counter.launches())
    check(rig.fetched() == 2, "16 concurrent starts: kernel and initrd downloaded once, one decompression (%d)"
          % rig.fetched())
    outs = set(a.kernel for a in answers if a)
    check(len(outs) == 16, "16 concurrent starts: 16 distinct files handed over (libxl unlinks each)")

    # The hot path with --args holding a newline: the guest's own command line alone, one line saying so.
    rig.reset_counts()
    ans = rig.start(disk, args=EXTRA + "\nramdisk /etc/shadow")
    boottest.check_answer("--args with a newline, hot path", ans, vmlinux, initrd, lz4["expect"]["cmdline"])
    check(rig.scans() == [] and "--args contains a control character" in ans.lines()[0],
          "--args with a newline, hot path: no scan, one line saying they are dropped (%s)" % ans.lines())

    # The cache is warm now: a flipped byte in the middle of the cached kernel, then a truncated record.
    elf = [os.path.join(rig.cache, "kernels", n) for n in os.listdir(os.path.join(rig.cache, "kernels"))
           if n.endswith(".elf")]
    check(len(elf) == 1, "damage: one kernel in the cache (%s)" % elf)
    with open(elf[0], "r+b") as f:
        f.seek(32 * 1024 * 1024)
        b = f.read(1)
        f.seek(32 * 1024 * 1024)
        f.write(bytes([b[0] ^ 0x01]))
    rig.reset_counts()
    ans = rig.start(disk, args=EXTRA)
    boottest.check_answer("flipped byte in the cached kernel: served after re-fetch", ans, vmlinux, initrd, args)
    lines = boottest.policy_lines(ans)
    check(len(lines) == 2 and "was modified after it was stored" in lines[0] and disk in lines[0]
          and "rescanning" in lines[0], "flipped byte: one warning naming the disk and the damage (%s)" % lines)
    check(rig.counter.launches() == 1, "flipped byte: one launch to fetch it again")
    check(guesttest.sha256(elf[0]) == vmlinux, "flipped byte: the cache holds the right kernel again")

    records = [os.path.join(rig.state, "disks", n) for n in os.listdir(os.path.join(rig.state, "disks"))]
    check(len(records) == 1, "damage: one state record (%s)" % records)
    os.truncate(records[0], os.path.getsize(records[0]) // 2)
    rig.reset_counts()
    ans = rig.start(disk, args=EXTRA)
    boottest.check_answer("truncated state record: rescanned", ans, vmlinux, initrd, args)
    lines = boottest.policy_lines(ans)
    check(len(lines) == 2 and "damaged and was removed" in lines[0] and disk in lines[0],
          "truncated state: one warning naming the disk (%s)" % lines)
    check(rig.counter.launches() == 1 and rig.fetched() == 0,
          "truncated state: one launch, nothing downloaded again (cached)")

    # kill -9 while kunpack-scan writes the kernel into the cache.
    rig = boottest.Rig(work, "kill9")
    found = []
    ans = rig.start(src, args=EXTRA, pre=lambda pid: threading.Thread(
        target=kill_mid_cache_write, args=(rig, found), daemon=True).start())
    check(found != [], "kill -9: caught kunpack-scan writing the kernel into the cache (%s)" % (
        "%s, %d bytes written" % found[0][1:] if found else "never seen"))
    boottest.check_fallback("kill -9 mid cache write", ans, EXTRA, src, r"kunpack-scan exited with status 137|killed")
    elfs = [n for n in os.listdir(os.path.join(rig.cache, "kernels")) if n.endswith(".elf")]
    check(elfs == [], "kill -9: no kernel in the cache, half-written or not (%s)" % elfs)
    rig.reset_counts()
    ans = rig.start(src, args=EXTRA)
    boottest.check_answer("kill -9: the next start", ans, vmlinux, initrd, args)
    check(rig.counter.launches() == 1, "kill -9: the next start scans once")

    guesttest.finish()
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
