"""Build the per-customer (x, t_x, T, monetary) summary the BTYD models are fitted on.

Conventions (Fader, Hardie & Lee 2005; the same ones the published CDNOW numbers use):

- all purchases of one customer on one calendar day are merged into one transaction
  (amounts summed);
- only transactions on or before ``calibration_end`` count; customers whose first purchase
  is after ``calibration_end`` are not in the summary;
- time unit: weeks = days / 7 (configurable with ``time_unit_days``);
- ``x``        number of *repeat* purchase days (purchase days after the first one);
- ``t_x``      time from the first purchase to the last purchase (0 when x = 0);
- ``T``        time from the first purchase to ``calibration_end`` (the end date itself, so a
  first purchase on 1997-01-01 with end 1997-09-30 gives 272 days = 38.857 weeks);
- ``monetary`` mean spend of the *repeat* purchase days (the first purchase is excluded, as in
  the Gamma-Gamma literature); NaN when x = 0.

The column is called ``T`` as in the papers: read it as ``summary["T"]``, never
``summary.T`` (that is the DataFrame transpose).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SUMMARY_COLUMNS = ["x", "t_x", "T", "monetary", "first_purchase", "last_purchase"]


def _daily_transactions(
    transactions: pd.DataFrame,
    customer_col: str,
    date_col: str,
    amount_col: str,
) -> pd.DataFrame:
    missing = [c for c in (customer_col, date_col, amount_col) if c not in transactions.columns]
    if missing:
        raise KeyError(f"transaction table lacks column(s) {missing}")
    df = transactions[[customer_col, date_col, amount_col]].copy()
    df[date_col] = pd.to_datetime(df[date_col]).dt.normalize()
    if df[date_col].isna().any():
        raise ValueError(f"{date_col} contains null dates")
    if df[customer_col].isna().any():
        raise ValueError(f"{customer_col} contains null customer ids")
    return df.groupby([customer_col, date_col], as_index=False, sort=True)[amount_col].sum(
        min_count=1
    )


def summarize_transactions(
    transactions: pd.DataFrame,
    *,
    calibration_end,
    customer_col: str = "customer_id",
    date_col: str = "purchase_date",
    amount_col: str = "amount",
    time_unit_days: float = 7.0,
) -> pd.DataFrame:
    """Return one row per customer (index = customer id) with columns
    ``x, t_x, T, monetary, first_purchase, last_purchase``.

    ``calibration_end`` is a date (inclusive). Spend of a merged day is the sum of that day's
    amounts; ``monetary`` is the mean over repeat days (NaN if the customer has none).
    """
    end = pd.Timestamp(calibration_end).normalize()
    daily = _daily_transactions(transactions, customer_col, date_col, amount_col)
    daily = daily[daily[date_col] <= end]
    if daily.empty:
        out = pd.DataFrame(columns=SUMMARY_COLUMNS)
        out.index.name = customer_col
        return out

    g = daily.groupby(customer_col, sort=True)
    first = g[date_col].min()
    last = g[date_col].max()
    n_days = g[date_col].size()

    # Repeat days: every merged day except the first one.
    is_first = daily[date_col].to_numpy() == first.reindex(daily[customer_col]).to_numpy()
    repeat = daily.loc[~is_first]
    monetary = repeat.groupby(customer_col)[amount_col].mean().reindex(first.index)

    out = pd.DataFrame(
        {
            "x": (n_days - 1).astype("int64"),
            "t_x": (last - first).dt.days / time_unit_days,
            "T": (end - first).dt.days / time_unit_days,
            "monetary": monetary.astype("float64"),
            "first_purchase": first,
            "last_purchase": last,
        }
    )
    out.index.name = customer_col
    return out


def summarize_holdout(
    transactions: pd.DataFrame,
    *,
    calibration_end,
    holdout_end,
    customer_col: str = "customer_id",
    date_col: str = "purchase_date",
    amount_col: str = "amount",
    time_unit_days: float = 7.0,
) -> pd.DataFrame:
    """Calibration summary plus holdout columns for model validation.

    Adds ``x_star`` (merged purchase days in (calibration_end, holdout_end]),
    ``t_star`` (holdout length in time units) and ``holdout_spend`` (sum of holdout amounts),
    for the customers present in the calibration summary.
    """
    end = pd.Timestamp(calibration_end).normalize()
    h_end = pd.Timestamp(holdout_end).normalize()
    if h_end <= end:
        raise ValueError("holdout_end must be after calibration_end")
    cal = summarize_transactions(
        transactions,
        calibration_end=end,
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        time_unit_days=time_unit_days,
    )
    daily = _daily_transactions(transactions, customer_col, date_col, amount_col)
    hold = daily[(daily[date_col] > end) & (daily[date_col] <= h_end)]
    hg = hold.groupby(customer_col)
    cal["x_star"] = hg[date_col].size().reindex(cal.index).fillna(0).astype("int64")
    cal["t_star"] = (h_end - end).days / time_unit_days
    cal["holdout_spend"] = hg[amount_col].sum().reindex(cal.index).fillna(0.0)
    return cal


def summary_arrays(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, t_x, T) as float arrays, convenient for the model functions."""
    return (
        summary["x"].to_numpy(dtype=float),
        summary["t_x"].to_numpy(dtype=float),
        summary["T"].to_numpy(dtype=float),
    )
