#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""bash completion of kunpackctl (shell-completion/bash/kunpackctl), run by bash with
bash-completion's own library, as an interactive shell runs it: commands, each
command's options, and files where an option takes one. Guest names need kunpackd:
tests/integration/test-daemon.py completes them against a running one.

Every option the completion offers is then given to its command, which
must accept it.

Usage: test-completion.py COMPLETION_FILE KUNPACKCTL   (bash-completion installed: install-deps.sh test)
"""

import os
import subprocess
import sys
import tempfile

BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"

# What bash does on <TAB>: COMP_WORDS, COMP_CWORD, COMP_LINE, COMP_POINT, then the function.
HARNESS = r'''
source "%s"
source "$1"
compopt() { :; }    # only valid inside a real completion; the replies are what is checked
COMP_LINE="$2"
COMP_POINT=${#COMP_LINE}
read -ra COMP_WORDS <<< "$COMP_LINE"
[[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_kunpackctl kunpackctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%%s\n' "${COMPREPLY[@]}"
''' % BASH_COMPLETION


def complete(completion, line, env=None):
    r = subprocess.run(["bash", "-c", HARNESS, "harness", completion, line], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, env=env, timeout=60)
    if r.returncode != 0 or r.stderr:
        raise RuntimeError("bash: %d %s" % (r.returncode, r.stderr))
    return sorted(x for x in r.stdout.split("\n") if x)


def main():
    completion, ctl = sys.argv[1:3]
    if not os.path.exists(BASH_COMPLETION):
        print("bash-completion is not installed (scripts/install-deps.sh test): skipping")
        sys.exit(77)
    failures = 0
    work = tempfile.mkdtemp(prefix="test-completion-")
    for name in ("kunpack.conf", "kunpack.conf.orig", "other"):
        open(os.path.join(work, name), "w").close()
    os.mkdir(os.path.join(work, "outdir"))
    # The commands kunpackctl --help lists: the completion must offer exactly these.
    helptext = subprocess.run([ctl, "--help"], stdout=subprocess.PIPE, text=True).stdout
    commands = helptext.split("Commands:\n", 1)[1].split("\nOptions:", 1)[0]
    verbs = sorted(line.split()[0] for line in commands.splitlines() if line.startswith("  ") and
                   not line.startswith("   "))
    cases = [
        ("kunpackctl ", verbs),
        ("kunpackctl me", ["metrics"]),
        ("kunpackctl --js", ["--json"]),
        ("kunpackctl --config", ["--config="]),
        ("kunpackctl list --", ["--failed", "--help", "--json", "--stale"]),
        ("kunpackctl --json list --f", ["--failed"]),
        ("kunpackctl doctor --", ["--help", "--json", "--no-launch"]),
        ("kunpackctl scan --do", ["--domain-config=", "--domid="]),
        ("kunpackctl --config=%s/kunpack.c" % work, ["%s/kunpack.conf" % work, "%s/kunpack.conf.orig" % work]),
        ("kunpackctl extract -o %s/ot" % work, ["%s/other" % work]),
        ("kunpackctl prepare g1 --output-directory=%s/o" % work, ["%s/outdir" % work]),
        ("kunpackctl scan --entry=", []),
    ]
    for line, want in cases:
        try:
            got = complete(completion, line)
        except RuntimeError as e:
            got = str(e)
        ok = got == sorted(want)
        failures += not ok
        print("%s: [%s] completes to %s%s" % ("ok" if ok else "FAIL", line, want, "" if ok else ", got %s" % got),
              file=sys.stdout if ok else sys.stderr)

    # Every option the completion offers is one its command accepts: OPTION, then --help, exits 0 (an
    # unknown option or a refused value is exit 2). Option values that must name something real do.
    rfd, wfd = os.pipe()
    values = {"--domain-config=": os.path.join(work, "other"), "--progress-fd=": str(wfd), "--format=": "qcow2"}
    offered = 0
    for verb in [None] + verbs:
        for opt in complete(completion, "kunpackctl -" if verb is None else "kunpackctl %s -" % verb):
            arg = [opt + values.get(opt, "1")] if opt.endswith("=") else [opt, "1"] if opt == "-o" else [opt]
            argv = [ctl] + ([verb] if verb else []) + arg + ["--help"]
            r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30,
                               pass_fds=(wfd,))
            offered += 1
            if r.returncode != 0:
                failures += 1
                print("FAIL: %s: the completion offers an option the command refuses (exit %d: %s)"
                      % (" ".join(argv[1:]), r.returncode, r.stderr.strip()), file=sys.stderr)
    os.close(rfd)
    os.close(wfd)
    print("%s: %d options offered, each accepted by its command" % ("ok" if offered > 60 else "FAIL", offered))
    failures += offered <= 60

    subprocess.run(["rm", "-rf", work])
    if failures:
        print("%d check(s) failed" % failures, file=sys.stderr)
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
