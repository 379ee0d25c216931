# SPDX-License-Identifier: LGPL-2.1-or-later
"""What tests/faults/test-faults.py and tests/soak/soak.py share: a guest whose
filesystem is a host directory behind tests/faults/fake-guestfs.c, a kunpack
installation of its own (cache, state, config), the fault shim
(tests/faults/fail-nth.c), and the checks of what must hold whatever failed:

  cache   every entry that is there is whole: a kernel's ELF has its
          metadata and the sha256 the metadata records, which is the
          reference vmlinux's; an initrd's content has the sha256 it is
          named by; nothing else is in its directories but locks
  state   every record parses and names its disk
  guest   grub.cfg is the original, byte for byte, or the rewrite with the
          original (bytes and metadata) in its backup and the decompressed
          kernel whole beside it; no other file of the guest changed, and
          no temporary file is left
"""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(SOURCE, "tests", "unit", "bootcfg", "data")
NEW, OLD = "5.4.0-42-generic", "5.4.0-26-generic"
CFG = "boot/grub/grub.cfg"
ELF = "boot/vmlinux-" + NEW


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def meta(path):
    st = os.lstat(path)
    return (st.st_mode & 0o7777, st.st_uid, st.st_gid,
            sorted((n, os.getxattr(path, n, follow_symlinks=False)) for n in os.listxattr(path, follow_symlinks=False)))


class Rig:
    """One guest (a template, copied fresh on demand) and one kunpack installation."""

    def __init__(self, work, build, fixtures, name="rig"):
        self.work = os.path.join(work, name)
        os.makedirs(self.work)
        self.build = build
        self.fixtures = fixtures
        self.template = os.path.join(self.work, "template")
        self.guest = os.path.join(self.work, "guest")
        self.disk = os.path.join(self.work, "disk.img")
        self.kp = os.path.join(self.work, "kp")
        self.cache = os.path.join(self.kp, "cache")
        self.state = os.path.join(self.kp, "state")
        self.config = os.path.join(self.work, "kunpack.conf")
        self.out = os.path.join(self.work, "xen")
        self.scan = os.path.join(build, "tools", "kunpack-scan")
        self.boot = os.path.join(build, "tools", "kunpack-boot")
        self.shim = os.path.join(build, "tests", "faults", "libkp-fail-nth.so")
        self.fake = os.path.join(build, "tests", "faults", "fake")
        with open(os.path.join(fixtures, "SHA256SUMS")) as f:
            sums = {line.split()[1]: line.split()[0] for line in f if line.strip()}
        self.vmlinux = sums["vmlinux"]
        self.lz4 = sums["bzImage-lz4"]
        self._make_template()
        self.original = open(os.path.join(self.template, CFG), "rb").read()
        self.original_meta = meta(os.path.join(self.template, CFG))
        self.initrd = sha256_file(os.path.join(self.template, "boot", "initrd.img-" + NEW))
        self.write_config()
        os.makedirs(self.out, exist_ok=True)

    def _make_template(self):
        t = self.template
        shutil.copytree(os.path.join(DATA, "ubuntu-20.04"), t)
        shutil.copy(os.path.join(self.fixtures, "bzImage-lz4"), os.path.join(t, "boot", "vmlinuz-" + NEW))
        shutil.copy(os.path.join(self.fixtures, "bzImage-gzip"), os.path.join(t, "boot", "vmlinuz-" + OLD))
        for i, v in enumerate((NEW, OLD)):
            # Initrds of a few MB with content of their own (repeatable: from their names).
            block = hashlib.sha256(v.encode()).digest() * 32768
            with open(os.path.join(t, "boot", "initrd.img-" + v), "wb") as f:
                f.write(block[: (1 + i) * 1000000])
        cfg = os.path.join(t, CFG)
        # A careful guest's grub.cfg: 0600 (it may hold a password hash), group adm, labelled.
        os.chmod(cfg, 0o600)
        os.chown(cfg, 0, 4)
        os.setxattr(cfg, "user.kunpack-test", b"0600-grub-cfg")
        try:
            os.setxattr(cfg, "security.selinux", b"system_u:object_r:boot_t:s0")
        except OSError:
            pass  # a filesystem without security.* attributes: the user one shows it
        os.chmod(os.path.join(t, "boot", "vmlinuz-" + NEW), 0o600)

    def write_config(self, **extra):
        conf = {"cache_dir": self.cache, "state_dir": self.state, "cache_min_free": "64M",
                "socket_path": os.path.join(self.work, "no-kunpackd.sock"),
                "pvgrub_path": "/usr/lib/grub-xen/grub-x86_64-xen.bin"}
        conf.update(extra)
        with open(self.config, "w") as f:
            for k, v in conf.items():
                f.write("%s = %s\n" % (k, json.dumps(v) if isinstance(v, str) else v))

    def fresh_guest(self, root=None):
        """A guest as the template, in root (default: self.guest), and the disk file naming it."""
        root = root or self.guest
        if os.path.exists(root):
            shutil.rmtree(root)
        shutil.copytree(self.template, root, symlinks=True, copy_function=shutil.copy2)
        # copytree keeps mode and times; owner and attributes are copied here.
        for d, _, files in os.walk(self.template):
            for n in files:
                src = os.path.join(d, n)
                dst = os.path.join(root, os.path.relpath(src, self.template))
                st = os.lstat(src)
                os.chown(dst, st.st_uid, st.st_gid, follow_symlinks=False)
                for x in os.listxattr(src, follow_symlinks=False):
                    os.setxattr(dst, x, os.getxattr(src, x, follow_symlinks=False), follow_symlinks=False)
        with open(self.disk, "w") as f:
            f.write("kunpack-fake-disk\npart ext4 6a1f3f5e-8a2b-4c7d-9e10-2b3c4d5e6f70 - %s\n" % root)
        self.guest_root = root
        return root

    def fresh_store(self):
        if os.path.exists(self.kp):
            shutil.rmtree(self.kp)

    def env(self, fail_nth=None, fail_errno="ENOSPC", under=None, log=None, ops=None):
        e = dict(os.environ)
        e["LD_LIBRARY_PATH"] = self.fake
        for k in ("KP_FAIL_NTH", "KP_FAIL_ERRNO", "KP_FAIL_UNDER", "KP_FAIL_LOG", "KP_FAIL_OPS", "LD_PRELOAD"):
            e.pop(k, None)
        if fail_nth is not None or log:
            e["LD_PRELOAD"] = self.shim
            e["KP_FAIL_NTH"] = str(fail_nth or 0)
            e["KP_FAIL_ERRNO"] = fail_errno
            if under:
                e["KP_FAIL_UNDER"] = under
            if log:
                e["KP_FAIL_LOG"] = log
            if ops:
                e["KP_FAIL_OPS"] = ops
        return e

    def scan_cmd(self, pvgrub=False):
        return [self.scan, "--config=" + self.config, "--json"] + (["--pvgrub"] if pvgrub else []) + [self.disk]

    def run_scan(self, pvgrub=False, env=None, timeout=300):
        return subprocess.run(self.scan_cmd(pvgrub), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env or self.env(), timeout=timeout)

    def revert_cmd(self):
        return [os.path.join(self.build, "tools", "kunpackctl"), "--config=" + self.config, "revert",
                "--disk=" + self.disk]

    # ---- what must hold ------------------------------------------------------------------------------

    def cache_problems(self):
        """Entries that are not whole, and files that should not be there."""
        bad = []
        kernels = os.path.join(self.cache, "kernels")
        initrds = os.path.join(self.cache, "initrds")
        for d in (kernels, initrds):
            if not os.path.isdir(d):
                continue
            for n in os.listdir(d):
                p = os.path.join(d, n)
                if d == kernels and n.endswith(".json") and len(n) == 69:
                    continue  # a description without its ELF is never served (and reaped later)
                if d == kernels and n.endswith(".elf") and len(n) == 68:
                    try:
                        with open(p[:-4] + ".json") as f:
                            m = json.load(f)
                    except (OSError, ValueError) as e:
                        bad.append("%s without readable metadata (%s)" % (n, e))
                        continue
                    got = sha256_file(p)
                    if got != m.get("output_sha256") or got != self.vmlinux or m.get("key") != n[:-4]:
                        bad.append("%s: sha256 %s, metadata says %s" % (n, got, m.get("output_sha256")))
                elif d == initrds and len(n) == 64:
                    if sha256_file(p) != n:
                        bad.append("initrd %s: content does not match its name" % n)
                else:
                    bad.append("unexpected file %s/%s" % (os.path.basename(d), n))
        return bad

    def state_problems(self):
        bad = []
        disks = os.path.join(self.state, "disks")
        if not os.path.isdir(disks):
            return bad
        for n in os.listdir(disks):
            try:
                with open(os.path.join(disks, n)) as f:
                    r = json.load(f)
                if not r.get("disk"):
                    bad.append("record %s names no disk" % n)
            except (OSError, ValueError) as e:
                bad.append("record %s: %s" % (n, e))
        return bad

    def guest_problems(self, root=None):
        """What must hold of the guest whatever happened: see the module's doc."""
        root = root or self.guest_root
        bad = []
        cfg = open(os.path.join(root, CFG), "rb").read()
        backup = os.path.join(root, CFG + ".kunpack-orig")
        if cfg != self.original:
            if not os.path.exists(backup):
                bad.append("grub.cfg changed without a backup")
            else:
                if open(backup, "rb").read() != self.original:
                    bad.append("grub.cfg changed and its backup is not the original")
                if meta(backup) != self.original_meta:
                    bad.append("the backup lacks the original's metadata: %s" % (meta(backup),))
            elf = os.path.join(root, ELF)
            if not os.path.exists(elf) or sha256_file(elf) != self.vmlinux:
                bad.append("grub.cfg names %s, which is not the whole ELF" % ELF)
            if cfg.replace(b"vmlinux-" + NEW.encode(), b"vmlinuz-" + NEW.encode()) != self.original:
                bad.append("grub.cfg changed in more than the kernel names")
            if meta(os.path.join(root, CFG)) != self.original_meta:
                bad.append("grub.cfg lost its metadata: %s" % (meta(os.path.join(root, CFG)),))
        for d, _, files in os.walk(root):
            for n in files:
                rel = os.path.relpath(os.path.join(d, n), root)
                if n.endswith(".kunpack-tmp"):
                    bad.append("temporary file left: %s" % rel)
                    continue
                if rel == CFG or rel.startswith(CFG + ".kunpack-") or rel == ELF:
                    continue
                t = os.path.join(self.template, rel)
                if not os.path.exists(t):
                    bad.append("new file %s" % rel)
                elif sha256_file(t) != sha256_file(os.path.join(d, n)):
                    bad.append("%s changed" % rel)
        return bad

    def pvgrub_done(self, root=None):
        """Whether the guest is fully in pvgrub mode (the check of a run that finished)."""
        root = root or self.guest_root
        cfg = open(os.path.join(root, CFG), "rb").read()
        return (cfg != self.original and os.path.exists(os.path.join(root, CFG + ".kunpack-changes"))
                and not self.guest_problems(root))


def kill_at(cmd, env, delay, timeout=300):
    """Runs cmd and kills it (SIGKILL) after delay seconds if it is still running: (killed, returncode)."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        p.wait(timeout=delay)
        return False, p.returncode
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=timeout)
        return True, p.returncode


def answer_kernel_sha(rig, env=None):
    """A start as libxl runs it (tests/integration/boottest.py): the sha256 of the kernel libxl got,
    "pvgrub" for the fallback, None for no answer."""
    sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))
    import boottest  # noqa: E402
    ans = boottest.run_like_libxl(rig.boot, rig.disk, rig.out, ["--config=" + rig.config], env=env or rig.env())
    if ans.rc != 0 or not ans.kernel_sha256:
        return None, ans
    if ans.kernel_sha256 == sha256_file(boottest.PVGRUB):
        return "pvgrub", ans
    return ans.kernel_sha256, ans
