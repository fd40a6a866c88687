"""The fit step (scripts/fit_value_model.py) without a warehouse: what it writes for good
data (CDNOW, checked against the published parameters), for data that cannot support a fit,
and where it finds the tables."""

from __future__ import annotations

import json
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from scripts import fit_value_model as fit
from scripts.clv import FitResult
from scripts.clv.cdnow import CDNOW_CALIBRATION_END, read_cdnow_sample
from scripts.clv.summary import summarize_transactions

SETTINGS = fit.Settings(
    as_of_date=date(1997, 9, 30),
    min_repeat_buyers=10,
    penalizer=0.0,
    horizon_weeks=12 * 52 / 12,
    holdout_weeks=39.0,
    series_tolerance=1e-12,
)


def inputs_frame(summary: pd.DataFrame) -> pd.DataFrame:
    """Rows shaped like int_customers_value_model_inputs."""
    return pd.DataFrame(
        {
            "contact_id": summary.index.astype(str),
            "repeat_purchase_count": summary["x"].to_numpy(),
            "weeks_first_to_last_purchase": summary["t_x"].to_numpy(),
            "weeks_first_purchase_to_as_of": summary["T"].to_numpy(),
            "mean_repeat_purchase_value": summary["monetary"].to_numpy(),
            "is_used_for_fitting": True,
        }
    )


@pytest.fixture(scope="module")
def cdnow_parameters() -> pd.DataFrame:
    summary = summarize_transactions(read_cdnow_sample(), calibration_end=CDNOW_CALIBRATION_END)
    return fit.fit_value_models(inputs_frame(summary), SETTINGS).set_index("model")


def test_cdnow_fit_reproduces_the_published_parameters(cdnow_parameters):
    bgnbd = cdnow_parameters.loc["bgnbd"]
    assert bgnbd["fit_status"] == "fitted" and pd.isna(bgnbd["fit_reason"])
    published = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
    for name, value in published.items():
        assert bgnbd[f"param_{name}"] == pytest.approx(value, abs=5e-4), name
    assert bgnbd["log_likelihood"] == pytest.approx(-9582.43, abs=0.01)
    assert (bgnbd["customers_used"], bgnbd["repeat_buyers"]) == (2357, 946)
    spend = cdnow_parameters.loc["gamma_gamma"]
    assert spend["fit_status"] == "fitted"
    for name, value in {"p": 6.25, "q": 3.74, "gamma": 15.44}.items():
        assert round(spend[f"param_{name}"], 2) == pytest.approx(value), name
    assert spend["customers_used"] == 946
    assert cdnow_parameters.loc["mbgnbd", "fit_status"] == "fitted"


def test_cdnow_fit_records_what_the_sql_scoring_needs(cdnow_parameters):
    for model in ("bgnbd", "mbgnbd"):
        row = cdnow_parameters.loc[model]
        assert row["series_is_contracting"]
        # proven for the longest horizon scored: 12 months (52 weeks) beats the 39-week holdout
        assert row["series_terms_max_weeks"] == pytest.approx(52.0)
        assert row["series_terms"] >= 1
        assert row["as_of_date"] == date(1997, 9, 30)
        assert isinstance(row["fitted_at"], datetime)
    assert list(cdnow_parameters.reset_index().columns) == [n for n, _ in fit.PARAMETER_COLUMNS]


def test_the_parameters_do_not_depend_on_the_order_of_the_inputs():
    """Warehouses return the inputs in no particular order, and the fit step reads them
    unsorted: every sum of the fit (starting points, likelihood, log-likelihood recorded)
    must come out the same, to the bit, whatever the row order."""
    summary = summarize_transactions(read_cdnow_sample(), calibration_end=CDNOW_CALIBRATION_END)
    inputs = inputs_frame(summary)
    fitted_at = datetime(2026, 1, 1)
    as_read = fit.fit_value_models(inputs, SETTINGS, fitted_at)
    for seed in (1, 2):
        shuffled = inputs.sample(frac=1.0, random_state=seed, ignore_index=True)
        pd.testing.assert_frame_equal(
            fit.fit_value_models(shuffled, SETTINGS, fitted_at), as_read, check_exact=True
        )


def test_no_repeat_buyers_gives_reasons_not_an_exception():
    summary = pd.DataFrame(
        {"x": [0] * 30, "t_x": [0.0] * 30, "T": np.linspace(1, 30, 30), "monetary": np.nan}
    )
    parameters = fit.fit_value_models(inputs_frame(summary), SETTINGS).set_index("model")
    assert (parameters["fit_status"] == "not_fitted").all()
    for model in ("bgnbd", "mbgnbd"):
        assert parameters.loc[model, "fit_reason"] == (
            "0 repeat buyer(s) among 30 customers, fewer than the 10 needed "
            "(var clv_min_repeat_buyers)"
        )
    assert "repeat buyer(s) with spend" in parameters.loc["gamma_gamma", "fit_reason"]
    assert parameters["param_r"].isna().all()


def test_no_customers_at_all():
    empty = inputs_frame(pd.DataFrame({"x": [], "t_x": [], "T": [], "monetary": []}))
    parameters = fit.fit_value_models(empty, SETTINGS).set_index("model")
    assert parameters.loc["bgnbd", "fit_reason"] == (
        "no customers with a paid purchase up to 1997-09-30"
    )


def test_internal_buyers_are_not_fitted_on():
    summary = summarize_transactions(read_cdnow_sample(), calibration_end=CDNOW_CALIBRATION_END)
    inputs = inputs_frame(summary)
    inputs["is_used_for_fitting"] = inputs.index >= 100
    parameters = fit.fit_value_models(inputs, SETTINGS).set_index("model")
    assert parameters.loc["bgnbd", "customers_used"] == 2357 - 100


def _fake_result(model: str, params: dict, converged: bool = True) -> FitResult:
    return FitResult(
        model=model,
        params=params,
        log_likelihood=-1.0,
        n_customers=50,
        n_repeat_buyers=20,
        converged=converged,
        message="ok" if converged else "a parameter reached the [1e-6, 1e6] box",
    )


def test_infinite_expected_spend_is_not_fitted(monkeypatch):
    monkeypatch.setattr(
        fit,
        "fit_gamma_gamma",
        lambda *a, **k: _fake_result("gamma_gamma", {"p": 2.0, "q": 0.8, "gamma": 5.0}),
    )
    summary = summarize_transactions(read_cdnow_sample(), calibration_end=CDNOW_CALIBRATION_END)
    row = fit.fit_spend_row(inputs_frame(summary), SETTINGS, datetime(2026, 1, 1))
    assert row["fit_status"] == "not_fitted"
    assert row["fit_reason"].startswith("q = 0.8 <= 1: the expected spend per purchase is infinite")
    assert row["param_q"] == 0.8  # kept for the diagnostics


def test_a_fit_that_does_not_converge_is_not_used(monkeypatch):
    params = {"r": 0.2, "alpha": 4.0, "a": 0.8, "b": 2.4}
    monkeypatch.setattr(
        fit, "fit_purchase_model", lambda *a, **k: _fake_result("bgnbd", params, converged=False)
    )
    summary = summarize_transactions(read_cdnow_sample(), calibration_end=CDNOW_CALIBRATION_END)
    row = fit.fit_purchase_row("bgnbd", inputs_frame(summary), SETTINGS, 0.0, datetime.now())
    assert row["fit_status"] == "not_fitted"
    assert "did not converge (a parameter reached the [1e-6, 1e6] box)" in row["fit_reason"]
    assert "clv_penalizer" in row["fit_reason"]


def test_relations_come_from_the_dbt_manifest(tmp_path, monkeypatch):
    project = fit.PROJECT_NAME
    manifest = {
        "metadata": {"adapter_type": "postgres"},
        "nodes": {
            f"model.{project}.int_value_model_settings": {
                "schema": "public_intermediate",
                "alias": "int_value_model_settings",
            },
            f"model.{project}.int_customers_value_model_inputs": {
                "schema": "public_intermediate",
                "alias": "int_customers_value_model_inputs",
            },
        },
        "sources": {
            f"source.{project}.value_model.value_model_parameters": {
                "schema": "public_value_model",
                "identifier": "value_model_parameters",
            }
        },
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path))
    relations = fit.dbt_relations("postgres")
    assert relations.parameters == fit.Relation("public_value_model", "value_model_parameters")
    assert relations.inputs.schema == "public_intermediate"
    with pytest.raises(SystemExit, match="is for postgres, not duckdb"):
        fit.dbt_relations("duckdb")
