"""A dbt command started before its turn, so that dbt's start-up overlaps the step before it.

`PreparedDbt` starts `python -m scripts.prepared_dbt`, which imports dbt and parses the project
at once, then waits for a line `go` on its stdin before it runs the command on the parsed
project. dbt's interpreter start, imports and parse took about 3 s of each of the two builds
of a refresh at 1M contacts (docs/benchmarks.md); started ahead, they run while the load or
the value-model fit does. A child that gets no `go` (its stdin closed: the step before
failed) exits without running anything.

Nothing a step before can do changes what the parse reads: the project's files and vars, never
the warehouse. dbt stamps a build with the time its command starts (`run_started_at`), not the
parse's. The parse writes target/manifest.json only when asked to (`write_manifest`): the
value-model fit reads that file while the second build's parse runs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from scripts.contract import PROJECT_DIR
from scripts.go_signal import send_go, send_stop, wait_for_go

# The dbt of this interpreter's environment: cron runs `.venv/bin/python -m scripts.refresh`
# without the virtualenv on PATH.
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))

#: The exit of a child that was told to stop before it ran its command.
EXIT_NOT_RUN = 3
#: dbt's own exits: 1 when the command ran and a node failed, 2 when dbt itself failed.
EXIT_NODE_FAILED = 1
EXIT_DBT_FAILED = 2

#: How DuckDB's error starts when a query needs more memory than its bound allows.
DUCKDB_OUT_OF_MEMORY = "Out of Memory Error"


def dbt_options(target: str, dbt_vars: str | None) -> list[str]:
    """What the parse and the command share: the project, profiles, target and vars."""
    options = ["--target", target, "--project-dir", str(PROJECT_DIR)]
    options += ["--profiles-dir", str(PROJECT_DIR)]
    return options + (["--vars", dbt_vars] if dbt_vars else [])


def quiet_parse_options() -> list[str]:
    """The parse's console lines: warnings and errors only. The command after it prints dbt's
    header again, and the parse runs during the step before, whose lines its own would
    interleave with. The log file (logs/dbt.log) keeps every line, the parse's timing that the
    bench reads among them. A DBT_LOG_LEVEL of the user's wins."""
    if "DBT_LOG_LEVEL" in os.environ:
        return []
    # --log-level alone would set the file's level too
    file_level = os.environ.get("DBT_LOG_LEVEL_FILE", "debug")
    return ["--log-level", "warn", "--log-level-file", file_level]


def out_of_memory_advice(target: str, messages: list[str | None]) -> str | None:
    """What to do when a DuckDB node ran out of its memory bound, or None. DuckDB's own advice,
    which dbt prints, names SQL settings; here the bound is set from the environment, and a
    bound that sufficed yesterday can fail as the data grows (docs/benchmarks.md, 3M run)."""
    if target != "duckdb" or not any(DUCKDB_OUT_OF_MEMORY in (m or "") for m in messages):
        return None
    bound = os.environ.get("CRM_DUCKDB_MEMORY_LIMIT")
    now = f"now {bound}" if bound else "unset, so the dbt profile's default"
    return (
        f"DuckDB ran out of its memory bound (CRM_DUCKDB_MEMORY_LIMIT, {now}). Run again "
        "with a larger bound (README.md, 'Large extracts', gives the bounds measured at each "
        "scale)."
    )


class PreparedDbt:
    """`dbt <args>` on `target`, parsed now and run by `run()`. A context manager: leaving it
    without `run()` (a step before it failed) stops the child."""

    def __init__(
        self,
        args: list[str],
        target: str,
        env: dict[str, str],
        *,
        dbt_vars: str | None = None,
        write_manifest: bool = True,
    ):
        self.args = args
        self.target = target
        # what the dbt command line would be, shown when the command runs
        self.shown = [DBT_EXECUTABLE, *args, *dbt_options(target, dbt_vars)]
        command = [sys.executable, "-m", "scripts.prepared_dbt", "--target", target]
        command += ["--vars", dbt_vars] if dbt_vars else []
        command += [] if write_manifest else ["--no-write-manifest"]
        self.process: subprocess.Popen | None = subprocess.Popen(
            [*command, "--", *args], cwd=PROJECT_DIR, env=env, stdin=subprocess.PIPE
        )

    def run(self) -> None:
        """Run the command (the child has parsed, or is still parsing, the project); raise
        SystemExit naming the command when it fails, like the dbt command line would."""
        process, self.process = self.process, None
        print("$ " + " ".join(self.shown), flush=True)
        send_go(process)  # a child whose parse failed has said why already
        returncode = process.wait()
        if returncode != 0:
            raise SystemExit(f"dbt {self.args[0]} failed on {self.target} (exit {returncode})")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            send_stop(process)
            process.wait()

    def __enter__(self) -> PreparedDbt:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True)
    parser.add_argument("--vars", default=None, help="dbt vars, as YAML")
    parser.add_argument(
        "--no-write-manifest",
        action="store_true",
        help="parse without writing target/manifest.json (someone may be reading it)",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the dbt command")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no dbt command after --")
    from dbt.cli.main import dbtRunner

    options = dbt_options(args.target, args.vars)
    write = ["--no-write-json"] if args.no_write_manifest else []
    parsed = dbtRunner().invoke(["parse", *options, *write, *quiet_parse_options()])
    if not parsed.success:
        return EXIT_DBT_FAILED
    if not wait_for_go():
        return EXIT_NOT_RUN
    result = dbtRunner(manifest=parsed.result).invoke([*command, *options])
    if result.success:
        return 0
    # a failed node's error is its message; an error dbt raises (`show`) is the exception
    node_results = getattr(result.result, "results", None) or []
    messages = [node.message for node in node_results] + [str(result.exception or "")]
    advice = out_of_memory_advice(args.target, messages)
    if advice:
        print(advice, file=sys.stderr, flush=True)
    return EXIT_DBT_FAILED if result.exception is not None else EXIT_NODE_FAILED


if __name__ == "__main__":
    sys.exit(main())
