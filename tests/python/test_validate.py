"""pytest: the great-expectations suites of scripts/validate.py (landing extracts and marts)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from scripts.validate import Validator, mart_tests_from_yaml, validate_landing, validate_marts
from tests.python.test_refresh import CRAFTED_LANDING, published_refresh


@pytest.fixture(scope="module")
def validator(tmp_path_factory) -> Validator:
    return Validator(tmp_path_factory.mktemp("validation"), "test-run")


def test_crafted_landing_passes(validator):
    report = validate_landing(CRAFTED_LANDING, validator)
    assert report.success, report.summary()
    names = {s.name for s in report.suites}
    assert {"landing.contacts", "landing.nps_responses", "landing.orders"} <= names


def test_landing_defects_beyond_tolerance_fail(validator, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(CRAFTED_LANDING, landing)
    (landing / "nps_responses" / "2026-07-02.csv").write_text(
        "response_id,contact_id,responded_at,score,response_source\n"
        + "".join(f"NX{i},K08,2026-06-1{i} 12:00:00,{20 + i},survey\n" for i in range(5))
    )
    (landing / "contacts" / "2026-07-02.csv").write_text(
        "contact_id,account_type,created_at,updated_at\n"
        + "".join(",reseller,2026-06-01 09:00:00,2026-06-01 09:00:00\n" for _ in range(5))
    )
    report = validate_landing(landing, validator)
    failed = {s.name: " ".join(s.failed) for s in report.suites if not s.success}
    assert set(failed) == {"landing.nps_responses", "landing.contacts"}
    assert "score__number" in failed["landing.nps_responses"]
    assert "contact_id" in failed["landing.contacts"]
    assert "account_type__normalised" in failed["landing.contacts"]


def test_a_few_defects_are_tolerated(validator, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(CRAFTED_LANDING, landing)
    (landing / "nps_responses" / "2026-07-02.csv").write_text(
        "response_id,contact_id,responded_at,score,response_source\n"
        + "".join(f"NY{i},K08,2026-06-1{i % 10} 12:00:00,{i % 11},survey\n" for i in range(40))
        + "NYBAD,K08,2026-06-11 12:00:00,11,survey\n"
    )
    report = validate_landing(landing, validator, mostly=0.95)
    assert report.success, report.summary()


def test_file_the_loader_refuses_is_noted_not_validated(validator, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(CRAFTED_LANDING, landing)
    (landing / "orders" / "2026-07-02.csv").write_text("order_id\nO9\n")  # required cols missing
    report = validate_landing(landing, validator)
    assert report.success
    assert any("orders/2026-07-02.csv" in n and "missing required" in n for n in report.notes)


def test_mart_tests_are_read_from_the_yaml():
    declared = mart_tests_from_yaml()["customers"]
    assert ("unique", "contact_id", None) in declared
    accepted = {column: values for test, column, values in declared if test == "accepted_values"}
    assert {"strategy", "lifecycle_stage", "relationship_rung"} <= set(accepted)
    assert "protect" in accepted["strategy"]


@pytest.fixture
def marts_copy(tmp_path_factory, tmp_path) -> Path:
    source = published_refresh(tmp_path_factory) / "published" / "crm.duckdb"
    folder = tmp_path / "db"
    folder.mkdir()
    shutil.copy2(source, folder / "crm.duckdb")
    return folder / "crm.duckdb"


def test_built_marts_pass_and_write_docs_and_results(validator, marts_copy):
    report = validate_marts(marts_copy, validator)
    assert report.success, report.summary()
    customers = next(s for s in report.suites if s.name == "marts.customers")
    assert customers.evaluated >= 20
    path = validator.write_results([report])
    assert json.loads(path.read_text())["success"] is True
    assert (validator.docs_dir / "index.html").is_file()


def test_broken_marts_fail_with_the_broken_rules(validator, marts_copy):
    with duckdb.connect(str(marts_copy)) as con:
        con.execute("update main_marts.customers set strategy = 'bogus' where contact_id = 'K01'")
        con.execute("update main_marts.customers set profit = profit + 5 where contact_id = 'K02'")
        con.execute("delete from main_marts.customers where contact_id = 'K03'")
    report = validate_marts(marts_copy, validator)
    customers = next(s for s in report.suites if s.name == "marts.customers")
    assert not customers.success
    failed = " ".join(customers.failed)
    assert "'column': 'strategy'" in failed
    assert "profit_identity_residual" in failed
    assert "expect_table_row_count_to_equal" in failed
