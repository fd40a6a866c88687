"""The refresh run log: one JSON line per run in <warehouse>/refresh_runs.jsonl, mirrored into
the table ops.refresh_runs of a DuckDB file.

The JSON-lines file is the record of truth: it is appended even when the database is what
failed. The table is rebuilt from it, so the published warehouse carries the history of every
run, failed ones included.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb

SCHEMA = "ops"
TABLE = "refresh_runs"
COLUMNS = (
    ("run_id", "varchar"),
    ("started_at", "timestamp"),
    ("finished_at", "timestamp"),
    ("outcome", "varchar"),
    ("failed_step", "varchar"),
    ("error", "varchar"),
    ("as_of_date", "date"),
    ("landing_dir", "varchar"),
    ("files_loaded", "integer"),
    ("files_refused", "integer"),
    ("rows_loaded", "bigint"),
    ("rejects", "bigint"),
    ("loaded_files", "json"),
    ("mart_rows", "json"),
    ("step_seconds", "json"),
)
JSON_COLUMNS = {name for name, kind in COLUMNS if kind == "json"}


def append_jsonl(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, sort_keys=True, default=str)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:  # a line cut short by a crash: not fatal
                print(
                    f"{path}, line {number}: not a whole run record ({exc.msg}); left out of "
                    "ops.refresh_runs (the file keeps it)",
                    file=sys.stderr,
                )
    return records


def write_table(db_path: Path, records: list[dict]) -> None:
    """Replace ops.refresh_runs in the DuckDB file by these records."""
    columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS)
    with duckdb.connect(str(db_path)) as con:
        con.execute(f"create schema if not exists {SCHEMA}")
        con.execute(f"create or replace table {SCHEMA}.{TABLE} ({columns})")
        placeholders = ", ".join("?" for _ in COLUMNS)
        rows = [
            [
                json.dumps(r.get(name), sort_keys=True) if name in JSON_COLUMNS else r.get(name)
                for name, _ in COLUMNS
            ]
            for r in records
        ]
        if rows:
            con.executemany(f"insert into {SCHEMA}.{TABLE} values ({placeholders})", rows)
