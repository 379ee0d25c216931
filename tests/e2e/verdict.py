# SPDX-License-Identifier: LGPL-2.1-or-later
"""Judges what dom0's driver collected, and reports it (TAP + a table).

For each step the driver left RUN_DIR/results/CASE/NN-KIND.json and the
files it names. A case passes when every step ran and every start's
expectation holds on the guest's real console output.
"""

import json
import os
import re

from guests import initrd_marker, parse_guest_report

NOT_XEN_IMAGE = "error: not xen image"
# pvgrub2's built-in config (the memdisk of Debian's grub-x86_64-xen.bin)
# echoes this before it loads the guest's own grub.cfg.
GRUB_READING = re.compile(r"Reading \([^)]*\)/boot/grub/grub\.cfg")
GRUB_ANY = re.compile(r"Reading \([^)]*\)/|GNU GRUB|Welcome to GRUB")
# Console lines that explain a failed boot.
NOTABLE = re.compile(r"(?i)error|panic|not syncing|unable|fail|warning|BUG|Oops|cannot")


class StepResult:
    def __init__(self, case_dir, index, step):
        self.step = step
        self.prefix = "%02d-%s" % (index, step["kind"])
        self.dir = case_dir
        path = os.path.join(case_dir, self.prefix + ".json")
        self.data = None
        if os.path.exists(path):
            with open(path) as f:
                self.data = json.load(f)

    def file(self, key):
        name = (self.data or {}).get("files", {}).get(key)
        if not name:
            return ""
        try:
            with open(os.path.join(self.dir, name), "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def files_matching(self, pattern):
        return {k: self.file(k) for k in (self.data or {}).get("files", {}) if re.search(pattern, k)}


def _check_boots(res, want, ctx):
    console = res.file("console")
    report = parse_guest_report(console)
    release = ctx["release"](want["kernel"])
    if report is None:
        if NOT_XEN_IMAGE in console:
            return False, "pvgrub: %s" % NOT_XEN_IMAGE
        if res.data.get("timed_out"):
            return False, "no report from the guest's initrd within %d s" % res.data["timeout"]
        if res.data.get("rc"):
            return False, "xl create failed (rc %s)" % res.data["rc"]
        return False, "the guest ended without its initrd's report"
    problems = []
    marker = initrd_marker(ctx["disk"] or "elf", release, ctx["nonce"])
    if report.get("marker") != marker:
        problems.append("initrd marker %r, expected %r" % (report.get("marker"), marker))
    if report.get("uname") != release:
        problems.append("kernel %r, expected %r" % (report.get("uname"), release))
    cmdline = want["cmdline"].format(**ctx["placeholders"])
    if report.get("cmdline", "").strip() != cmdline:
        problems.append("cmdline %r, expected %r" % (report.get("cmdline"), cmdline))
    grub_read = GRUB_READING.search(console) is not None
    if want["via"] == "pvgrub" and not grub_read:
        problems.append("booted without pvgrub (no GRUB output on the console)")
    if want["via"] == "direct" and GRUB_ANY.search(console):
        problems.append("GRUB ran: kunpack fell back to pvgrub instead of booting directly")
    if problems:
        return False, "; ".join(problems)
    return True, "booted %s via %s, its initrd ran, /proc/cmdline as expected (%.1f s)" % (
        release, want["via"], res.data["elapsed"])


def _check_start(res, expect, ctx):
    if "boots" in expect:
        ok, got = _check_boots(res, expect["boots"], ctx)
    elif expect.get("not_xen_image"):
        console = res.file("console")
        if parse_guest_report(console) is not None:
            return False, "a kernel booted"
        if NOT_XEN_IMAGE not in console:
            return False, "no %r on the console" % NOT_XEN_IMAGE
        ok, got = True, "GRUB: %s (%.1f s)" % (NOT_XEN_IMAGE, res.data["elapsed"])
    elif "xl_fails" in expect:
        out = res.file("xl")
        text = expect["xl_fails"].format(**ctx["placeholders"])
        if res.data.get("rc") == 0:
            return False, "xl create succeeded"
        if text not in out:
            return False, "xl create failed without %r" % text
        ok, got = True, "xl create failed: " + text
    else:
        raise ValueError("start step without a known expectation: %r" % expect)
    if ok and "dom0_log_has" in expect:
        want = expect["dom0_log_has"]
        other = StepResult(res.dir, want["step"], ctx["case"]["steps"][want["step"]])
        text = want["text"].format(**ctx["placeholders"])
        if text not in other.file("dom0"):
            return False, "dom0 step %d's log does not mention %r" % (want["step"], text)
    return ok, got


def judge_case(case, case_dir, ctx):
    """Returns (ok, got, seconds, failed StepResult or None)."""
    seconds = 0.0
    gots = []
    starts = 0
    for i, step in enumerate(case["steps"]):
        res = StepResult(case_dir, i, step)
        if res.data is None:
            return False, "step %d (%s) did not run" % (i, step["kind"]), seconds, None
        seconds += res.data.get("elapsed") or 0
        if "error" in res.data:
            return False, "step %d (%s): %s" % (i, step["kind"], res.data["error"]), seconds, res
        if step["kind"] in ("host", "dom0"):
            if not res.data.get("ok"):
                why = res.data.get("log") or "rc %s" % res.data.get("rc")
                return False, "step %d (%s) failed: %s" % (i, step["kind"], why.strip()[-300:]), seconds, res
            if step["kind"] == "host":
                gots.append("the host did %s (%.1f s)" % (step["action"], res.data.get("elapsed") or 0))
            continue
        ok, got = _check_start(res, step["expect"], ctx)
        if not ok:
            return False, "start %d: %s" % (starts + 1, got), seconds, res
        starts += 1
        gots.append(got)
    return True, "; then ".join(gots), round(seconds, 1), None


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# GRUB's file-loading progress bar, redrawn in place many times a second.
GRUB_PROGRESS = re.compile(r"\s*\[ [^]]* \d+%\s+[^]]*\]")
# xl -vvv lines that say "fail" on every successful start.
XL_NOISE = re.compile(r"loader probe failed")


def _tail(text, n):
    text = GRUB_PROGRESS.sub("", ANSI.sub("", text))
    lines = [l for l in re.split(r"[\r\n]+", text) if l.strip()]
    return lines[-n:]


def diagnostics(res):
    """Lines that explain a failed step: the guest's console, xl's output,
    the bootloader's and the hypervisor's logs, dom0 command output."""
    out = []
    if res is None or res.data is None:
        return out
    console = res.file("console")
    if console or res.step["kind"] == "start":
        out.append("--- guest console (last 60 lines) ---")
        out += _tail(console, 60) or ["(empty)"]
    xl = res.file("xl")
    if xl:
        lines = xl.replace("\r", "").splitlines()
        notable = [l for l in lines
                   if re.search(r"(?i)error|fail|bootloader|denied|unable", l) and not XL_NOISE.search(l)]
        out.append("--- xl -vvv create: error lines (last 30) ---")
        out += notable[-30:] or ["(none)"]
        out.append("--- xl -vvv create: last 15 lines ---")
        out += _tail(xl, 15)
    for name, text in sorted(res.files_matching(r"^bootloader|^xl-.*\.log$|^qemu").items()):
        out.append("--- /var/log/xen/%s (last 40 lines) ---" % name)
        out += _tail(text, 40) or ["(empty)"]
    dmesg = res.file("xl_dmesg")
    if dmesg:
        out.append("--- xl dmesg (last 20 lines) ---")
        out += _tail(dmesg, 20)
    dom0 = res.file("dom0")
    if dom0:
        out.append("--- dom0 command output (last 30 lines) ---")
        out += _tail(dom0, 30)
    if res.step["kind"] == "host" and res.data.get("log"):
        out.append("--- host step log ---")
        out += _tail(res.data["log"], 30)
    return out


def markdown_table(rows):
    out = ["| case | expected | got | seconds |", "|---|---|---|---|"]
    for r in rows:
        out.append("| %s | %s | %s | %s |" % (r["label"], r["expected"], r["got"], r["seconds"]))
    return "\n".join(out) + "\n"
