# SPDX-License-Identifier: LGPL-2.1-or-later
"""The emulated Xen host: Debian's Xen 4.17 and dom0 under QEMU (TCG).

Facts this relies on (measured on the CI machines, issue 7):

- Xen boots as a multiboot kernel: QEMU's -kernel takes the gunzipped
  /boot/xen-4.17-amd64.gz (a 32-bit ELF), and -initrd "KERNEL ARGS,INITRD"
  passes dom0's kernel and initramfs as multiboot modules. QEMU splits
  -initrd on commas, so dom0's arguments must not contain any.
- Software emulation only: /dev/kvm here is not hardware virtualisation
  (Xen stalls with -enable-kvm), and under TCG `-cpu max` crashes dom0
  while `-cpu qemu64` works.
- Dom0 runs the build machine's own root over virtio-9p (readonly,
  multidevs=remap) under a tmpfs overlay (dom0/init), so xl and the
  freshly built kunpack run there as installed; it is ready 10-13 s after
  QEMU starts with 2048 MiB for dom0 out of QEMU's 3072 MiB.
"""

import gzip
import lzma
import os
import re
import shutil
import stat
import subprocess
import threading
import time

from grubcfg import version_key
from guests import cpio_entry

XEN_GZ = "/boot/xen-4.17-amd64.gz"
QEMU = "qemu-system-x86_64"
BUSYBOX = "/bin/busybox"
# dom0's RAM, and QEMU's: the rest is what guests get (one at a time).
DOM0_MEM_MIB = 2048
QEMU_MEM_MIB = 3072
# Enough for the 9p root and the overlay; more cores only add contention
# on the 2-core CI machines.
QEMU_SMP = 2
# Modules dom0's initramfs loads before it can mount its root; their
# dependencies (virtio, virtio_ring, 9pnet, netfs, fscache) follow from
# modules.dep.
INITRAMFS_MODULES = ["virtio_pci", "9pnet_virtio", "9p", "overlay"]
# From QEMU's start to the driver's first line: measured 10-13 s on an
# idle machine; this allows for a busy one.
DOM0_READY_TIMEOUT = 180
# After the driver's last line, dom0 powers off; Xen may halt rather than
# exit, so QEMU is stopped after this grace period.
SHUTDOWN_GRACE = 15

MARK = "KP-E2E-DOM0: "
MARK_FAILED = "KP-E2E-DOM0-FAILED: "


def dom0_kernel():
    """Debian's newest kernel that has its modules installed (dom0's)."""
    found = []
    for name in os.listdir("/boot"):
        if name.startswith("vmlinuz-"):
            release = name[len("vmlinuz-"):]
            if os.path.isdir("/lib/modules/" + release):
                found.append(release)
    if not found:
        raise RuntimeError("no /boot/vmlinuz-* with /lib/modules: install linux-image-amd64")
    release = sorted(found, key=version_key)[-1]
    return release, "/boot/vmlinuz-" + release


def xen_elf(cache_dir):
    """Xen as QEMU's multiboot loader wants it: gunzipped, kept per build dir."""
    st = os.stat(XEN_GZ)
    path = os.path.join(cache_dir, "xen-%d-%d" % (st.st_size, st.st_mtime_ns))
    if not os.path.exists(path):
        os.makedirs(cache_dir, exist_ok=True)
        with gzip.open(XEN_GZ, "rb") as src, open(path + ".tmp", "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.replace(path + ".tmp", path)
    return path


def _module_order(release, names):
    moddir = "/lib/modules/" + release
    deps = {}
    with open(os.path.join(moddir, "modules.dep")) as f:
        for line in f:
            path, _, rest = line.partition(":")
            deps[path] = rest.split()
    by_name = {}
    for path in deps:
        base = os.path.basename(path).split(".ko")[0].replace("-", "_")
        by_name[base] = path
    order = []

    def visit(path):
        if path in order:
            return
        for dep in deps[path]:
            visit(dep)
        order.append(path)

    for name in names:
        if name not in by_name:
            raise RuntimeError("module %s not in %s/modules.dep" % (name, moddir))
        visit(by_name[name])
    return [os.path.join(moddir, p) for p in order]


def _module_bytes(path):
    data = open(path, "rb").read()
    if path.endswith(".xz"):
        return lzma.decompress(data)
    if path.endswith(".zst"):
        return subprocess.run(["zstd", "-dc", path], stdout=subprocess.PIPE, check=True).stdout
    return data


def build_dom0_initramfs(path, release, e2e_dir, run_dir):
    """dom0's initramfs: busybox, the 9p/overlay modules, dom0/init."""
    import io
    buf = io.BytesIO()
    for d in ("bin", "dev", "modules"):
        cpio_entry(buf, d, stat.S_IFDIR | 0o755)
    cpio_entry(buf, "dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
    cpio_entry(buf, "bin/busybox", stat.S_IFREG | 0o755, open(BUSYBOX, "rb").read())
    cpio_entry(buf, "bin/sh", stat.S_IFLNK | 0o777, b"busybox")
    cpio_entry(buf, "init", stat.S_IFREG | 0o755, open(os.path.join(e2e_dir, "dom0", "init"), "rb").read())
    names = []
    for mod in _module_order(release, INITRAMFS_MODULES):
        name = os.path.basename(mod).split(".ko")[0] + ".ko"
        cpio_entry(buf, "modules/" + name, stat.S_IFREG | 0o644, _module_bytes(mod))
        names.append(name)
    cpio_entry(buf, "modules.list", stat.S_IFREG | 0o644, ("\n".join(names) + "\n").encode())
    env = "KP_E2E_DIR='%s'\nKP_RUN_DIR='%s'\n" % (e2e_dir, run_dir)
    cpio_entry(buf, "kp-e2e.env", stat.S_IFREG | 0o644, env.encode())
    cpio_entry(buf, "TRAILER!!!", 0)
    with open(path, "wb") as f:
        f.write(gzip.compress(buf.getvalue(), 6, mtime=0))


def qemu_command(xen, kernel, initramfs, run_dir):
    for p in (kernel, initramfs, run_dir):
        if "," in p or " " in p:
            raise RuntimeError("QEMU's -initrd/-virtfs cannot take a path with a comma or space: %s" % p)
    xen_args = ("console=com1 com1=115200,8n1 loglvl=all guest_loglvl=all "
                "dom0_mem=%dM,max:%dM noreboot" % (DOM0_MEM_MIB, DOM0_MEM_MIB))
    dom0_args = "console=hvc0 earlyprintk=xen loglevel=5"
    return [
        QEMU, "-accel", "tcg,thread=multi", "-cpu", "qemu64", "-smp", str(QEMU_SMP),
        "-m", str(QEMU_MEM_MIB), "-machine", "q35", "-nographic", "-no-reboot",
        "-monitor", "none", "-serial", "stdio", "-net", "none",
        "-kernel", xen, "-append", xen_args,
        "-initrd", "%s %s,%s" % (kernel, dom0_args, initramfs),
        "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
        "-virtfs", "local,path=%s,mount_tag=kprun,security_model=none,multidevs=remap" % run_dir,
    ]


class Machine:
    """One QEMU run; the serial console is kept in serial_log."""

    def __init__(self, cmd, serial_log, progress):
        self.cmd = cmd
        self.serial_log = serial_log
        self.progress = progress  # called with each dom0 driver line
        self.lines = []
        self.ready_at = None
        self.done_at = None
        self.failed = None
        self._lock = threading.Lock()

    def _reader(self, stream, log):
        pending = b""
        while True:
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                break
            log.write(chunk)
            log.flush()
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for raw in complete:
                line = raw.decode(errors="replace").rstrip("\r")
                self._line(line)
        if pending:
            self._line(pending.decode(errors="replace"))

    def _line(self, line):
        now = time.monotonic()
        with self._lock:
            self.lines.append(line)
            if MARK_FAILED in line and self.failed is None:
                self.failed = line[line.index(MARK_FAILED) + len(MARK_FAILED):]
            elif MARK in line:
                text = line[line.index(MARK) + len(MARK):]
                if text.startswith("READY") and self.ready_at is None:
                    self.ready_at = now
                if text.startswith("DONE"):
                    self.done_at = now
                self.progress(text)

    def run(self, deadline, on_poll):
        """Runs QEMU until dom0 is done, fails or the deadline passes.

        on_poll() is called about every 0.2 s (host requests). Returns a
        short reason when the run did not complete, else None.
        """
        t0 = time.monotonic()
        self.started = t0
        with open(self.serial_log, "wb") as log:
            proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT)
            reader = threading.Thread(target=self._reader, args=(proc.stdout, log), daemon=True)
            reader.start()
            reason = None
            try:
                while proc.poll() is None:
                    now = time.monotonic()
                    if self.failed is not None:
                        reason = "dom0 failed: " + self.failed
                        break
                    if self.done_at is not None and now - self.done_at > SHUTDOWN_GRACE:
                        break
                    if self.ready_at is None and now - t0 > DOM0_READY_TIMEOUT:
                        reason = "dom0 not ready within %d s" % DOM0_READY_TIMEOUT
                        break
                    if now > deadline:
                        reason = "whole-run timeout"
                        break
                    on_poll()
                    time.sleep(0.2)
                if proc.poll() is None:
                    if self.done_at is not None or reason is not None:
                        # Give a powering-off dom0 a moment to flush its last lines.
                        time.sleep(1)
                    proc.kill()
                proc.wait()
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                reader.join(timeout=5)
            if reason is None and self.done_at is None:
                reason = "QEMU exited (%d) before dom0 was done" % proc.returncode
        self.elapsed = time.monotonic() - t0
        return reason

    def tail(self, n=60, pattern=None):
        with self._lock:
            lines = [l for l in self.lines if pattern is None or re.search(pattern, l)]
        return lines[-n:]
