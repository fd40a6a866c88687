"""The benchmark peers of the customer mart (bench/, issue 7) agree with it.

The hand-written DuckDB reference (bench/reference_core.sql) and the pandas implementation
(bench/pandas_core.py) read the landing files directly. On the shipped sample every column
they write must equal main_marts.customers of the DuckDB build for every contact (money to
1e-6, integers, dates and text exactly), and on the hand-worked fixture the values of
tests/fixtures/crafted/expected_customers.csv.
"""

from __future__ import annotations

import csv
from datetime import date, datetime
from decimal import Decimal

import pyarrow.parquet as pq
import pytest

from bench import MONEY_COLUMNS, OUTPUT_COLUMNS, pandas_core, reference_core
from scripts.contract import PROJECT_DIR
from tests.python.conftest import CRAFTED_LANDING, SAMPLE_LANDING, Warehouse

IMPLEMENTATIONS = {"reference": reference_core, "pandas": pandas_core}
CRAFTED_EXPECTED = PROJECT_DIR / "tests" / "fixtures" / "crafted" / "expected_customers.csv"
CRAFTED_AS_OF = date(2026, 6, 30)  # the latest event of the fixture (its README)
CRAFTED_LOADED_AT = datetime(2026, 7, 1, 12, 0, 0)  # the day of its only drop
ARROW_TYPES = {
    "string": "string",
    "bool": "bool",
    "int64": "int64",
    "date32": "date32[day]",
    "decimal(18,4)": "decimal128(18, 4)",
}
MONEY_TOLERANCE = Decimal("0.000001")


def read_rows(path) -> dict[str, dict]:
    table = pq.read_table(path)
    assert table.column_names == list(OUTPUT_COLUMNS)
    types = {field.name: str(field.type) for field in table.schema}
    assert types == {c: ARROW_TYPES[t] for c, t in OUTPUT_COLUMNS.items()}
    rows = table.to_pylist()
    return {row["contact_id"]: row for row in rows}


def mismatches(expected: dict[str, dict], actual: dict[str, dict], columns) -> dict[str, list]:
    """Per column, the contacts whose values differ (money within 1e-6, the rest exactly)."""
    found: dict[str, list] = {}
    for contact_id, want in expected.items():
        got = actual[contact_id]
        for column in columns:
            a, b = want[column], got[column]
            if column in MONEY_COLUMNS and a is not None and b is not None:
                same = abs(Decimal(str(a)) - Decimal(str(b))) <= MONEY_TOLERANCE
            else:
                same = a == b
            if not same:
                found.setdefault(column, []).append((contact_id, a, b))
    return found


@pytest.mark.parametrize("warehouse", ["duckdb"], indirect=True, scope="session")
@pytest.mark.parametrize("implementation", list(IMPLEMENTATIONS))
def test_core_agrees_with_the_customer_mart_on_the_sample(
    warehouse: Warehouse, implementation: str, tmp_path
):
    marts = warehouse.schema("marts")
    columns = ", ".join(OUTPUT_COLUMNS)
    mart = {r[0]: dict(zip(OUTPUT_COLUMNS, r, strict=True)) for r in warehouse.query(
        f"select {columns} from {marts}.customers"
    )}  # fmt: skip
    [(as_of, loaded_at)] = warehouse.query(
        f"select (select max(as_of_date) from {marts}.customers),"
        " (select max(_loaded_at) from raw.contacts)"
    )
    out = IMPLEMENTATIONS[implementation].run(
        SAMPLE_LANDING, as_of, tmp_path / "core.parquet", loaded_at=loaded_at
    )
    rows = read_rows(out)
    assert len(mart) > 1000
    assert sorted(rows) == sorted(mart), "not the same contacts"
    assert mismatches(mart, rows, OUTPUT_COLUMNS) == {}
    # every kind of value is exercised, not only zeros and nulls
    assert {r["value_tier"] for r in rows.values()} == {"platinum", "gold", "iron", "lead", None}
    assert any(r["is_internal"] for r in rows.values())
    for column in ("returns_handling_cost", "collection_cost", "acquisition_cost", "support_cost"):
        assert any(r[column] for r in rows.values()), column


def expected_crafted() -> dict[str, dict]:
    """expected_customers.csv typed like the output, for the columns it has."""
    with CRAFTED_EXPECTED.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    expected = {}
    for row in rows:
        typed = {}
        for column, kind in OUTPUT_COLUMNS.items():
            if column not in row:
                continue
            text = row[column]
            if text == "":
                typed[column] = None
            elif kind == "int64":
                typed[column] = int(text)
            elif kind == "date32":
                typed[column] = date.fromisoformat(text)
            elif kind.startswith("decimal"):
                typed[column] = Decimal(text)
            else:
                typed[column] = text
        expected[row["contact_id"]] = typed
    return expected


@pytest.mark.parametrize("implementation", list(IMPLEMENTATIONS))
def test_core_reproduces_the_hand_worked_fixture_from_the_command_line(
    implementation: str, tmp_path, capsys
):
    out = tmp_path / "core.parquet"
    argv = [
        "--landing",
        str(CRAFTED_LANDING),
        "--as-of",
        CRAFTED_AS_OF.isoformat(),
        "--out",
        str(out),
        "--loaded-at",
        CRAFTED_LOADED_AT.isoformat(sep=" "),
    ]
    if implementation == "reference":
        argv += ["--memory-limit", "256MB", "--threads", "1"]
    # in process: the command line without a second interpreter importing pandas
    assert IMPLEMENTATIONS[implementation].main(argv) == 0
    assert "12 contacts" in capsys.readouterr().err
    rows = read_rows(out)
    expected = expected_crafted()
    assert sorted(rows) == sorted(expected)
    columns = [c for c in OUTPUT_COLUMNS if c in next(iter(expected.values()))]
    assert len(columns) == len(OUTPUT_COLUMNS) - 1  # all but is_internal
    assert mismatches(expected, rows, columns) == {}
    # the README's one internal buyer
    assert {c for c, r in rows.items() if r["is_internal"]} == {"K05"}
