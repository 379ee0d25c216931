#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Usage errors fail loudly, libxl's own options keep working.

Usage: test-usage.py KUNPACK_BOOT KUNPACK_SCAN KUNPACKCTL   (KP_BUILD_DIR set; no root needed)

kunpack-boot is run exactly as libxl runs it (tests/integration/boottest.py:
a pty, libxl's arguments in libxl's order, the answer read back as libxl
reads it). A bad value of one of kunpack's options, an option the mode
ignores, a --config file that does not exist, or a missing disk must end
in exit 2, one line on the pty naming the disk and the mistake, and no
answer (the output file stays empty), whatever on_failure says. An
option kunpack-boot does not know is one warning line, then the start
goes on: here, to the pvgrub answer for a disk that does not exist.
kunpack-scan and kunpackctl refuse bad command lines the same way (exit 2,
one line), and report a broken kunpack.conf with its file and line;
kunpack-scan (and kunpackctl scan) run without root say on their failure
line that kunpack-scan runs as root.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import boottest  # noqa: E402

failures = 0

# Run in a private mount namespace: a tmpfs on /run, a datagram socket at journald's path, then the command
# given; prints its exit status, stderr and the datagrams it sent, as JSON.
JOURNAL_STANDIN = r"""
import json, os, socket, subprocess, sys
subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run"], check=True)
os.makedirs("/run/systemd/journal")
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/run/systemd/journal/socket")
r = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
s.setblocking(False)
datagrams = []
while True:
    try:
        datagrams.append(s.recv(1 << 16).decode(errors="replace"))
    except BlockingIOError:
        break
print(json.dumps({"rc": r.returncode, "stderr": r.stderr, "datagrams": datagrams}))
"""


def check(cond, what):
    global failures
    print(("ok: " if cond else "FAIL: ") + what, file=sys.stdout if cond else sys.stderr)
    if not cond:
        failures += 1


def main():
    boot, scan, ctl = sys.argv[1:4]
    work = tempfile.mkdtemp(prefix="test-usage-")
    disk = os.path.join(work, "guest.img")     # never created: the start that goes on falls back to pvgrub
    conf = os.path.join(work, "kunpack.conf")
    pvgrub = boottest.PVGRUB
    with open(conf, "w") as f:
        # on_failure = "fail": a usage error must not depend on the policy, and a runtime failure shows it.
        f.write('cache_dir = "%s/cache"\nstate_dir = "%s/state"\nsocket_path = "%s/none.sock"\n'
                'pvgrub_path = "%s"\n' % (work, work, work, pvgrub))
    env = dict(os.environ)
    env.pop("KUNPACK_CONFIG", None)
    env.pop("JOURNAL_STREAM", None)

    def start(bootloader_args, **kw):
        return boottest.run_like_libxl(boot, disk, work, ["--config=" + conf] + bootloader_args, env=env,
                                       timeout=30, **kw)

    # ---- kunpack-boot: exit 2, one line, no answer --------------------------------------------
    refused = [
        (["--mode=foo"], {}, '--mode: expected direct or pvgrub, got "foo"'),
        (["--mode=pvgrub", "--entry=1"], {}, "--entry has no effect with --mode=pvgrub (GRUB shows the guest's "
                                              "own menu)"),
        (["--mode=pvgrub"], {"kernel": "/boot/vmlinuz"}, "--kernel (xl's kernel=) has no effect with "
                                                         "--mode=pvgrub (pvgrub boots what the guest's menu selects)"),
        ([], {"ramdisk": "/boot/initrd.img"}, "--ramdisk (xl's ramdisk=) has no effect without --kernel "
                                              "(xl's kernel=)"),
        (["--entry=2"], {"kernel": "/boot/vmlinuz"}, "--entry has no effect with --kernel (xl's kernel=): no boot "
                                                     "config is read"),
        ([], {"kernel": "vmlinuz"}, '--kernel "vmlinuz" is not an absolute path in the guest'),
        (["--entry="], {}, "--entry is empty"),
        (["--config=%s/missing.conf" % work], {}, "--config=%s/missing.conf: no such file" % work),
    ]
    for extra, kw, reason in refused:
        ans = start(extra, **kw)
        want = "kunpack-boot: %s: invalid command line: %s; the start fails" % (disk, reason)
        out = os.path.join(work, "bootloader.%s.out" % os.path.basename(ans.outdir).split(".")[1])
        check(ans.rc == 2 and ans.lines() == [want] and os.path.getsize(out) == 0 and ans.records == [],
              "kunpack-boot %s: exit 2, one line, no answer (got %s, %s, %d bytes)"
              % (" ".join(extra + ["--%s=%s" % k for k in kw.items()]), ans.rc, ans.lines(), os.path.getsize(out)))

    # libxl's own options with bad values: the same (libxl never sends these; a wrapper might).
    for argv, reason in ((["--output-format=xml"], '--output-format: expected simple0 or simple, got "xml"'),
                         (["--runas=0"], '--runas: expected a numeric user id other than 0, got "0"'),
                         (["--runas=nobody"], '--runas: expected a numeric user id other than 0, got "nobody"')):
        r = subprocess.run([boot, "--config=" + conf, "--output=-"] + argv + [disk], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=env, timeout=30)
        want = "kunpack-boot: %s: invalid command line: %s; the start fails\n" % (disk, reason)
        check(r.returncode == 2 and r.stderr == want and r.stdout == "",
              "kunpack-boot %s: exit 2, one line (got %d, %r)" % (argv[0], r.returncode, r.stderr))
    r = subprocess.run([boot, "--output=-", "--config=" + conf], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, env=env, timeout=30)
    check(r.returncode == 2 and r.stderr == "kunpack-boot: invalid command line: no disk given; the start fails\n",
          "kunpack-boot without a disk: exit 2 (got %d, %r)" % (r.returncode, r.stderr))

    # The refusal in the journal: its own MESSAGE_ID and the disk, as journald gets it. In a mount namespace of
    # its own, a socket at journald's path stands in for journald and keeps the datagrams kunpack-boot sends.
    if os.geteuid() == 0:
        r = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable, "-c", JOURNAL_STANDIN,
                            boot, "--config=" + conf, "--output=-", "--mode=foo", disk], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=env, timeout=60)
        got = json.loads(r.stdout) if r.returncode == 0 else {}
        fields = [dict(l.split("=", 1) for l in d.split("\n") if "=" in l) for d in got.get("datagrams", [])]
    if os.geteuid() == 0 and r.stderr.startswith("unshare: "):
        # Root in name only (fakeroot) or a container that forbids namespaces: said, not failed.
        print("no mount namespace here (%s): the journal entry of a refusal is not checked" % r.stderr.strip())
    elif os.geteuid() == 0:
        want = {"MESSAGE_ID": "94462035f61b4ab28d8317f3ed9d756e", "DISK": disk, "PRIORITY": "3", "ERRNO": "22",
                "MESSAGE": '%s: invalid command line: --mode: expected direct or pvgrub, got "foo"; the start fails'
                           % disk}
        check(got.get("rc") == 2 and len(fields) == 1 and all(fields[0].get(k) == v for k, v in want.items()),
              "kunpack-boot --mode=foo in the journal: one entry, the refusal's MESSAGE_ID, DISK=, ERRNO=22 (%s %s)"
              % (got.get("rc"), fields or r.stderr.strip()))
    else:
        print("not root: the journal entry of a refusal is not checked (it needs a mount namespace)")

    # ---- kunpack-boot: every option libxl passes, and one it does not know yet -----------------
    ans = start(["--future-libxl-option=1"], kernel=None, args="console=hvc0")
    lines = ans.lines()
    check(ans.rc == 0 and ans.kernel_sha256 == boottest.sha256_bytes(open(pvgrub, "rb").read())
          and ans.args == "console=hvc0",
          "an unknown option does not stop the start: the pvgrub answer for the missing disk (rc %s, %s)"
          % (ans.rc, lines))
    check(len(lines) == 2 and lines[0] == 'kunpack-boot: %s: ignoring unknown option "--future-libxl-option=1" '
          "(from a newer libxl, or a typo in bootloader_args)" % disk and "booting it with pvgrub" in lines[1],
          "one warning naming the option, then the fallback's own line (%s)" % lines)
    # A broken kunpack.conf (it exists) is a host failure: pvgrub from the built-in path, not exit 2.
    broken = os.path.join(work, "broken.conf")
    with open(broken, "w") as f:
        f.write('on_failure = "fail"\ncache_dirr = "/var/cache/kunpack"\n')
    ans = boottest.run_like_libxl(boot, disk, work, ["--config=" + broken], env=env, timeout=30)
    check(ans.rc == 0 and ans.count("kernel") == 1 and len(ans.lines()) == 1
          and re.search(re.escape(broken) + r':2: unknown key "cache_dirr".*booting it with pvgrub', ans.lines()[0]),
          "a broken kunpack.conf: the pvgrub answer, one line naming file and line (%s, %s)" % (ans.rc, ans.lines()))

    # ---- kunpack-scan ----------------------------------------------------------------------------
    for argv, err in (
            (["--bogus", disk], "kunpack-scan: unrecognized option '--bogus'\n"),
            (["--domid=3", disk], "kunpack-scan: --domid has no effect without --pvgrub\n"),
            (["--kernel=/boot/vmlinuz", "--entry=1", disk], "kunpack-scan: --entry has no effect with --kernel: no "
                                                            "boot config is read\n"),
            (["--timeout=0", disk], 'kunpack-scan: --timeout: expected 1 to 86400 seconds, got "0"\n'),
            (["--format=qcow3", disk], 'kunpack-scan: --format: unknown disk format "qcow3" (use raw or qcow2)\n'),
            (["--format=vhd", disk], 'kunpack-scan: --format: disk format "vhd" is not supported (use raw or qcow2)\n'),
            (["--config=%s/missing.conf" % work, disk], "kunpack-scan: cannot open %s/missing.conf: No such file "
                                                        "or directory\n" % work),
            (["--config=" + broken, disk], '%s:2: unknown key "cache_dirr"\n' % broken),
            ([], "kunpack-scan: no disk given (see --help)\n")):
        r = subprocess.run([scan] + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                           timeout=30)
        check(r.returncode == 2 and r.stderr.endswith(err) and r.stderr.count("\n") == 1 and r.stdout == "",
              "kunpack-scan %s: exit 2, one line (got %d, %r)" % (" ".join(argv[:1]), r.returncode, r.stderr))

    # ---- kunpackctl ------------------------------------------------------------------------------
    for argv, err in (
            (["--bogus", "list"], "kunpackctl: unrecognized option '--bogus'\n"),
            (["list", "--bogus"], "kunpackctl list: unrecognized option '--bogus'\n"),
            (["frobnicate"], 'kunpackctl: unknown command "frobnicate"; see --help\n'),
            (["--config=%s/missing.conf" % work, "list"], "kunpackctl: cannot open %s/missing.conf: No such file "
                                                          "or directory\n" % work),
            (["--config=" + broken, "status"], 'kunpackctl: %s:2: unknown key "cache_dirr"\n' % broken),
            # scan is kunpack-scan itself, found next to kunpackctl (or in libexecdir), with the same arguments.
            (["scan", "--domid=3", disk], "kunpack-scan: --domid has no effect without --pvgrub\n"),
            (["--config=" + broken, "scan", disk], '%s:2: unknown key "cache_dirr"\n' % broken)):
        r = subprocess.run([ctl] + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                           timeout=30)
        check(r.returncode == 2 and r.stderr.endswith(err) and r.stderr.count("\n") == err.count("\n") and
              r.stdout == "",
              "kunpackctl %s: exit 2, one line (got %d, %r)" % (" ".join(argv), r.returncode, r.stderr))

    # ---- kunpack-scan without root: the failure line says that it runs as root ------------------
    # A cache directory the caller may not enter, as /var/cache/kunpack (root's, 0700) is to anyone but
    # root; as root the programs run as nobody, in a directory nobody may read.
    shared = tempfile.mkdtemp(prefix="test-usage-nobody-")
    os.chmod(shared, 0o755)
    closed = os.path.join(shared, "cache")
    os.mkdir(closed, 0o000)
    nconf = os.path.join(shared, "kunpack.conf")
    with open(nconf, "w") as f:
        f.write('cache_dir = "%s"\nstate_dir = "%s/state"\n' % (closed, shared))
    os.chmod(nconf, 0o644)
    as_user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
    # Copies nobody can run wherever the build tree is (a package build's is 0700); kunpackctl scan runs
    # the kunpack-scan beside it.
    for prog in (scan, ctl):
        shutil.copy(prog, shared)
    scan_copy, ctl_copy = (os.path.join(shared, os.path.basename(p)) for p in (scan, ctl))
    want = ("kunpack-scan: %s: cannot open cache directory %s: Permission denied (kunpack-scan runs as root: "
            "kunpack's cache and state, and most guest disks, are root's)\n" % (disk, closed))
    for argv in ([scan_copy, "--config=" + nconf, disk], [ctl_copy, "--config=" + nconf, "scan", disk]):
        r = subprocess.run(as_user + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                           timeout=30)
        check(r.returncode == 1 and r.stderr == want and r.stdout == "",
              "%s without root: exit 1, the reason and that it runs as root (got %d, %r)"
              % (os.path.basename(argv[0]), r.returncode, r.stderr))
    subprocess.run(["rm", "-rf", shared])

    subprocess.run(["rm", "-rf", work])
    if failures:
        print("%d check(s) failed" % failures, file=sys.stderr)
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
