"""Segment marts and the state history on the crafted twelve-contact fixture.

The segment numbers were worked out by hand from tests/fixtures/crafted/expected_customers.csv
(and its README), not by running the models. The history test rebuilds the warehouse at two
earlier evaluation dates, then at the latest one again (docs/segments_and_history.md):

- 2026-04-30, where K06 is lapsed: its only order then is O601 of 2026-01-10, 110 days
  earlier, and the only repeat buyer, K10 (2026-02-15, 2026-03-15), makes the population
  median gap 28 days, so one-time buyers lapse after max(90, 3 x 28) = 90 days. K06 orders
  again on 2026-05-01 (O602). Every status at 2026-04-30: prospects K01, K02 (first order
  05-10), K04, K11, K12; active K03 (29 days) and K09 (20); at risk (over 45 days) K05 (46,
  internal), K07 (88), K08 (60), K10 (46, own gap 28: threshold 90); lapsed K06 (110).
- 2026-06-29, the day before the only event of 2026-06-30 (K11's first order, O1101): K11 is
  a prospect without engagement then, and nobody else changes class, except that K06 is now
  `regained` on both dates: the last refresh before its latest order (2026-05-01) is
  2026-04-30, which recorded it lapsed ("regained: lapsed at the refresh of 2026-04-30,
  ordered on 2026-05-01"). Without that refresh the order history decides and says active
  (its gap of 111 days < 3 x the population median gap of 61), as in the first build.

Re-running a date must replace it.
"""

from __future__ import annotations

import math
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from scripts.contract import PROJECT_DIR
from tests.python.conftest import Warehouse, build_warehouse

CRAFTED = PROJECT_DIR / "tests" / "fixtures" / "crafted"
LATEST = "2026-06-30"
EARLIER = "2026-06-29"
APRIL = "2026-04-30"


@pytest.fixture(scope="module", params=["duckdb", "postgres", "spark"])
def crafted(request, tmp_path_factory):
    workdir = tmp_path_factory.mktemp(f"segments_{request.param}")
    warehouse = build_warehouse(request, request.param, workdir, CRAFTED / "landing")
    yield warehouse
    warehouse.close()


def dbt_build(warehouse: Warehouse, as_of_date: str | None = None) -> None:
    """One `dbt build` of the whole project, with the warehouse's environment: the value
    model parameters fitted by the first pipeline run are reused (on this fixture too few
    repeat buyers to fit, so the predictions are null at either date)."""
    dbt = Path(sys.executable).with_name("dbt")
    # unit tests ran in the pipeline build; this rebuild only needs models and data tests
    command = [str(dbt), "build", "--exclude-resource-type", "unit_test"]
    command += ["--target", warehouse.engine]
    command += ["--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]
    if as_of_date:
        command += ["--vars", f'{{as_of_date: "{as_of_date}"}}']
    warehouse.close()  # Spark: the query process holds the metastore, one JVM at a time
    completed = subprocess.run(
        command,
        cwd=PROJECT_DIR,
        env=warehouse.env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if completed.returncode != 0:
        tail = (completed.stdout + completed.stderr)[-6000:]
        pytest.fail(f"dbt build (as_of_date {as_of_date}) failed on {warehouse.engine}:\n{tail}")


def num(value) -> float | None:
    if value is None:
        return None
    return float(value) if isinstance(value, Decimal | int | float) else value


def segments(warehouse: Warehouse, dimension: str) -> dict[str, dict[str, object]]:
    columns = [
        "segment_value",
        "contacts",
        "customers",
        "prospects",
        "internal_contacts",
        "revenue",
        "profit",
        "average_net_revenue",
        "average_profit",
        "nps_respondents",
        "nps",
        "customer_share",
        "population",
    ]
    rows = warehouse.query(
        f"select {', '.join(columns)} from {warehouse.schema('marts')}.customer_segments"
        f" where segment_dimension = '{dimension}'"
    )
    return {
        row[0]: {name: num(value) for name, value in zip(columns, row, strict=True)} for row in rows
    }


def assert_close(got, want, label):
    if want is None or isinstance(want, str):
        assert got == want, f"{label}: expected {want!r}, got {got!r}"
    else:
        assert got is not None and math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-6), (
            f"{label}: expected {want!r}, got {got!r}"
        )


def check(table: dict[str, dict[str, object]], expected: dict[str, dict[str, object]]):
    assert sorted(table) == sorted(expected)
    for value, measures in expected.items():
        for name, want in measures.items():
            assert_close(table[value][name], want, f"{value}.{name}")


def test_strategy_segments_match_the_hand_worked_values(crafted: Warehouse):
    # strategies (expected_customers.csv): start K01; end K02 K03 K04 K07 K10 K12;
    # enhance K06; harvest K05 (internal) K09 K11; protect K08. Money on external
    # customers only: end = K02 100/-62.5, K03 120/-55, K07 50/-28.5, K10 95/22.
    check(
        segments(crafted, "strategy"),
        {
            "start": {"contacts": 1, "customers": 0, "prospects": 1, "revenue": 0, "nps": None},
            "end": {
                "contacts": 6,
                "customers": 4,
                "prospects": 2,
                "revenue": 365,
                "profit": -124,
                "average_profit": -31,
                # K12 (NPS 3) is a prospect: not in the customer NPS
                "nps_respondents": 0,
                "nps": None,
                "customer_share": 0.5,
            },
            "enhance": {"contacts": 1, "customers": 1, "revenue": 400, "profit": 125},
            "harvest": {
                "contacts": 3,
                "customers": 2,
                "internal_contacts": 1,
                # K05's 200 / 77.5 are internal: K09 50 / 17.5 + K11 465 / 162.5
                "revenue": 515,
                "profit": 180,
                "average_net_revenue": 257.5,
                "average_profit": 90,
                "customer_share": 0.25,
            },
            "protect": {"contacts": 1, "customers": 1, "profit": 37.5, "nps": 100},
        },
    )


def test_other_segments_match_the_hand_worked_values(crafted: Warehouse):
    check(
        segments(crafted, "all"),
        {
            "all": {
                "contacts": 12,
                "customers": 8,
                "prospects": 3,
                "internal_contacts": 1,
                "revenue": 1360,
                "profit": 218.5,
                "nps_respondents": 1,
                "nps": 100,
                "customer_share": 1,
                "population": "external_customers",
            }
        },
    )
    check(
        segments(crafted, "lifecycle_stage"),
        {
            "reaching": {"contacts": 2, "customers": 0},
            "acquisition": {"contacts": 1, "customers": 0},
            # K02 K03 K05 K07 K08 K09 K11, K05 internal
            "conversion": {"contacts": 7, "customers": 6, "revenue": 865, "profit": 71.5},
            "retention": {"contacts": 2, "customers": 2, "revenue": 495, "profit": 147},
        },
    )
    check(
        segments(crafted, "value_tier"),
        {
            "platinum": {"customers": 2, "profit": 287.5},
            "gold": {"customers": 1, "profit": 37.5},
            "iron": {"customers": 2, "profit": 39.5},
            "lead": {"customers": 3, "profit": -146},
            "none": {"contacts": 4, "customers": 0},
        },
    )
    check(
        segments(crafted, "customer_type"),
        {
            "high_volume": {"contacts": 1, "customers": 1, "revenue": 465},
            "none": {"contacts": 11, "customers": 7, "revenue": 895},
        },
    )
    check(
        segments(crafted, "country"),
        {
            "IT": {"contacts": 7, "customers": 3, "revenue": 315},
            "PL": {"contacts": 5, "customers": 5, "revenue": 1045},
        },
    )
    check(
        segments(crafted, "cohort_month"),
        {
            "2026-01": {"customers": 1},
            "2026-02": {"customers": 2, "profit": -6.5},
            "2026-03": {"contacts": 2, "customers": 1, "internal_contacts": 1},
            "2026-04": {"customers": 2},
            "2026-05": {"customers": 1},
            "2026-06": {"customers": 1},
            "none": {"contacts": 3, "customers": 0},
        },
    )


def test_whale_curve_funnel_and_worklist(crafted: Warehouse):
    marts = crafted.schema("marts")
    curve = {
        row[0]: (row[1], num(row[2]))
        for row in crafted.query(
            "select customer_percentile, customers, cumulative_profit_share"
            f" from {marts}.customer_whale_curve"
        )
    }
    assert sorted(curve) == list(range(1, 101))
    # 8 customers: the top p% holds floor(8p/100) of them (README of the fixture)
    assert curve[12] == (0, 0.0)
    assert curve[13][0] == 1 and math.isclose(curve[13][1], 162.5 / 218.5)
    assert curve[25][0] == 2 and math.isclose(curve[25][1], 287.5 / 218.5)
    assert curve[50][0] == 4 and math.isclose(curve[50][1], 347 / 218.5)
    assert curve[100][0] == 8 and math.isclose(curve[100][1], 1.0)

    funnel = crafted.query(
        "select lifecycle_stage, contacts, contacts_reached, conversion_from_previous"
        f" from {marts}.lifecycle_funnel order by stage_order"
    )
    assert [row[:3] for row in funnel] == [
        ("reaching", 2, 11),
        ("acquisition", 1, 9),
        ("conversion", 6, 8),
        ("retention", 2, 2),
        ("inspiration", 0, 0),
    ]
    conversions = [num(row[3]) for row in funnel]
    assert conversions[0] is None
    for got, want in zip(conversions[1:], [9 / 11, 8 / 9, 2 / 8, 0.0], strict=True):
        assert math.isclose(got, want, abs_tol=1e-9)

    worklist = crafted.query(
        f"select strategy, strategy_rank, contact_id from {marts}.strategy_worklist"
    )
    ranked = {(row[0], row[1]): row[2] for row in worklist}
    # no predictions on this fixture: profit decides, then contact_id
    end = [ranked[("end", rank)] for rank in range(1, 7)]
    assert end == ["K10", "K04", "K12", "K07", "K03", "K02"]
    assert [ranked[("harvest", rank)] for rank in range(1, 4)] == ["K11", "K05", "K09"]


# Moves from 2026-06-29 to 2026-06-30, per dimension: (from, to) -> contacts. Only K11
# moves (its first order); everyone else keeps their class (docs/segments_and_history.md);
# K06 is regained on both dates (lapsed at the refresh of 2026-04-30, ordered on 2026-05-01).
EXPECTED_TRANSITIONS = {
    "lifecycle_stage": {
        ("reaching", "conversion"): 1,
        ("reaching", "reaching"): 2,
        ("acquisition", "acquisition"): 1,
        ("conversion", "conversion"): 6,
        ("retention", "retention"): 2,
    },
    "activity_status": {
        ("prospect", "active"): 1,
        ("prospect", "prospect"): 3,
        ("active", "active"): 3,
        ("regained", "regained"): 1,
        ("at_risk", "at_risk"): 3,
        ("lapsed", "lapsed"): 1,
    },
    "relationship_rung": {
        ("prospect", "tester"): 1,
        ("prospect", "prospect"): 3,
        ("tester", "tester"): 4,
        ("buyer", "buyer"): 3,
        ("sponsor", "sponsor"): 1,
    },
    "value_tier": {
        ("none", "platinum"): 1,
        ("platinum", "platinum"): 1,
        ("gold", "gold"): 1,
        ("iron", "iron"): 2,
        ("lead", "lead"): 3,
        ("none", "none"): 4,
    },
    "strategy": {
        ("end", "harvest"): 1,
        ("start", "start"): 1,
        ("end", "end"): 6,
        ("protect", "protect"): 1,
        ("enhance", "enhance"): 1,
        ("harvest", "harvest"): 2,
    },
}


# Activity status at 2026-04-30 (module docstring) and its moves to 2026-06-29: K02 bought
# on 05-10, K06 was regained (lapsed at 04-30, ordered 05-01), K10 lapsed (106 days > 90).
APRIL_ACTIVITY = {
    "K01": "prospect",
    "K02": "prospect",
    "K03": "active",
    "K04": "prospect",
    "K05": "at_risk",
    "K06": "lapsed",
    "K07": "at_risk",
    "K08": "at_risk",
    "K09": "active",
    "K10": "at_risk",
    "K11": "prospect",
    "K12": "prospect",
}
APRIL_TO_EARLIER_ACTIVITY = {
    ("prospect", "prospect"): 4,
    ("prospect", "active"): 1,
    ("active", "active"): 2,
    ("at_risk", "at_risk"): 3,
    ("lapsed", "regained"): 1,
    ("at_risk", "lapsed"): 1,
}
K06_REGAINED = "regained: lapsed at the refresh of 2026-04-30, ordered on 2026-05-01"


def as_text(warehouse: Warehouse, expr: str) -> str:
    return f"cast({expr} as {'string' if warehouse.engine == 'spark' else 'varchar'})"


def history_counts(warehouse: Warehouse) -> Counter:
    rows = warehouse.query(
        f"select {as_text(warehouse, 'as_of_date')}, count(*), count(distinct contact_id)"
        f" from {warehouse.schema('marts')}.customer_state_history group by as_of_date"
    )
    counts = Counter()
    for as_of_date, rows_recorded, contacts in rows:
        assert rows_recorded == contacts, f"{as_of_date}: a contact recorded twice"
        counts[str(as_of_date)] = rows_recorded
    return counts


def invocation_of(warehouse: Warehouse, as_of_date: str) -> set[str]:
    rows = warehouse.query(
        f"select distinct dbt_invocation_id from {warehouse.schema('marts')}"
        f".customer_state_history where as_of_date = cast('{as_of_date}' as date)"
    )
    return {row[0] for row in rows}


def activity_of(warehouse: Warehouse, contact_id: str) -> tuple[str, str]:
    rows = warehouse.query(
        f"select activity_status, activity_reason from {warehouse.schema('marts')}.customers"
        f" where contact_id = '{contact_id}'"
    )
    assert len(rows) == 1
    return rows[0]


def test_history_appends_dates_replaces_reruns_and_records_transitions(crafted: Warehouse):
    marts = crafted.schema("marts")
    assert history_counts(crafted) == {LATEST: 12}
    assert crafted.query(f"select count(*) from {marts}.customer_state_transitions") == [(0,)]
    # no earlier refresh: the order history decides, K06's gap of 111 days is no regain
    assert activity_of(crafted, "K06")[0] == "active"
    first_latest_run = invocation_of(crafted, LATEST)

    dbt_build(crafted, APRIL)  # a refresh recorded after a later one: dates need no order
    assert history_counts(crafted) == {APRIL: 12, LATEST: 12}
    april = crafted.query(
        f"select contact_id, activity_status from {marts}.customer_state_history"
        f" where as_of_date = cast('{APRIL}' as date)"
    )
    assert dict(april) == APRIL_ACTIVITY

    dbt_build(crafted, EARLIER)
    assert history_counts(crafted) == {APRIL: 12, EARLIER: 12, LATEST: 12}
    assert activity_of(crafted, "K06") == ("regained", K06_REGAINED)

    # the default date again (the latest event, recorded by the first build): its rows are
    # replaced by this build's, not duplicated (one rebuild fewer than re-running 06-29 as
    # well: a Spark build costs minutes)
    dbt_build(crafted)
    assert history_counts(crafted) == {APRIL: 12, EARLIER: 12, LATEST: 12}
    assert invocation_of(crafted, LATEST) != first_latest_run
    assert len(invocation_of(crafted, LATEST)) == 1
    latest = crafted.query(f"select {as_text(crafted, 'max(as_of_date)')} from {marts}.customers")
    assert latest == [(LATEST,)]
    # lapsed at the refresh of 2026-04-30 and ordered since: regained from the history
    assert activity_of(crafted, "K06") == ("regained", K06_REGAINED)

    rows = crafted.query(
        f"select dimension, {as_text(crafted, 'from_as_of_date')},"
        f" {as_text(crafted, 'to_as_of_date')}, from_value, to_value, movement, contacts"
        f" from {marts}.customer_state_transitions"
    )
    assert {(row[1], row[2]) for row in rows} == {(APRIL, EARLIER), (EARLIER, LATEST)}
    got = {}
    april_activity = {}
    for dimension, from_date, _, from_value, to_value, movement, contacts in rows:
        if from_date == APRIL:
            if dimension == "activity_status":
                april_activity[(from_value, to_value)] = contacts
            continue
        got.setdefault(dimension, {})[(from_value, to_value)] = contacts
        want_movement = "unchanged" if from_value == to_value else None
        if from_value != to_value:
            want_movement = {"activity_status": "changed", "strategy": "changed"}.get(
                dimension, "up"
            )
        assert movement == want_movement, (dimension, from_value, to_value, movement)
    assert got == EXPECTED_TRANSITIONS
    assert april_activity == APRIL_TO_EARLIER_ACTIVITY
