"""Incremental base models (DuckDB, PostgreSQL) end where a rebuild from raw ends.

The shipped sample arrives in three drops: its first three days; then its last day with
hand-written orders that test what an incremental build must re-check (an order and an order
line whose contact has not arrived, a key-less row, an older and a newer version of staged
orders); then the missing contact, which must turn both orphans into staged rows. After the
third incremental build every base table must equal, row for row and column for column, what
`dbt build --full-refresh` computes from the same raw tables. Spark rebuilds its base tables
on every run (dbt_project.yml), so it has no incremental path to test.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pytest

from scripts.contract import PROJECT_DIR, load_contract
from scripts.run_pipeline import DBT_EXECUTABLE, engine_environment
from tests.python.conftest import SAMPLE_LANDING, Warehouse, base_env, isolated_engine_env

LAST_SAMPLE_DAY = "2026-10-31"
# Tests that also read marts stay out (they would need the whole warehouse built).
STAGING_AND_ITS_INPUTS = ("--select", "+staging", "--indirect-selection", "cautious")


def dbt(warehouse: Warehouse, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = engine_environment()
    env.update(warehouse.env)
    command = [DBT_EXECUTABLE, *args, "--target", warehouse.engine]
    command += ["--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]
    completed = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    if check and completed.returncode != 0:
        pytest.fail(
            f"dbt {' '.join(args)} failed on {warehouse.engine}:\n{completed.stdout[-6000:]}"
        )
    return completed


def load(warehouse: Warehouse) -> None:
    command = [
        str(Path(DBT_EXECUTABLE).with_name("python")),
        "-m",
        "scripts.load_landing",
        "--target",
        warehouse.engine,
        "--landing",
        str(warehouse.landing),
    ]
    completed = subprocess.run(
        command, cwd=PROJECT_DIR, env=warehouse.env, capture_output=True, text=True
    )
    if completed.returncode != 0:
        pytest.fail(f"load failed on {warehouse.engine}:\n{completed.stdout}{completed.stderr}")


def first_day_rows(entity: str) -> list[dict[str, str]]:
    with (SAMPLE_LANDING / entity / "2026-10-28.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def write_drop(landing: Path, entity: str, day: str, rows: list[dict[str, str]]) -> None:
    header = list(load_contract().entities[entity].columns)
    path = landing / entity / f"{day}.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def base_tables(warehouse: Warehouse) -> dict[str, list[tuple]]:
    staging = warehouse.schema("staging")
    tables = {}
    for entity in load_contract().entities:
        rows = warehouse.query(f"select * from {staging}.base_crm__{entity}")
        tables[entity] = sorted(rows, key=lambda row: tuple((v is None, str(v)) for v in row))
    return tables


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def incremental_warehouse(request, tmp_path_factory) -> Warehouse:
    """The sample loaded and built in three drops, each build incremental on the last."""
    workdir = tmp_path_factory.mktemp(f"incremental_{request.param}")
    landing = workdir / "landing"
    shutil.copytree(SAMPLE_LANDING, landing)
    held_back = workdir / "held_back"
    for path in sorted(landing.glob(f"*/{LAST_SAMPLE_DAY}*.csv")):
        target = held_back / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
    env = base_env(workdir)
    env.update(isolated_engine_env(request, request.param, workdir))
    warehouse = Warehouse(engine=request.param, env=env, workdir=workdir, landing=landing)

    load(warehouse)
    dbt(warehouse, "build", *STAGING_AND_ITS_INPUTS)

    # Drop 2: the held-back last day, plus orders that test the re-checks.
    shutil.copytree(held_back, landing, dirs_exist_ok=True)
    order, existing_old, existing_new = first_day_rows("orders")[:3]
    line = first_day_rows("order_lines")[0]
    [(status_before,)] = warehouse.query(
        f"select status from {warehouse.schema('staging')}.stg_crm__orders "
        f"where order_id = '{existing_old['order_id']}'"
    )
    write_drop(
        landing,
        "orders",
        "2026-11-01",
        [
            {
                **order,
                "order_id": "INC-O1",
                "contact_id": "INC-C1",
                "consumer_contact_id": "INC-C1",
            },
            {**order, "order_id": "", "contact_id": "INC-C1", "consumer_contact_id": ""},
            # older than the staged version: it must rank 2 and leave the staged row alone
            {**existing_old, "status": "cancelled", "updated_at": "2020-01-01 00:00:00"},
            # newer than the staged version: it replaces it
            {**existing_new, "status": "returned", "updated_at": "2026-10-31 12:00:00"},
        ],
    )
    write_drop(
        landing,
        "order_lines",
        "2026-11-01",
        [{**line, "order_line_id": "INC-L1", "order_id": "INC-O1"}],
    )
    load(warehouse)
    dbt(warehouse, "build", *STAGING_AND_ITS_INPUTS)

    # Drop 3: the contact the orphans were waiting for.
    write_drop(
        landing,
        "contacts",
        "2026-11-02",
        [{**first_day_rows("contacts")[0], "contact_id": "INC-C1"}],
    )
    load(warehouse)
    dbt(warehouse, "build", *STAGING_AND_ITS_INPUTS)
    warehouse.older_arrival = (existing_old["order_id"], status_before)
    warehouse.newer_arrival = existing_new["order_id"]
    yield warehouse
    warehouse.close()


def test_the_builds_took_the_incremental_path(incremental_warehouse: Warehouse):
    target = Path(incremental_warehouse.env["DBT_TARGET_PATH"])
    model = Path("crm_warehouse/models/staging/crm/base/base_crm__orders.sql")
    assert "new_loads" in (target / "compiled" / model).read_text()
    assert "delete from" in (target / "run" / model).read_text()


def test_orphans_are_staged_once_their_parent_arrives(incremental_warehouse: Warehouse):
    staging = incremental_warehouse.schema("staging")
    assert incremental_warehouse.query(
        f"select contact_id from {staging}.stg_crm__orders where order_id = 'INC-O1'"
    ) == [("INC-C1",)]
    assert incremental_warehouse.query(
        f"select order_id from {staging}.stg_crm__order_lines where order_line_id = 'INC-L1'"
    ) == [("INC-O1",)]
    # The key-less row stays rejected, now for its missing key alone.
    assert incremental_warehouse.query(
        f"select _reject_reasons, _version_rank from {staging}.base_crm__orders "
        "where order_id is null and contact_id = 'INC-C1'"
    ) == [("missing_order_id", None)]


def test_new_versions_rank_by_their_update_time(incremental_warehouse: Warehouse):
    staging = incremental_warehouse.schema("staging")
    older_arrival, status_before = incremental_warehouse.older_arrival
    newer_arrival = incremental_warehouse.newer_arrival
    statuses = dict(
        incremental_warehouse.query(
            f"select order_id, status from {staging}.stg_crm__orders "
            f"where order_id in ('{older_arrival}', '{newer_arrival}')"
        )
    )
    assert statuses == {older_arrival: status_before, newer_arrival: "returned"}


def test_incremental_base_tables_equal_a_rebuild_from_raw(incremental_warehouse: Warehouse):
    incremental = base_tables(incremental_warehouse)
    dbt(incremental_warehouse, "build", "--full-refresh", *STAGING_AND_ITS_INPUTS)
    rebuilt = base_tables(incremental_warehouse)
    for entity in rebuilt:
        assert incremental[entity] == rebuilt[entity], entity


def test_a_raw_table_that_lost_a_load_asks_for_a_full_refresh(incremental_warehouse: Warehouse):
    incremental_warehouse.execute(
        "delete from raw.orders where _load_id = (select max(_load_id) from raw.orders)"
    )
    failed = dbt(incremental_warehouse, "build", "--select", "base_crm__orders", check=False)
    assert failed.returncode != 0
    assert "no longer in" in failed.stdout and "--full-refresh" in failed.stdout
    dbt(incremental_warehouse, "build", "--full-refresh", "--select", "base_crm__orders")


def test_full_refresh_reaches_both_dbt_builds(monkeypatch):
    from scripts import run_pipeline

    builds = []
    monkeypatch.setattr(run_pipeline, "run_dbt", lambda args, target: builds.append(args))
    monkeypatch.setattr(run_pipeline, "fit_value_model", lambda target: None)
    run_pipeline.main(["--no-load", "--full-refresh"])
    run_pipeline.main(["--no-load"])
    assert [("--full-refresh" in args) for args in builds] == [True, True, False, False]
