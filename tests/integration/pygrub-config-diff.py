#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""
pygrub against kunpack on the boot configurations of tests/unit/bootcfg/data/.

For each case directory (a guest's boot filesystem), pygrub's own code
(xen-utils-4.17: run_grub() of /usr/lib/xen-4.17/bin/pygrub, with its
GrubConf/ExtLinuxConf parsers and its config search order) picks a kernel,
a ramdisk and arguments, reading files through a small stand-in for
pygrub's xenfsimage filesystem object; kunpack's choice comes from
bootcfg-dump. Where pygrub is right the two must agree; where it is wrong
(known, each stated below) the test checks that pygrub still fails the way
it is documented to and asserts kunpack's answer instead.

Usage: pygrub-config-diff.py BOOTCFG_DUMP DATA_DIR
Prints a table of the choices; exit 0 when every case holds, 1 otherwise,
77 when pygrub is not installed.
"""

import importlib.machinery
import importlib.util
import io
import json
import logging
import os
import subprocess
import sys

PYGRUB = '/usr/lib/xen-4.17/bin/pygrub'
PYGRUB_LIB = '/usr/lib/xen-4.17/lib/python'

U2004 = '6a1f3f5e-8a2b-4c7d-9e10-2b3c4d5e6f70'

# What kunpack must select, and how pygrub fails where it does. 'pygrub' is
# None when pygrub gets it right; otherwise a function that returns True
# when pygrub's result shows the documented defect.
CASES = {
    'ubuntu-20.04': {
        'kernel': '/boot/vmlinuz-5.4.0-42-generic',
        'initrds': ['/boot/initrd.img-5.4.0-42-generic'],
        'args': f'root=UUID={U2004} ro quiet splash vt.handoff=7',
        'pygrub_wrong': 'passes "$vt_handoff" literally; GRUB expands it (gfxmode keep sets vt.handoff=7)',
        'pygrub': lambda p: p['kernel'] == '/boot/vmlinuz-5.4.0-42-generic' and p['args'].endswith('$vt_handoff'),
    },
    'ubuntu-20.04-default-path': {
        'kernel': '/boot/vmlinuz-5.4.0-26-generic',
        'initrds': ['/boot/initrd.img-5.4.0-26-generic'],
        'args': f'root=UUID={U2004} ro quiet splash vt.handoff=7',
        'pygrub_wrong': 'takes only numbers for set default=: a title path becomes 0 (and $vt_handoff stays literal)',
        'pygrub': lambda p: p['kernel'] == '/boot/vmlinuz-5.4.0-42-generic' and p['args'].endswith('$vt_handoff'),
    },
    'ubuntu-20.04-next-entry': {
        'kernel': '/boot/vmlinuz-5.4.0-26-generic',
        'initrds': ['/boot/initrd.img-5.4.0-26-generic'],
        'args': f'root=UUID={U2004} ro quiet splash vt.handoff=7',
        'pygrub_wrong': 'ignores grubenv next_entry (grub-reboot): boots entry 0',
        'pygrub': lambda p: p['kernel'] == '/boot/vmlinuz-5.4.0-42-generic',
    },
    'ubuntu-22.04': {
        'kernel': '/vmlinuz-5.15.0-88-generic',
        'initrds': ['/initrd.img-5.15.0-88-generic'],
        'args': 'root=/dev/mapper/ubuntu--vg-ubuntu--lv ro',
        'pygrub_wrong': 'ignores grubenv saved_entry (GRUB_DEFAULT=saved): boots entry 0',
        'pygrub': lambda p: p['kernel'] == '/vmlinuz-5.15.0-91-generic',
    },
    'debian-12': {
        'kernel': '/boot/vmlinuz-6.1.0-13-amd64',
        'initrds': ['/boot/initrd.img-6.1.0-13-amd64'],
        'args': 'root=UUID=8e2f1d3c-4b5a-4697-8a1b-2c3d4e5f6a7b ro quiet',
        'pygrub': None,
    },
    'debian-12-default-id': {
        'kernel': '/boot/vmlinuz-6.1.0-9-amd64',
        'initrds': ['/boot/initrd.img-6.1.0-9-amd64'],
        'args': 'root=UUID=8e2f1d3c-4b5a-4697-8a1b-2c3d4e5f6a7b ro quiet',
        'pygrub_wrong': 'takes only numbers for set default=: an id path becomes 0',
        'pygrub': lambda p: p['kernel'] == '/boot/vmlinuz-6.1.0-13-amd64',
    },
    'centos-7': {
        'kernel': '/vmlinuz-3.10.0-1127.el7.x86_64',
        'initrds': ['/initramfs-3.10.0-1127.el7.x86_64.img'],
        'args': 'root=/dev/mapper/centos-root ro crashkernel=auto rd.lvm.lv=centos/root rd.lvm.lv=centos/swap '
                'rhgb quiet LANG=en_US.UTF-8',
        'pygrub_wrong': 'replaces ${saved_entry} by 0: boots entry 0, not the saved one',
        'pygrub': lambda p: p['kernel'] == '/vmlinuz-3.10.0-1160.el7.x86_64',
    },
    'fedora-38': {
        'kernel': '/vmlinuz-6.2.9-300.fc38.x86_64',
        'initrds': ['/initramfs-6.2.9-300.fc38.x86_64.img'],
        'args': 'root=UUID=d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6 ro rootflags=subvol=root rhgb quiet console=hvc0',
        'pygrub_wrong': 'crashes on set kernelopts="root=UUID=..." (a value holding "="); it reads no BLS snippets anyway',
        'pygrub': lambda p: p.get('error', '').startswith('ValueError'),
    },
    'centos-6': {
        'kernel': '/vmlinuz-2.6.32-754.el6.x86_64',
        'initrds': ['/initramfs-2.6.32-754.el6.x86_64.img'],
        'args': 'ro root=/dev/mapper/VolGroup-lv_root rd_NO_LUKS LANG=en_US.UTF-8 rd_NO_MD '
                'rd_LVM_LV=VolGroup/lv_swap SYSFONT=latarcyrheb-sun16 crashkernel=auto rd_LVM_LV=VolGroup/lv_root '
                'KEYBOARDTYPE=pc KEYTABLE=us rd_NO_DM rhgb quiet',
        'pygrub': None,
    },
    'debian-5': {
        'kernel': '/boot/vmlinuz-2.6.26-1-xen-686',
        'initrds': ['/boot/initrd.img-2.6.26-1-xen-686'],
        'args': 'root=/dev/xvda1 ro console=hvc0 quiet',
        'pygrub_wrong': '"default saved" becomes 0: /boot/grub/default is not read',
        'pygrub': lambda p: p['kernel'] == '/boot/vmlinuz-2.6.26-2-xen-686',
    },
    'alpine': {
        'kernel': '/boot/vmlinuz-virt',
        'initrds': ['/boot/initramfs-virt'],
        'args': 'root=UUID=e7f8a9b0-c1d2-4e3f-a4b5-c6d7e8f9a0b1 modules=sd-mod,usb-storage,ext4 console=hvc0 quiet '
                'rootfstype=ext4',
        'pygrub_wrong': 'knows KERNEL and APPEND but not LINUX or INITRD: no kernel',
        'pygrub': lambda p: p.get('error', '').startswith('TypeError'),
    },
    'extlinux-classic': {
        'kernel': '/boot/vmlinuz-4.19.0-6-amd64',
        'initrds': ['/boot/initrd.img-4.19.0-6-amd64'],
        'args': 'root=/dev/xvda1 ro console=hvc0 quiet',
        'pygrub': None,
    },
    'fallback': {
        'kernel': '/boot/vmlinuz-5.10.0-26-amd64',
        'initrds': ['/boot/initrd.img-5.10.0-26-amd64'],
        'args': '',
        'pygrub_wrong': 'no configuration: pygrub gives up, kunpack takes the newest kernel',
        'pygrub': lambda p: p.get('error', '').startswith('RuntimeError'),
    },
}


class DirFs:
    """What pygrub's run_grub() uses of a xenfsimage filesystem, over a test directory."""

    def __init__(self, root):
        self.root = os.path.realpath(root)

    def _path(self, p):
        full = os.path.realpath(os.path.join(self.root, p.lstrip('/')))
        if not (full == self.root or full.startswith(self.root + '/')):
            raise OSError(f'{p} leaves the test filesystem')
        return full

    def file_exists(self, p):
        return os.path.isfile(self._path(p))

    def open_file(self, p):
        return io.BytesIO(open(self._path(p), 'rb').read())


def load_pygrub():
    sys.path.insert(0, PYGRUB_LIB)
    loader = importlib.machinery.SourceFileLoader('pygrub_under_test', PYGRUB)
    spec = importlib.util.spec_from_loader('pygrub_under_test', loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    # run_grub() reads these module globals, set by pygrub's main otherwise.
    module.list_entries = False
    module.interactive = False
    return module


def pygrub_choice(pygrub, case_dir):
    """pygrub's kernel, ramdisk and args for a case, or an 'error' when it fails."""
    fs = DirFs(case_dir)
    try:
        # run_grub's first argument is the disk image; it must be readable, nothing more.
        cfg = pygrub.run_grub(os.path.join(case_dir, '.'), None, fs, '')
    except Exception as e:
        return {'error': f'{type(e).__name__}: {e}'}
    return {'kernel': cfg['kernel'], 'initrds': [cfg['ramdisk']] if cfg['ramdisk'] else [],
            'args': ' '.join((cfg['args'] or '').split())}


def kunpack_choice(dump, case_dir):
    p = subprocess.run([dump, '--compact', case_dir], capture_output=True, text=True)
    if p.returncode != 0:
        return {'error': p.stderr.strip()}
    plan = json.loads(p.stdout)
    s = plan['selected']
    # The kernel splits its command line at blanks: compare the words.
    return {'kernel': s['kernel'], 'initrds': s['initrds'], 'args': ' '.join(s['cmdline'].split()),
            'title': s['title'], 'reason': plan['reason']}


def short(c):
    if 'error' in c:
        return 'error: ' + c['error'].split('\n')[0][:60]
    initrd = ','.join(os.path.basename(i) for i in c['initrds']) or '-'
    args = c['args'] if len(c['args']) <= 48 else c['args'][:45] + '...'
    return f"{c['kernel']} + {initrd} [{args}]"


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    dump, data = sys.argv[1], sys.argv[2]
    if not os.path.exists(PYGRUB) or not os.path.isdir(os.path.join(PYGRUB_LIB, 'grub')):
        print('pygrub (xen-utils-4.17) is not installed: skipping')
        return 77
    logging.disable(logging.CRITICAL)   # pygrub's parsers log every directive they skip
    pygrub = load_pygrub()
    # pygrub prints which parser it uses on stderr: keep it out of the table.
    sys.stderr.flush()
    saved_stderr = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)

    cases = sorted(d for d in os.listdir(data) if os.path.isdir(os.path.join(data, d)))
    unknown = set(cases) - set(CASES)
    failures = []
    if unknown:
        failures.append(f'cases without an expectation here: {sorted(unknown)}')

    print('| config | kunpack | pygrub | verdict |')
    print('|---|---|---|---|')
    for name in cases:
        if name not in CASES:
            continue
        want = CASES[name]
        case_dir = os.path.join(data, name)
        k = kunpack_choice(dump, case_dir)
        os.dup2(devnull, 2)
        try:
            p = pygrub_choice(pygrub, case_dir)
        finally:
            sys.stderr.flush()
            os.dup2(saved_stderr, 2)

        expected = {'kernel': want['kernel'], 'initrds': want['initrds'], 'args': want['args']}
        got = {key: k.get(key) for key in expected}
        if got != expected:
            failures.append(f'{name}: kunpack chose {got}, expected {expected}')

        if want['pygrub'] is None:
            if p != expected:
                failures.append(f'{name}: pygrub chose {p}, kunpack {got}: they should agree')
            verdict = 'same'
        else:
            if not want['pygrub'](p):
                failures.append(f'{name}: pygrub no longer fails as documented ({want["pygrub_wrong"]}): {p}')
            if p == expected:
                failures.append(f'{name}: pygrub now agrees with kunpack; update the expectation')
            verdict = 'pygrub wrong: ' + want['pygrub_wrong']
        print(f'| {name} | {short(k)} | {short(p)} | {verdict} |')

    for f in failures:
        print('FAIL:', f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
