#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs the end-to-end cases inside dom0 (started by setup.sh).

    driver.py RUN_DIR

Reads RUN_DIR/plan.json (written by the host, see run-e2e.py) and runs
each case's steps in order:

  start  `xl create -F CONFIG`, then watch the guest's console log
         (xenconsoled --log=guest) until the domain is gone, a stop
         pattern appears (then `xl destroy`), or the step's timeout
         passes (then `xl destroy` too);
  host   ask the host to do something between two starts (change a
         guest disk, rerun kunpack's host-side prepare step) and wait
         for its answer;
  dom0   run a command here (break the cache, start a daemon).

This script only collects evidence; the host judges it. For every step it
writes RUN_DIR/results/CASE/NN-KIND.json and the files it names (console,
xl's output, bootloader logs, the hypervisor log), and prints one line
per step on the console, which is QEMU's serial port on the host.
"""

import json
import os
import shutil
import subprocess
import sys
import time

POLL = 0.25  # seconds between looks at a console log or a host answer
# Timeouts scale with how slow this emulated machine is today: the 2 cores
# are shared, and a start that takes 30 s on an idle machine takes minutes
# on a busy one. Dom0's uptime when the driver starts is the yardstick
# (plan["idle_ready_seconds"] on an idle machine); the factor is capped so
# that a hang is still caught.
MAX_SLOWDOWN = 8


def say(msg):
    print("KP-E2E-DOM0: " + msg, flush=True)


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def read_from(path, offset):
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


def file_size(path):
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


class Driver:
    def __init__(self, run_dir):
        self.run_dir = run_dir
        with open(os.path.join(run_dir, "plan.json")) as f:
            self.plan = json.load(f)
        self.xl = self.plan["xl"]
        self.results = os.path.join(run_dir, "results")
        self.requests = os.path.join(run_dir, "requests")
        self.background = []
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        idle = self.plan.get("idle_ready_seconds", uptime)
        self.slowdown = min(MAX_SLOWDOWN, max(1.0, uptime / idle))
        self.uptime = uptime

    def timeout(self, step):
        return step["timeout"] * self.slowdown

    # ---- local copies of what the host prepared -----------------------

    def sync_local(self):
        """Gives dom0 local, writable copies of the guest disks and of
        kunpack's cache and state, at the paths the host wrote into every
        config.

        Read through 9p, a loop device serves about 1.6 MB/s here (every
        block is a round trip through the emulated virtio queue), which
        makes pvgrub take minutes; from tmpfs it serves about 40 MB/s. And
        kunpack should meet a local filesystem, as on a real host. So each
        directory is copied into a tmpfs and bind-mounted over itself.
        Called before the first case and after every host step, which is
        when the host may have changed a disk, the cache or the state.
        """
        for src in self.plan.get("local_dirs", []):
            subprocess.run(["umount", src], stderr=subprocess.DEVNULL)
            if not os.path.isdir(src):
                continue
            local = os.path.join("/run/kp-e2e-local", src.strip("/").replace("/", "_"))
            shutil.rmtree(local, ignore_errors=True)
            os.makedirs(os.path.dirname(local), exist_ok=True)
            if self._has_extent_maps(src):
                self._copy_images(src, local)
            else:
                subprocess.run(["cp", "-a", src, local], check=True)
            subprocess.run(["mount", "--bind", local, src], check=True)

    @staticmethod
    def _has_extent_maps(src):
        return any(n.endswith(".extents") for n in os.listdir(src))

    @staticmethod
    def _copy_images(src, dst):
        """Copies IMAGE files by the IMAGE.extents maps the host wrote
        (9p cannot SEEK_DATA, and reading the holes of a sparse image costs
        seconds per disk): only the data ranges are read, the rest stays
        a hole. Size, mode and mtime are kept."""
        os.makedirs(dst)
        for name in sorted(os.listdir(src)):
            if not name.endswith(".extents"):
                continue
            image = name[: -len(".extents")]
            with open(os.path.join(src, name)) as f:
                extents = json.load(f)
            st = os.stat(os.path.join(src, image))
            with open(os.path.join(src, image), "rb") as fin, open(os.path.join(dst, image), "wb") as fout:
                fout.truncate(st.st_size)
                for offset, length in extents:
                    fin.seek(offset)
                    fout.seek(offset)
                    while length > 0:
                        chunk = fin.read(min(length, 1 << 20))
                        if not chunk:
                            raise IOError("%s: short read at %d" % (image, fin.tell()))
                        fout.write(chunk)
                        length -= len(chunk)
            os.chmod(os.path.join(dst, image), st.st_mode & 0o7777)
            os.utime(os.path.join(dst, image), ns=(st.st_atime_ns, st.st_mtime_ns))

    # ---- steps ----------------------------------------------------------

    def step_start(self, case, step, out, prefix):
        dom = step["domain"]
        console = "/var/log/xen/console/guest-%s.log" % dom
        offset = file_size(console)
        logs_before = set(os.listdir("/var/log/xen"))
        xl_out = open(os.path.join(out, prefix + "-xl.txt"), "wb")
        t0 = time.monotonic()
        proc = subprocess.Popen([self.xl, "-vvv", "create", "-F", step["config"]],
                                stdout=xl_out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        stopped_on = None
        timed_out = False
        while proc.poll() is None:
            text = read_from(console, offset)
            hit = next((p for p in step.get("stop_on", []) if p in text), None)
            if hit is not None or time.monotonic() - t0 > self.timeout(step):
                stopped_on = hit
                timed_out = hit is None
                subprocess.run([self.xl, "destroy", dom], stdout=xl_out, stderr=subprocess.STDOUT)
                break
            time.sleep(POLL)
        elapsed = time.monotonic() - t0
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        xl_out.close()
        # xenconsoled may still hold the last bytes of a guest that just died.
        time.sleep(0.5)
        with open(os.path.join(out, prefix + "-console.txt"), "w") as f:
            f.write(read_from(console, offset))
        files = {"console": prefix + "-console.txt", "xl": prefix + "-xl.txt"}
        new_logs = sorted(set(os.listdir("/var/log/xen")) - logs_before)
        for name in new_logs:
            path = os.path.join("/var/log/xen", name)
            if os.path.isfile(path):
                shutil.copy(path, os.path.join(out, prefix + "-" + name))
                files[name] = prefix + "-" + name
        with open(os.path.join(out, prefix + "-xl-dmesg.txt"), "wb") as f:
            subprocess.run([self.xl, "dmesg", "-c"], stdout=f, stderr=subprocess.STDOUT)
        files["xl_dmesg"] = prefix + "-xl-dmesg.txt"
        # The domain must be gone before the next step reuses its disk.
        subprocess.run([self.xl, "destroy", dom], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return {"rc": rc, "elapsed": round(elapsed, 1), "stopped_on": stopped_on,
                "timed_out": timed_out, "timeout": round(self.timeout(step)), "files": files}

    def step_host(self, case, step, out, prefix):
        os.makedirs(self.requests, exist_ok=True)
        req = os.path.join(self.requests, "%s-%s.json" % (case["name"], prefix))
        answer = req[: -len(".json")] + ".done.json"
        t0 = time.monotonic()
        write_json(req, {"case": case["name"], "step": step})
        while not os.path.exists(answer):
            if time.monotonic() - t0 > self.timeout(step):
                return {"ok": False, "elapsed": round(time.monotonic() - t0, 1), "timed_out": True,
                        "log": "no answer from the host within %d s" % self.timeout(step)}
            time.sleep(POLL)
        with open(answer) as f:
            result = json.load(f)
        self.sync_local()
        result["elapsed"] = round(time.monotonic() - t0, 1)
        return result

    def step_dom0(self, case, step, out, prefix):
        log = open(os.path.join(out, prefix + "-dom0.txt"), "wb")
        t0 = time.monotonic()
        if step.get("background"):
            self.background.append(subprocess.Popen(step["argv"], stdout=log, stderr=subprocess.STDOUT,
                                                    stdin=subprocess.DEVNULL))
            time.sleep(step.get("settle", 0))
            rc = 0
        else:
            try:
                rc = subprocess.run(step["argv"], stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, timeout=self.timeout(step)).returncode
            except subprocess.TimeoutExpired:
                rc = None
        log.close()
        return {"rc": rc, "ok": rc == 0, "elapsed": round(time.monotonic() - t0, 1),
                "files": {"dom0": prefix + "-dom0.txt"}}

    def run_case(self, case):
        out = os.path.join(self.results, case["name"])
        os.makedirs(out, exist_ok=True)
        say("case %s: begin" % case["name"])
        t0 = time.monotonic()
        for i, step in enumerate(case["steps"]):
            prefix = "%02d-%s" % (i, step["kind"])
            try:
                result = getattr(self, "step_" + step["kind"])(case, step, out, prefix)
            except Exception as e:  # evidence for the host, never a dead driver
                result = {"ok": False, "error": "%s: %s" % (type(e).__name__, e), "files": {}}
            result["kind"] = step["kind"]
            write_json(os.path.join(out, prefix + ".json"), result)
            say("case %s: step %d %s: %s" % (case["name"], i, step["kind"],
                                             json.dumps({k: v for k, v in result.items() if k != "files"})))
            if result.get("ok") is False and step.get("required", True):
                break
        for proc in self.background:
            proc.terminate()
        self.background = []
        say("case %s: end %.1f s" % (case["name"], time.monotonic() - t0))

    def main(self):
        os.makedirs(self.results, exist_ok=True)
        say("timeouts scaled by %.1f (dom0 ready after %.1f s, %.1f s on an idle machine)"
            % (self.slowdown, self.uptime, self.plan.get("idle_ready_seconds", 0)))
        self.sync_local()
        subprocess.run([self.xl, "dmesg", "-c"], stdout=subprocess.DEVNULL)
        for case in self.plan["cases"]:
            self.run_case(case)
        write_json(os.path.join(self.results, "done.json"), {"cases": [c["name"] for c in self.plan["cases"]]})
        return 0


if __name__ == "__main__":
    sys.exit(Driver(sys.argv[1]).main())
