"""Customer lifetime value models (BG/NBD, MBG/NBD, Gamma-Gamma) fitted in Python.

The SQL scoring in the warehouse evaluates the same closed forms; the functions here are the
reference it is checked against. See :mod:`scripts.clv.models` for the formulas and the
truncated 2F1 series, :mod:`scripts.clv.summary` for the (x, t_x, T, monetary) summary and
:mod:`scripts.clv.cdnow` for the CDNOW test fixture.
"""

from scripts.clv.models import (
    PARAM_NAMES,
    WEEKS_PER_MONTH,
    FitResult,
    InsufficientDataError,
    bgnbd_conditional_expected_purchases,
    bgnbd_log_likelihood,
    bgnbd_log_likelihood_individual,
    bgnbd_probability_alive,
    conditional_expected_purchases,
    expected_lifetime_value,
    expected_purchases_by_month,
    fit_bgnbd,
    fit_gamma_gamma,
    fit_mbgnbd,
    fit_purchase_model,
    fit_summary,
    gamma_gamma_conditional_expected_spend,
    gamma_gamma_log_likelihood,
    gamma_gamma_log_likelihood_individual,
    hyp2f1_series,
    mbgnbd_conditional_expected_purchases,
    mbgnbd_log_likelihood,
    mbgnbd_log_likelihood_individual,
    mbgnbd_probability_alive,
    n_terms_needed,
    probability_alive,
    scoring_series_terms,
    series_is_contracting,
)
from scripts.clv.summary import summarize_holdout, summarize_transactions, summary_arrays

__all__ = [
    "PARAM_NAMES",
    "WEEKS_PER_MONTH",
    "FitResult",
    "InsufficientDataError",
    "bgnbd_conditional_expected_purchases",
    "bgnbd_log_likelihood",
    "bgnbd_log_likelihood_individual",
    "bgnbd_probability_alive",
    "conditional_expected_purchases",
    "expected_lifetime_value",
    "expected_purchases_by_month",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "fit_mbgnbd",
    "fit_purchase_model",
    "fit_summary",
    "gamma_gamma_conditional_expected_spend",
    "gamma_gamma_log_likelihood",
    "gamma_gamma_log_likelihood_individual",
    "hyp2f1_series",
    "mbgnbd_conditional_expected_purchases",
    "mbgnbd_log_likelihood",
    "mbgnbd_log_likelihood_individual",
    "mbgnbd_probability_alive",
    "n_terms_needed",
    "probability_alive",
    "scoring_series_terms",
    "series_is_contracting",
    "summarize_holdout",
    "summarize_transactions",
    "summary_arrays",
]
