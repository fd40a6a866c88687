"""Benchmark peers of the customer mart (issue 7): a hand-written DuckDB reference
(`bench.reference_core`) and a pandas implementation (`bench.pandas_core`) of its core.

Both read the landing files directly and write one row per contact with OUTPUT_COLUMNS.
This module holds what they share and that needs neither DuckDB nor pandas: finding the
landing files the loader would load, their header, the dbt vars and seeds they follow.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import resource
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import yaml

from scripts.contract import PROJECT_DIR, load_contract

SEEDS_DIR = PROJECT_DIR / "seeds"

# The entities the core needs, parents before children (orphan rules).
ENTITIES = (
    "contacts",
    "products",
    "campaigns",
    "orders",
    "order_lines",
    "invoices",
    "payments",
    "support_tickets",
)

# The output, both implementations: names and Parquet types of main_marts.customers.
OUTPUT_COLUMNS = {
    "contact_id": "string",
    "is_internal": "bool",
    "paid_orders": "int64",
    "first_order_date": "date32",
    "last_order_date": "date32",
    "recency_days": "int64",
    "net_revenue": "decimal(18,4)",
    "cost_of_goods": "decimal(18,4)",
    "gross_margin": "decimal(18,4)",
    "support_cost": "decimal(18,4)",
    "order_handling_cost": "decimal(18,4)",
    "returns_handling_cost": "decimal(18,4)",
    "collection_cost": "decimal(18,4)",
    "acquisition_cost": "decimal(18,4)",
    "cost_to_serve": "decimal(18,4)",
    "profit": "decimal(18,4)",
    "recency_score": "int64",
    "frequency_score": "int64",
    "monetary_score": "int64",
    "value_tier": "string",
}
MONEY_COLUMNS = [c for c, t in OUTPUT_COLUMNS.items() if t.startswith("decimal")]


@dataclass(frozen=True)
class LandingFile:
    """One landing file the loader would load: where it is, how to read it, its columns."""

    entity: str
    path: Path
    source_file: str  # relative to the landing folder, as the loader records it
    kind: str  # csv | parquet
    encoding: str  # the declared encoding of a CSV (utf-8 unless named in the file)
    columns: tuple[str, ...]  # header names, trimmed and lower-cased, in file order
    raw_columns: tuple[str, ...]  # header names as written


def declared_encoding(path: Path) -> str:
    declared = load_contract().declared_encodings
    for suffix in reversed([s.lstrip(".").lower() for s in path.suffixes[:-1]]):
        if suffix in declared:
            return suffix
    return "utf-8"


def normalise(name: str) -> str:
    return name.strip().lower().lstrip("\ufeff")


def _header(path: Path, kind: str, encoding: str) -> tuple[str, ...]:
    if kind == "parquet":
        import pyarrow.parquet as pq

        return tuple(pq.read_schema(path).names)
    with path.open(encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="") as fh:
        line = fh.readline()
    return tuple(next(csv.reader(io.StringIO(line)), []))


def landing_files(landing: Path, entity: str) -> list[LandingFile]:
    """The files of one entity in the loader's order. Files the loader would refuse as a
    whole (other extensions, empty, missing required columns, repeated columns) are left
    out with a message on stderr; other refusals (bad bytes, malformed CSV) are not
    re-checked here and fail the run."""
    spec = load_contract().entities[entity]
    folder = Path(landing) / entity
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.name.startswith(".") or path.name.lower().endswith(".md"):
            continue
        relative = path.relative_to(landing).as_posix()
        kind = path.suffix.lower().lstrip(".")
        if kind not in ("csv", "parquet") or path.stat().st_size == 0:
            print(f"skipped {relative}: the loader refuses it", file=sys.stderr)
            continue
        encoding = declared_encoding(path) if kind == "csv" else ""
        raw = _header(path, kind, encoding)
        columns = tuple(normalise(c) for c in raw)
        missing = [c for c in spec.required_columns if c not in columns]
        if missing or len(set(columns)) != len(columns):
            print(
                f"skipped {relative}: refused (missing {missing} or repeated columns)",
                file=sys.stderr,
            )
            continue
        found.append(LandingFile(entity, path, relative, kind, encoding, columns, raw))
    return found


def contract_columns(entity: str) -> list[str]:
    return list(load_contract().entities[entity].columns)


def project_vars() -> dict:
    """The dbt vars the core follows, from dbt_project.yml."""
    config = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    values = config["vars"]
    return {
        "paid_order_statuses": list(values["paid_order_statuses"]),
        "tier_platinum_share": float(values["tier_platinum_share"]),
        "tier_gold_share": float(values["tier_gold_share"]),
    }


def default_loaded_at() -> datetime:
    """The load time the future-date rule compares with: now, in UTC, as the loader does."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def parse_loaded_at(text: str | None) -> datetime:
    return datetime.fromisoformat(text) if text else default_loaded_at()


def core_arguments(description: str) -> argparse.ArgumentParser:
    """The command line both peers share, so the harness calls them the same way."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--landing", type=Path, required=True, help="landing folder")
    parser.add_argument("--as-of", type=date.fromisoformat, required=True, help="YYYY-MM-DD")
    parser.add_argument("--out", type=Path, required=True, help="Parquet file to write")
    parser.add_argument(
        "--loaded-at",
        help="load time for the future-date rule, 'YYYY-MM-DD HH:MM:SS' (default: now, UTC)",
    )
    return parser


def report(label: str, started: float, rows: int, out: Path) -> None:
    """One line on stderr: wall time and this process's peak resident memory."""
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"{label}: {rows} contacts -> {out} in {time.perf_counter() - started:.2f} s, "
        f"peak RSS {peak_kb / 1024:.0f} MiB (pid {os.getpid()})",
        file=sys.stderr,
    )
