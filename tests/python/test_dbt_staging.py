"""The shipped sample through load and staging on every engine, checked against an
independent Python reading of the same landing files."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from collections import Counter
from datetime import datetime

import pytest

from scripts.contract import PROJECT_DIR, load_contract
from scripts.prepared_dbt import DBT_EXECUTABLE
from scripts.run_pipeline import engine_environment
from tests.python.conftest import SAMPLE_LANDING, Warehouse, base_env
from tests.python.reference_staging import read_rows, reference_staging


@pytest.fixture(scope="module")
def reference():
    return reference_staging(load_contract(), SAMPLE_LANDING, datetime.now())


def landing_row_counts() -> Counter:
    counts: Counter = Counter()
    for path in SAMPLE_LANDING.glob("*/*.csv"):
        counts[path.parent.name] += len(read_rows(path))
    return counts


def test_every_raw_row_is_staged_rejected_or_superseded(warehouse: Warehouse):
    rows = warehouse.query(
        "select entity, raw_rows, staged_rows, rejected_rows, superseded_rows, is_reconciled "
        f"from {warehouse.schema('staging')}.stg_crm__row_reconciliation"
    )
    expected_raw = landing_row_counts()
    assert {r[0]: r[1] for r in rows} == {e: expected_raw[e] for e in load_contract().entities}
    for entity, raw, staged, rejected, superseded, reconciled in rows:
        assert raw == staged + rejected + superseded, entity
        assert reconciled


def test_staged_keys_match_the_independent_reading(warehouse: Warehouse, reference):
    staged_reference, _ = reference
    staging = warehouse.schema("staging")
    for entity, key_column in [
        ("contacts", "contact_id"),
        ("orders", "order_id"),
        ("order_lines", "order_line_id"),
        ("payments", "payment_id"),
        ("nps_responses", "response_id"),
        ("support_tickets", "ticket_id"),
    ]:
        keys = {
            r[0] for r in warehouse.query(f"select {key_column} from {staging}.stg_crm__{entity}")
        }
        assert keys == staged_reference[entity], entity


def test_rejects_and_their_reasons_match_the_independent_reading(warehouse: Warehouse, reference):
    _, rejects_reference = reference
    rows = warehouse.query(
        "select entity, reject_reasons, count(*) "
        f"from {warehouse.schema('staging')}.stg_crm__rejects group by entity, reject_reasons"
    )
    assert Counter({(e, r): n for e, r, n in rows}) == rejects_reference
    reasons = {reason for (_, joined) in rejects_reference for reason in joined.split(", ")}
    # The sample carries every kind of row defect the contract names.
    for kind in ("invalid_", "negative_", "future_", "orphan_", "out_of_range_"):
        assert any(r.startswith(kind) for r in reasons), kind


def test_every_reject_keeps_its_row_as_it_arrived(warehouse: Warehouse):
    """raw_values is rebuilt here from the landing file at the reject's row number."""
    contract = load_contract()
    rows = warehouse.query(
        "select entity, _source_file, _source_row_number, raw_values "
        f"from {warehouse.schema('staging')}.stg_crm__rejects"
    )
    assert rows, "the sample has rejects"
    files: dict[str, list[dict]] = {}
    for entity, source_file, row_number, raw_values in rows:
        if source_file not in files:
            files[source_file] = read_rows(SAMPLE_LANDING / source_file)
        landed = files[source_file][row_number - 1]
        columns = contract.entities[entity].columns
        expected = " | ".join(f"{column}={landed.get(column) or ''}" for column in columns)
        assert raw_values == expected, (source_file, row_number)


def test_legacy_encoded_names_survive(warehouse: Warehouse):
    [legacy_file] = SAMPLE_LANDING.glob("contacts/*.windows-1250.csv")
    rows = list(csv.DictReader(io.StringIO(legacy_file.read_bytes().decode("cp1250"))))
    polish = [r for r in rows if set(r["last_name"] + r["first_name"]) & set("łśżąęćńóźŁŚŻ")]
    assert polish, "the Windows-1250 sample file should carry Polish letters"
    sample = polish[0]
    staged = warehouse.query(
        f"select first_name, last_name from {warehouse.schema('staging')}.stg_crm__contacts "
        f"where contact_id = '{sample['contact_id']}'"
    )
    assert staged == [(sample["first_name"].strip(), sample["last_name"].strip())]


def test_a_new_orders_drop_loads_alone_and_is_staged(tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(SAMPLE_LANDING, landing)
    warehouse = Warehouse("duckdb", base_env(tmp_path), tmp_path, landing)
    warehouse.run_pipeline()
    [contact] = warehouse.query(
        "select contact_id from main_staging.stg_crm__contacts order by contact_id limit 1"
    )
    new_drop = landing / "orders" / "2026-12-01.csv"
    header = list(load_contract().entities["orders"].columns)
    row = {
        "order_id": "NEW-ORDER-1",
        "contact_id": contact[0],
        "ordered_at": "2026-11-02 09:30:00",
        "channel": "web",
        "status": "paid",
        "currency": "EUR",
        "updated_at": "2026-11-02 09:30:00",
    }
    with new_drop.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerow(row)

    second = warehouse.run_pipeline()

    assert "1 file(s) loaded (1 rows)" in second.stdout
    loaded = warehouse.query(
        "select source_file from raw.load_manifest where load_id = "
        "(select max(load_id) from raw.load_manifest)"
    )
    assert loaded == [("orders/2026-12-01.csv",)]
    assert warehouse.query(
        "select contact_id from main_staging.stg_crm__orders where order_id = 'NEW-ORDER-1'"
    ) == [contact]


def test_a_base_model_whose_parents_differ_from_the_contract_does_not_compile(tmp_path):
    # The contract declares each reference; a base model names its parents again for dbt's
    # graph. A copy of the project whose payments name the orders as the invoice's parent
    # must stop at compile time, naming the model, the column and what the contract says.
    project = tmp_path / "project"
    for name in ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests/dbt"):
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, project / name)
        else:
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, project / name)
    payments = project / "models" / "staging" / "crm" / "base" / "base_crm__payments.sql"
    text = payments.read_text(encoding="utf-8")
    assert "ref('base_crm__invoices')" in text
    payments.write_text(text.replace("ref('base_crm__invoices')", "ref('base_crm__orders')"))
    env = {**engine_environment(), **base_env(tmp_path)}
    command = [DBT_EXECUTABLE, "compile", "--select", "base_crm__payments", "--target", "duckdb"]
    command += ["--project-dir", str(project), "--profiles-dir", str(project)]
    failed = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    assert failed.returncode != 0
    assert (
        "base_crm__payments: parents {'invoice_id': 'base_crm__orders'} do not match the "
        "contract's references {'invoice_id': 'base_crm__invoices'}"
    ) in " ".join(failed.stdout.split())
