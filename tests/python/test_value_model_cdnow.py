"""The published CDNOW results, end to end through the warehouse.

The CDNOW sample (tests/fixtures/cdnow) is turned into a CRM extract (one contact per
customer, one paid order per purchase row) and built by the normal pipeline with
as_of_date = 1997-09-30 (the calibration end), a 9-month (39-week) horizon and the 39-week
holdout to 1998-06-30. The warehouse must reproduce Fader, Hardie & Lee's parameters, the
customer-1 predictions and the holdout totals quoted in /work/shared/data/README.md.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from scripts.clv.cdnow import read_cdnow_sample
from tests.python.conftest import Warehouse, base_env, isolated_engine_env

BUILD_VARS = "{as_of_date: '1997-09-30', clv_holdout_date: '1998-06-30', clv_horizon_months: 9}"


def write_cdnow_landing(landing: Path) -> None:
    """The CDNOW purchases as landing files following docs/extract_contract.yml."""
    purchases = read_cdnow_sample().reset_index(drop=True)
    first_purchase = purchases.groupby("customer_id")["purchase_date"].min()

    def write(entity: str, header: list[str], rows) -> None:
        folder = landing / entity
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "1998-07-01.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)

    def contact(customer_id: int) -> str:
        return f"CD{customer_id:04d}"

    write(
        "contacts",
        ["contact_id", "account_type", "created_at", "updated_at"],
        (
            [contact(c), "consumer", f"{day:%Y-%m-%d} 00:00:00", f"{day:%Y-%m-%d} 00:00:00"]
            for c, day in first_purchase.items()
        ),
    )
    write(
        "products",
        ["product_id", "product_name", "category", "list_price", "unit_cost", "updated_at"],
        [["CD", "Compact disc", "abbigliamento", "15.00", "10.00", "1997-01-01 00:00:00"]],
    )
    write(
        "orders",
        ["order_id", "contact_id", "ordered_at", "channel", "status", "currency", "updated_at"],
        (
            [f"O{i}", contact(p.customer_id), f"{p.purchase_date:%Y-%m-%d} 12:00:00", "web"]
            + ["paid", "EUR", f"{p.purchase_date:%Y-%m-%d} 12:00:00"]
            for i, p in enumerate(purchases.itertuples())
        ),
    )
    write(
        "order_lines",
        ["order_line_id", "order_id", "product_id", "quantity", "unit_price"],
        (
            [f"L{i}", f"O{i}", "CD", "1", f"{p.amount:.2f}"]
            for i, p in enumerate(purchases.itertuples())
        ),
    )


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def cdnow_warehouse(request, tmp_path_factory):
    workdir = tmp_path_factory.mktemp(f"cdnow_{request.param}")
    write_cdnow_landing(workdir / "landing")
    env = base_env(workdir)
    env.update(isolated_engine_env(request, request.param, workdir))
    warehouse = Warehouse(request.param, env, workdir, workdir / "landing")
    warehouse.run_pipeline("--vars", BUILD_VARS)
    yield warehouse
    warehouse.close()


def diagnostics(warehouse: Warehouse) -> dict[str, dict]:
    columns = [
        "model",
        "fit_status",
        "param_r",
        "param_alpha",
        "param_a",
        "param_b",
        "param_p",
        "param_q",
        "param_gamma",
        "log_likelihood",
        "customers_used",
        "repeat_buyers",
        "holdout_weeks",
        "holdout_customers",
        "holdout_actual_purchases",
        "holdout_predicted_purchases",
        "frequency_spend_correlation",
    ]
    rows = warehouse.query(
        f"select {', '.join(columns)} from {warehouse.schema('marts')}.value_model_diagnostics"
    )
    return {row[0]: dict(zip(columns, row, strict=True)) for row in rows}


def test_the_published_parameters_are_reproduced(cdnow_warehouse):
    found = diagnostics(cdnow_warehouse)
    bgnbd = found["bgnbd"]
    assert bgnbd["fit_status"] == "fitted"
    for name, value in {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}.items():
        assert bgnbd[f"param_{name}"] == pytest.approx(value, abs=5e-4), name
    assert bgnbd["log_likelihood"] == pytest.approx(-9582.43, abs=0.01)
    assert (bgnbd["customers_used"], bgnbd["repeat_buyers"]) == (2357, 946)
    spend = found["gamma_gamma"]
    assert spend["fit_status"] == "fitted" and spend["customers_used"] == 946
    for name, value in {"p": 6.25, "q": 3.74, "gamma": 15.44}.items():
        assert round(spend[f"param_{name}"], 2) == pytest.approx(value), name
    assert spend["log_likelihood"] == pytest.approx(-4055.92, abs=0.01)
    assert abs(spend["frequency_spend_correlation"]) < 0.3


def test_the_holdout_totals_are_reproduced(cdnow_warehouse):
    bgnbd = diagnostics(cdnow_warehouse)["bgnbd"]
    assert bgnbd["holdout_weeks"] == pytest.approx(39.0)
    assert bgnbd["holdout_customers"] == 2357
    assert bgnbd["holdout_actual_purchases"] == pytest.approx(1882)
    assert bgnbd["holdout_predicted_purchases"] == pytest.approx(1653.4, abs=0.5)


def test_customer_1_predictions(cdnow_warehouse):
    [row] = cdnow_warehouse.query(
        "select p_alive_bgnbd, expected_purchases_bgnbd, expected_average_spend, "
        "repeat_purchase_count, value_model_status "
        f"from {cdnow_warehouse.schema('intermediate')}.int_customers_value_predictions "
        "where contact_id = 'CD0001'"
    )
    p_alive, expected_39_weeks, spend, x, status = row
    assert (x, status) == (2, "ok")
    assert p_alive == pytest.approx(0.7266, abs=5e-5)
    # 1.2259 is quoted for t_x = 30.43, T = 38.86 (rounded); the exact 213/7 and 272/7
    # weeks give 1.22599.
    assert expected_39_weeks == pytest.approx(1.2259, abs=1e-4)
    assert spend == pytest.approx(24.66, abs=1e-2)
