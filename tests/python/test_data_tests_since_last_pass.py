"""The staged tables' unique and relationships tests look again only at what changed since
they last passed (macros/data_tests/since_last_pass.sql), on DuckDB and PostgreSQL.

The shipped sample's staging layer is built once; its tests pass and are recorded. Each test
below then breaks the table by hand in the base table, as a faulty build could, and runs one
data test: a break in rows stamped no later than the recorded pass is not looked at again
(and `check_every_staged_row` finds it), a break stamped later is found, and found again by
the next run because a failed test records no pass. Spark rebuilds every base table on
every run, so its tests always check every row.
"""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest

from tests.python.conftest import (
    SAMPLE_LANDING,
    Warehouse,
    base_env,
    dbt,
    isolated_engine_env,
    load,
)

UNIQUE_ORDER_LINES = "unique_stg_crm__order_lines_order_line_id"
ORDERS_TO_CONTACTS = "relationships_stg_crm__orders_contact_id_to_stg_crm__contacts"
EVERY_ROW = ("--vars", "{check_every_staged_row: true}")


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def staged_warehouse(request, tmp_path_factory) -> Warehouse:
    workdir = tmp_path_factory.mktemp(f"since_last_pass_{request.param}")
    landing = workdir / "landing"
    shutil.copytree(SAMPLE_LANDING, landing)
    env = base_env(workdir)
    env.update(isolated_engine_env(request, request.param, workdir))
    warehouse = Warehouse(engine=request.param, env=env, workdir=workdir, landing=landing)
    load(warehouse)
    dbt(warehouse, "build", "--select", "+staging", "--indirect-selection", "cautious")
    yield warehouse
    warehouse.close()


def failures(warehouse: Warehouse, test: str, *extra: str) -> int:
    """Rows the data test `test` finds (0 when it passes)."""
    completed = dbt(warehouse, "test", "--select", test, *extra, check=False)
    if completed.returncode == 0 and f"PASS {test}" in completed.stdout:
        return 0
    for line in completed.stdout.splitlines():
        if "FAIL " in line and test in line:
            return int(line.split("FAIL ")[1].split()[0])
    pytest.fail(f"dbt test --select {test} neither passed nor failed:\n{completed.stdout[-4000:]}")


def last_passes(warehouse: Warehouse) -> list:
    return sorted(
        warehouse.query(
            "select test_key, passed_in_build_started_at "
            f"from {warehouse.target_schema()}.crm_data_test_passes"
        )
    )


def next_build(warehouse: Warehouse) -> str:
    """The stamp of a build a second after the last recorded pass, and before the next run."""
    latest = max(passed for _, passed in last_passes(warehouse))
    return f"cast('{latest + timedelta(seconds=1)}' as timestamp)"


def test_every_passing_test_is_recorded_once(staged_warehouse: Warehouse):
    passes = last_passes(staged_warehouse)
    # eleven staged entities, each with a unique key, and eleven references between them
    assert len(passes) == 22
    assert len({key for key, _ in passes}) == 22


def test_a_duplicate_key_is_looked_for_among_keys_rechecked_since_the_last_pass(
    staged_warehouse: Warehouse,
):
    staging = staged_warehouse.schema("staging")
    base = f"{staging}.base_crm__order_lines"
    [(line_id, row_number)] = staged_warehouse.query(
        f"select order_line_id, _source_row_number from {base} "
        "where _reject_reasons is null and _version_rank = 1 "
        "order by order_line_id limit 1"
    )
    columns = [
        name
        for (name,) in staged_warehouse.query(
            "select column_name from information_schema.columns "
            f"where table_schema = '{staging}' and table_name = 'base_crm__order_lines' "
            "order by ordinal_position"
        )
    ]
    copied = ", ".join("-1" if name == "_source_row_number" else name for name in columns)
    staged_warehouse.execute(
        f"insert into {base} ({', '.join(columns)}) select {copied} from {base} "
        f"where order_line_id = '{line_id}' and _source_row_number = {row_number}"
    )
    try:
        # the copy carries the stamp of the build the test passed after: not looked at again
        assert failures(staged_warehouse, UNIQUE_ORDER_LINES) == 0
        assert failures(staged_warehouse, UNIQUE_ORDER_LINES, *EVERY_ROW) == 1

        staged_warehouse.execute(
            f"update {base} set _checked_at = {next_build(staged_warehouse)} "
            "where _source_row_number = -1"
        )
        assert failures(staged_warehouse, UNIQUE_ORDER_LINES) == 1
        # a failed run records no pass: the next run looks at the same rows again
        assert failures(staged_warehouse, UNIQUE_ORDER_LINES) == 1
    finally:
        staged_warehouse.execute(f"delete from {base} where _source_row_number = -1")
    before = last_passes(staged_warehouse)
    assert failures(staged_warehouse, UNIQUE_ORDER_LINES) == 0
    moved = set(last_passes(staged_warehouse)) - set(before)
    assert len(moved) == 1


def test_a_reference_to_a_parent_that_left_the_staged_table_is_found(
    staged_warehouse: Warehouse,
):
    staging = staged_warehouse.schema("staging")
    contacts = f"{staging}.base_crm__contacts"
    [(contact_id, checked_at)] = staged_warehouse.query(
        f"select contact_id, _checked_at from {contacts} "
        "where _reject_reasons is null and _version_rank = 1 and contact_id in "
        f"(select contact_id from {staging}.stg_crm__orders) "
        "order by contact_id limit 1"
    )
    [(orders,)] = staged_warehouse.query(
        f"select count(*) from {staging}.stg_crm__orders where contact_id = '{contact_id}'"
    )
    staged_row = f"contact_id = '{contact_id}' and _version_rank = 1"
    # The contact's staged row turns rejected: its orders now point nowhere, though none of
    # them changed.
    staged_warehouse.execute(
        f"update {contacts} set _reject_reasons = 'invalid_email' where {staged_row}"
    )
    try:
        assert failures(staged_warehouse, ORDERS_TO_CONTACTS) == 0
        assert failures(staged_warehouse, ORDERS_TO_CONTACTS, *EVERY_ROW) == orders

        staged_warehouse.execute(
            f"update {contacts} set _checked_at = {next_build(staged_warehouse)} where {staged_row}"
        )
        assert failures(staged_warehouse, ORDERS_TO_CONTACTS) == orders
    finally:
        staged_warehouse.execute(
            f"update {contacts} set _reject_reasons = null, "
            f"_checked_at = cast('{checked_at}' as timestamp) where {staged_row}"
        )
    assert failures(staged_warehouse, ORDERS_TO_CONTACTS) == 0


def test_compiling_on_a_new_warehouse_checks_every_row(tmp_path):
    # `dbt compile` and `dbt docs generate` run no on-run-start hook, so on a warehouse no
    # build has touched the table of passes does not exist: the test compiles to the check of
    # every row instead of failing on the missing table.
    warehouse = Warehouse(
        engine="duckdb", env=base_env(tmp_path), workdir=tmp_path, landing=tmp_path
    )
    dbt(warehouse, "compile", "--select", UNIQUE_ORDER_LINES)
    [compiled] = (tmp_path / "dbt_target" / "compiled").rglob(f"{UNIQUE_ORDER_LINES}.sql")
    sql = compiled.read_text()
    assert "stg_crm__order_lines" in sql and "keys_rechecked" not in sql
