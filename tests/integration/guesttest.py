# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the guest-image integration tests share: the images, running
kunpackctl with its appliance launches counted, and reporting.

Launches are counted from outside: LIBGUESTFS_HV points at a wrapper that
notes every hypervisor start that boots the appliance (it has -kernel) and
then execs the real qemu, so the count is what libguestfs really did.
"""

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading

import images

failures = 0


def check(cond, what):
    global failures
    if cond:
        print("ok:", what)
    else:
        failures += 1
        print("FAIL:", what, file=sys.stderr)
    return cond


def finish():
    if failures:
        print("%d check(s) failed" % failures, file=sys.stderr)
        sys.exit(1)
    print("all checks passed")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fixtures():
    d = os.environ.get("KP_FIXTURES")
    if not d or not os.path.exists(os.path.join(d, "SHA256SUMS")):
        print("KP_FIXTURES not set or not built: skipping")
        sys.exit(77)
    return d


def build_images():
    """Builds (or reuses) every image; returns (outdir, manifest)."""
    build = os.environ.get("KP_BUILD_DIR") or tempfile.gettempdir()
    outdir = os.path.join(build, "tests", "integration", "images")
    images.build(outdir, fixtures())
    with open(os.path.join(outdir, "manifest.json")) as f:
        return outdir, json.load(f)


def disk_specs(entry):
    return ["%s,format=%s" % (d["path"], d["format"]) if d["format"] != "raw" else d["path"]
            for d in entry["disks"]]


def file_sha(entry, path, disk=None):
    """The sha256 of path as the builder put it on the image (one distinct value, or None)."""
    # Keys are "DISK:WHERE:PATH" and WHERE may hold a colon itself ("lv:vg/root"); PATH starts with "/".
    found = {h for k, h in entry["files"].items()
             if k[k.index(":/") + 1:] == path and (disk is None or int(k.split(":", 1)[0]) == disk)}
    return found.pop() if len(found) == 1 else None


class Counter:
    """A LIBGUESTFS_HV wrapper that counts appliance launches.

    The wrapper's bytes never change and it is kept in the build directory,
    so libguestfs's cache of what the hypervisor supports (keyed by the
    binary's size and mtime) stays valid from one run to the next; the log
    it writes to comes from the environment.
    """

    def __init__(self, workdir):
        qemu = shutil.which("qemu-system-x86_64")
        if not qemu:
            print("qemu-system-x86_64 not found: skipping")
            sys.exit(77)
        self.log = os.path.join(workdir, "launches.log")
        base = os.environ.get("KP_BUILD_DIR") or tempfile.gettempdir()
        os.makedirs(os.path.join(base, "tests", "integration"), exist_ok=True)
        self.wrapper = os.path.join(base, "tests", "integration", "qemu-counting")
        text = ('#!/bin/sh\n# Counts appliance launches for kunpack\'s tests (tests/integration/guesttest.py).\n'
                'for a in "$@"; do [ "$a" = -kernel ] && echo launch >> "$KP_LAUNCH_LOG" && break; done\n'
                'exec %s "$@"\n' % qemu)
        try:
            with open(self.wrapper) as f:
                same = f.read() == text
        except FileNotFoundError:
            same = False
        if not same:
            tmp = self.wrapper + ".tmp"
            with open(tmp, "w") as f:
                f.write(text)
            os.chmod(tmp, stat.S_IRWXU)
            os.rename(tmp, self.wrapper)

    def launches(self):
        try:
            with open(self.log) as f:
                return len(f.read().split())
        except FileNotFoundError:
            return 0

    def reset(self):
        if os.path.exists(self.log):
            os.unlink(self.log)

    def env(self, base=None):
        env = dict(base or os.environ)
        env["LIBGUESTFS_HV"] = self.wrapper
        env["KP_LAUNCH_LOG"] = self.log
        env.setdefault("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg")
        return env


class Appliances:
    """Watches the appliances (qemu with -kernel) running on the host while it is active: how many at
    once at most, and which of the given disk images each one held open (/proc/PID/fd), so a test can
    show that no appliance ever held two guests' disks."""

    def __init__(self, images=(), only_under=None):
        """Counts only the appliances of the programs under test, not those of anything else running
        on the host: with only_under, those holding a file under that directory (their overlays, in
        the programs' TMPDIR); without, those holding one of the images."""
        self.images = {os.path.realpath(p) for p in images}
        self.only_under = os.path.realpath(only_under) + "/" if only_under else None
        self.max_concurrent = 0
        self.held = {}  # qemu pid -> images it had open
        self._stop = threading.Event()
        self._thread = None

    @staticmethod
    def _appliance_pids():
        pids = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if argv and b"qemu" in os.path.basename(argv[0]) and b"-kernel" in argv:
                pids.append(int(pid))
        return pids

    def _sample(self):
        ours = 0
        for pid in self._appliance_pids():
            held, mine = set(), False
            try:
                fds = os.listdir("/proc/%d/fd" % pid)
            except OSError:
                continue
            for fd in fds:
                try:
                    target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                except OSError:
                    continue
                if target in self.images:
                    held.add(target)
                if self.only_under and target.startswith(self.only_under):
                    mine = True
            # Without only_under, an appliance of ours is one that holds one of the images.
            if mine or (self.only_under is None and held):
                ours += 1
                self.held.setdefault(pid, set()).update(held)
        self.max_concurrent = max(self.max_concurrent, ours)

    def _run(self):
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(0.1)

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()
        return False

    def shared(self):
        """Appliances that held more than one of the images: none, ever, is the rule."""
        return {pid: sorted(h) for pid, h in self.held.items() if len(h) > 1}


def run(cmd, env=None, timeout=900, cwd=None):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                          timeout=timeout, cwd=cwd)


def inspect_each(ctl, counter, entries, extra=()):
    """One `kunpackctl inspect --each --json` over single-disk guests: {name: result}, the run, launches."""
    names = list(entries)
    specs = [disk_specs(entries[n])[0] for n in names]
    counter.reset()
    r = run([ctl, "inspect", "--each", "--json", *extra, *specs], env=counter.env())
    try:
        results = json.loads(r.stdout)
    except ValueError:
        results = []
    by_name = {}
    for n, res in zip(names, results):
        by_name[n] = res
    return by_name, r, counter.launches()
