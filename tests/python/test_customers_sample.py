"""The customer mart on the shipped sample, on every engine: every contact is classified
exactly once, and every class of every classification has members (the generator plants each
behaviour of the domain, so an empty class means a rule no longer finds what it describes)."""

from __future__ import annotations

from tests.python.conftest import Warehouse

CLASSES = {
    "lifecycle_stage": {"reaching", "acquisition", "conversion", "retention", "inspiration"},
    "activity_status": {"active", "at_risk", "lapsed", "regained", "prospect"},
    "relationship_rung": {"prospect", "tester", "buyer", "account", "patron", "sponsor"},
    "value_tier": {"platinum", "gold", "iron", "lead"},
    "orientation": {"cost", "value", "technology", "undetermined"},
    "strategy": {"start", "protect", "re_engineer", "enhance", "harvest", "end", "regain"},
}
FLAGS = [
    "is_loyal",
    "is_discount",
    "is_impulsive",
    "is_need_oriented",
    "is_wanderer",
    "is_high_volume",
    "is_high_future_value",
    "is_benchmark",
    "is_door_opener",
    "is_inspiring",
    "is_curious",
    "is_distrustful",
    "is_paranoid",
    "is_aggressive",
    "is_finance_attentive",
    "is_hurried",
    "is_toxic",
    "silent_churn_risk",
    "is_internal",
    "is_prospect",
]


def test_every_class_of_every_classification_has_members(warehouse: Warehouse):
    customers = f"{warehouse.schema('marts')}.customers"
    for column, expected in CLASSES.items():
        found = {
            r[0]
            for r in warehouse.query(f"select distinct {column} from {customers}")
            if r[0] is not None
        }
        assert found == expected, column
    sums = ", ".join(f"sum(case when {flag} then 1 else 0 end)" for flag in FLAGS)
    [counts] = warehouse.query(f"select {sums} from {customers}")
    empty = [flag for flag, count in zip(FLAGS, counts, strict=True) if not count]
    assert not empty, f"no member: {empty}"


def test_every_contact_is_classified_once_and_kpis_exclude_prospects_and_internal(
    warehouse: Warehouse,
):
    customers = f"{warehouse.schema('marts')}.customers"
    staged = warehouse.query(
        f"select count(*) from {warehouse.schema('staging')}.stg_crm__contacts"
    )[0][0]
    [row] = warehouse.query(
        f"""select count(*), count(distinct contact_id),
               sum(case when lifecycle_stage is null or activity_status is null
                         or relationship_rung is null or orientation is null
                         or strategy is null then 1 else 0 end),
               sum(case when is_kpi_customer and value_tier is null then 1 else 0 end),
               sum(case when is_prospect and is_kpi_customer then 1 else 0 end),
               sum(case when is_internal and is_kpi_customer then 1 else 0 end),
               sum(case when is_prospect and paid_orders > 0 then 1 else 0 end)
            from {customers}"""
    )
    rows, distinct, unclassified, kpi_no_tier, prospect_kpi, internal_kpi, buying_prospects = row
    assert rows == distinct == staged
    assert unclassified == 0
    assert kpi_no_tier == 0
    assert prospect_kpi == internal_kpi == buying_prospects == 0
