#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""kunpack's demo, run by scripts/demo.sh as `scripts/demo.py BUILDDIR`.

It tells the story on real kernels, one step after the other:

  kernels   Debian's own kernel recompressed as Ubuntu ships it (LZ4 and zstd),
            exactly as the kernel's Makefile.lib does;
  pvgrub    what those kernels are, and that pvgrub2 cannot load them;
  extract   kunpack decompresses each to the ELF, identical (sha256) to the
            reference, and Xen's own readnotes accepts its Xen notes.

  disk      a demo guest disk: an Ubuntu 20.04-like ext4 root with the LZ4
            kernel, its initrd and grub.cfg as grub-mkconfig writes it
            (tests/integration/images.py);
  boot      kunpack-boot run exactly as libxl runs it (a pty as its terminal,
            libxl's arguments, an empty output file), the answer read as
            libxl reads it: the kernel is the reference ELF, Xen's readnotes
            accepts it, the command line is grub.cfg's plus the xl "extra";
            the first start scans the disk in the libguestfs appliance (cold);
  hot       the same start again: answered from the cache in milliseconds.

Each step is a function in STEPS taking a Demo and printing what it shows;
later steps (boot the guest on Xen) are added to that list.
"""

import hashlib
import json
import os
import subprocess
import sys

SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FORMATS = ["lz4", "zstd"]


class Demo:
    def __init__(self, build):
        self.build = os.path.abspath(build)
        self.dir = os.path.join(self.build, "demo")
        self.kernels = os.path.join(self.dir, "kernels")
        self.kunpackctl = os.path.join(self.build, "tools", "kunpackctl")
        self.kunpack_boot = os.path.join(self.build, "tools", "kunpack-boot")
        self.facts = {}  # what steps learn, for the steps after them

    def run(self, *cmd, check=True, capture=True):
        r = subprocess.run(cmd, stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE if capture else None,
                           text=True)
        if check and r.returncode != 0:
            fail("%s failed (exit %d): %s" % (" ".join(cmd), r.returncode, (r.stderr or "").strip()))
        return r


def say(text=""):
    print(text, flush=True)


def title(text):
    say()
    say("== " + text)


def fail(text):
    print("demo: " + text, file=sys.stderr)
    sys.exit(1)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def readnotes():
    for version in sorted(os.listdir("/usr/lib"), reverse=True):
        path = os.path.join("/usr/lib", version, "bin", "readnotes")
        if version.startswith("xen-") and os.access(path, os.X_OK):
            return path
    return None


# ---- steps -----------------------------------------------------------------

def step_kernels(d):
    title("Kernels as Ubuntu ships them: Debian's kernel recompressed with lz4 -l -9 and zstd -22 --ultra")
    d.run(sys.executable, os.path.join(SOURCE, "tests", "fixtures", "mkkernels.py"), d.kernels,
          "--formats", ",".join(FORMATS), capture=False)
    release = open(os.path.join(d.kernels, "kernel-release")).read().strip()
    d.facts["reference"] = sha256(os.path.join(d.kernels, "vmlinux"))
    say("source: /boot/vmlinuz-%s (xz); reference ELF sha256 %s" % (release, d.facts["reference"]))
    for fmt in FORMATS:
        path = os.path.join(d.kernels, "bzImage-" + fmt)
        say("  %-44s %10d bytes" % (path, os.path.getsize(path)))


def step_pvgrub(d):
    title("What they are, and whether pvgrub2 could boot them (kunpackctl extract --check)")
    for fmt in FORMATS:
        kernel = os.path.join(d.kernels, "bzImage-" + fmt)
        info = json.loads(d.run(d.kunpackctl, "extract", "--check", "--json", kernel).stdout)
        d.facts.setdefault("check", {})[fmt] = info
        say("  bzImage-%s: boot protocol %s, %s payload of %d bytes -> %d-byte ELF" % (
            fmt, info["boot_protocol"], info["format"], info["payload_size"], info["output_size"]))
        if info["pvgrub_can_load"]:
            say("    pvgrub2 can load this payload")
        else:
            say("    pvgrub2 cannot: GRUB's Xen loader opens payloads only through gzip, xz and lzo,")
            say("    so this guest stops at \"error: not xen image\"")


def step_extract(d):
    title("kunpack decompresses them to the ELF every Xen loader boots (kunpackctl extract)")
    notes_tool = readnotes()
    for fmt in FORMATS:
        kernel = os.path.join(d.kernels, "bzImage-" + fmt)
        out = os.path.join(d.dir, "vmlinux-from-" + fmt)
        d.run(d.kunpackctl, "extract", kernel, "-o", out)
        got = sha256(out)
        if got != d.facts["reference"]:
            fail("%s: sha256 %s differs from the reference %s" % (out, got, d.facts["reference"]))
        say("  %s: sha256 %s, identical to the reference" % (out, got))
        d.facts.setdefault("extracted", {})[fmt] = out

    if notes_tool:
        out = d.facts["extracted"][FORMATS[-1]]
        say()
        say("Xen's readnotes on %s:" % out)
        r = d.run(notes_tool, out)
        for line in r.stdout.splitlines():
            say("    " + line)
        wanted = {"LOADER: generic", "XEN_VERSION: xen-3.0", "GUEST_OS: linux"}
        missing = [w for w in wanted if w not in r.stdout.splitlines()]
        if missing:
            fail("readnotes does not show %s" % ", ".join(missing))
    else:
        say("  (xen-utils' readnotes is not installed: skipping Xen's own view of the notes)")


def _integration():
    sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))
    import boottest  # noqa: E402
    import images  # noqa: E402
    return boottest, images


def step_disk(d):
    title("A guest disk as Ubuntu 20.04 leaves it, with the LZ4 kernel (tests/integration/images.py)")
    _, images = _integration()
    img = next(i for i in images.images() if i.name == "ubuntu-20.04-lz4")
    fs = img.disks[0].parts[0].fs
    # The older kernel the image keeps beside the new one is gzip there; the demo made only LZ4 and zstd.
    for path, content in list(fs.files.items()):
        if isinstance(content, tuple) and content[0] == "kernel" and content[1] not in FORMATS:
            fs.files[path] = ("kernel", "zstd")
    disk = os.path.join(d.dir, "ubuntu-20.04-lz4.img")
    work = os.path.join(d.dir, "disk-work")
    os.makedirs(work, exist_ok=True)
    if os.path.exists(disk):
        os.unlink(disk)
    images.build_disk(img.disks[0], disk, work, d.kernels, [])
    d.run("rm", "-rf", work)
    d.facts["disk"], d.facts["expect"] = disk, img.expect
    exp = img.expect
    say("  %s: MBR, one ext4 partition, %d MiB (sparse)" % (disk, os.path.getsize(disk) // (1 << 20)))
    say("  /boot/grub/grub.cfg as grub-mkconfig writes it; it boots \"%s\":" % exp["title"])
    say("    linux %s (%s)  initrd %s" % (exp["kernel"], exp["format"], exp["initrds"][0]))


def _boot(d, label):
    boottest, _ = _integration()
    env = dict(os.environ)
    env.setdefault("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg")
    ans = boottest.run_like_libxl(d.kunpack_boot, d.facts["disk"], d.facts["xen"], ["--config=" + d.facts["conf"]],
                                  args="console=hvc0", env=env)
    say("  $ %s --args=console=hvc0 --output=.../bootloader.N.out --output-format=simple0 \\" % d.kunpack_boot)
    say("        --output-directory=.../bootloader.N.d --config=%s %s" % (d.facts["conf"], d.facts["disk"]))
    for line in ans.lines():
        say("  | " + line)
    if ans.rc != 0:
        fail("kunpack-boot failed (exit %d)" % ans.rc)
    say("  libxl reads %d records:" % len(ans.records))
    for key, value in ans.records:
        say("    %-7s %s" % (key, value))
    if ans.kernel_sha256 != d.facts["reference"]:
        fail("the kernel handed to libxl (sha256 %s) is not the reference ELF" % ans.kernel_sha256)
    say("  the kernel libxl maps: %d bytes, sha256 %s: the reference ELF" % (ans.kernel_size, ans.kernel_sha256))
    rc, out = ans.readnotes or (1, "")
    if rc != 0 or "LOADER: generic" not in out.splitlines():
        fail("readnotes refuses the kernel handed to libxl")
    say("  Xen's readnotes accepts it (LOADER: generic, %s)" % next(
        (line for line in out.splitlines() if line.startswith("ENTRY")), "ENTRY"))
    want = d.facts["expect"]["cmdline"] + " console=hvc0"
    if ans.args != want:
        fail("args \"%s\", expected \"%s\"" % (ans.args, want))
    say("  args: grub.cfg's command line (as GRUB expands it) + the xl config's extra")
    say("  %s: %.2f s" % (label, ans.seconds))
    return ans


def step_boot(d):
    title("A domain start: kunpack-boot run exactly as libxl runs it (first start: the disk is scanned)")
    conf = os.path.join(d.dir, "kunpack.conf")
    for sub in ("cache", "state", "xen"):
        path = os.path.join(d.dir, sub)
        if os.path.exists(path):
            d.run("rm", "-rf", path)
    os.makedirs(os.path.join(d.dir, "xen"))
    with open(conf, "w") as f:
        f.write('cache_dir = "%s"\nstate_dir = "%s"\n' % (os.path.join(d.dir, "cache"), os.path.join(d.dir, "state")))
    d.facts["conf"], d.facts["xen"] = conf, os.path.join(d.dir, "xen")
    _boot(d, "cold start (libguestfs appliance under emulation, decompression, cache)")


def step_hot(d):
    title("The next start of the same, unchanged guest: answered from the cache (no appliance)")
    _boot(d, "hot start")


STEPS = [
    ("kernels", step_kernels),
    ("pvgrub", step_pvgrub),
    ("extract", step_extract),
    ("disk", step_disk),
    ("boot", step_boot),
    ("hot", step_hot),
]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: scripts/demo.py BUILDDIR")
    d = Demo(sys.argv[1])
    if not os.access(d.kunpackctl, os.X_OK):
        fail("%s not built; run ninja -C %s" % (d.kunpackctl, d.build))
    os.makedirs(d.dir, exist_ok=True)
    for name, step in STEPS:
        step(d)
    title("Done")
    say("Both kernels, which pvgrub2 refuses, are now plain ELFs with their Xen notes intact, and a guest")
    say("whose xl config says bootloader = \"%s\" boots its own LZ4 kernel." % (
        os.path.join("/usr/libexec/kunpack", "kunpack-boot")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
