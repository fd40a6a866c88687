"""The refresh's load step, in a process of its own (scripts.refresh starts it).

It loads the new landing files into the DuckDB file named by CRM_DUCKDB_PATH, validating each
file with the great-expectations landing suites as the loader stages it, and writes what
happened to the --result JSON file: every file's outcome, the landing validation report, and
the suites and results of its great-expectations context (for the refresh's Data Docs).

The refresh starts it before its prepare step with --wait-for-go: the imports and the
great-expectations context (3-4 s) are made while the published warehouse is copied (8 s at
1M contacts), and the load starts when the refresh writes `go` on stdin.

Why a process: great-expectations, pandas and the loader's buffers held 340-400 MiB of the
refresh process through every later dbt build at 1M contacts, and CPython does not give that
back to the system; the refresh's memory peak is in those builds (docs/benchmarks.md). An
exiting process returns all of it.

Exit status 0 when the load ran (whether the landing passed validation or not: the report
says), 1 when it stopped; the result file then holds the reason as `error`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

from scripts.go_signal import wait_for_go


def load_and_validate(
    landing: Path,
    quarantine_dir: Path,
    validation_dir: Path,
    run_id: str,
    checksum_cache: Path | None = None,
    wait_for_warehouse=None,
):
    """Load and validate; returns the result file's contents. `wait_for_warehouse` (optional)
    is called once the imports and the great-expectations context are ready, and returns
    when the warehouse may be opened."""
    from scripts.load_landing import load_landing, print_summary
    from scripts.validate import LandingValidation, Validator

    validator = Validator(validation_dir, run_id)
    validation = LandingValidation(validator)
    if wait_for_warehouse is not None:
        wait_for_warehouse()
    outcomes = load_landing(
        landing,
        "duckdb",
        quarantine_dir=quarantine_dir,
        validation=validation,
        checksum_cache=checksum_cache,
    )
    print_summary(outcomes)
    report = validation.finish()
    if skipped := sum(o.status == "skipped" for o in outcomes):
        report.notes.append(f"{skipped} file(s) already loaded were validated when they arrived")
    return {
        "files": [
            {"entity": o.entity, "file": o.source_file, "rows": o.rows, "status": o.status}
            for o in outcomes
        ],
        "report": report.to_dict(),
        "validation_seconds": round(validation.seconds, 2),
        "gx_stores": validator.export_stores(),
    }


def wait_for_the_refresh() -> None:
    """Block until the refresh says go; stop if it closes stdin without it."""
    if not wait_for_go():
        raise SystemExit("the refresh stopped before its load step (no go on stdin)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--quarantine-dir", type=Path, required=True)
    parser.add_argument("--validation-dir", type=Path, required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--result", type=Path, required=True, help="the JSON file to write")
    parser.add_argument("--checksum-cache", type=Path, help="see scripts.file_checksums")
    parser.add_argument(
        "--wait-for-go",
        action="store_true",
        help="get ready, then wait for a line `go` on stdin before opening the warehouse",
    )
    args = parser.parse_args(argv)
    try:
        payload = load_and_validate(
            args.landing,
            args.quarantine_dir,
            args.validation_dir,
            args.run_id,
            args.checksum_cache,
            wait_for_the_refresh if args.wait_for_go else None,
        )
    except SystemExit as exc:  # the loader stops with SystemExit(message)
        payload = {"error": str(exc.code)}
    except Exception as exc:  # noqa: BLE001 - reported to the refresh, which fails the step
        traceback.print_exc()
        payload = {"error": f"{type(exc).__name__}: {exc}"}
    partial = args.result.with_name(args.result.name + ".partial")
    partial.write_text(json.dumps(payload, default=str), encoding="utf-8")
    os.replace(partial, args.result)
    return 1 if "error" in payload else 0


if __name__ == "__main__":
    sys.exit(main())
