"""Run one command and write its peak RSS, as the kernel counts it, to a file.

Usage: python -I -S bench/launch.py REPORT_FILE -- COMMAND [ARG ...]

Why a launcher: at exec, Linux folds the high-water RSS of the address space being replaced
into the new program's ru_maxrss. For a child forked (or vforked) straight from the harness,
that is the harness's own footprint, and under pytest it was the test process's lifetime peak
(about 500 MB), so every child looked at least that large. Forked from this small process,
the child's figure is its own plus this launcher's few MB.

Stdlib only, run with -I -S so that it stays small. Exits with the command's exit code, or
128 + the signal number that ended it, as a shell does.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: launch.py REPORT_FILE -- COMMAND [ARG ...]", file=sys.stderr)
        return 2
    report, command = argv[0], argv[2:]
    pid = os.posix_spawnp(command[0], command, os.environ)
    _, status, usage = os.wait4(pid, 0)
    with open(report, "w", encoding="utf-8") as out:
        out.write(f"{usage.ru_maxrss}\n")  # KiB on Linux
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
