"""A second, independent implementation of the contract's row rules, in plain Python.

It reads the landing files with the csv module and applies the rules of
docs/extract_contract.yml row by row, without DuckDB or dbt, so the staging layer can be
checked against it: which rows are staged, which are rejected and for what reasons.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from scripts.contract import Contract, EntitySpec

TRUE_WORDS = {"true", "t", "1", "yes", "y"}
FALSE_WORDS = {"false", "f", "0", "no", "n"}
INTEGER = re.compile(r"^[+-]?\d+$")
DECIMAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")
# Parents before children, as the orphan rules need.
ENTITY_ORDER = [
    "contacts",
    "products",
    "campaigns",
    "orders",
    "order_lines",
    "invoices",
    "payments",
    "support_tickets",
    "nps_responses",
    "marketing_touches",
    "referrals",
]


@dataclass
class RowResult:
    key: str | None
    reasons: list[str]
    version: object
    file_name: str
    row_number: int
    values: dict


def parse(value: str, kind: str):
    """The typed value, or raise ValueError."""
    if kind == "string":
        return value
    if kind == "boolean":
        low = value.lower()
        if low in TRUE_WORDS:
            return True
        if low in FALSE_WORDS:
            return False
        raise ValueError(value)
    if kind == "integer":
        if not INTEGER.match(value):
            raise ValueError(value)
        return int(value)
    if kind == "decimal":
        if not DECIMAL.match(value):
            raise ValueError(value)
        return float(value)
    if kind == "date":
        if not DATE.match(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    if kind == "timestamp":
        if not TIMESTAMP.match(value):
            raise ValueError(value)
        return datetime.fromisoformat(value.replace("T", " "))
    raise AssertionError(kind)


def read_rows(path: Path) -> list[dict]:
    encoding = "utf-8-sig"
    for suffix in path.suffixes[:-1]:
        if suffix.lstrip(".") in ("windows-1250", "windows-1252"):
            encoding = suffix.lstrip(".")
    text = path.read_bytes().decode(encoding)
    reader = csv.DictReader(io.StringIO(text))
    return [{k.strip().lower(): v for k, v in row.items()} for row in reader]


def check_row(entity: EntitySpec, row: dict, loaded_at: datetime) -> tuple[list[str], dict]:
    reasons: list[str] = []
    typed: dict = {}
    for column in entity.columns.values():
        raw = (row.get(column.name) or "").strip()
        if not raw:
            typed[column.name] = None
            if column.required:
                reasons.append(f"missing_{column.name}")
            continue
        try:
            value = parse(raw, column.type)
        except ValueError:
            typed[column.name] = None
            reasons.append(f"invalid_{column.name}")
            continue
        if column.type == "string" and column.allowed:
            value = value.lower()
            if value not in column.allowed:
                reasons.append(f"invalid_{column.name}")
        if column.min is not None and value < column.min:
            reasons.append(("negative_" if column.min == 0 else "out_of_range_") + column.name)
        if column.max is not None and value > column.max:
            reasons.append(f"out_of_range_{column.name}")
        if column.type == "date" and not column.allow_future and value > loaded_at.date():
            reasons.append(f"future_{column.name}")
        if column.type == "timestamp" and not column.allow_future and value > loaded_at:
            reasons.append(f"future_{column.name}")
        typed[column.name] = value
    return reasons, typed


def reference_staging(contract: Contract, landing: Path, loaded_at: datetime):
    """Return (staged keys per entity, Counter of (entity, reject_reasons))."""
    staged: dict[str, set] = {}
    rejects: Counter = Counter()
    for entity_name in ENTITY_ORDER:
        entity = contract.entities[entity_name]
        key_column = entity.key[0]
        candidates: list[RowResult] = []
        for path in sorted((landing / entity_name).glob("*.csv")):
            for number, row in enumerate(read_rows(path), start=1):
                reasons, typed = check_row(entity, row, loaded_at)
                for column in entity.columns.values():
                    if column.references and typed.get(column.name) is not None:
                        parent_entity = column.references.split(".")[0]
                        if typed[column.name] not in staged[parent_entity]:
                            reasons.append(f"orphan_{column.name}")
                candidates.append(
                    RowResult(
                        typed.get(key_column),
                        reasons,
                        typed.get(entity.version_column),
                        path.name,
                        number,
                        typed,
                    )
                )
        good: dict = {}
        for result in candidates:
            if result.reasons:
                rejects[(entity_name, ", ".join(result.reasons))] += 1
                continue
            rank = (
                result.version is not None,
                result.version or datetime.min,
                result.file_name,
                result.row_number,
            )
            if result.key not in good or rank > good[result.key][0]:
                good[result.key] = (rank, result)
        staged[entity_name] = set(good)
    return staged, rejects
