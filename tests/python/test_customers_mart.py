"""The customer mart on the crafted twelve-contact fixture, against values worked out by
hand (tests/fixtures/crafted/README.md explains each one), on every engine."""

from __future__ import annotations

import csv
import dataclasses
import math
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from scripts.contract import PROJECT_DIR
from tests.python.conftest import Warehouse, dbt

CRAFTED = PROJECT_DIR / "tests" / "fixtures" / "crafted"


def load_expected() -> dict[str, dict[str, str]]:
    with (CRAFTED / "expected_customers.csv").open(encoding="utf-8") as handle:
        return {row["contact_id"]: row for row in csv.DictReader(handle)}


def normalise(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal | int | float):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def parse_expected(text: str, actual):
    if text == "":
        return None
    if text in ("true", "false"):
        return text == "true"
    if isinstance(actual, Decimal | int | float) and not isinstance(actual, bool):
        return float(text)
    return text


def test_every_measure_matches_the_hand_worked_values(crafted_warehouse: Warehouse):
    expected = load_expected()
    columns = list(next(iter(expected.values())))
    rows = crafted_warehouse.query(
        f"select {', '.join(columns)} from {crafted_warehouse.schema('marts')}.customers"
    )
    actual = {row[0]: dict(zip(columns, row, strict=True)) for row in rows}
    assert sorted(actual) == sorted(expected)
    mismatches = []
    for contact_id, expected_row in expected.items():
        for column in columns:
            got = normalise(actual[contact_id][column])
            want = parse_expected(expected_row[column], actual[contact_id][column])
            if isinstance(want, float) and isinstance(got, float):
                if math.isclose(want, got, rel_tol=1e-6, abs_tol=1e-6):
                    continue
            elif want == got:
                continue
            mismatches.append(f"{contact_id}.{column}: expected {want!r}, got {got!r}")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("crafted_warehouse", ["duckdb"], indirect=True, scope="session")
def test_a_per_contact_model_missing_a_contact_stops_the_mart_naming_it(
    crafted_warehouse: Warehouse, tmp_path: Path
):
    """On DuckDB the mart puts the per-contact models beside the facts by position in
    contact_id order; a model that lost a contact must fail the build, not shift every later
    contact's classifications onto its neighbour."""
    source = Path(crafted_warehouse.env["CRM_DUCKDB_PATH"])
    copy_path = tmp_path / source.name
    shutil.copyfile(source, copy_path)
    copy = dataclasses.replace(
        crafted_warehouse, env={**crafted_warehouse.env, "CRM_DUCKDB_PATH": str(copy_path)}
    )
    contacts = sorted(
        row[0]
        for row in copy.query(
            f"select contact_id from {copy.schema('intermediate')}.int_customers_facts"
        )
    )
    lost = contacts[1]
    copy.execute(
        f"delete from {copy.schema('intermediate')}.int_customers_types where contact_id = '{lost}'"
    )

    completed = dbt(copy, "run", "--select", "customers", check=False)

    assert completed.returncode != 0
    assert (
        "int_customers_types must have exactly the contacts of int_customers_facts, one row "
        f"each, but in contact_id order its {contacts[2]} stands beside {lost}"
    ) in completed.stdout
