# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the kunpack-boot integration tests share: running kunpack-boot
exactly as libxl does, reading its answer exactly as libxl does, and a
scratch installation whose cold path can be watched.

libxl (tools/libs/light/libxl_bootloader.c, Xen 4.17-4.19):
  - creates the output directory (mode 0600) and an empty output file;
  - runs the bootloader with a pty as stdin/stdout/stderr (login_tty),
    TERM=vt100 added to its environment, and the arguments in this order:
    --kernel= --ramdisk= --args= (when set), --runas=UID --quiet
    (restricted mode), --output=, --output-format=simple0,
    --output-directory=, the guest's bootloader_args, the disk;
  - parse_bootloader_result(): reads NUL-terminated items of at most
    2*PATH_MAX-1 bytes (longer ones are skipped), takes "kernel", "ramdisk"
    and "args" followed by whitespace (the value starts after the
    whitespace), mmaps the kernel and ramdisk files and unlinks them, and
    warns about anything else.

A Rig is one installation: a bin directory holding a copy of kunpack-boot
and, next to it, a kunpack-scan wrapper that logs each run (and its JSON
summary) before running the real one, so a test can tell a hot path from a
cold one without trusting kunpack's own word; its own cache, state and
config; and the appliance launches counted through LIBGUESTFS_HV
(guesttest.Counter).
"""

import errno
import hashlib
import json
import mmap
import os
import pty
import re
import select
import shutil
import signal
import stat
import subprocess
import sys
import termios
import threading
import time
import tty

import guesttest

PYGRUB = "/usr/lib/xen-4.17/bin/pygrub"
READNOTES = "/usr/lib/xen-4.17/bin/readnotes"
PVGRUB = "/usr/lib/grub-xen/grub-x86_64-xen.bin"
# libxl's parse_bootloader_result(): char buf[PATH_MAX*2], items of l >= sizeof(buf) are skipped.
LIBXL_ITEM_MAX = 2 * 4096 - 1


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


class Answer:
    """What libxl got from one bootloader run."""

    def __init__(self):
        self.rc = None
        self.console = ""          # everything the bootloader wrote on its pty
        self.seconds = 0.0
        self.records = []          # (key, value) as libxl parsed them, in order
        self.unexpected = []       # items libxl would warn about
        self.skipped = 0           # items over libxl's buffer
        self.kernel = None         # path named
        self.ramdisk = None
        self.args = None
        self.kernel_sha256 = None  # of the bytes libxl mapped
        self.kernel_size = None
        self.ramdisk_sha256 = None
        self.readnotes = None      # readnotes' verdict on the mapped kernel: (rc, output)
        self.outdir = None
        self.leftover = []         # files left in the output directory after libxl unlinked its two

    def lines(self):
        """The bootloader's lines on the console, without the pty's carriage returns."""
        return [line for line in self.console.replace("\r", "").split("\n") if line.strip()]

    def count(self, key):
        return sum(1 for k, _ in self.records if k == key)


def _map_and_unlink(path, answer, what):
    """As libxl: libxl__file_reference_map() then unlink(); returns (sha256, size), readnotes for the kernel."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        size = os.fstat(fd).st_size
        with mmap.mmap(fd, size, prot=mmap.PROT_READ) if size else open(os.devnull, "rb") as m:
            data = m[:] if size else b""
        os.unlink(path)
        if what == "kernel":
            # Xen's own tool, on the very inode libxl mapped (it is unlinked now: through the fd).
            r = subprocess.run([READNOTES, "/dev/fd/%d" % fd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, pass_fds=(fd,))
            answer.readnotes = (r.returncode, r.stdout)
        return sha256_bytes(data), size
    finally:
        os.close(fd)


def parse_output(path, answer):
    """libxl's parse_bootloader_result() on the output file."""
    with open(path, "rb") as f:
        data = f.read()
    items = data.split(b"\0")
    if items and items[-1] == b"":
        items.pop()
    for item in items:
        if len(item) > LIBXL_ITEM_MAX:
            answer.skipped += 1
            continue
        text = item.decode("utf-8", errors="surrogateescape")
        matched = False
        for key in ("kernel", "ramdisk", "args"):
            if text.startswith(key) and len(text) > len(key) and text[len(key)].isspace():
                value = text[len(key):].lstrip()
                answer.records.append((key, value))
                matched = True
                if key == "kernel":
                    answer.kernel = value
                    answer.kernel_sha256, answer.kernel_size = _map_and_unlink(value, answer, "kernel")
                elif key == "ramdisk":
                    answer.ramdisk = value
                    answer.ramdisk_sha256, _ = _map_and_unlink(value, answer, "ramdisk")
                else:
                    answer.args = value
                break
        if not matched and text:
            answer.unexpected.append(text)


_domid = [0]
_domid_lock = threading.Lock()


def run_like_libxl(boot, disk, workdir, bootloader_args=(), kernel=None, ramdisk=None, args=None, runas=None,
                   env=None, timeout=150, pre=None):
    """Runs the bootloader as libxl does and reads its answer as libxl does.

    pre: a callable given the child's pid once it runs (to interfere with it)."""
    with _domid_lock:
        _domid[0] += 1
        domid = _domid[0]
    outdir = os.path.join(workdir, "bootloader.%d.d" % domid)
    output = os.path.join(workdir, "bootloader.%d.out" % domid)
    os.mkdir(outdir, 0o600)
    os.close(os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))

    argv = [boot]
    if kernel:
        argv.append("--kernel=" + kernel)
    if ramdisk:
        argv.append("--ramdisk=" + ramdisk)
    if args:
        argv.append("--args=" + args)
    if runas is not None:
        argv += ["--runas=%d" % runas, "--quiet"]
    argv += ["--output=" + output, "--output-format=simple0", "--output-directory=" + outdir]
    argv += list(bootloader_args)
    argv.append(disk)

    environ = dict(env or os.environ)
    environ["TERM"] = "vt100"
    answer = Answer()
    answer.outdir = outdir
    t0 = time.monotonic()
    pid, master = pty.fork()  # the child: new session, the pty as controlling terminal and stdio (login_tty)
    if pid == 0:
        try:
            os.execve(argv[0], argv, environ)
        finally:
            os._exit(127)
    # libxl sets its side raw.
    try:
        tty.setraw(master, termios.TCSANOW)
    except termios.error:
        pass
    if pre:
        pre(pid)
    out = bytearray()
    status = None
    deadline = t0 + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise RuntimeError("%s did not finish within %d s" % (boot, timeout))
        r, _, _ = select.select([master], [], [], min(left, 0.5))
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError as e:
                if e.errno != errno.EIO:
                    raise
                chunk = b""
            if chunk:
                out += chunk
                continue
        wpid, st = os.waitpid(pid, os.WNOHANG)
        if wpid == pid:
            status = st
            # What is still buffered on the pty.
            while True:
                r, _, _ = select.select([master], [], [], 0.1)
                if not r:
                    break
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            break
        if not r:
            continue
        # EOF on the pty: every holder of the slave is gone; wait for the exit.
        _, status = os.waitpid(pid, 0)
        break
    os.close(master)
    answer.seconds = time.monotonic() - t0
    answer.rc = os.waitstatus_to_exitcode(status)
    answer.console = out.decode("utf-8", errors="replace")
    if answer.rc == 0:
        parse_output(output, answer)
    answer.leftover = sorted(os.listdir(outdir))
    return answer


class Rig:
    """A scratch kunpack installation (see the module's docstring)."""

    def __init__(self, workdir, name, conf_extra=None, hv=None):
        build = os.environ["KP_BUILD_DIR"]
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir)
        self.bin = os.path.join(self.dir, "bin")
        os.mkdir(self.bin)
        self.boot = os.path.join(self.bin, "kunpack-boot")
        shutil.copy2(os.path.join(build, "tools", "kunpack-boot"), self.boot)
        self.real_scan = os.path.join(build, "tools", "kunpack-scan")
        self.scan_log = os.path.join(self.dir, "scans.log")
        self.summaries = os.path.join(self.dir, "summaries")
        os.mkdir(self.summaries)
        # kunpack-boot runs the kunpack-scan next to it: this one notes the run and keeps its summary.
        wrapper = os.path.join(self.bin, "kunpack-scan")
        with open(wrapper, "w") as f:
            f.write('#!/bin/sh\n'
                    '# Notes each cold path for the test, then runs the real kunpack-scan.\n'
                    'echo "$$ $*" >> %s\n'
                    'out=%s/$$.json\n'
                    '%s "$@" > "$out"\n'
                    'rc=$?\n'
                    'cat "$out"\n'
                    'exit $rc\n' % (self.scan_log, self.summaries, self.real_scan))
        os.chmod(wrapper, 0o755)
        self.cache = os.path.join(self.dir, "cache")
        self.state = os.path.join(self.dir, "state")
        self.config = os.path.join(self.dir, "kunpack.conf")
        # No kunpackd here, whatever runs on the host: kunpack-boot does the work in-process.
        conf = {"cache_dir": self.cache, "state_dir": self.state, "pvgrub_path": PVGRUB,
                "socket_path": os.path.join(self.dir, "no-kunpackd.sock")}
        conf.update(conf_extra or {})
        self.write_config(conf)
        self.counter = guesttest.Counter(self.dir)
        self.hv = hv
        self.domains = os.path.join(self.dir, "xen")  # /var/lib/xen's stand-in
        os.mkdir(self.domains)

    def write_config(self, conf):
        with open(self.config, "w") as f:
            for k, v in conf.items():
                f.write("%s = %s\n" % (k, json.dumps(v) if isinstance(v, str) else v))

    def env(self):
        e = self.counter.env()
        if self.hv:
            e["LIBGUESTFS_HV"] = self.hv
        return e

    def scans(self):
        try:
            with open(self.scan_log) as f:
                return [line for line in f.read().splitlines() if line]
        except FileNotFoundError:
            return []

    def fetched(self):
        """Files downloaded into the cache by all kunpack-scan runs so far (from their summaries)."""
        total = 0
        for name in os.listdir(self.summaries):
            try:
                with open(os.path.join(self.summaries, name)) as f:
                    s = json.load(f)
            except ValueError:
                continue
            total += sum(d.get("fetched", 0) for d in s.get("disks", []))
        return total

    def reset_counts(self):
        self.counter.reset()
        for p in (self.scan_log,):
            if os.path.exists(p):
                os.unlink(p)
        for name in os.listdir(self.summaries):
            os.unlink(os.path.join(self.summaries, name))

    def start(self, disk, bootloader_args=None, **kw):
        """One domain start: kunpack-boot as libxl runs it, with this rig's config."""
        ba = ["--config=" + self.config] if bootloader_args is None else bootloader_args
        return run_like_libxl(self.boot, disk, self.domains, ba, env=kw.pop("env", None) or self.env(), **kw)

    def scan(self, disks, *extra):
        """kunpack-scan (the real one) on disks, as an admin or kunpackd runs it: (rc, summary, stderr)."""
        r = subprocess.run([self.real_scan, "--config=" + self.config, "--json", *extra, *disks],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env(), timeout=600)
        try:
            summary = json.loads(r.stdout)
        except ValueError:
            summary = None
        return r.returncode, summary, r.stderr


def check_answer(what, ans, kernel_sha256, ramdisk_sha256, args):
    """The answer libxl got: exactly these files and this command line, nothing else."""
    check = guesttest.check
    check(ans.rc == 0, "%s: exit 0 (got %s; console: %s)" % (what, ans.rc, ans.lines()))
    check(ans.count("kernel") == 1 and ans.count("ramdisk") == (1 if ramdisk_sha256 else 0) and
          ans.count("args") <= 1 and not ans.unexpected and not ans.skipped,
          "%s: one kernel record%s, at most one args record, nothing else (got %s, unexpected %s)" % (
              what, " and one ramdisk record" if ramdisk_sha256 else "", [k for k, _ in ans.records],
              ans.unexpected))
    check(ans.kernel_sha256 == kernel_sha256, "%s: kernel is byte-identical to the reference (sha256 %s, got %s)" % (
        what, kernel_sha256, ans.kernel_sha256))
    if ramdisk_sha256:
        check(ans.ramdisk_sha256 == ramdisk_sha256, "%s: ramdisk is the guest's initrd (sha256 %s, got %s)" % (
            what, ramdisk_sha256, ans.ramdisk_sha256))
    check(ans.args == args, "%s: args \"%s\" (got \"%s\")" % (what, args, ans.args))
    inside = [p for p in (ans.kernel, ans.ramdisk) if p]
    check(all(os.path.dirname(p) == os.path.realpath(ans.outdir) for p in inside),
          "%s: kernel and ramdisk are inside --output-directory (%s)" % (what, inside))
    check(ans.leftover == [], "%s: nothing else left in the output directory (%s)" % (what, ans.leftover))


def check_readnotes(what, ans):
    rc, out = ans.readnotes or (None, "")
    guesttest.check(rc == 0 and re.search(r"^LOADER: generic$", out, re.M) is not None and "ENTRY" in out,
                    "%s: readnotes accepts the kernel libxl mapped (rc %s, %d lines)" % (what, rc,
                                                                                        len(out.splitlines())))


# A cold start's two info lines (the scan begins, the scan ends): said besides the policy's one line.
COLD_START_LINE = re.compile(r": cold start: |: (scan|pvgrub mode's scan|kunpackd's scan) "
                             r"(done in|ended after) [0-9]+\.[0-9] s")


def policy_lines(ans):
    """What kunpack-boot said, but for a cold start's own two lines."""
    return [line for line in ans.lines() if not COLD_START_LINE.search(line)]


def check_fallback(what, ans, args, disk, reason):
    """The pvgrub answer: pvgrub as the kernel, libxl's --args, and exactly one line naming disk and reason."""
    check = guesttest.check
    check(ans.rc == 0, "%s: exit 0 with the pvgrub answer (got %s: %s)" % (what, ans.rc, ans.lines()))
    check(ans.count("kernel") == 1 and ans.count("ramdisk") == 0 and ans.count("args") == (1 if args else 0)
          and not ans.unexpected,
          "%s: records kernel%s only (got %s)" % (what, " and args" if args else "", [k for k, _ in ans.records]))
    check(ans.kernel_sha256 == guesttest.sha256(PVGRUB), "%s: the kernel is pvgrub (%s)" % (what, PVGRUB))
    check(ans.args == args, "%s: args are libxl's --args only (\"%.200s\", got \"%.200s\")" % (what, args, ans.args))
    lines = policy_lines(ans)
    check(len(lines) == 1 and disk in lines[0] and re.search(reason, lines[0]) is not None and "pvgrub" in lines[0],
          "%s: one log line naming %s and /%s/ (got %s)" % (what, disk, reason, lines))


def check_failed(what, ans, disk, reason):
    """on_failure = "fail": a non-zero exit and one line on stderr (the pty) naming the disk and the reason."""
    check = guesttest.check
    lines = policy_lines(ans)
    check(ans.rc != 0, "%s: exit non-zero (got %s)" % (what, ans.rc))
    check(len(lines) == 1 and disk in lines[0] and re.search(reason, lines[0]) is not None,
          "%s: one line naming %s and /%s/ (got %s)" % (what, disk, reason, lines))


def readelf_needed(path):
    out = subprocess.run(["readelf", "-d", path], stdout=subprocess.PIPE, text=True, check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def copy_image(src, dst):
    """A private copy of a cached image (sparse), for a test that changes it."""
    subprocess.run(["cp", "--sparse=always", src, dst], check=True)
    return dst
