#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""kunpack's end-to-end suite: real Xen 4.17, real xl, real pvgrub2, under QEMU.

    run-e2e.py [--case NAME]... [--list] [--timeout SECONDS] [--run-dir DIR]

On the host: builds the guest disks and kernels (guests.py), writes every
case's xl config and kunpack.conf, runs kunpack's host-side prepare step
on the disks of the cases that need it, then boots Xen + dom0 ONCE under
QEMU (machine.py). Inside dom0, dom0/driver.py runs the cases with
`xl create` and collects consoles and logs into RUN_DIR/results; between
two starts it can ask the host to change a disk (RUN_DIR/requests). Then
the host judges the evidence (verdict.py) and prints TAP (meson's
protocol 'tap'): one result per case, cases whose kunpack part is not
built yet as "# SKIP". Progress and diagnostics go to stderr.

Environment (set by meson): KP_SOURCE_DIR, KP_BUILD_DIR, KP_FIXTURES;
KP_E2E_CASES (comma-separated case names), KP_E2E_TIMEOUT (seconds for
the whole QEMU run, default 2400).
"""

import argparse
import concurrent.futures
import json
import os
import secrets
import shutil
import subprocess
import sys
import time

E2E_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, E2E_DIR)

import cases as C  # noqa: E402
import guests  # noqa: E402
import machine  # noqa: E402
import verdict  # noqa: E402

XL = "/usr/lib/xen-4.17/bin/xl"
# pvgrub holds the ~66 MiB decompressed kernel and the initrd; Xen clears
# every page of it at each start, which costs under emulation.
GUEST_MEMORY_MIB = 256
# dom0's uptime when the driver starts, on an idle 2-core machine (measured
# 9.4-10 s); the driver scales every timeout by how much slower today is.
IDLE_DOM0_READY = 10.0
# The whole QEMU run (all cases in one boot), a hard cap whatever the load.
DEFAULT_TIMEOUT = 2400


def diag(msg=""):
    """Progress and diagnostics go to stderr: meson shows it with -v and
    for a failed test, and keeps it in meson-logs/testlog.txt."""
    for line in str(msg).splitlines() or [""]:
        print(line, file=sys.stderr, flush=True)


def xl_value(v):
    if isinstance(v, list):
        return "[ " + ", ".join(xl_value(x) for x in v) + " ]"
    if isinstance(v, int):
        return str(v)
    if any(c in v for c in "\"\\\n"):
        raise ValueError("cannot quote %r for xl.cfg" % v)
    return '"%s"' % v


def fmt(value, ph):
    if isinstance(value, list):
        return [fmt(v, ph) for v in value]
    if isinstance(value, str):
        return value.format(**ph)
    return value


def disk_path(run_dir, disk):
    """The guest image of DISKS entry disk: NAME.img, or NAME.qcow2 for a qcow2 image."""
    return os.path.join(run_dir, "disks", disk + (".qcow2" if C.DISKS[disk].get("image") == "qcow2" else ".img"))


class Suite:
    def __init__(self, args):
        self.source = os.environ.get("KP_SOURCE_DIR") or os.path.dirname(os.path.dirname(E2E_DIR))
        self.build = os.environ.get("KP_BUILD_DIR")
        if not self.build:
            sys.exit("run-e2e: KP_BUILD_DIR is not set (run it with `meson test --suite e2e`)")
        self.fixtures = os.environ.get("KP_FIXTURES") or os.path.join(self.build, "tests", "fixtures", "kernels")
        self.run_dir = os.path.abspath(args.run_dir or os.path.join(self.build, "tests", "e2e", "run"))
        self.cache_dir = os.path.join(self.build, "tests", "e2e", "cache")
        self.timeout = args.timeout
        self.nonce = secrets.token_hex(4)
        self.kernels = guests.Kernels(self.source, self.fixtures, self.cache_dir)
        selected = args.case or [c for c in os.environ.get("KP_E2E_CASES", "").split(",") if c]
        names = [c["name"] for c in C.CASES]
        unknown = [c for c in selected if c not in names]
        if unknown:
            sys.exit("run-e2e: unknown case(s) %s; known: %s" % (", ".join(unknown), ", ".join(names)))
        self.cases = [c for c in C.CASES if not selected or c["name"] in selected]
        self.prepare_results = {}  # case name -> host seconds spent in the prepare step
        self.prepare_count = 0

    # ---- what can run -----------------------------------------------------

    def missing_parts(self, case):
        missing = []
        for part in case.get("needs", []):
            rel, what = C.PARTS[part]
            if not os.path.exists(os.path.join(self.build, rel)):
                missing.append(what)
        return missing

    def build_package(self):
        """The Debian packages, built as an admin builds them (scripts/build-deb.sh, tests skipped:
        the suites run here), into RUN/deb, which dom0 installs (dom0/setup.sh) into its overlay."""
        out = os.path.join(self.run_dir, "deb")
        env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck")
        t0 = time.monotonic()
        r = subprocess.run([os.path.join(self.source, "scripts", "build-deb.sh"), out], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        diag("built the Debian packages in %.1f s: %s" % (time.monotonic() - t0, "ok" if r.returncode == 0 else
                                                          "FAILED\n" + r.stdout[-2000:]))
        return r.returncode == 0

    def placeholders(self, case):
        disk = case.get("disk")
        return {
            "run_dir": self.run_dir,
            "kunpack_boot": os.path.join(self.build, C.PARTS["kunpack-boot"][0]),
            "kunpackctl": os.path.join(self.build, "tools", "kunpackctl"),
            "kunpackd": os.path.join(self.build, C.PARTS["kunpackd"][0]),
            "kunpack_scan": os.path.join(self.build, "tools", "kunpack-scan"),
            "config": os.path.join(self.run_dir, "conf", case["name"] + ".conf"),
            "disk": disk_path(self.run_dir, disk) if disk else "",
            "uuid": guests.disk_uuid(disk) if disk else "",
            "vmlinux": self.kernels.reference_vmlinux,
            "elf_initrd": os.path.join(self.run_dir, "initrd-elf.img"),
            "extra": "kp.e2e=" + case["name"],
            "pvgrub": C.PVGRUB,
        }

    def check_host(self):
        problems = []
        if os.geteuid() != 0:
            problems.append("must run as root (QEMU's 9p export of /, losetup-free image building)")
        for path in (machine.XEN_GZ, C.PVGRUB, guests.BUSYBOX, XL, os.path.join(self.fixtures, "vmlinux")):
            if not os.path.exists(path):
                problems.append("missing " + path)
        for prog in (machine.QEMU, "mkfs.ext4", "sfdisk", "debugfs"):
            if shutil.which(prog) is None:
                problems.append("missing program " + prog)
        return problems

    # ---- host side: disks, configs, prepare --------------------------------

    def build_inputs(self, runnable):
        shutil.rmtree(self.run_dir, ignore_errors=True)
        for d in ("disks", "conf", "xl", "results", "requests", "prepare", "scratch"):
            os.makedirs(os.path.join(self.run_dir, d))
        disks = sorted({c["disk"] for c in runnable if c.get("disk")})
        wanted = set()
        for name in disks:
            spec = C.DISKS[name]
            wanted |= {(spec["format"], k) for k in spec["kernels"]}
        for c in runnable:
            for s in c["steps"]:
                if s.get("action") == "install-kernel":
                    wanted.add((C.DISKS[c["disk"]]["format"], s["kernel"]))
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda fk: self.kernels.bzimage(*fk), sorted(wanted)))
        diag("kernels ready in %.1f s (%d)" % (time.monotonic() - t0, len(wanted)))
        t0 = time.monotonic()
        for name in disks:
            spec = C.DISKS[name]
            kernels = [(self.kernels.release_for(k), self.kernels.bzimage(spec["format"], k))
                       for k in spec["kernels"]]
            raw = os.path.join(self.run_dir, "disks", name + ".img")
            guests.build_disk(raw, name, spec["distro"], kernels, self.nonce, os.path.join(self.run_dir, "scratch"))
            if spec.get("image") == "qcow2":
                # What xl's format=qcow2 names: libxl attaches it to dom0 and passes /dev/xvdX.
                qcow = disk_path(self.run_dir, name)
                subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, qcow], check=True)
                os.unlink(raw)
                os.unlink(raw + ".extents")
                guests.write_extent_map(qcow)
        guests.make_initrd(os.path.join(self.run_dir, "initrd-elf.img"),
                           guests.initrd_marker("elf", self.kernels.release, self.nonce))
        diag("disks ready in %.1f s: %s" % (time.monotonic() - t0, ", ".join(disks)))
        for c in runnable:
            self.write_configs(c)

    def write_configs(self, case):
        ph = self.placeholders(case)
        if "kunpack-boot" in case.get("needs", []):
            if "kunpack_conf_text" in case:
                conf = case["kunpack_conf_text"]
            else:
                keys = dict(C.KUNPACK_CONF, **case.get("kunpack_conf", {}))
                conf = "# kunpack.conf of e2e case %s (written by run-e2e.py)\n" % case["name"]
                conf += "".join("%s = %s\n" % (k, xl_value(fmt(v, ph))) for k, v in keys.items())
            with open(ph["config"], "w") as f:
                f.write(conf)
        n = 0
        for step in case["steps"]:
            if step["kind"] != "start":
                continue
            n += 1
            lines = [
                "# e2e case %s, start %d (written by run-e2e.py)" % (case["name"], n),
                'name = "kp-%s"' % case["name"],
                'type = "pv"',
                "memory = %d" % GUEST_MEMORY_MIB,
                "vcpus = 1",
                'on_poweroff = "destroy"',
                'on_reboot = "destroy"',
                'on_crash = "destroy"',
            ]
            if case.get("disk"):
                # A qcow2 image is attached read-write, as xl's default: QEMU 7.2's xen-block
                # refuses a read-only qcow2 node ("Block node is read-only"), also for the
                # bootloader's local attach.
                image = C.DISKS[case["disk"]].get("image", "raw")
                lines.append('disk = [ "format=%s, vdev=xvda, access=%s, target=%s" ]'
                             % (image, "rw" if image == "qcow2" else "ro", ph["disk"]))
            for key, value in step["xl"].items():
                lines.append("%s = %s" % (key, xl_value(fmt(value, ph))))
            step["_config"] = os.path.join(self.run_dir, "xl", "%s-%d.cfg" % (case["name"], n))
            with open(step["_config"], "w") as f:
                f.write("\n".join(lines) + "\n")

    def run_prepare(self, case):
        """kunpack's host-side prepare step (cases.HOST_PREPARE) on case's disk."""
        ph = self.placeholders(case)
        self.prepare_count += 1
        outdir = os.path.join(self.run_dir, "prepare", "%02d-%s" % (self.prepare_count, case["name"]))
        os.makedirs(outdir)
        output = os.path.join(outdir, "answer")
        open(output, "w").close()
        argv = [a.format(mode=case.get("prepare") or "direct", outdir=outdir, output=output, **ph)
                for a in case.get("prepare_argv", C.HOST_PREPARE)]
        t0 = time.monotonic()
        try:
            proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=self.run_dir,
                                  timeout=C.PREPARE_TIMEOUT)
            ok, log = proc.returncode == 0, proc.stdout.decode(errors="replace")
            log = "$ %s\n%s(exit %d)\n" % (" ".join(argv), log, proc.returncode)
        except subprocess.TimeoutExpired:
            ok, log = False, "$ %s\n(killed after %d s)\n" % (" ".join(argv), C.PREPARE_TIMEOUT)
        if case.get("disk"):
            # pvgrub mode writes into the guest's image.
            guests.write_extent_map(ph["disk"])
        elapsed = round(time.monotonic() - t0, 1)
        self.prepare_results[case["name"]] = self.prepare_results.get(case["name"], 0) + elapsed
        return ok, log, elapsed

    # ---- host requests from dom0 -------------------------------------------

    def serve_requests(self):
        reqdir = os.path.join(self.run_dir, "requests")
        for name in sorted(os.listdir(reqdir)):
            if not name.endswith(".json") or name.endswith(".done.json"):
                continue
            done = os.path.join(reqdir, name[: -len(".json")] + ".done.json")
            if os.path.exists(done):
                continue
            with open(os.path.join(reqdir, name)) as f:
                req = json.load(f)
            case = next(c for c in self.cases if c["name"] == req["case"])
            step = req["step"]
            t0 = time.monotonic()
            try:
                if step["action"] == "install-kernel":
                    spec = C.DISKS[case["disk"]]
                    release = self.kernels.release_for(step["kernel"])
                    releases = guests.install_kernel(
                        self.placeholders(case)["disk"], case["disk"], release,
                        self.kernels.bzimage(spec["format"], step["kernel"]), self.nonce,
                        os.path.join(self.run_dir, "scratch"))
                    ok, log = True, "installed %s; /boot now has %s" % (release, ", ".join(releases))
                elif step["action"] == "prepare":
                    ok, log, _ = self.run_prepare(case)
                else:
                    ok, log = False, "unknown host action %r" % step["action"]
            except Exception as e:
                ok, log = False, "%s: %s" % (type(e).__name__, e)
            diag("host step for %s: %s (%.1f s)" % (case["name"], step["action"], time.monotonic() - t0))
            tmp = done + ".tmp"
            with open(tmp, "w") as f:
                json.dump({"ok": ok, "log": log}, f)
            os.replace(tmp, done)

    # ---- the run -------------------------------------------------------------

    def plan(self, runnable):
        # Made local in dom0 before the first case and after each host step.
        plan = {"xl": XL, "cases": [], "idle_ready_seconds": IDLE_DOM0_READY,
                "local_dirs": [os.path.join(self.run_dir, "disks"), os.path.join(self.run_dir, "kunpack")]}
        for c in runnable:
            ph = self.placeholders(c)
            steps = []
            for s in c["steps"]:
                if s["kind"] == "start":
                    steps.append({"kind": "start", "domain": "kp-" + c["name"], "config": s["_config"],
                                  "timeout": s.get("timeout", C.START_TIMEOUT),
                                  "stop_on": [guests.MARK_END, verdict.NOT_XEN_IMAGE]})
                elif s["kind"] == "host":
                    steps.append(dict(s, timeout=C.PREPARE_TIMEOUT + 60))
                elif s["kind"] == "dom0":
                    steps.append(dict(s, argv=fmt(s["argv"], ph), timeout=s.get("timeout", 60)))
            plan["cases"].append({"name": c["name"], "steps": steps})
        with open(os.path.join(self.run_dir, "plan.json"), "w") as f:
            json.dump(plan, f, indent=1)

    def main(self):
        print("TAP version 13")
        print("1..%d" % len(self.cases), flush=True)
        problems = self.check_host()
        if problems:
            print("Bail out! " + "; ".join(problems), flush=True)
            return 1
        skipped = {c["name"]: self.missing_parts(c) for c in self.cases}
        runnable = [c for c in self.cases if not skipped[c["name"]]]
        t_start = time.monotonic()
        failed_early = {}
        machine_reason = None
        m = None
        if runnable:
            self.build_inputs(runnable)
        if any("package" in c.get("needs", []) for c in runnable) and not self.build_package():
            for c in runnable:
                if "package" in c.get("needs", []):
                    failed_early[c["name"]] = ("the Debian package did not build", "")
        if runnable:
            for c in runnable:
                if c.get("prepare"):
                    ok, log, secs = self.run_prepare(c)
                    diag("host prepare for %s: %s in %.1f s" % (c["name"], "ok" if ok else "FAILED", secs))
                    if not ok:
                        failed_early[c["name"]] = ("host prepare step failed", log)
            to_boot = [c for c in runnable if c["name"] not in failed_early]
            if to_boot:
                self.plan(to_boot)
                release, kernel = machine.dom0_kernel()
                initramfs = os.path.join(self.run_dir, "dom0-initramfs.gz")
                machine.build_dom0_initramfs(initramfs, release, E2E_DIR, self.run_dir)
                cmd = machine.qemu_command(machine.xen_elf(self.cache_dir), kernel, initramfs, self.run_dir)
                diag("booting Xen 4.17 + dom0 %s under QEMU (TCG): %d case(s)" % (release, len(to_boot)))
                with open(os.path.join(self.run_dir, "qemu-command"), "w") as f:
                    f.write(" ".join(cmd) + "\n")
                m = machine.Machine(cmd, os.path.join(self.run_dir, "serial.log"),
                                    lambda text: diag("[%5.1f s] dom0: %s" % (time.monotonic() - m.started, text)))
                machine_reason = m.run(time.monotonic() + self.timeout, self.serve_requests)
                diag("QEMU ran %.1f s%s" % (m.elapsed, "" if machine_reason is None else ": " + machine_reason))
        return self.report(skipped, failed_early, machine_reason, m, time.monotonic() - t_start)

    def report(self, skipped, failed_early, machine_reason, m, total):
        rows = []
        failures = 0
        for n, c in enumerate(self.cases, 1):
            label = c["name"] + (" (issue case %d)" % c["issue_case"] if "issue_case" in c else
                                 " (issue %d)" % c["issue"] if "issue" in c else " (control)")
            if skipped[c["name"]]:
                # The reason is in the name too: meson prints names, not SKIP reasons.
                why = "not built yet: " + ", ".join(skipped[c["name"]])
                print("ok %d - %s: %s # SKIP %s" % (n, c["name"], why, why), flush=True)
                continue
            if c["name"] in failed_early:
                why, log = failed_early[c["name"]]
                print("not ok %d - %s: %s" % (n, c["name"], why))
                diag(log.strip()[-3000:])
                failures += 1
                continue
            ctx = {"release": self.kernels.release_for, "disk": c.get("disk"), "nonce": self.nonce,
                   "placeholders": self.placeholders(c), "case": c}
            ok, got, secs, bad = verdict.judge_case(c, os.path.join(self.run_dir, "results", c["name"]), ctx)
            if c["name"] in self.prepare_results:
                got = "prepared on the host (%.1f s); %s" % (self.prepare_results[c["name"]], got)
            if not ok and machine_reason:
                got += " (%s)" % machine_reason
            print("%s %d - %s: %s" % ("ok" if ok else "not ok", n, c["name"], got), flush=True)
            if not ok:
                failures += 1
                for line in verdict.diagnostics(bad):
                    diag(line)
            rows.append({"label": label, "expected": c["expected"], "got": got if ok else "FAIL: " + got,
                         "seconds": "%.1f" % secs})
        if machine_reason and m is not None:
            diag("--- serial console of the emulated host (last 60 lines) ---")
            for line in m.tail(60):
                diag(line)
        qemu = "%.1f" % m.elapsed if m else "-"
        summary = "whole suite %.1f s, of which QEMU (Xen + dom0 + all cases) %s s" % (total, qemu)
        diag(summary)
        with open(os.path.join(self.run_dir, "report.md"), "w") as f:
            f.write(verdict.markdown_table(rows) + "\n" + summary + "\n")
        diag("table: %s" % os.path.join(self.run_dir, "report.md"))
        return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", action="append", help="run only this case (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("KP_E2E_TIMEOUT", DEFAULT_TIMEOUT)),
                    help="seconds for the whole QEMU run")
    ap.add_argument("--run-dir", help="where disks, configs and results go (default: BUILD/tests/e2e/run)")
    args = ap.parse_args()
    if args.list:
        for c in C.CASES:
            print("%-32s %s" % (c["name"], c["title"]))
        return 0
    return Suite(args).main()


if __name__ == "__main__":
    sys.exit(main())
