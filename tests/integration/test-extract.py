#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""kunpackctl extract, as an admin or a script runs it, on the real fixture kernels.

Usage: test-extract.py KUNPACKCTL   (with $KP_FIXTURES set)

Checks exit codes, that failures print exactly one line on stderr and leave
no file, that success is silent, that --check and --json report the truth,
that a pipe works as input, and that a run killed with SIGKILL in the middle
of writing leaves neither the output nor any temporary file.
"""

import hashlib
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

FORMATS = ["gzip", "bzip2", "lzma", "xz", "lzo", "lz4", "zstd"]
PVGRUB_LOADS = {"gzip", "xz", "lzo", "elf"}

failures = 0


def check(cond, what):
    global failures
    if cond:
        print("ok:", what)
    else:
        failures += 1
        print("FAIL:", what, file=sys.stderr)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run(*args, stdin=None):
    return subprocess.run([CTL, *args], stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def one_line(stderr):
    return stderr.count("\n") == 1 and stderr.endswith("\n")


def strip_xen_notes(src, dst):
    """Copies an ELF64, renaming its "Xen" notes so that no Xen loader would see them."""
    with open(src, "rb") as f:
        data = bytearray(f.read())
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if p_type == 4:  # PT_NOTE
            seg = bytes(data[p_offset:p_offset + p_filesz]).replace(b"Xen\0", b"Xem\0")
            data[p_offset:p_offset + p_filesz] = seg
    with open(dst, "wb") as f:
        f.write(data)


def test_check(fixtures, ref):
    for fmt in FORMATS:
        kernel = os.path.join(fixtures, "bzImage-" + fmt)
        r = run("extract", "--check", kernel)
        check(r.returncode == 0 and r.stderr == "", "%s: --check exits 0 quietly on stderr" % fmt)
        can = fmt in PVGRUB_LOADS
        check(("format:         %s%s\n" % (fmt, "" if can else " (pvgrub cannot load it)")) in r.stdout,
              "%s: --check names the format and what pvgrub makes of it" % fmt)

        r = run("extract", "--check", "--json", kernel)
        doc = json.loads(r.stdout)
        check(doc["format"] == fmt and doc["pvgrub_can_load"] == can, "%s: JSON format" % fmt)
        check(doc["output_sha256"] == ref and doc["output_size"] == os.path.getsize(os.path.join(fixtures, "vmlinux")),
              "%s: JSON output sha256 and size are the reference's" % fmt)
        check(doc["boot_protocol"] == "2.15" and doc["input_size"] == os.path.getsize(kernel),
              "%s: JSON boot protocol and input size" % fmt)
        check(doc["elf"] == {"class": 64, "machine": "x86-64", "entry": "0x1000000", "xen_guest_section": False},
              "%s: JSON ELF header" % fmt)
        notes = {n["name"]: n["value"] for n in doc["xen_notes"]}
        check(notes.get("LOADER") == "generic" and notes.get("ENTRY") == "0xffffffff830791c0",
              "%s: JSON Xen notes" % fmt)


def test_extract(fixtures, ref, work):
    out = os.path.join(work, "vmlinux")
    for fmt in ["lz4", "zstd"]:
        r = run("extract", os.path.join(fixtures, "bzImage-" + fmt), "-o", out)
        check(r.returncode == 0 and r.stdout == "" and r.stderr == "", "%s: extract is silent on success" % fmt)
        check(sha256(out) == ref, "%s: extracted ELF is the reference" % fmt)
        check(os.stat(out).st_mode & 0o7777 == 0o644, "%s: output mode 0644" % fmt)
        os.unlink(out)

    r = run("extract", "-v", os.path.join(fixtures, "bzImage-xz"), "-o", out)
    check(r.returncode == 0 and r.stdout.count("\n") == 1 and "xz payload, 65906612 bytes of ELF written to" in r.stdout,
          "-v says one line of what was done")
    os.unlink(out)

    # A pipe as input: the library reads strictly front to back.
    with open(os.path.join(fixtures, "bzImage-zstd"), "rb") as f:
        cat = subprocess.Popen(["cat"], stdin=f, stdout=subprocess.PIPE)
        r = run("extract", "/dev/stdin", "-o", out, stdin=cat.stdout)
        cat.stdout.close()
        cat.wait()
    check(r.returncode == 0 and sha256(out) == ref, "extract reads a kernel from a pipe")
    os.unlink(out)

    # A plain ELF passes through.
    r = run("extract", os.path.join(fixtures, "vmlinux"), "-o", out)
    check(r.returncode == 0 and sha256(out) == ref, "a plain vmlinux passes through")


def test_failures(fixtures, work):
    out = os.path.join(work, "vmlinux")
    with open(out, "wb") as f:
        f.write(b"previous contents\n")

    notakernel = os.path.join(work, "notakernel")
    with open(notakernel, "wb") as f:
        f.write(b"\0" * 4096)
    r = run("extract", notakernel, "-o", out)
    check(r.returncode == 1, "not a kernel: exit 1")
    check(r.stderr == "kunpackctl: %s: not an x86 kernel image: no boot flag 0xAA55 at offset 0x1FE\n" % notakernel,
          "not a kernel: one line naming the kernel and the reason")
    check(open(out, "rb").read() == b"previous contents\n", "a failed extract leaves the old output untouched")
    os.unlink(notakernel)

    kernel = os.path.join(fixtures, "bzImage-lz4")
    r = run("extract", "--max-output=1000000", kernel, "-o", out)
    claim = os.path.getsize(os.path.join(fixtures, "vmlinux"))
    check(r.returncode == 1 and r.stderr == "kunpackctl: %s: its payload claims %d bytes of ELF, more than the "
          "output limit of 1000000 bytes; nothing written\n" % (kernel, claim),
          "--max-output lowers the cap, and says so before anything is written")
    check(open(out, "rb").read() == b"previous contents\n", "over the cap: old output untouched")
    os.unlink(out)

    plain = os.path.join(work, "plain-vmlinux")
    strip_xen_notes(os.path.join(fixtures, "vmlinux"), plain)
    r = run("extract", "--check", plain)
    check(r.returncode == 1 and r.stderr == "kunpackctl: %s: not a Xen PV kernel: no Xen ELF notes\n" % plain,
          "an ELF without Xen notes is refused")
    r = run("extract", "--check", "--no-xen-check", plain)
    check(r.returncode == 0 and "Xen notes:\n  (none)\n" in r.stdout, "--no-xen-check accepts it")
    os.unlink(plain)

    r = run("extract", os.path.join(work, "missing"), "-o", out)
    check(r.returncode == 1 and one_line(r.stderr) and "No such file or directory" in r.stderr,
          "a missing kernel: exit 1, one line")

    for args in [[], ["extract"], ["extract", kernel], ["extract", "--check", kernel, "-o", out],
                 ["extract", "--json", kernel, "-o", out], ["extract", "--max-output=0", "--check", kernel],
                 ["extract", "--max-output=2000000000", "--check", kernel], ["extract", "--bogus", kernel]]:
        r = run(*args)
        check(r.returncode == 2 and one_line(r.stderr), "usage error %s: exit 2, one line" % args)
    check(os.listdir(work) == [], "failures left no file behind")


def make_bomb(fixtures, path, total):
    """A bzImage of about 13 MB whose zstd payload decompresses to total bytes: the reference ELF and zeros
    after it (a real kernel's header, payload_length and size trailer as the build writes them). Returns the
    sha256 of what it decompresses to."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures"))
    import mkkernels  # noqa: E402
    data = open(os.path.join(fixtures, "bzImage-zstd"), "rb").read()
    base, offset, length = mkkernels.parse_bzimage(data)
    elf = open(os.path.join(fixtures, "vmlinux"), "rb").read()
    h = hashlib.sha256(elf)
    p = subprocess.Popen(["zstd", "-3", "-q", "-c", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    chunk = bytes(1 << 20)

    def feed():
        p.stdin.write(elf)
        left = total - len(elf)
        while left > 0:
            p.stdin.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)
        p.stdin.close()

    import threading
    t = threading.Thread(target=feed)
    t.start()
    payload = p.stdout.read()
    t.join()
    p.wait()
    left = total - len(elf)
    while left > 0:
        h.update(chunk[: min(left, len(chunk))])
        left -= len(chunk)
    with open(path, "wb") as f:
        f.write(mkkernels.splice(data, base, offset, length, payload + struct.pack("<I", total)))
    return h.hexdigest()


def test_bomb(fixtures, work):
    """The policy for a small kernel that decompresses to a lot (docs/design.md, "Limits"): its payload's
    claim is read first; over the output limit, or more than the output's filesystem has free, it is refused
    before a byte is written; within both it is extracted, whatever the ratio."""
    total = 1000 * 1024 * 1024
    bomb = os.path.join(work, "bomb-bzImage")
    sha = make_bomb(fixtures, bomb, total)
    size = os.path.getsize(bomb)
    check(size < 16 * 1000 * 1000, "a %d-byte bzImage that decompresses to 1000 MiB" % size)

    r = run("extract", "--max-output=%d" % (100 << 20), "--check", bomb)
    check(r.returncode == 1 and r.stderr == "kunpackctl: %s: its payload claims %d bytes of ELF, more than the "
          "output limit of 104857600 bytes; nothing written\n" % (bomb, total),
          "1000 MiB over --max-output=100M: refused by its claim (%s)" % r.stderr.strip())

    small = os.path.join(work, "small")
    os.mkdir(small)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", small]).returncode == 0:
        try:
            before = os.statvfs(small)
            r = run("extract", bomb, "-o", os.path.join(small, "vmlinux"))
            free = before.f_bavail * before.f_frsize
            check(r.returncode == 1 and r.stderr == "kunpackctl: %s: its payload claims %d bytes of ELF, and %s has "
                  "%d bytes free; nothing written\n" % (bomb, total, small, free),
                  "1000 MiB into 256 MiB: refused before a byte is written (%s)" % r.stderr.strip())
            after = os.statvfs(small)
            check(os.listdir(small) == [] and after.f_bfree == before.f_bfree,
                  "1000 MiB into 256 MiB: nothing written (%d blocks used)" % (before.f_bfree - after.f_bfree))
        finally:
            subprocess.run(["umount", "-l", small])
    else:
        print("no tmpfs here (not root?): the full-filesystem case is not run")
    os.rmdir(small)

    out = os.path.join(work, "vmlinux-bomb")
    t0 = time.monotonic()
    r = run("extract", bomb, "-o", out)
    check(r.returncode == 0 and os.path.getsize(out) == total and sha256(out) == sha,
          "1000 MiB within the 1 GiB limit and with room: extracted, all of it (%.1f s; %s)" %
          (time.monotonic() - t0, r.stderr.strip()))
    os.unlink(out)
    os.unlink(bomb)
    check(os.listdir(work) == [], "the 1000 MiB cases left no file behind: %s" % os.listdir(work))


def fds_of(pid):
    try:
        return [os.path.join("/proc", str(pid), "fd", fd) for fd in os.listdir("/proc/%d/fd" % pid)]
    except FileNotFoundError:
        return []


def test_sigkill(fixtures, work):
    """Kill extract while it writes; neither the output nor a temporary may remain."""
    out = os.path.join(work, "killed")
    # bzip2 is the slowest format to decode: the kill lands mid-write.
    p = subprocess.Popen([CTL, "extract", os.path.join(fixtures, "bzImage-bzip2"), "-o", out])
    writing = None
    deadline = time.monotonic() + 30
    while writing is None and time.monotonic() < deadline and p.poll() is None:
        for fd in fds_of(p.pid):
            try:
                target = os.readlink(fd)
                # The unnamed O_TMPFILE in the target directory, once it holds some of the kernel.
                if target.startswith(work + "/") and os.stat(fd).st_size >= 4 << 20:
                    writing = target
            except OSError:
                pass
        time.sleep(0.002)
    check(writing is not None, "caught extract writing its temporary (%s)" % writing)
    p.send_signal(signal.SIGKILL)
    p.wait()
    check(p.returncode == -signal.SIGKILL, "extract died of SIGKILL")
    check(os.listdir(work) == [], "nothing left after SIGKILL: %s" % os.listdir(work))


def main():
    global CTL
    CTL = sys.argv[1]
    fixtures = os.environ.get("KP_FIXTURES")
    if not fixtures or not os.path.exists(os.path.join(fixtures, "SHA256SUMS")):
        print("KP_FIXTURES not set or not built: skipping")
        return 77
    ref = sha256(os.path.join(fixtures, "vmlinux"))

    work = tempfile.mkdtemp(prefix="kp-test-extract-", dir="/var/tmp")
    try:
        test_check(fixtures, ref)
        test_extract(fixtures, ref, work)
        os.unlink(os.path.join(work, "vmlinux"))
        test_failures(fixtures, work)
        test_sigkill(fixtures, work)
        test_bomb(fixtures, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
