"""Incremental base models, priced orders and buyers' facts (DuckDB, PostgreSQL) end where a
rebuild from raw ends.

The shipped sample arrives in three drops: its first three days; then its last day with
hand-written rows that test what an incremental build must re-check (an order and an order line
whose contact has not arrived, a key-less row, an older and a newer version of staged orders, a
line moved to another order, a product whose unit cost changed); then the missing contact,
which must turn both orphans into staged rows, the only order of a buyer moved to another buyer
and a product ten times dearer; the second drop also bills an invoice to another contact and
records a touch and a ticket against another contact, and the third moves a payment to another
contact's invoice and settles an invoice past due. After the third incremental build every base
table, `int_orders_priced`, the buyers' facts from orders, order lines and what surrounds the
orders, the payers' facts from invoices, the contacts' touch counts and their service facts from
tickets must equal, row for row and column for column (the build stamps aside), what `dbt build
--full-refresh` computes from the same raw tables; so must the per-contact facts after the
evaluation date moves back and forth, and the intermediate tables after a business-rule var they
read, or the ticket category map, takes a new value. Spark rebuilds these tables on every run,
so it has no incremental path to test.
"""

from __future__ import annotations

import csv
import json
import shutil
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from scripts.contract import load_contract
from tests.python.conftest import (
    SAMPLE_LANDING,
    Warehouse,
    base_env,
    dbt,
    isolated_engine_env,
    load,
)

LAST_SAMPLE_DAY = "2026-10-31"
# Tests that also read marts stay out (they would need the whole warehouse built).
INCREMENTAL_SELECTION = (
    "--select",
    "+staging",
    "+int_orders_priced",
    "+int_orders_aggregated_to_customers",
    "+int_order_lines_aggregated_to_customers",
    "+int_order_context_aggregated_to_customers",
    "+int_invoices_aggregated_to_customers",
    "+int_touches_aggregated_to_customers",
    "+int_tickets_aggregated_to_customers",
    "--indirect-selection",
    "cautious",
)
INCREMENTAL_INTERMEDIATE_TABLES = (
    "int_orders_priced",
    "int_orders_aggregated_to_customers",
    "int_order_lines_aggregated_to_customers",
    "int_order_context_aggregated_to_customers",
    "int_invoices_aggregated_to_customers",
    "int_touches_aggregated_to_customers",
    "int_tickets_aggregated_to_customers",
)
# When a build wrote the row: differs between an incremental build and a rebuild by design.
BUILD_STAMPS = {"_checked_at", "_priced_at", "_aggregated_at", "_aggregated_as_of"}
# What the inputs a table reads whole looked like: changes with every var those inputs hold.
FINGERPRINTS = {"_pricing_fingerprint", "_inputs_fingerprint"}


def first_day_rows(entity: str) -> list[dict[str, str]]:
    # utf-8-sig: some sample files open with a byte-order mark, as exports from Excel do
    with (SAMPLE_LANDING / entity / "2026-10-28.csv").open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def first_row_of_another_contact(entity: str, contact_id: str) -> dict[str, str]:
    """The first row of the sample's first day that belongs to a contact other than
    `contact_id`: moving it to `contact_id` changes two contacts' facts."""
    return next(row for row in first_day_rows(entity) if row["contact_id"] != contact_id)


def first_ticket_of_a_prospect() -> dict[str, str]:
    """The first ticket of the sample's first day whose contact has no order on any day."""
    buyers = set()
    for day in sorted((SAMPLE_LANDING / "orders").glob("*.csv")):
        with day.open(encoding="utf-8-sig", newline="") as f:
            buyers.update(row["contact_id"] for row in csv.DictReader(f))
    return next(row for row in first_day_rows("support_tickets") if row["contact_id"] not in buyers)


def newer_version(row: dict[str, str], **changes: str) -> dict[str, str]:
    """`row` with `changes`, as the CRM exports it once they are made: updated after every
    staged version of the sample, so it replaces the staged row of its key."""
    return {**row, **changes, "updated_at": "2026-10-31 12:00:00"}


def write_drop(landing: Path, entity: str, day: str, rows: list[dict[str, str]]) -> None:
    header = list(load_contract().entities[entity].columns)
    path = landing / entity / f"{day}.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def table_rows(
    warehouse: Warehouse, layer: str, table: str, leave_out: set[str] = BUILD_STAMPS
) -> list[tuple]:
    """Every row of the table, sorted, without the build stamps (or the `leave_out` columns)."""
    schema = warehouse.schema(layer)
    columns = [
        name
        for (name,) in warehouse.query(
            "select column_name from information_schema.columns "
            f"where table_schema = '{schema}' and table_name = '{table}' "
            "order by ordinal_position"
        )
        if name not in leave_out
    ]
    rows = warehouse.query(f"select {', '.join(columns)} from {schema}.{table}")
    return sorted(rows, key=lambda row: tuple((v is None, str(v)) for v in row))


def reaggregated_by_the_last_build(warehouse: Warehouse, table: str) -> set[str]:
    """The contacts of a per-contact incremental table that its last build computed again."""
    aggregate = f"{warehouse.schema('intermediate')}.{table}"
    return {
        contact_id
        for (contact_id,) in warehouse.query(
            f"select contact_id from {aggregate} "
            f"where _aggregated_at = (select max(_aggregated_at) from {aggregate})"
        )
    }


def built_tables(warehouse: Warehouse) -> dict[str, list[tuple]]:
    tables = {
        entity: table_rows(warehouse, "staging", f"base_crm__{entity}")
        for entity in load_contract().entities
    }
    for table in INCREMENTAL_INTERMEDIATE_TABLES:
        tables[table] = table_rows(warehouse, "intermediate", table)
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
    dbt(warehouse, "build", *INCREMENTAL_SELECTION)

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
            newer_version(existing_new, status="returned"),
        ],
    )
    write_drop(
        landing,
        "order_lines",
        "2026-11-01",
        [{**line, "order_line_id": "INC-L1", "order_id": "INC-O1"}],
    )
    product = first_day_rows("products")[0]
    write_drop(
        landing,
        "products",
        "2026-11-01",
        [newer_version(product, unit_cost=f"{float(product['unit_cost']) + 1.25:.2f}")],
    )
    # and an invoice now billed to another contact: both contacts' paying facts change
    moved_invoice = first_day_rows("invoices")[2]
    write_drop(
        landing,
        "invoices",
        "2026-11-01",
        [newer_version(moved_invoice, contact_id=order["contact_id"])],
    )
    # and a touch now recorded against another contact: both contacts' touch counts change
    moved_touch = first_row_of_another_contact("marketing_touches", order["contact_id"])
    write_drop(
        landing,
        "marketing_touches",
        "2026-11-01",
        [newer_version(moved_touch, contact_id=order["contact_id"])],
    )
    # and a ticket now opened by another contact: both contacts' service facts change. Its
    # first contact never orders in the sample, so no rule about orders recounts them: only
    # the recheck of the ticket does.
    moved_ticket = first_ticket_of_a_prospect()
    write_drop(
        landing,
        "support_tickets",
        "2026-11-01",
        [newer_version(moved_ticket, contact_id=order["contact_id"])],
    )
    load(warehouse)
    dbt(warehouse, "build", *INCREMENTAL_SELECTION)

    # Drop 3: the contact the orphans were waiting for, and a newer version of a staged line
    # on another order (both orders change, though neither order row does).
    write_drop(
        landing,
        "contacts",
        "2026-11-02",
        [{**first_day_rows("contacts")[0], "contact_id": "INC-C1"}],
    )
    moved_line = first_day_rows("order_lines")[1]
    write_drop(
        landing,
        "order_lines",
        "2026-11-02",
        [newer_version(moved_line, order_id=existing_old["order_id"])],
    )
    # and a product ten times dearer: its rank among its category's prices moves, and with it
    # which of the category's products count as cheap (no order's price changes)
    dearer_product = first_day_rows("products")[1]
    write_drop(
        landing,
        "products",
        "2026-11-02",
        [
            newer_version(
                dearer_product, list_price=f"{float(dearer_product['list_price']) * 10:.2f}"
            )
        ],
    )
    # and a click on the day of a paid order of a buyer whom no research prompted so far: that
    # order becomes prompted, though neither it nor its buyer changed (a buyer without rejected
    # order or line rows, which staging rechecks on every build)
    intermediate = warehouse.schema("intermediate")
    staging = warehouse.schema("staging")
    [(researched_buyer, ordered_at)] = warehouse.query(
        f"select contact_id, ordered_at from {intermediate}.int_orders_enriched "
        "where is_paid and contact_id not in "
        f"(select contact_id from {intermediate}.int_order_context_aggregated_to_customers) "
        "and contact_id not in (select contact_id from "
        f"{staging}.base_crm__orders where _reject_reasons is not null and contact_id is not null) "
        "and contact_id not in (select orders.contact_id "
        f"from {staging}.base_crm__order_lines as lines "
        f"inner join {staging}.stg_crm__orders as orders on lines.order_id = orders.order_id "
        "where lines._reject_reasons is not null) "
        "order by order_id limit 1"
    )
    write_drop(
        landing,
        "marketing_touches",
        "2026-11-02",
        [
            {
                **first_day_rows("marketing_touches")[0],
                "touch_id": "INC-T1",
                "contact_id": researched_buyer,
                "touch_type": "click",
                "touched_at": f"{ordered_at:%Y-%m-%d %H:%M:%S}",
                "updated_at": f"{ordered_at:%Y-%m-%d %H:%M:%S}",
            }
        ],
    )
    # and the only order of a buyer, now bought by another: the first buyer has no facts left
    single_order_buyers = {
        contact_id
        for (contact_id,) in warehouse.query(
            f"select contact_id from {warehouse.schema('staging')}.stg_crm__orders "
            "group by contact_id having count(*) = 1"
        )
    }
    moved_order = next(
        row for row in first_day_rows("orders") if row["contact_id"] in single_order_buyers
    )
    write_drop(
        landing,
        "orders",
        "2026-11-02",
        [newer_version(moved_order, contact_id=order["contact_id"])],
    )
    # and, with no event after the evaluation date (it stays put), a payment moved to an
    # invoice of another contact, and a payment that settles an invoice past due
    moved_payment, other_invoice = first_day_rows("payments")[0], first_day_rows("invoices")[1]
    [(settled_invoice, debtor, owed)] = warehouse.query(
        f"select invoices.invoice_id, invoices.contact_id, "
        f"invoices.amount - coalesce(sum(payments.amount), 0) "
        f"from {staging}.stg_crm__invoices as invoices "
        f"left join {staging}.stg_crm__payments as payments "
        "on invoices.invoice_id = payments.invoice_id "
        "where invoices.due_on < date '2026-10-31' "
        "group by invoices.invoice_id, invoices.contact_id, invoices.amount "
        "having invoices.amount > coalesce(sum(payments.amount), 0) "
        "order by invoices.invoice_id limit 1"
    )
    write_drop(
        landing,
        "payments",
        "2026-11-02",
        [
            newer_version(moved_payment, invoice_id=other_invoice["invoice_id"]),
            newer_version(
                moved_payment,
                payment_id="INC-PAY1",
                invoice_id=settled_invoice,
                paid_on="2026-10-31",
                amount=f"{owed:.2f}",
            ),
        ],
    )
    load(warehouse)
    dbt(warehouse, "build", *INCREMENTAL_SELECTION)
    [(moved_payment_payer,)] = warehouse.query(
        f"select contact_id from {staging}.stg_crm__invoices "
        f"where invoice_id = '{moved_payment['invoice_id']}'"
    )
    warehouse.payers_changed_by_drop_3 = {moved_payment_payer, other_invoice["contact_id"], debtor}
    warehouse.older_arrival = (existing_old["order_id"], status_before)
    warehouse.newer_arrival = existing_new["order_id"]
    warehouse.moved_line = (moved_line["order_id"], existing_old["order_id"])
    warehouse.repriced_product = product["product_id"]
    warehouse.moved_order = (moved_order["contact_id"], order["contact_id"])
    warehouse.researched_buyer = researched_buyer
    yield warehouse
    warehouse.close()


def test_the_builds_took_the_incremental_path(incremental_warehouse: Warehouse):
    target = Path(incremental_warehouse.env["DBT_TARGET_PATH"])
    base = Path("crm_warehouse/models/staging/crm/base/base_crm__orders.sql")
    assert "new_loads" in (target / "compiled" / base).read_text()
    assert "delete from" in (target / "run" / base).read_text()
    priced = Path("crm_warehouse/models/intermediate/customers/int_orders_priced.sql")
    assert "orders_to_price" in (target / "compiled" / priced).read_text()
    assert "delete from" in (target / "run" / priced).read_text()
    buyers = Path(
        "crm_warehouse/models/intermediate/customers/int_orders_aggregated_to_customers.sql"
    )
    assert "buyers_to_reaggregate" in (target / "compiled" / buyers).read_text()
    assert "delete from" in (target / "run" / buyers).read_text()
    if incremental_warehouse.engine == "duckdb":
        # DuckDB builds the hash joins of the incremental builds on the keys to recompute,
        # and gets its own choice back after each model (macros/cross_engine/join_sides.sql)
        log = (Path(incremental_warehouse.env["DBT_LOG_PATH"]) / "dbt.log").read_text()
        kept = log.count("set disabled_optimizers = 'build_side_probe_side'")
        assert kept >= len(INCREMENTAL_INTERMEDIATE_TABLES)
        assert log.count("reset disabled_optimizers") >= kept


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


def test_a_recheck_that_changes_nothing_keeps_the_rows_stamp(incremental_warehouse: Warehouse):
    # An orphan is rechecked when its parent arrives or a new row of its key does. Those of
    # the first load whose parent never came are rejected for the same reasons three builds
    # running, so they must still carry the first build's stamp, or every build would count
    # them as changed and price their orders and aggregate their buyers again.
    staging = incremental_warehouse.schema("staging")
    for entity, key in (("orders", "order_id"), ("order_lines", "order_line_id")):
        base = f"{staging}.base_crm__{entity}"
        stamps = incremental_warehouse.query(
            f"select distinct _checked_at from {base} "
            "where _reject_reasons like '%orphan_%' "
            f"and _load_id = (select min(_load_id) from {base}) "
            f"and {key} in (select {key} from {base} group by {key} having count(*) = 1)"
        )
        [(first_build,)] = incremental_warehouse.query(f"select min(_checked_at) from {base}")
        assert stamps == [(first_build,)], entity


def test_the_last_build_priced_only_the_orders_it_touched(incremental_warehouse: Warehouse):
    intermediate = incremental_warehouse.schema("intermediate")
    stamps = incremental_warehouse.query(
        f"select _priced_at, count(*) from {intermediate}.int_orders_priced group by _priced_at"
    )
    # drop 2 changed a product's cost, so its build priced every order again; drop 3 staged
    # the orphans and moved a line, so its build priced those orders and kept the rest
    assert len(stamps) == 2
    latest = max(stamps)[0]
    touched = dict(
        incremental_warehouse.query(
            f"select order_id, order_lines from {intermediate}.int_orders_priced "
            f"where _priced_at = cast('{latest}' as timestamp)"
        )
    )
    assert touched.get("INC-O1") == 1
    moved_from, moved_to = incremental_warehouse.moved_line
    assert moved_from in touched and moved_to in touched
    assert len(touched) < sum(count for _, count in stamps) / 10


def test_the_last_build_reaggregated_only_the_buyers_it_touched(incremental_warehouse: Warehouse):
    intermediate = incremental_warehouse.schema("intermediate")
    stamps = incremental_warehouse.query(
        f"select _aggregated_at, count(*) from {intermediate}.int_orders_aggregated_to_customers "
        "group by _aggregated_at"
    )
    latest = max(stamps)[0]
    touched = {
        contact_id
        for (contact_id,) in incremental_warehouse.query(
            f"select contact_id from {intermediate}.int_orders_aggregated_to_customers "
            f"where _aggregated_at = cast('{latest}' as timestamp)"
        )
    }
    moved_from, moved_to = incremental_warehouse.moved_order
    assert "INC-C1" in touched and moved_to in touched
    # the buyer whose only order moved has no row left, as a rebuild would have none
    assert incremental_warehouse.query(
        f"select count(*) from {intermediate}.int_orders_aggregated_to_customers "
        f"where contact_id = '{moved_from}'"
    ) == [(0,)]
    assert len(touched) < sum(count for _, count in stamps) / 10


def test_the_last_build_reaggregated_only_the_payers_it_touched(incremental_warehouse: Warehouse):
    # The evaluation date did not move, so the contacts with open invoices (recomputed on
    # every move of the date) were kept: only the three whose payments drop 3 changed were
    # aggregated again (the payer a payment left, the one it went to, and the settled debtor).
    intermediate = incremental_warehouse.schema("intermediate")
    aggregate = f"{intermediate}.int_invoices_aggregated_to_customers"
    assert (
        reaggregated_by_the_last_build(
            incremental_warehouse, "int_invoices_aggregated_to_customers"
        )
        == incremental_warehouse.payers_changed_by_drop_3
    )
    [(open_elsewhere,)] = incremental_warehouse.query(
        f"select count(*) from {aggregate} where open_invoices > 0 and _aggregated_at < "
        f"(select max(_aggregated_at) from {aggregate})"
    )
    assert open_elsewhere > 0


def test_the_last_build_recounted_only_the_touches_it_touched(incremental_warehouse: Warehouse):
    # drop 3 brought one touch, for the researched buyer, and did not move the date
    assert reaggregated_by_the_last_build(
        incremental_warehouse, "int_touches_aggregated_to_customers"
    ) == {incremental_warehouse.researched_buyer}


def test_a_touch_that_arrives_later_prompts_its_order(incremental_warehouse: Warehouse):
    intermediate = incremental_warehouse.schema("intermediate")
    assert incremental_warehouse.query(
        f"select prompted_orders from {intermediate}.int_order_context_aggregated_to_customers "
        f"where contact_id = '{incremental_warehouse.researched_buyer}'"
    ) == [(1,)]


def test_incremental_tables_equal_a_rebuild_from_raw(incremental_warehouse: Warehouse):
    staging = incremental_warehouse.schema("staging")
    moved_from, moved_to = incremental_warehouse.moved_line
    # the cases the equality below would miss if the sample lacked them
    assert moved_from != moved_to
    [(orders_with_repriced_product,)] = incremental_warehouse.query(
        f"select count(distinct order_id) from {staging}.stg_crm__order_lines "
        f"where product_id = '{incremental_warehouse.repriced_product}'"
    )
    assert orders_with_repriced_product > 1
    incremental = built_tables(incremental_warehouse)
    dbt(incremental_warehouse, "build", "--full-refresh", *INCREMENTAL_SELECTION)
    rebuilt = built_tables(incremental_warehouse)
    for table in rebuilt:
        assert incremental[table] == rebuilt[table], table


def test_buyers_facts_follow_the_evaluation_date_back_and_forth(incremental_warehouse: Warehouse):
    staging = incremental_warehouse.schema("staging")

    def build(*args: str) -> dict[str, list[tuple]]:
        """The buyers' facts (the incremental tables after int_orders_priced) after the build."""
        dbt(incremental_warehouse, "build", *args, *INCREMENTAL_SELECTION, *as_of)
        return {
            table: table_rows(incremental_warehouse, "intermediate", table)
            for table in INCREMENTAL_INTERMEDIATE_TABLES[1:]
        }

    # back five months: every buyer is aggregated again
    as_of = ("--vars", "{as_of_date: '2026-03-31'}")
    incremental = build()
    everyone = reaggregated_by_the_last_build(
        incremental_warehouse, "int_orders_aggregated_to_customers"
    )
    assert incremental == build("--full-refresh")
    assert len(everyone) == len(incremental["int_orders_aggregated_to_customers"])

    # then a week on: only the buyers with an order in the week, or a year or two years
    # before it (the windows of the last and prior twelve months), worked out here by hand.
    # No load came in between, so no order was checked or priced again: the orphans that
    # staging rechecks, in case their parent has arrived, are still orphans.
    as_of = ("--vars", "{as_of_date: '2026-04-07'}")
    incremental = build()
    crossed_weeks = [
        (date(2026, 3, 31) - timedelta(days=days), date(2026, 4, 7) - timedelta(days=days))
        for days in (0, 365, 730)
    ]
    buyers_in_crossed_weeks = {
        contact_id
        for contact_id, ordered_on in incremental_warehouse.query(
            f"select contact_id, ordered_on from {staging}.stg_crm__orders"
        )
        if any(start < ordered_on <= end for start, end in crossed_weeks)
    }
    reaggregated = reaggregated_by_the_last_build(
        incremental_warehouse, "int_orders_aggregated_to_customers"
    )
    # (a contact with no order up to the evaluation date has no row)
    staged_buyers = {row[0] for row in incremental["int_orders_aggregated_to_customers"]}
    assert reaggregated == buyers_in_crossed_weeks & staged_buyers
    assert len(reaggregated) > 100
    assert len(reaggregated) < len(everyone) / 2

    # and of the payers, those with an invoice or a payment in the week, and those who owed
    # something on an invoice (of any due date) when the week began, worked out here
    payments_per_invoice: dict[str, list[tuple[date, Decimal]]] = {}
    for invoice_id, paid_on, amount in incremental_warehouse.query(
        f"select invoice_id, paid_on, amount from {staging}.stg_crm__payments"
    ):
        payments_per_invoice.setdefault(invoice_id, []).append((paid_on, amount))
    week_start, week_end = crossed_weeks[0]
    payers_to_reaggregate = set()
    for invoice_id, contact_id, invoiced_on, amount in incremental_warehouse.query(
        f"select invoice_id, contact_id, invoiced_on, amount from {staging}.stg_crm__invoices"
    ):
        payments = payments_per_invoice.get(invoice_id, [])
        paid_by_week_start = sum(paid for paid_on, paid in payments if paid_on <= week_start)
        if (
            week_start < invoiced_on <= week_end
            or any(week_start < paid_on <= week_end for paid_on, _ in payments)
            or (invoiced_on <= week_start and paid_by_week_start < amount)
        ):
            payers_to_reaggregate.add(contact_id)
    reaggregated_payers = reaggregated_by_the_last_build(
        incremental_warehouse, "int_invoices_aggregated_to_customers"
    )
    staged_payers = {row[0] for row in incremental["int_invoices_aggregated_to_customers"]}
    assert reaggregated_payers == payers_to_reaggregate & staged_payers
    assert 10 < len(reaggregated_payers) < len(staged_payers) / 2

    # and of the contacts with tickets, those with a ticket in the week or in the week 30 days
    # before it (the last-30-days minutes), and the buyers with an order in the week (whose
    # first order date may have moved), worked out here
    ticket_weeks = [
        (start - timedelta(days=days), end - timedelta(days=days))
        for start, end in crossed_weeks[:1]
        for days in (0, 30)
    ]
    contacts_to_recount = {
        contact_id
        for contact_id, opened_at in incremental_warehouse.query(
            f"select contact_id, opened_at from {staging}.stg_crm__support_tickets"
        )
        if any(start < opened_at.date() <= end for start, end in ticket_weeks)
    } | {
        contact_id
        for contact_id, ordered_on in incremental_warehouse.query(
            f"select contact_id, ordered_on from {staging}.stg_crm__orders"
        )
        if week_start < ordered_on <= week_end
    }
    recounted = reaggregated_by_the_last_build(
        incremental_warehouse, "int_tickets_aggregated_to_customers"
    )
    ticket_contacts = {row[0] for row in incremental["int_tickets_aggregated_to_customers"]}
    assert recounted == contacts_to_recount & ticket_contacts
    assert 10 < len(recounted) < len(ticket_contacts) / 2
    assert incremental == build("--full-refresh")


def test_a_rule_var_given_a_new_value_reaches_every_row(incremental_warehouse: Warehouse):
    # The incremental tables keep the vars they read in their fingerprint. Each step gives one
    # more of those vars a new value (so the step tests that var alone); the build that
    # follows must compute every row with it, as a rebuild with the same vars does.
    # (with the view over the priced orders, which PostgreSQL drops with the table it reads)
    tables = ("int_as_of_date", "int_orders_enriched", *INCREMENTAL_INTERMEDIATE_TABLES)
    settings: dict = {"as_of_date": "2026-04-07"}

    def build(*args: str) -> dict[str, list[tuple]]:
        dbt(
            incremental_warehouse, "run", *args, "--select", *tables, "--vars", json.dumps(settings)
        )
        return {
            table: table_rows(incremental_warehouse, "intermediate", table)
            for table in INCREMENTAL_INTERMEDIATE_TABLES
        }

    def facts() -> dict[str, list[tuple]]:
        """The tables without their fingerprints, which change with the vars whatever else does."""
        return {
            table: table_rows(
                incremental_warehouse, "intermediate", table, leave_out=BUILD_STAMPS | FINGERPRINTS
            )
            for table in INCREMENTAL_INTERMEDIATE_TABLES
        }

    build("--full-refresh")
    for name, value in (
        ("prompt_lookback_days", 60),
        ("distrust_window_days", 90),
        ("cheap_price_max_percentile", 0.75),
        ("paid_order_statuses", ["paid", "shipped", "delivered"]),
        ("business_hours_start", 10),
        ("business_hours_end", 16),
    ):
        before = facts()
        settings[name] = value
        incremental = build()
        rebuilt = build("--full-refresh")
        assert facts() != before, f"{name}={value} changes no fact in the sample"
        for table in rebuilt:
            assert incremental[table] == rebuilt[table], (name, table)


def test_a_ticket_label_mapped_anew_reaches_every_ticket_count(incremental_warehouse: Warehouse):
    # The staged tickets take their category from the seed ticket_category_map, so mapping a
    # label anew changes which tickets are complaints though no ticket is rechecked: the
    # tables that count tickets by category keep the map in their fingerprint and count every
    # contact again.
    tables = ("int_order_context_aggregated_to_customers", "int_tickets_aggregated_to_customers")
    staging = incremental_warehouse.schema("staging")
    category_map = f"{incremental_warehouse.schema('reference')}.ticket_category_map"

    def run(*args: str) -> dict[str, list[tuple]]:
        dbt(incremental_warehouse, "run", *args, "--select", *tables)
        return {table: table_rows(incremental_warehouse, "intermediate", table) for table in tables}

    def facts() -> dict[str, list[tuple]]:
        return {
            table: table_rows(
                incremental_warehouse, "intermediate", table, leave_out=BUILD_STAMPS | FINGERPRINTS
            )
            for table in tables
        }

    run()  # with the project's vars again, which the test above changed
    before = facts()
    [(label,)] = incremental_warehouse.query(
        f"select lower(category_label) from {staging}.stg_crm__support_tickets "
        "where ticket_category = 'question' "
        "group by lower(category_label) order by count(*) desc, lower(category_label) limit 1"
    )
    incremental_warehouse.execute(
        f"update {category_map} set canonical_category = 'complaint' "
        f"where crm_category_label = '{label}'"
    )
    try:
        incremental = run()
        rebuilt = run("--full-refresh")
        after = facts()
        for table in tables:
            assert after[table] != before[table], f"{label} as a complaint changes no {table} fact"
            assert incremental[table] == rebuilt[table], table
    finally:
        dbt(incremental_warehouse, "seed", "--select", "ticket_category_map")


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

    class RecordedBuild:
        def __init__(self, args, target, env, **options):
            self.args = args

        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            pass

        def run(self):
            builds.append(self.args)

    monkeypatch.setattr(run_pipeline, "PreparedDbt", RecordedBuild)
    monkeypatch.setattr(run_pipeline, "fit_value_model", lambda target: None)
    run_pipeline.main(["--no-load", "--full-refresh"])
    run_pipeline.main(["--no-load"])
    assert [("--full-refresh" in args) for args in builds] == [True, True, False, False]


def test_a_per_contact_table_without_stamps_asks_for_a_full_refresh(
    incremental_warehouse: Warehouse,
):
    # what a table built whole by an older version of the project looks like to this one
    intermediate = incremental_warehouse.schema("intermediate")
    incremental_warehouse.execute(
        f"alter table {intermediate}.int_touches_aggregated_to_customers drop column _aggregated_at"
    )
    select = ("--select", "int_touches_aggregated_to_customers")
    failed = dbt(incremental_warehouse, "run", *select, check=False)
    assert failed.returncode != 0
    output = " ".join(failed.stdout.split())
    assert 'int_touches_aggregated_to_customers" was built by an older version' in output
    assert "dbt build --full-refresh --select int_touches_aggregated_to_customers" in output
    dbt(incremental_warehouse, "run", "--full-refresh", *select)
    assert incremental_warehouse.query(
        f"select count(*) from {intermediate}.int_touches_aggregated_to_customers "
        "where _aggregated_at is null"
    ) == [(0,)]
