"""Reader for the CDNOW 1/10 sample fixture (tests/fixtures/cdnow/cdnow_sample.txt).

See tests/fixtures/cdnow/README.md for provenance and the column layout.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[2]
CDNOW_SAMPLE_PATH = REPO_ROOT / "tests" / "fixtures" / "cdnow" / "cdnow_sample.txt"

#: Calibration window used by Fader, Hardie & Lee (2005): 1997-01-01 .. 1997-09-30 (39 weeks),
#: holdout 1997-10-01 .. 1998-06-30 (39 weeks).
CDNOW_CALIBRATION_END = pd.Timestamp("1997-09-30")
CDNOW_HOLDOUT_END = pd.Timestamp("1998-06-30")

CDNOW_COLUMNS = ["master_customer_id", "customer_id", "purchase_date", "n_cds", "amount"]


def read_cdnow_sample(path: str | Path | None = None) -> pd.DataFrame:
    """Read the CDNOW sample into one row per purchase.

    Returns columns ``master_customer_id`` (int), ``customer_id`` (int, the sample id 1..2357
    that the literature quotes), ``purchase_date`` (datetime64, day precision), ``n_cds`` (int)
    and ``amount`` (float, US dollars). Same-day rows are *not* merged here; that is the job
    of :func:`scripts.clv.summary.summarize_transactions`.
    """
    path = Path(path) if path is not None else CDNOW_SAMPLE_PATH
    df = pd.read_csv(
        path,
        sep=r"\s+",
        header=None,
        names=CDNOW_COLUMNS,
        dtype={
            "master_customer_id": "int64",
            "customer_id": "int64",
            "purchase_date": "string",
            "n_cds": "int64",
            "amount": "float64",
        },
        engine="python",
    )
    df["purchase_date"] = pd.to_datetime(df["purchase_date"], format="%Y%m%d")
    return df
