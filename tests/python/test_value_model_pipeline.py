"""The value model inside the normal build (scripts/run_pipeline.py) on every engine.

The shipped sample fits all three models and fills the predictions, which agree with
scripts.clv's reference functions (scipy's hyp2f1) evaluated at the same parameters; the
crafted fixture, with only 3 repeat buyers, still builds, with null predictions that say why.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from scripts.clv import models as m
from tests.python.conftest import Warehouse

TOO_FEW = (
    "3 repeat buyer(s) among 8 customers, fewer than the 10 needed (var clv_min_repeat_buyers)"
)


def fitted_parameters(warehouse: Warehouse) -> dict[str, dict]:
    rows = warehouse.query(
        "select model, fit_status, fit_reason, param_r, param_alpha, param_a, param_b, "
        "param_p, param_q, param_gamma "
        f"from {warehouse.schema('value_model')}.value_model_parameters"
    )
    names = ["fit_status", "fit_reason", "r", "alpha", "a", "b", "p", "q", "gamma"]
    return {row[0]: dict(zip(names, row[1:], strict=True)) for row in rows}


PREDICTION_COLUMNS = [
    "contact_id",
    "value_model_status",
    "value_model_reason",
    "repeat_purchase_count",
    "weeks_first_to_last_purchase",
    "weeks_first_purchase_to_as_of",
    "mean_repeat_purchase_value",
    "p_alive_bgnbd",
    "p_alive_mbgnbd",
    "expected_purchases_bgnbd",
    "expected_purchases_mbgnbd",
    "expected_average_spend",
    "predicted_clv_bgnbd",
    "predicted_clv_mbgnbd",
    "expected_purchases",
    "predicted_clv",
    "clv_horizon_months",
]


def predictions(warehouse: Warehouse) -> list[dict]:
    rows = warehouse.query(
        f"select {', '.join(PREDICTION_COLUMNS)} "
        f"from {warehouse.schema('intermediate')}.int_customers_value_predictions"
    )
    return [dict(zip(PREDICTION_COLUMNS, row, strict=True)) for row in rows]


# --------------------------------------------------------------------------- shipped sample
def test_the_sample_fits_every_model(warehouse: Warehouse):
    parameters = fitted_parameters(warehouse)
    assert sorted(parameters) == ["bgnbd", "gamma_gamma", "mbgnbd"]
    for model, row in parameters.items():
        assert row["fit_status"] == "fitted", f"{model}: {row['fit_reason']}"
    diagnostics = warehouse.query(
        f"select model, is_usable from {warehouse.schema('marts')}.value_model_diagnostics"
    )
    assert sorted(diagnostics) == [("bgnbd", True), ("gamma_gamma", True), ("mbgnbd", True)]


def test_sample_predictions_match_the_reference_formulas(warehouse: Warehouse):
    parameters = fitted_parameters(warehouse)
    rows = predictions(warehouse)
    customers = [r for r in rows if r["repeat_purchase_count"] is not None]
    assert customers and all(r["value_model_status"] == "ok" for r in customers)
    assert all(
        r["value_model_status"] == "no_purchases" and r["predicted_clv"] is None
        for r in rows
        if r["repeat_purchase_count"] is None
    )

    def column(name):
        return np.array([float(r[name]) if r[name] is not None else np.nan for r in customers])

    x, t_x, T = (column(c) for c in PREDICTION_COLUMNS[3:6])
    monetary = column("mean_repeat_purchase_value")
    horizon = int(customers[0]["clv_horizon_months"])
    spend_params = {k: parameters["gamma_gamma"][k] for k in ("p", "q", "gamma")}
    expected = {
        "expected_average_spend": m.gamma_gamma_conditional_expected_spend(
            spend_params, x, monetary
        )
    }
    for model in ("bgnbd", "mbgnbd"):
        params = {k: parameters[model][k] for k in ("r", "alpha", "a", "b")}
        expected[f"p_alive_{model}"] = m.probability_alive(model, params, x, t_x, T)
        expected[f"expected_purchases_{model}"] = m.conditional_expected_purchases(
            model, params, horizon * m.WEEKS_PER_MONTH, x, t_x, T
        )
        expected[f"predicted_clv_{model}"] = m.expected_lifetime_value(
            model, params, spend_params, x, t_x, T, monetary, horizon_months=horizon
        )
    mismatches = [
        f"{customers[i]['contact_id']} {name}: sql {got!r} vs reference {want!r}"
        for name, reference in expected.items()
        for i, (got, want) in enumerate(zip(column(name), reference, strict=True))
        if not math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)
    ]
    assert not mismatches, f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches[:20])


def test_sample_discount_rate_is_the_default(warehouse: Warehouse):
    # The reference above assumes the shipped default monthly rate (expected_lifetime_value's).
    [(rate,)] = warehouse.query(
        f"select clv_monthly_discount_rate from {warehouse.schema('intermediate')}"
        ".int_value_model_settings"
    )
    assert rate == pytest.approx(0.01)


# --------------------------------------------------------------------------- too little data
def test_too_few_repeat_buyers_gives_null_predictions_with_the_reason(crafted_warehouse):
    parameters = fitted_parameters(crafted_warehouse)
    for model in ("bgnbd", "mbgnbd"):
        assert parameters[model]["fit_status"] == "not_fitted"
        assert parameters[model]["fit_reason"] == TOO_FEW
    assert parameters["gamma_gamma"]["fit_status"] == "not_fitted"

    rows = {r["contact_id"]: r for r in predictions(crafted_warehouse)}
    assert len(rows) == 12
    for contact_id in ("K01", "K04", "K12"):  # prospects
        assert rows[contact_id]["value_model_status"] == "no_purchases"
    customers = [r for r in rows.values() if r["value_model_status"] != "no_purchases"]
    assert len(customers) == 9
    for row in customers:
        assert row["value_model_status"] == "not_fitted"
        assert row["value_model_reason"] == f"bgnbd not fitted: {TOO_FEW}; mbgnbd not fitted either"
        for name in PREDICTION_COLUMNS[7:16]:
            assert row[name] is None, name

    diagnostics = crafted_warehouse.query(
        f"select model, fit_status, unusable_reason from "
        f"{crafted_warehouse.schema('marts')}.value_model_diagnostics"
    )
    assert {r[0]: r[1] for r in diagnostics} == dict.fromkeys(
        ("bgnbd", "mbgnbd", "gamma_gamma"), "not_fitted"
    )
