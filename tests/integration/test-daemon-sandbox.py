#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""kunpackd under kunpackd.service's sandbox, without systemd as PID 1.

CI machines and containers have no systemd to run the unit, so this test
rebuilds its sandbox from the unit file itself, with the same kernel
mechanisms systemd uses:

  ProtectSystem=strict     every mount read-only but /dev and /proc, except
                           the unit's writable paths (Cache/State/Runtime
                           directories, ReadWritePaths), bound read-write
  PrivateTmp, ProtectHome  fresh tmpfs on /tmp and /var/tmp; empty read-only
                           /home, /root, /run/user
  PrivateNetwork           a network namespace of its own
  ProtectProc=invisible    a /proc of its own, mounted hidepid=invisible
  NoNewPrivileges, CapabilityBoundingSet
                           setpriv --no-new-privs --bounding-set=
  SystemCallFilter, SystemCallErrorNumber, SystemCallArchitectures
                           seccomp-exec with the allow-list computed from
                           `systemd-analyze syscall-filter` for the unit's
                           groups
  LimitNICE                prlimit --nice
  Environment=             passed as the unit sets it

and then runs a real scan (kunpack-scan, libguestfs, qemu under TCG), a
scan through a pooled appliance (docs/pool.md: it boots at nice 19 and is
raised back to nice 0 for its scan, which the filter and LimitNICE must
allow) and a hot start in it. What it cannot show (cgroup device policy, ProtectKernel*,
RestrictNamespaces) is left to systemd; everything a scan needs that the
filter or the mounts would break shows here.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import daemontest
import guesttest
from guesttest import check


# linux/capability.h
CAP_NUMBERS = {"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3, "CAP_FSETID": 4,
               "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SYS_ADMIN": 21}


def unit_settings(path):
    settings = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#") or line.startswith("[") or "=" not in line:
                continue
            k, v = line.split("=", 1)
            settings.setdefault(k, []).append(v)
    return settings


def expand(group, seen=None):
    """The system calls of a systemd syscall group (or one call), nested groups expanded."""
    if not group.startswith("@"):
        return {group}
    seen = seen or set()
    if group in seen:
        return set()
    seen.add(group)
    r = subprocess.run(["systemd-analyze", "syscall-filter", group], stdout=subprocess.PIPE, text=True, check=True)
    out = set()
    for line in r.stdout.splitlines()[1:]:
        w = line.strip()
        if not w or w.startswith("#"):
            continue
        if w.startswith("@"):
            out |= expand(w, seen)
        else:
            out.add(w)
    return out


def allow_list(filters):
    """SystemCallFilter= lines as systemd combines them: the first allow-list, then ~deny lists taken out."""
    allowed = None
    for f in filters:
        deny = f.startswith("~")
        names = f.lstrip("~").split()
        calls = set()
        for n in names:
            calls |= expand(n)
        if deny:
            allowed = (allowed or set()) - calls
        else:
            allowed = calls if allowed is None else allowed | calls
    return sorted(allowed or [])


def rlimit_nice(value):
    """LimitNICE= as systemd reads it: "+N"/"-N" a nice value (the limit 20 - N), a bare N the limit itself."""
    v = value.strip()
    return 20 - int(v) if v[0] in "+-" else int(v)


def nice_of(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[16])


def main():
    if os.geteuid() != 0:
        print("needs root: skipping")
        sys.exit(77)
    for tool in ("unshare", "setpriv", "systemd-analyze", "findmnt"):
        if not shutil.which(tool):
            print(tool, "not found: skipping")
            sys.exit(77)
    seccomp_exec = sys.argv[1]
    unit = sys.argv[2]
    build = os.path.realpath(os.environ["KP_BUILD_DIR"])
    if any(build == d or build.startswith(d + "/") for d in ("/tmp", "/var/tmp")):
        # The unit's PrivateTmp= puts a fresh tmpfs there: the daemon under test would vanish with it.
        print("the build directory %s is under /tmp or /var/tmp, which the sandbox replaces: skipping" % build)
        sys.exit(77)
    guesttest.fixtures()
    outdir, manifest = guesttest.build_images()
    base = os.environ["KP_BUILD_DIR"]
    work = tempfile.mkdtemp(prefix="test-daemon-sandbox-", dir=os.path.join(base, "tests", "integration"))
    os.chmod(work, 0o755)
    counter = guesttest.Counter(work)
    try:
        run(work, counter, manifest, seccomp_exec, unit)
    finally:
        subprocess.run(["pkill", "-f", "--", "--config=" + os.path.join(work, "kunpack.conf")])
        shutil.rmtree(work, ignore_errors=True)
    guesttest.finish()


# Issue 5's bound on `systemd-analyze security` for the unit (0 is the best, 10 the worst).
MAX_EXPOSURE = 2.5


def exposure(unit):
    """systemd's own grade of the unit's sandbox, computed from the file without PID 1 (systemd >= 250)."""
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager",
                        "--threshold=%d" % (MAX_EXPOSURE * 10), unit],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    m = re.search(r"Overall exposure level for kunpackd.service: ([0-9.]+)", r.stdout)
    return r.returncode, float(m.group(1)) if m else None, r.stdout


def run(work, counter, manifest, seccomp_exec, unit):
    s = unit_settings(unit)
    rc, level, out = exposure(unit)
    check(rc == 0 and level is not None and level <= MAX_EXPOSURE,
          "systemd-analyze security --offline=yes: exposure %s (at most %.1f)%s"
          % (level, MAX_EXPOSURE, "" if rc == 0 and level is not None else "\n" + out[-3000:]))
    syscalls = allow_list(s.get("SystemCallFilter", []))
    check(len(syscalls) > 200 and "reboot" not in syscalls and "setrlimit" not in syscalls and "mount" not in syscalls,
          "the unit's filter: %d system calls, without @privileged/@resources/@obsolete" % len(syscalls))
    listfile = os.path.join(work, "syscalls.list")
    with open(listfile, "w") as f:
        f.write("\n".join(syscalls) + "\n")
    caps = s["CapabilityBoundingSet"][0].split()
    env = dict(v.split("=", 1) for v in s.get("Environment", []))
    check(env.get("LIBGUESTFS_BACKEND") == "direct", "the unit runs libguestfs's direct backend")

    nice_limit = rlimit_nice(s["LimitNICE"][-1])
    check(nice_limit == 20, "the unit's LimitNICE lets a process go back to nice 0, never above (%d)" % nice_limit)
    # Raising a hard limit takes CAP_SYS_RESOURCE, which systemd has and some containers do not give root.
    can_limit = subprocess.run(["prlimit", "--nice=%d:%d" % (nice_limit, nice_limit), "true"],
                               stderr=subprocess.DEVNULL).returncode == 0
    if not can_limit:
        print("no CAP_SYS_RESOURCE here: LimitNICE cannot be applied, so the pooled appliance cannot go back "
              "to nice 0 in this sandbox (checked that it says so and scans all the same)")

    d = daemontest.Daemon(work, counter, "appliance_pool = 1\n")
    xen_out = os.path.join(work, "var-lib-xen")     # stands in for /var/lib/xen (ReadWritePaths)
    appliance = os.path.join(os.environ["KP_BUILD_DIR"], "tests", "integration", "guestfs-cache-sandbox")
    for p in (xen_out, appliance, os.path.join(work, "cache"), os.path.join(work, "state")):
        os.makedirs(p, exist_ok=True)
    d.add_guest("u1", manifest["ubuntu-20.04-lz4"]["disks"][0]["path"])
    d.add_guest("d1", manifest["debian-12-xz"]["disks"][0]["path"])

    rw = [os.path.join(work, "cache"), os.path.join(work, "state"), os.path.join(work, "run"), xen_out, appliance,
          work]  # the notify socket and the log live in work
    script = """
set -e
mount --make-rprivate /
for p in %(rw)s; do mount --bind "$p" "$p"; done
findmnt -rn -o TARGET | sort -u | while read -r m; do
    m=$(printf '%%b' "$m")
    case "$m" in /dev|/dev/*|/proc|/proc/*) continue ;; esac
    for p in %(rw)s; do [ "$m" = "$p" ] && continue 2; done
    mount -o remount,bind,ro "$m" 2>/dev/null || true
done
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /var/tmp
for h in /home /root /run/user; do [ -d "$h" ] && mount -t tmpfs -o ro,mode=0755 tmpfs "$h"; done
mount -t proc -o nosuid,nodev,noexec,hidepid=invisible proc /proc
umask 0077
exec %(prlimit)s setpriv --no-new-privs --bounding-set=-all,%(caps)s --inh-caps=-all \
    %(seccomp)s %(list)s -- %(kunpackd)s --config=%(conf)s --scan-program=%(scan)s
""" % dict(rw=" ".join(rw), caps=",".join("+" + c.lower()[4:] for c in caps), seccomp=seccomp_exec,
           list=listfile, kunpackd=d.kunpackd, conf=d.conf, scan=d.scan,
           prlimit="prlimit --nice=%d:%d" % (nice_limit, nice_limit) if can_limit else "")

    notify = daemontest.Notify(os.path.join(work, "notify.sock"))
    penv = d.env()
    penv.update(env)
    penv["LIBGUESTFS_CACHEDIR"] = appliance
    penv["NOTIFY_SOCKET"] = notify.path
    logf = open(d.log, "a")
    counter.reset()
    proc = subprocess.Popen(["unshare", "--mount", "--net", "--ipc", "--uts", "--fork", "--kill-child",
                             "sh", "-c", script], stdout=logf, stderr=subprocess.STDOUT, env=penv)
    logf.close()
    try:
        ready = notify.wait("READY=1", 60)
        check(ready, "kunpackd in the sandbox says READY=1\n" + ("" if ready else d.read_log()))
        if not ready:
            return
        st = d.ctl_json("status")
        pid = st["pid"]
        with open("/proc/%d/status" % pid) as f:
            status = f.read()
        fields = dict(l.split(":", 1) for l in status.splitlines() if ":" in l)
        check(fields["Seccomp"].strip() == "2" and fields["NoNewPrivs"].strip() == "1",
              "the daemon runs with a seccomp filter and no_new_privs")
        bnd = int(fields["CapBnd"], 16)
        want = sum(1 << CAP_NUMBERS[c] for c in caps)
        check(bnd == want, "its capability bounding set is the unit's %s (%x)" % (" ".join(caps), bnd))
        check(os.readlink("/proc/%d/ns/net" % pid) != os.readlink("/proc/self/ns/net") and
              os.readlink("/proc/%d/ns/mnt" % pid) != os.readlink("/proc/self/ns/mnt"),
              "in a network and a mount namespace of its own")
        with open("/proc/%d/mountinfo" % pid) as f:
            procs = [l.split(" - ")[1] for l in f if l.split()[4] == "/proc"]
        check(procs and procs[-1].startswith("proc ") and "hidepid=invisible" in procs[-1],
              "its /proc hides other users' processes (ProtectProc=invisible): %s" % procs[-1:])

        d.wait_for(lambda: not any(g["status"] == "queued" or g["status"].startswith("scanning")
                                   for g in d.guests().values()), 600, "the scan")
        ok = all(g["status"] == "fresh" for g in d.guests().values())
        check(ok, "kunpack-scan, libguestfs and qemu scan both guests inside the sandbox (%s)"
              % {n: g["status"] for n, g in d.guests().items()})
        check(counter.launches() >= 2, "one appliance per guest, and the pool's (%d)" % counter.launches())

        # The pool inside the sandbox: a pooled appliance boots at nice 19 and is raised to 0 for its scan.
        pool = lambda: d.ctl_json("status")["appliance_pool"]  # noqa: E731
        ok = d.wait_for(lambda: pool()["ready"] == 1, 600, "a ready pooled appliance")
        check(ok, "a pooled appliance boots inside the sandbox: %s" % (pool() if not ok else "ready"))
        if ok:
            worker = pool()["appliances"][0]["pid"]
            check(nice_of(worker) == 19, "the idle pooled worker runs at nice 19 (%d)" % nice_of(worker))
            r = d.ctl("--json", "rescan", "--wait", "u1")
            check(r.returncode == 0 and pool()["taken"] == 1 and d.guests()["u1"]["status"] == "fresh",
                  "u1 rescanned through the pooled appliance inside the sandbox (%s %s)"
                  % (r.stdout.strip(), r.stderr.strip()))
            log = d.read_log()
            check("cannot lower" not in log, "the unit's filter lets a pooled appliance lower its priority")
            if can_limit:
                check("cannot raise" not in log, "... and LimitNICE lets it raise it back to nice 0 for its scan")
            else:
                check("cannot raise the pooled appliance's CPU priority for its scan" in log,
                      "without LimitNICE applied, it says it could not raise its priority, and scans at nice 19")
            check("in a pooled appliance booted" in log, "kunpackd's log says the pool served it")
        out = os.path.join(xen_out, "bootloader.7.d")
        r = d.ctl("--json", "prepare", "u1", "--output-directory=" + out)
        p = daemontest.json.loads(r.stdout) if r.returncode == 0 else {}
        check(p.get("hot") is True and daemontest.sha256(p["kernel"]) ==
              daemontest.sha256(os.path.join(guesttest.fixtures(), "vmlinux")),
              "a hot start publishes the reference ELF into the writable output directory (%s)" % r.stderr.strip())
        r = d.ctl("prepare", "u1", "--output-directory=/usr/kunpack-test")
        check(r.returncode == 1 and "Read-only file system" in r.stderr,
              "outside ReadWritePaths the file system is read-only to it: " + r.stderr.strip())
        os.kill(pid, signal.SIGTERM)
        rc = proc.wait(timeout=60)
        check(rc == 0, "SIGTERM stops it cleanly (%d)" % rc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        notify.close()
        if guesttest.failures:
            print(d.read_log()[-4000:], file=sys.stderr)


if __name__ == "__main__":
    main()
