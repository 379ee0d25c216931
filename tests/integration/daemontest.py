# SPDX-License-Identifier: LGPL-2.1-or-later
"""Running the real kunpackd in a test: its own config, socket, cache and
state in a temporary directory, guests as xl configs over copies of the
integration images, readiness and STATUS= read from a NOTIFY_SOCKET as
systemd would, appliance launches counted (guesttest.Counter)."""

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import guesttest


def sha256(path):
    return guesttest.sha256(path)


class Notify:
    """A NOTIFY_SOCKET like systemd's: collects READY=1, STATUS=..., STOPPING=1."""

    def __init__(self, path):
        self.path = path
        if os.path.exists(path):
            os.unlink(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.messages = []
        self.timed = []   # (CLOCK_MONOTONIC seconds, message) as each datagram arrived
        self.lock = threading.Lock()
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            now = time.monotonic()
            with self.lock:
                lines = data.decode(errors="replace").split("\n")
                self.messages.extend(lines)
                self.timed.extend((now, m) for m in lines)

    def seen(self, prefix):
        with self.lock:
            return [m for m in self.messages if m.startswith(prefix)]

    def wait(self, prefix, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.seen(prefix):
                return True
            time.sleep(0.05)
        return False

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


class Daemon:
    """One kunpackd with everything in workdir."""

    def __init__(self, workdir, counter, extra_conf=""):
        build = os.environ["KP_BUILD_DIR"]
        self.kunpackd = os.path.join(build, "daemon", "kunpackd")
        self.kunpackctl = os.path.join(build, "tools", "kunpackctl")
        self.scan = os.path.join(build, "tools", "kunpack-scan")
        self.workdir = workdir
        self.counter = counter
        self.conf = os.path.join(workdir, "kunpack.conf")
        self.socket = os.path.join(workdir, "run", "kunpackd.sock")
        self.xen = os.path.join(workdir, "xen")
        self.images = os.path.join(workdir, "images")
        for d in ("xen", "images", "run", "out"):
            os.makedirs(os.path.join(workdir, d), exist_ok=True)
        self.write_conf(extra_conf)
        self.proc = None
        self.notify = None
        self.log = os.path.join(workdir, "kunpackd.log")

    def write_conf(self, extra=""):
        # No pool unless the test asks for one (test-pool.py): the other tests count appliance launches,
        # and a pooled appliance booting in the background would only cost them time.
        pool = "" if "appliance_pool" in extra else "appliance_pool = 0\n"
        with open(self.conf, "w") as f:
            f.write('cache_dir = "%s/cache"\nstate_dir = "%s/state"\nsocket_path = "%s"\n'
                    'domain_config_dirs = [ "%s" ]\nscan_concurrency = 2\n%s%s'
                    % (self.workdir, self.workdir, self.socket, self.xen, pool, extra))

    def add_guest(self, name, image, entry=None, copy=True):
        """An xl config for name booting a copy of image (or image itself)."""
        disk = os.path.join(self.images, name + ".img") if copy else image
        if copy:
            shutil.copyfile(image, disk)
        extra = 'bootloader_args = [ "--entry=%s" ]\n' % entry if entry else ""
        tmp = os.path.join(self.xen, "." + name + ".tmp")
        with open(tmp, "w") as f:
            f.write('name = "%s"\nmemory = 512\nvcpus = 1\nbootloader = "/usr/libexec/kunpack/kunpack-boot"\n'
                    "%sdisk = [ 'format=raw, vdev=xvda, access=rw, target=%s' ]\n" % (name, extra, disk))
        os.rename(tmp, os.path.join(self.xen, name + ".cfg"))
        return disk

    def env(self):
        env = self.counter.env()
        env.pop("JOURNAL_STREAM", None)
        env.update(getattr(self, "extra_env", {}))
        return env

    def start(self, wait_ready=True, extra_args=()):
        notify_path = os.path.join(self.workdir, "notify.sock")
        self.notify = Notify(notify_path)
        env = self.env()
        env["NOTIFY_SOCKET"] = notify_path
        logf = open(self.log, "a")
        self.proc = subprocess.Popen([self.kunpackd, "--config=" + self.conf, "--scan-program=" + self.scan,
                                      *extra_args], stdout=logf, stderr=subprocess.STDOUT, env=env)
        logf.close()
        if wait_ready and not self.notify.wait("READY=1", 30):
            raise RuntimeError("kunpackd did not send READY=1:\n" + self.read_log())
        return self.proc

    def read_log(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if not self.proc:
            return None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        if self.notify:
            self.notify.close()
            self.notify = None
        return rc

    def ctl(self, *args, env=None, timeout=900):
        return guesttest.run([self.kunpackctl, "--config=" + self.conf, *args], env=env or self.env(),
                             timeout=timeout)

    def ctl_json(self, *args):
        r = self.ctl("--json", *args)
        if r.returncode != 0:
            raise RuntimeError("kunpackctl %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr))
        return json.loads(r.stdout)

    def guests(self):
        return {g["name"]: g for g in self.ctl_json("list")}

    def wait_for(self, predicate, timeout, what):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                if predicate():
                    return True
            except (RuntimeError, ValueError):
                pass
            time.sleep(0.2)
        print("timed out waiting for", what, file=os.sys.stderr)
        return False
