"""The protocol of a child process started ahead of its turn (the refresh's load, the build's
dbt): it prepares, then waits for a line `go` on its stdin; a stdin closed without it tells
it to stop. One place for both sides, so that the parents and the children agree."""

from __future__ import annotations

import io
import subprocess
import sys
from contextlib import suppress

GO = "go"


def wait_for_go() -> bool:
    """In the child: block until the parent says go (True) or closes stdin (False)."""
    return sys.stdin.readline().strip() == GO


def send_go(process: subprocess.Popen) -> None:
    """In the parent. A child that has already stopped has said why (its output, its result
    file), so a closed pipe is not an error here."""
    line = f"{GO}\n"
    with suppress(BrokenPipeError):
        process.stdin.write(line if isinstance(process.stdin, io.TextIOBase) else line.encode())
        process.stdin.close()


def send_stop(process: subprocess.Popen) -> None:
    """In the parent: close the child's stdin without go; the child exits without its work."""
    with suppress(BrokenPipeError):
        process.stdin.close()
