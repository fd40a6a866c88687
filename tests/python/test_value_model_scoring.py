"""The SQL scoring against an independent evaluation of the same formulas.

A grid of purchase histories (x, t_x, T) that includes brand-new customers (T = 0 and 1
day), heavy buyers and long horizons (36 and 60 months) is written into an empty warehouse
as int_customers_value_model_inputs, with a parameters table written by the fit step's own
writer; dbt then runs only the scoring models, and every score must agree with scripts.clv's
reference functions (scipy.special.hyp2f1, not the series the SQL sums) to 1e-9. The
parameter sets cover CDNOW's, a = 1 (the 0/0 guard) and a series that is not contracting.
Runs on DuckDB and PostgreSQL; Spark's scoring is checked through the pipeline build
(test_value_model_pipeline.py).
"""

from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml

from scripts import fit_value_model as fit
from scripts.clv import models as m
from scripts.contract import PROJECT_DIR
from tests.python.conftest import base_env, isolated_engine_env

AS_OF = date(2026, 6, 30)
HOLDOUT_DAYS = 273  # 39 weeks, the CDNOW holdout
SCORING_MODELS = [
    "int_value_model_settings",
    "int_value_model_parameters",
    "int_value_model_purchase_variants",
    "int_value_model_power_weights",
    "int_value_model_series_coefficients",
    "int_value_model_score_grid",
]
SCHEMA_PREFIX = {"duckdb": "main", "postgres": "public"}


def grid() -> list[tuple[int, int, int]]:
    """(x, t_x days, T days): every age with no repeat purchase, and repeat buyers whose
    last purchase was early, midway or on the evaluation date."""
    rows = []
    for age in (0, 1, 3, 7, 30, 90, 272, 365, 1000, 2500):
        rows.append((0, 0, age))
        for x in (1, 2, 5, 12, 40, 150):
            if age >= 1:
                rows += [(x, t_x, age) for t_x in sorted({1, max(1, age // 2), age})]
    return rows


@dataclass(frozen=True)
class ScoringCase:
    name: str
    horizon_months: int
    monthly_discount_rate: float
    with_holdout: bool
    params: dict[str, dict[str, float]]

    @property
    def dbt_vars(self) -> dict:
        holdout = AS_OF + timedelta(days=HOLDOUT_DAYS) if self.with_holdout else None
        return {
            "as_of_date": AS_OF.isoformat(),
            "clv_horizon_months": self.horizon_months,
            "clv_monthly_discount_rate": self.monthly_discount_rate,
            "clv_holdout_date": holdout.isoformat() if holdout else None,
        }

    @property
    def longest_weeks(self) -> float:
        horizon = self.horizon_months * m.WEEKS_PER_MONTH
        return max(horizon, HOLDOUT_DAYS / 7) if self.with_holdout else horizon


CASES = [
    ScoringCase(
        "cdnow_parameters_60_months",
        horizon_months=60,
        monthly_discount_rate=0.01,
        with_holdout=True,
        params={
            "bgnbd": {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259},
            "mbgnbd": {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614},
        },
    ),
    ScoringCase(
        "a_equal_one_and_a_series_that_does_not_contract_36_months",
        horizon_months=36,
        monthly_discount_rate=0.02,
        with_holdout=False,
        params={
            # within 1e-5 of a = 1: scored as the mean of a = 1 -+ 1e-5
            "bgnbd": {"r": 0.5, "alpha": 6.0, "a": 1.0 + 4e-6, "b": 3.0},
            # a > 2 + r: term ratios exceed z, the fit step proves the number of terms
            "mbgnbd": {"r": 0.3, "alpha": 2.0, "a": 3.5, "b": 5.0},
        },
    ),
]


def parameter_rows(case: ScoringCase) -> list[dict]:
    """What the fit step would write for these parameters (its own series-terms proof)."""
    settings = fit.Settings(
        as_of_date=AS_OF,
        min_repeat_buyers=10,
        penalizer=0.0,
        horizon_weeks=case.horizon_months * m.WEEKS_PER_MONTH,
        holdout_weeks=HOLDOUT_DAYS / 7 if case.with_holdout else None,
        series_tolerance=1e-12,
    )
    fitted_at = datetime.now(UTC).replace(tzinfo=None)
    rows = []
    for model, params in case.params.items():
        row = fit._base_row(model, settings, fitted_at)
        row.update(fit_status="fitted", converged=True, customers_used=100, repeat_buyers=50)
        row.update({f"param_{name}": value for name, value in params.items()})
        row["series_is_contracting"] = m.series_is_contracting(model, params)
        row["series_terms"] = m.scoring_series_terms(model, params, settings.longest_scored_weeks)
        row["series_terms_max_weeks"] = settings.longest_scored_weeks
        rows.append(row)
    return rows


def inputs_sql(schema: str, engine: str) -> list[str]:
    double = "double precision" if engine == "postgres" else "double"
    values = ", ".join(f"('G{i}', {x}, {t_x}, {age})" for i, (x, t_x, age) in enumerate(grid()))
    return [
        f"create schema if not exists {schema}",
        f"create table {schema}.int_as_of_date as select cast('{AS_OF}' as date) as as_of_date",
        f"""create table {schema}.int_customers_value_model_inputs as
            select
                contact_id,
                cast('{AS_OF}' as date) as as_of_date,
                cast(repeat_purchase_count as bigint) as repeat_purchase_count,
                cast(t_x_days as bigint) as days_first_to_last_purchase,
                cast(age_days as bigint) as days_first_purchase_to_as_of,
                cast(t_x_days as {double}) / 7 as weeks_first_to_last_purchase,
                cast(age_days as {double}) / 7 as weeks_first_purchase_to_as_of,
                cast(null as {double}) as mean_repeat_purchase_value,
                false as is_internal,
                true as is_used_for_fitting
            from (values {values})
                as grid (contact_id, repeat_purchase_count, t_x_days, age_days)""",
    ]


def prepare_warehouse(engine: str, env: dict, case: ScoringCase) -> None:
    import pandas as pd

    prefix = SCHEMA_PREFIX[engine]
    statements = inputs_sql(f"{prefix}_intermediate", engine)
    parameters = pd.DataFrame(parameter_rows(case), columns=[n for n, _ in fit.PARAMETER_COLUMNS])
    relation = fit.Relation(f"{prefix}_value_model", "value_model_parameters")
    if engine == "duckdb":
        import duckdb

        with duckdb.connect(env["CRM_DUCKDB_PATH"]) as con:
            for statement in statements:
                con.execute(statement)
    else:
        import psycopg2

        con = psycopg2.connect(
            host=env["CRM_PG_HOST"],
            port=int(env["CRM_PG_PORT"]),
            user=env["CRM_PG_USER"],
            password=env["CRM_PG_PASSWORD"],
            dbname=env["CRM_PG_DBNAME"],
        )
        with con, con.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
        con.close()
    # The fit step's own writer, pointed at this warehouse.
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        warehouse = fit.WAREHOUSES[engine]()
        try:
            warehouse.replace_parameters(relation, parameters)
        finally:
            warehouse.close()


def run_scoring(engine: str, env: dict, case: ScoringCase) -> None:
    dbt = str(Path(sys.executable).with_name("dbt"))
    command = [dbt, "run", "--target", engine]
    command += ["--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]
    command += ["--select", *SCORING_MODELS, "--vars", yaml.safe_dump(case.dbt_vars)]
    done = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]


def read_grid(engine: str, env: dict) -> list[tuple]:
    sql = (
        "select repeat_purchase_count, days_first_to_last_purchase, days_first_purchase_to_as_of, "
        "p_alive_bgnbd, expected_purchases_bgnbd, discounted_expected_purchases_bgnbd, "
        "holdout_expected_purchases_bgnbd, p_alive_mbgnbd, expected_purchases_mbgnbd, "
        "discounted_expected_purchases_mbgnbd, holdout_expected_purchases_mbgnbd "
        f"from {SCHEMA_PREFIX[engine]}_intermediate.int_value_model_score_grid"
    )
    if engine == "duckdb":
        import duckdb

        with duckdb.connect(env["CRM_DUCKDB_PATH"], read_only=True) as con:
            return con.execute(sql).fetchall()
    import psycopg2

    con = psycopg2.connect(
        host=env["CRM_PG_HOST"],
        port=int(env["CRM_PG_PORT"]),
        user=env["CRM_PG_USER"],
        password=env["CRM_PG_PASSWORD"],
        dbname=env["CRM_PG_DBNAME"],
    )
    try:
        with con.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        con.close()


def reference_scores(case: ScoringCase, model: str, x, t_x, T) -> dict[str, np.ndarray]:
    """scripts.clv's reference (scipy's hyp2f1) for the four measures."""
    params = case.params[model]
    months = np.arange(1, case.horizon_months + 1)
    per_month = m.expected_purchases_by_month(
        model, params, x, t_x, T, horizon_months=case.horizon_months
    )
    scores = {
        "p_alive": np.asarray(m.probability_alive(model, params, x, t_x, T)),
        "expected_purchases": np.asarray(
            m.conditional_expected_purchases(
                model, params, case.horizon_months * m.WEEKS_PER_MONTH, x, t_x, T
            )
        ),
        "discounted_expected_purchases": per_month
        @ (1.0 + case.monthly_discount_rate) ** -months.astype(float),
    }
    if case.with_holdout:
        scores["holdout_expected_purchases"] = np.asarray(
            m.conditional_expected_purchases(model, params, HOLDOUT_DAYS / 7, x, t_x, T)
        )
    return scores


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_sql_scores_match_the_reference_to_1e_9(engine, case, request, tmp_path):
    env = base_env(tmp_path)
    env.update(isolated_engine_env(request, engine, tmp_path))
    prepare_warehouse(engine, env, case)
    run_scoring(engine, env, case)
    rows = read_grid(engine, env)
    assert len(rows) == len(set(grid()))

    columns = np.array(rows, dtype=object)
    x = columns[:, 0].astype(float)
    t_x = columns[:, 1].astype(float) / 7
    T = columns[:, 2].astype(float) / 7
    measures = [
        "p_alive",
        "expected_purchases",
        "discounted_expected_purchases",
        "holdout_expected_purchases",
    ]
    mismatches = []
    for offset, model in ((3, "bgnbd"), (7, "mbgnbd")):
        reference = reference_scores(case, model, x, t_x, T)
        for position, measure in enumerate(measures):
            got = columns[:, offset + position]
            if measure not in reference:
                assert all(v is None for v in got), f"{model} {measure} should be null"
                continue
            for i, (value, want) in enumerate(
                zip(got.astype(float), reference[measure], strict=True)
            ):
                if not math.isclose(value, want, rel_tol=1e-9, abs_tol=1e-12):
                    mismatches.append(
                        f"{model} {measure} at x={x[i]:.0f} t_x={t_x[i]:.4g} T={T[i]:.4g}: "
                        f"sql {value!r} vs reference {want!r}"
                    )
    assert not mismatches, f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches[:20])


def test_the_cases_cover_what_they_claim():
    young = [T for _, _, T in grid() if T <= 1]
    assert young and max(c.horizon_months for c in CASES) >= 60
    bgnbd, mbgnbd = CASES[1].params["bgnbd"], CASES[1].params["mbgnbd"]
    assert abs(bgnbd["a"] - 1) < 1e-5  # the 0/0 guard is exercised
    assert not m.series_is_contracting("mbgnbd", mbgnbd)
    assert all(m.series_is_contracting(k, v) for k, v in CASES[0].params.items())


def test_parameters_that_do_not_fit_the_build_are_refused(request, tmp_path):
    """Parameters fitted for another evaluation date, or a non-contracting series proven for
    a shorter horizon than the build scores, give null predictions with the reason."""
    import duckdb

    case = CASES[1]  # mbgnbd's series is proven for 36 months only
    env = base_env(tmp_path)
    prepare_warehouse("duckdb", env, case)

    def parameter_reasons(dbt_vars: dict) -> dict[str, str | None]:
        longer = ScoringCase(case.name, dbt_vars["clv_horizon_months"], 0.02, False, case.params)
        run_scoring("duckdb", env, longer)
        with duckdb.connect(env["CRM_DUCKDB_PATH"], read_only=True) as con:
            rows = con.execute(
                "select model, unusable_reason from main_intermediate.int_value_model_parameters"
            ).fetchall()
            scores = con.execute(
                "select count(p_alive_bgnbd), count(p_alive_mbgnbd) "
                "from main_intermediate.int_value_model_score_grid"
            ).fetchone()
        return dict(rows), scores

    reasons, (bgnbd_scored, mbgnbd_scored) = parameter_reasons({"clv_horizon_months": 48})
    assert reasons["bgnbd"] is None and bgnbd_scored > 0
    assert reasons["mbgnbd"] == (
        "the 2F1 series terms were proven for horizons up to 156.0 weeks but this build scores "
        "208.0: run scripts/fit_value_model.py again"
    )
    assert mbgnbd_scored == 0

    with duckdb.connect(env["CRM_DUCKDB_PATH"]) as con:
        con.execute("update main_intermediate.int_as_of_date set as_of_date = date '2026-07-31'")
    reasons, scores = parameter_reasons({"clv_horizon_months": 36})
    assert reasons["bgnbd"] == (
        "parameters were fitted as of 2026-06-30 but this build is as of 2026-07-31: "
        "run scripts/fit_value_model.py again"
    )
    assert scores == (0, 0)
