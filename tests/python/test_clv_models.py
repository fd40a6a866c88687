"""pytest suite for scripts/clv: BG/NBD, MBG/NBD and Gamma-Gamma on the CDNOW sample.

Assertions are against published numbers (Fader, Hardie & Lee 2005; Fader & Hardie 2013;
/work/shared/data/README.md), against an independent numerical integration of the model
definitions, or against scipy.special.hyp2f1 -- not against this code's own earlier output.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy.special import hyp2f1

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from scripts.clv import models as m  # noqa: E402
from scripts.clv.cdnow import (  # noqa: E402
    CDNOW_CALIBRATION_END,
    CDNOW_HOLDOUT_END,
    read_cdnow_sample,
)
from scripts.clv.summary import summarize_holdout, summarize_transactions  # noqa: E402

# Published values (FHL 2005 BG/NBD; Fader & Hardie 2013 Gamma-Gamma note).
BGNBD_PUBLISHED = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
BGNBD_PUBLISHED_LL = -9582.43
GG_PUBLISHED = {"p": 6.25, "q": 3.74, "gamma": 15.44}
GG_PUBLISHED_LL = -4055.92
# MBG/NBD on CDNOW has no paper value; this is the BTYDplus (R) fit that the lifetimes test
# suite reproduces to 3 decimals (test_params_out_is_close_to_BTYDplus).
MBGNBD_BTYDPLUS = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}

CUSTOMER_1 = {"x": 2, "t_x": 30.43, "T": 38.86}


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return summarize_holdout(
        read_cdnow_sample(),
        calibration_end=CDNOW_CALIBRATION_END,
        holdout_end=CDNOW_HOLDOUT_END,
    )


@pytest.fixture(scope="module")
def rft(cdnow):
    return (
        cdnow["x"].to_numpy(float),
        cdnow["t_x"].to_numpy(float),
        cdnow["T"].to_numpy(float),
    )


@pytest.fixture(scope="module")
def bg_fit(rft) -> m.FitResult:
    return m.fit_bgnbd(*rft)


@pytest.fixture(scope="module")
def mbg_fit(rft) -> m.FitResult:
    return m.fit_mbgnbd(*rft)


@pytest.fixture(scope="module")
def gg_fit(cdnow) -> m.FitResult:
    return m.fit_gamma_gamma(cdnow["x"], cdnow["monetary"])


# --------------------------------------------------------------------------- summary
def test_cdnow_summary_totals(cdnow):
    assert len(cdnow) == 2357
    assert cdnow["x"].sum() == 2457  # repeat transactions in calibration (FHL 2005)
    assert (cdnow["x"] > 0).sum() == 946
    assert cdnow["first_purchase"].min() == pd.Timestamp("1997-01-01")
    assert cdnow["first_purchase"].max() <= pd.Timestamp("1997-03-31")
    assert cdnow["x_star"].sum() == 1882  # actual holdout repeat transactions
    assert cdnow["t_star"].iloc[0] == pytest.approx(39.0)
    assert cdnow.loc[cdnow["x"] == 0, "monetary"].isna().all()
    assert (cdnow.loc[cdnow["x"] == 0, "t_x"] == 0).all()


def test_cdnow_customer_1(cdnow):
    c1 = cdnow.loc[1]
    assert c1["x"] == 2
    assert c1["t_x"] == pytest.approx(30.43, abs=5e-3)
    assert c1["T"] == pytest.approx(38.86, abs=5e-3)
    # repeat days 1997-01-18 ($29.73) and 1997-08-02 ($14.96); the first purchase is excluded
    assert c1["monetary"] == pytest.approx((29.73 + 14.96) / 2)


def test_summary_merges_same_day_and_excludes_first_purchase():
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 1, 1, 2, 3],
            "purchase_date": pd.to_datetime(
                [
                    "2024-01-01",
                    "2024-01-01",  # same day as the first: merged, not a repeat
                    "2024-01-15",
                    "2024-01-15",  # merged: one repeat day worth 30
                    "2024-01-29",
                    "2024-01-08",
                    "2024-03-01",  # after calibration end: customer 3 absent
                ]
            ),
            "amount": [10.0, 5.0, 20.0, 10.0, 50.0, 7.0, 9.0],
        }
    )
    s = summarize_transactions(tx, calibration_end="2024-02-12")
    assert list(s.index) == [1, 2]
    assert s.loc[1, "x"] == 2
    assert s.loc[1, "t_x"] == pytest.approx(4.0)  # 28 days
    assert s.loc[1, "T"] == pytest.approx(6.0)  # 42 days
    assert s.loc[1, "monetary"] == pytest.approx((30.0 + 50.0) / 2)
    assert s.loc[2, "x"] == 0 and s.loc[2, "t_x"] == 0
    assert s.loc[2, "T"] == pytest.approx(5.0)
    assert math.isnan(s.loc[2, "monetary"])


# --------------------------------------------------------------------------- BG/NBD
def test_bgnbd_log_likelihood_at_published_parameters(rft):
    assert m.bgnbd_log_likelihood(BGNBD_PUBLISHED, *rft) == pytest.approx(
        BGNBD_PUBLISHED_LL, abs=0.01
    )
    ind = m.bgnbd_log_likelihood_individual(BGNBD_PUBLISHED, *rft)
    assert ind.shape == (2357,)
    assert float(ind.sum()) == pytest.approx(m.bgnbd_log_likelihood(BGNBD_PUBLISHED, *rft))


def test_bgnbd_fit_reproduces_published(bg_fit):
    assert bg_fit.model == "bgnbd"
    assert bg_fit.converged, bg_fit.message
    assert bg_fit.n_customers == 2357
    assert bg_fit.n_repeat_buyers == 946
    for name, value in BGNBD_PUBLISHED.items():
        assert bg_fit.params[name] == pytest.approx(value, abs=5e-4), name
    assert bg_fit.log_likelihood == pytest.approx(BGNBD_PUBLISHED_LL, abs=0.01)


def test_customer_1_predictions(bg_fit):
    c = CUSTOMER_1
    assert m.bgnbd_probability_alive(bg_fit.params, **c) == pytest.approx(0.7266, abs=5e-5)
    e = m.bgnbd_conditional_expected_purchases(bg_fit.params, 39.0, **c)
    assert e == pytest.approx(1.2259, abs=5e-5)


def test_total_expected_holdout_purchases(bg_fit, rft):
    total = float(np.sum(m.bgnbd_conditional_expected_purchases(bg_fit.params, 39.0, *rft)))
    assert total == pytest.approx(1653.4, abs=0.5)


def test_probability_alive_is_one_without_repeat_purchases():
    assert m.bgnbd_probability_alive(BGNBD_PUBLISHED, 0, 0.0, 30.0) == 1.0


# --------------------------------------------------------------------------- Gamma-Gamma
def test_gamma_gamma_fit_reproduces_published(gg_fit, cdnow):
    assert gg_fit.model == "gamma_gamma"
    assert gg_fit.converged, gg_fit.message
    assert gg_fit.n_customers == 946
    for name, value in GG_PUBLISHED.items():
        assert round(gg_fit.params[name], 2) == pytest.approx(value, abs=1e-9), name
    assert gg_fit.log_likelihood == pytest.approx(GG_PUBLISHED_LL, abs=0.01)
    rep = cdnow[cdnow["x"] > 0]
    assert m.gamma_gamma_log_likelihood(GG_PUBLISHED, rep["x"], rep["monetary"]) == (
        pytest.approx(GG_PUBLISHED_LL, abs=0.01)
    )


def test_customer_1_expected_spend(gg_fit):
    x, mon = 2, (29.73 + 14.96) / 2
    # With the published (rounded) parameters: 24.66 exactly as published.
    assert m.gamma_gamma_conditional_expected_spend(GG_PUBLISHED, x, mon) == pytest.approx(
        24.66, abs=5e-3
    )
    # The exact MLE gives 24.654: lifetimes' 24.66 came from its slightly-off v = 15.45.
    assert m.gamma_gamma_conditional_expected_spend(gg_fit.params, x, mon) == pytest.approx(
        24.66, abs=1e-2
    )
    # x = 0 -> population mean p * gamma / (q - 1)
    p, q, g = (GG_PUBLISHED[k] for k in ("p", "q", "gamma"))
    assert m.gamma_gamma_conditional_expected_spend(GG_PUBLISHED, 0, np.nan) == pytest.approx(
        p * g / (q - 1)
    )


# --------------------------------------------------------------------------- MBG/NBD
def test_mbgnbd_fit(mbg_fit, bg_fit):
    assert mbg_fit.model == "mbgnbd"
    assert mbg_fit.converged, mbg_fit.message
    assert all(v > 0 and math.isfinite(v) for v in mbg_fit.params.values())
    assert math.isfinite(mbg_fit.log_likelihood)
    for name, value in MBGNBD_BTYDPLUS.items():
        assert mbg_fit.params[name] == pytest.approx(value, abs=1e-3), name
    # Same data, one extra dropout opportunity: likelihoods within a unit of each other.
    assert abs(mbg_fit.log_likelihood - bg_fit.log_likelihood) < 1.0


def _numeric_conditional(model, params, t, x, t_x, T):
    """E[purchases in (T, T+t]] and P(alive) from the model definition, integrating lambda
    in closed form (gamma moments) and p numerically against the Beta(a, b) weight."""
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    s = r + x
    k_alive = x + 1 if model == "mbgnbd" else x
    u = t / (alpha + T)

    def future(p):  # (1-p)^k E[lambda^x e^{-lambda T} (1 - e^{-lambda p t}) / p]
        g = s * u if p == 0 else -math.expm1(-s * math.log1p(p * u)) / p
        return (1 - p) ** k_alive * (alpha + T) ** -s * g

    def alive(p):
        return (1 - p) ** k_alive * (alpha + T) ** -s

    def dropped(p):
        if model == "bgnbd":
            return 0.0 if x == 0 else p * (1 - p) ** (x - 1) * (alpha + t_x) ** -s
        return p * (1 - p) ** x * (alpha + t_x) ** -s

    def q(f):
        return integrate.quad(
            f, 0, 1, weight="alg", wvar=(a - 1, b - 1), epsabs=0, epsrel=1e-12, limit=200
        )[0]

    num, pa, dr = q(future), q(alive), q(dropped)
    return num / (pa + dr), pa / (pa + dr)


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
@pytest.mark.parametrize(
    "x,t_x,T", [(0, 0.0, 38.86), (1, 0.5, 0.7), (2, 30.43, 38.86), (7, 20.0, 35.0), (40, 38, 39)]
)
@pytest.mark.parametrize("t", [39.0, 156.0])
def test_closed_forms_match_numerical_integration(model, x, t_x, T, t):
    params = BGNBD_PUBLISHED if model == "bgnbd" else MBGNBD_BTYDPLUS
    e_num, pa_num = _numeric_conditional(model, params, t, x, t_x, T)
    e = m.conditional_expected_purchases(model, params, t, x, t_x, T)
    pa = m.probability_alive(model, params, x, t_x, T)
    assert e == pytest.approx(e_num, rel=1e-9)
    assert pa == pytest.approx(pa_num, rel=1e-9)


# --------------------------------------------------------------------------- 2F1 series
def test_hyp2f1_series_matches_scipy_on_grid():
    A, B, C, Z = np.meshgrid(
        [0.1, 0.5, 1.5, 4.0, 10.0],
        [-0.8, -0.2, 0.5, 2.5, 8.0],
        [0.4, 1.5, 5.0, 30.0],
        [0.0, 0.05, 0.3, 0.6, 0.8, 0.9, 0.95],
        indexing="ij",
    )
    A, B, C, Z = (v.ravel() for v in (A, B, C, Z))
    n = m.n_terms_needed(Z, 1e-13, A, B, C)
    got = m.hyp2f1_series(A, B, C, Z, n)
    ref = hyp2f1(A, B, C, Z)
    assert np.all(np.abs(got - ref) <= 1e-10 * np.abs(ref))
    # scalar call
    assert m.hyp2f1_series(0.5, 1.5, 2.5, 0.95, m.n_terms_needed(0.95, 1e-13, 0.5, 1.5, 2.5)) == (
        pytest.approx(hyp2f1(0.5, 1.5, 2.5, 0.95), rel=1e-10)
    )


@pytest.mark.parametrize("z", [0.1, 0.5, 0.9, 0.95, 0.99])
def test_n_terms_needed_z_only(z):
    tol = 1e-12
    n = m.n_terms_needed(z, tol)
    assert z**n / (1 - z) <= tol < z ** (n - 1) / (1 - z)
    # ln(1/z) >= 1-z, so N <= (ln(1/tol) + ln(1/(1-z))) / (1-z) + 1: ~30/(1-z) at
    # tol = 1e-12 (the "20/(1-z)" rule of thumb leaves a ~2e-9 tail).
    assert n <= (math.log(1 / tol) + math.log(1 / (1 - z))) / (1 - z) + 1


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
def test_series_scoring_matches_scipy_on_cdnow(model, rft, bg_fit, mbg_fit):
    params = (bg_fit if model == "bgnbd" else mbg_fit).params
    assert m.series_is_contracting(model, params)
    for months in (9, 36):
        t = months * m.WEEKS_PER_MONTH
        n = m.scoring_series_terms(model, params, t)
        ref = m.conditional_expected_purchases(model, params, t, *rft)
        ser = m.conditional_expected_purchases(model, params, t, *rft, method="series", n_terms=n)
        direct = m.conditional_expected_purchases(model, params, t, *rft, method="direct")
        np.testing.assert_allclose(ser, ref, rtol=1e-10, atol=0)
        np.testing.assert_allclose(direct, ref, rtol=1e-10, atol=0)


def test_a_equal_one_is_continuous():
    base = dict(BGNBD_PUBLISHED)
    vals = []
    for a in (1.0 - 1e-3, 1.0, 1.0 + 1e-3):
        base["a"] = a
        vals.append(m.bgnbd_conditional_expected_purchases(base, 39.0, 2, 30.43, 38.86))
    assert math.isfinite(vals[1])
    assert vals[0] < vals[1] < vals[2] or vals[0] > vals[1] > vals[2]
    assert vals[1] == pytest.approx(0.5 * (vals[0] + vals[2]), rel=1e-5)


# --------------------------------------------------------------------------- lifetime value
def test_expected_lifetime_value(bg_fit, gg_fit, cdnow):
    sub = cdnow.iloc[:50]
    x, t_x, T, mon = (sub[c].to_numpy(float) for c in ("x", "t_x", "T", "monetary"))
    H, d, w = 12, 0.01, 52 / 12
    clv = m.expected_lifetime_value(
        "bgnbd",
        bg_fit.params,
        gg_fit.params,
        x,
        t_x,
        T,
        mon,
        horizon_months=H,
        monthly_discount_rate=d,
    )
    spend = m.gamma_gamma_conditional_expected_spend(gg_fit.params, x, mon)
    manual = np.zeros_like(x)
    for mm in range(1, H + 1):
        hi = m.bgnbd_conditional_expected_purchases(bg_fit.params, mm * w, x, t_x, T)
        lo = m.bgnbd_conditional_expected_purchases(bg_fit.params, (mm - 1) * w, x, t_x, T)
        manual += (hi - lo) * spend / (1 + d) ** mm
    np.testing.assert_allclose(clv, manual, rtol=1e-12)
    assert np.all(clv > 0)
    undiscounted = m.expected_lifetime_value(
        "bgnbd",
        bg_fit.params,
        gg_fit.params,
        x,
        t_x,
        T,
        mon,
        horizon_months=H,
        monthly_discount_rate=0.0,
    )
    cumulative = m.bgnbd_conditional_expected_purchases(bg_fit.params, H * w, x, t_x, T)
    np.testing.assert_allclose(undiscounted, cumulative * spend, rtol=1e-12)
    assert np.all(undiscounted > clv)
    # customer 1 as a scalar, MBG/NBD variant also works
    one = m.expected_lifetime_value(
        "mbgnbd", MBGNBD_BTYDPLUS, GG_PUBLISHED, 2, 30.43, 38.86, 22.345, horizon_months=3
    )
    assert isinstance(one, float) and one > 0


# --------------------------------------------------------------------------- failures
def test_insufficient_data_no_repeat_buyers():
    x = np.zeros(25)
    t_x = np.zeros(25)
    T = np.linspace(1, 30, 25)
    for fit in (m.fit_bgnbd, m.fit_mbgnbd):
        with pytest.raises(m.InsufficientDataError) as err:
            fit(x, t_x, T)
        assert err.value.n_repeat_buyers == 0 and err.value.n_customers == 25
        assert "0 repeat buyer(s)" in str(err.value)
        assert err.value.as_dict()["min_repeat_buyers"] == 10
    with pytest.raises(m.InsufficientDataError, match="gamma_gamma"):
        m.fit_gamma_gamma(x, np.full(25, np.nan))


def test_insufficient_data_below_minimum(cdnow):
    sub = cdnow[cdnow["x"] > 0].iloc[:5]
    with pytest.raises(m.InsufficientDataError, match="need at least 10"):
        m.fit_bgnbd(sub["x"], sub["t_x"], sub["T"])
    with pytest.raises(m.InsufficientDataError):
        m.fit_gamma_gamma(sub["x"], sub["monetary"])
    with pytest.raises(m.InsufficientDataError, match="no customers"):
        m.fit_bgnbd([], [], [])


def test_invalid_inputs_raise():
    with pytest.raises(ValueError, match="t_x <= T"):
        m.bgnbd_log_likelihood(BGNBD_PUBLISHED, [1], [5.0], [4.0])
    with pytest.raises(ValueError, match="positive"):
        m.bgnbd_log_likelihood({**BGNBD_PUBLISHED, "a": -1.0}, [1], [1.0], [4.0])


def test_penalizer_shrinks_small_sample(cdnow):
    sub = cdnow.sample(200, random_state=7)
    args = (sub["x"], sub["t_x"], sub["T"])
    plain = m.fit_bgnbd(*args)
    pen = m.fit_bgnbd(*args, penalizer_coef=0.05)
    assert plain.converged and pen.converged
    assert pen.penalizer_coef == 0.05
    assert sum(v**2 for v in pen.params.values()) < sum(v**2 for v in plain.params.values())
    # log_likelihood is reported unpenalised, so the penalised optimum scores lower
    assert pen.log_likelihood < plain.log_likelihood


@pytest.mark.parametrize(
    ("model", "params"),
    [
        ("bgnbd", (0.2426, 4.4136, 0.7929, 2.4259)),  # the CDNOW optimum
        ("bgnbd", (1.7, 0.6, 3.2, 0.4)),
        ("mbgnbd", (0.525, 6.183, 0.891, 1.614)),
        ("mbgnbd", (2.5, 12.0, 0.3, 7.0)),
        ("gamma_gamma", (6.25, 3.74, 15.44)),
        ("gamma_gamma", (0.8, 1.3, 120.0)),
    ],
)
def test_analytic_gradients_match_central_differences(model, params, cdnow):
    """The fit's L-BFGS-B uses the derivatives of the log-likelihoods worked out by hand;
    a central difference of the log-likelihood itself (step 1e-6 relative) must agree, on
    every CDNOW customer, with and without repeat purchases, at the optimum and away from it."""
    if model == "gamma_gamma":
        buyers = cdnow[cdnow["x"] > 0]
        data = (buyers["x"].to_numpy(float), buyers["monetary"].to_numpy(float))
        ll = m._gamma_gamma_ll
    else:
        data = tuple(cdnow[c].to_numpy(float) for c in ("x", "t_x", "T"))
        ll = m._LL_CHECKED[model]
    _, derivatives = ll(params, *data, gradient=True)
    for j, derivative in enumerate(derivatives):
        step = 1e-6 * params[j]
        up = list(params)
        down = list(params)
        up[j] += step
        down[j] -= step
        numeric = (ll(tuple(up), *data) - ll(tuple(down), *data)) / (2 * step)
        np.testing.assert_allclose(derivative, numeric, rtol=1e-5, atol=1e-7, err_msg=str(j))


def test_fit_falls_back_to_nelder_mead_when_direct_lbfgsb_fails(monkeypatch, cdnow):
    """When the direct L-BFGS-B runs stop short (simulated: they return their start), the
    fit takes the Nelder-Mead path and still reaches the published CDNOW estimates."""
    real_minimize = m.minimize
    direct_runs = []

    def stalling_lbfgsb(fun, x0, method=None, **kwargs):
        if method == "L-BFGS-B" and len(direct_runs) < 2:
            direct_runs.append(x0)
            return real_minimize(fun, x0, method=method, **{**kwargs, "options": {"maxiter": 0}})
        return real_minimize(fun, x0, method=method, **kwargs)

    monkeypatch.setattr(m, "minimize", stalling_lbfgsb)
    fit = m.fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert len(direct_runs) == 2
    assert fit.converged
    assert "after Nelder-Mead" in fit.message
    for name, published in BGNBD_PUBLISHED.items():
        assert fit.params[name] == pytest.approx(published, rel=1e-3)


def test_distinct_rows_match_numpy_unique_rows():
    """The fit's weights: distinct (x, t_x, T) rows and their counts, in the order
    np.unique(axis=0) gives (a second implementation), on data with many repeated rows,
    equal values in the first column and rows that differ only in the last one."""
    rng = np.random.default_rng(7)
    x = rng.integers(0, 4, 5_000).astype(float)
    t_x = np.round(rng.uniform(0, 3, 5_000), 1)
    T = np.where(rng.random(5_000) < 0.5, 3.0, 3.5)
    rows, counts = m._distinct_rows(x, t_x, T)
    expected, expected_counts = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)
    assert np.array_equal(np.column_stack(rows), expected)
    assert np.array_equal(counts, expected_counts.astype(float))
    assert counts.sum() == 5_000
    single, single_count = m._distinct_rows(np.array([2.0]), np.array([1.5]))
    assert [s.tolist() for s in single] == [[2.0], [1.5]] and single_count.tolist() == [1.0]
