# SPDX-License-Identifier: LGPL-2.1-or-later
"""Guest images that try to smuggle records into libxl's bootloader answer.

Built with images.py's machinery (one ext4 partition on an MBR disk, the
real fixture kernels) into BUILD/tests/integration/boot-images/, cached by
the content of this file, images.py and the fixtures. images.py's own
hostile images (newline in a title, NUL and escapes in the arguments, a
kernel path with "..", a symlink to /etc/shadow) are used beside these.

Each image: name -> (grub.cfg text, expectation), the expectation either
{"accepted": cmdline} (the strings are plain data: the answer must carry
them in one args record and nothing else) or {"refused": regex} (the plan
is refused; the scan's error matches).
"""

import hashlib
import json
import os
import shutil
import tempfile

import images

KV = "5.4.0-26-generic"
ENTRY = ("menuentry '%(title)s' {\n\tlinux /boot/vmlinuz-" + KV + " %(args)s\n"
         "\tinitrd %(initrd)s\n}\n")


def cfg(title="Ubuntu", args="root=/dev/xvda1 ro", initrd="/boot/initrd.img-" + KV, header=""):
    return ("set default=0\n" + header + ENTRY % dict(title=title, args=args, initrd=initrd)).encode()


# Words that look like records but are only words: GRUB passes them to the kernel as arguments.
WORDS = "root=/dev/xvda1 ro kernel /etc/shadow ramdisk ../../../etc/shadow args init=/bin/sh"

CASES = {
    # Accepted as data: the title and the arguments name other files, but they are not records.
    "inject-words": (cfg(title="kernel /etc/shadow", args=WORDS),
                     {"accepted": WORDS}),
    # A quoted argument that spans two lines: GRUB keeps the newline inside the word.
    "inject-quoted-newline": (cfg(args='root=/dev/xvda1 "ro\nkernel /etc/shadow"'),
                              {"refused": r"control character"}),
    # A tab inside a quoted argument.
    "inject-quoted-tab": (cfg(args='root=/dev/xvda1 "ro\tkernel /etc/shadow"'),
                          {"refused": r"control character"}),
    # The initrd climbs out of the guest's filesystem.
    "inject-initrd-dotdot": (cfg(initrd="/boot/../../../etc/shadow"),
                             {"refused": r"initrd path .*\.\."}),
    # The kernel path itself holds a newline and a record.
    "inject-kernel-newline": (("set default=0\nmenuentry 'Ubuntu' {\n\tlinux \"/boot/vmlinuz-" + KV +
                               "\nkernel /etc/shadow\" root=/dev/xvda1\n}\n").encode(),
                              {"refused": r"control character"}),
}


def _key(fixtures):
    h = hashlib.sha256()
    for path in (os.path.abspath(__file__), images.__file__):
        with open(path, "rb") as f:
            h.update(f.read())
    with open(os.path.join(fixtures, "SHA256SUMS"), "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def build(outdir, fixtures):
    """Builds (or reuses) every image: {name: {"path": ..., "expect": ..., "initrd_sha256": ...}}."""
    manifest_path = os.path.join(outdir, "manifest.json")
    key = _key(fixtures)
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            m = json.load(f)
        if m.get("key") == key and all(os.path.exists(v["path"]) for v in m["images"].values()):
            return m["images"]
    os.makedirs(outdir, exist_ok=True)
    work = tempfile.mkdtemp(dir=outdir, prefix=".work-")
    initrd = images.make_initrd("initrd.img-" + KV)
    out = {}
    for name, (text, expect) in CASES.items():
        files = {"/boot/grub/grub.cfg": text, "/boot/vmlinuz-" + KV: ("kernel", "lz4"),
                 "/boot/initrd.img-" + KV: initrd,
                 "/etc/shadow": b"root:$6$guestsalt$GUESTSECRETHASH:19000:0:99999:7:::\n"}
        disk = images.Disk("dos", [images.Part(images.Fs("ext4", files))])
        path = os.path.join(outdir, name + ".img")
        images.build_disk(disk, path, work, fixtures, [])
        out[name] = {"path": path, "expect": expect, "initrd_sha256": hashlib.sha256(initrd).hexdigest()}
    shutil.rmtree(work)
    with open(manifest_path, "w") as f:
        json.dump({"key": key, "images": out}, f, indent=1)
    return out
