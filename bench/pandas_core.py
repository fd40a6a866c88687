"""The core of the customer mart in pandas: what a user would write instead of the warehouse.

    python -m bench.pandas_core --landing DIR --as-of YYYY-MM-DD --out FILE.parquet \
        [--loaded-at 'YYYY-MM-DD HH:MM:SS']

Reads the landing CSV (and Parquet) files with pandas, applies the extract contract's row
rules, keeps the latest good version of each key, and computes the same columns as
bench/reference_core.sql, vectorised (no DuckDB, no per-row Python except for the rare
amount written with more than four decimals).

Money is kept as integers, not floats: amounts in ten-thousandths (the warehouse's
decimal(18, 4)), currency rates in millionths, products of the two in 1e-10. That is what
makes every total equal the warehouse's decimal arithmetic to the last digit, rounded half
away from zero to four decimals where each contact's amounts are summed (a float sum of PLN
amounts converted at 0.2325 lands on a .5 tie in the fifth decimal for about a quarter of
the customers). The integers
hold up to about 9.2e8 EUR per contact. Acquisition cost and profit are doubles, as in the
warehouse (a campaign's cost divided by the contacts it acquired).
"""

from __future__ import annotations

import time
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bench import (
    ENTITIES,
    MONEY_COLUMNS,
    SEEDS_DIR,
    core_arguments,
    landing_files,
    parse_loaded_at,
    project_vars,
    report,
)

TRUE_WORDS = ["true", "t", "1", "yes", "y"]
FALSE_WORDS = ["false", "f", "0", "no", "n"]
CHANNELS = [
    "organic_search", "paid_search", "social", "email", "referral", "events", "partner",
    "direct", "sales_team",
]  # fmt: skip
AMOUNT = 10**4  # decimal(18, 4): ten-thousandths
RATE = 10**6  # decimal(18, 6) currency rates: millionths
TOTAL = AMOUNT * RATE  # converted amounts: 1e-10

# The row rules of docs/extract_contract.yml for the entities the core needs:
# column -> (type, required, extra). extra: allowed values, minimum, or "future_ok".
# Free optional text (names, e-mail, promo code...) has no rule and is not read.
RULES: dict[str, dict[str, tuple]] = {
    "contacts": {
        "contact_id": ("text", True, None),
        "account_type": ("choice", True, ["consumer", "business", "purchasing_agent"]),
        "is_internal": ("boolean", False, None),
        "is_reference_customer": ("boolean", False, None),
        "birth_date": ("date", False, None),
        "gender": ("choice", False, ["female", "male", "other", "unknown", "f", "m", "x"]),
        "income_band": (
            "choice",
            False,
            ["low", "lower_middle", "middle", "upper_middle", "high"],
        ),  # fmt: skip
        "acquisition_channel": ("choice", False, CHANNELS),
        "acquisition_campaign_id": ("text", False, None),
        "created_at": ("timestamp", True, None),
        "updated_at": ("timestamp", True, None),
    },
    "products": {
        "product_id": ("text", True, None),
        "product_name": ("text", True, None),
        "category": ("text", True, None),
        "list_price": ("decimal", True, 0),
        "unit_cost": ("decimal", True, 0),
        "is_premium": ("boolean", False, None),
        "technology_generation": ("integer", False, 1),
        "launch_date": ("date", False, None),
        "updated_at": ("timestamp", True, None),
    },
    "campaigns": {
        "campaign_id": ("text", True, None),
        "campaign_name": ("text", True, None),
        "channel": ("choice", True, CHANNELS),
        "started_on": ("date", True, None),
        "ended_on": ("date", False, "future_ok"),
        "cost": ("decimal", True, 0),
        "currency": ("choice", True, ["eur", "pln"]),
        "updated_at": ("timestamp", False, None),
    },
    "orders": {
        "order_id": ("text", True, None),
        "contact_id": ("text", True, None),
        "consumer_contact_id": ("text", False, None),
        "is_gift": ("boolean", False, None),
        "ordered_at": ("timestamp", True, None),
        "channel": ("choice", True, ["web", "store", "phone", "marketplace", "sales_rep"]),
        "status": (
            "choice",
            True,
            ["placed", "paid", "shipped", "delivered", "cancelled", "returned"],
        ),  # fmt: skip
        "currency": ("choice", True, ["eur", "pln"]),
        "updated_at": ("timestamp", True, None),
    },
    "order_lines": {
        "order_line_id": ("text", True, None),
        "order_id": ("text", True, None),
        "product_id": ("text", True, None),
        "quantity": ("integer", True, 1),
        "unit_price": ("decimal", True, 0),
        "discount_amount": ("decimal", False, 0),
        "updated_at": ("timestamp", False, None),
    },
    "invoices": {
        "invoice_id": ("text", True, None),
        "order_id": ("text", False, None),
        "contact_id": ("text", True, None),
        "invoiced_on": ("date", True, None),
        "due_on": ("date", True, "future_ok"),
        "amount": ("decimal", True, 0),
        "currency": ("choice", True, ["eur", "pln"]),
        "updated_at": ("timestamp", False, None),
    },
    "payments": {
        "payment_id": ("text", True, None),
        "invoice_id": ("text", True, None),
        "paid_on": ("date", True, None),
        "amount": ("decimal", True, 0),
        "payment_method": ("choice", False, ["card", "transfer", "cash", "paypal", "blik"]),
        "updated_at": ("timestamp", False, None),
    },
    "support_tickets": {
        "ticket_id": ("text", True, None),
        "contact_id": ("text", True, None),
        "channel": ("choice", True, ["phone", "email", "chat", "sms", "in_person"]),
        "category_label": ("text", True, None),
        "is_urgent": ("boolean", False, None),
        "opened_at": ("timestamp", True, None),
        "closed_at": ("timestamp", False, None),
        "handling_minutes": ("decimal", False, 0),
        "clarification_round_trips": ("integer", False, 0),
        "is_pre_purchase": ("boolean", False, None),
        "updated_at": ("timestamp", False, None),
    },
}
KEYS = {
    "contacts": "contact_id",
    "products": "product_id",
    "campaigns": "campaign_id",
    "orders": "order_id",
    "order_lines": "order_line_id",
    "invoices": "invoice_id",
    "payments": "payment_id",
    "support_tickets": "ticket_id",
}
# child column -> parent entity: a reference to a key that is not staged rejects the row
PARENTS = {
    "orders": {"contact_id": "contacts", "consumer_contact_id": "contacts"},
    "order_lines": {"order_id": "orders", "product_id": "products"},
    "invoices": {"order_id": "orders", "contact_id": "contacts"},
    "payments": {"invoice_id": "invoices"},
    "support_tickets": {"contact_id": "contacts"},
}


# --- Reading ---------------------------------------------------------------------------


def read_landing(landing: Path, entity: str) -> pd.DataFrame:
    """Every row of every file of the entity, the rule columns as text, with the version
    order of the row: its file's rank (file name order) and its row number in the file."""
    wanted = list(RULES[entity])
    frames = []
    files = sorted(landing_files(landing, entity), key=lambda f: f.source_file)
    for rank, file in enumerate(files):
        present = dict(zip(file.columns, file.raw_columns, strict=True))
        usecols = [present[c] for c in wanted if c in present]
        if file.kind == "parquet":
            frame = pd.read_parquet(file.path, columns=usecols)
        else:
            frame = pd.read_csv(
                file.path,
                engine="pyarrow",
                dtype=str,
                usecols=usecols,
                keep_default_na=False,  # 'NA' or 'n/a' is text to check, not a missing value
                encoding="utf-8-sig" if file.encoding == "utf-8" else file.encoding,
            )
        frame.columns = [c.strip().lower().lstrip("\ufeff") for c in frame.columns]
        frame = frame.reindex(columns=wanted).astype("str")  # absent columns: missing
        frame["_file_rank"] = rank
        frame["_row_number"] = np.arange(1, len(frame) + 1)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=[*wanted, "_file_rank", "_row_number"], dtype="str")
    return pd.concat(frames, ignore_index=True)


# --- Typing and the row rules ---------------------------------------------------------


def clean_text(raw: pd.Series) -> pd.Series:
    """Trimmed of spaces (as SQL trim); blank is missing."""
    text = raw.str.strip(" ")
    return text.mask(text == "")


def to_boolean(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    lower = text.str.lower()
    typed = pd.Series(pd.NA, index=text.index, dtype="boolean")
    typed[lower.isin(TRUE_WORDS).fillna(False)] = True
    typed[lower.isin(FALSE_WORDS).fillna(False)] = False
    return typed, (text.notna() & typed.isna())


def exact_units(text: str, scale: int) -> float:
    """A decimal text in 1/scale units, rounded half away from zero (the slow path)."""
    try:
        step = Decimal(1) / scale
        return float(Decimal(text).quantize(step, rounding=ROUND_HALF_UP) * scale)
    except (InvalidOperation, ValueError):
        return np.nan


def to_units(text: pd.Series, scale: int = AMOUNT) -> pd.Series:
    """A decimal as integer 1/scale units (Int64, NA when the text is no number): the
    amounts of the contract are decimal(18, 4), so scale AMOUNT, ten-thousandths."""
    number = pd.to_numeric(text, errors="coerce").astype("float64")
    number[~np.isfinite(number) | (np.abs(number) >= 1e18 / scale)] = np.nan
    scaled = number * scale
    units = np.rint(scaled)
    # more decimals than the scale holds (or float noise near a tie): round the text itself
    inexact = (np.abs(scaled - units) > 1e-3).fillna(False)
    if inexact.any():
        units[inexact] = text[inexact].map(lambda value: exact_units(value, scale))
    return units.astype("Int64")


def to_integer(text: pd.Series) -> pd.Series:
    number = pd.to_numeric(text, errors="coerce").astype("float64")
    number[~np.isfinite(number) | (np.abs(number) >= 2**63)] = np.nan
    # as DuckDB's cast: 2.5 -> 3
    return (np.sign(number) * np.floor(np.abs(number) + 0.5)).astype("Int64")


def to_datetime(text: pd.Series) -> pd.Series:
    return pd.to_datetime(text, format="ISO8601", errors="coerce")


def stage(landing: Path, entity: str, staged: dict, loaded_at: datetime) -> pd.DataFrame:
    """Type and check every row; reject rule breakers and orphans; keep the latest good
    version of each key (highest updated_at, then latest file, then last row)."""
    raw = read_landing(landing, entity)
    out = pd.DataFrame(index=raw.index)
    bad = pd.Series(False, index=raw.index)
    for column, (kind, required, extra) in RULES[entity].items():
        text = clean_text(raw[column])
        present = text.notna()
        if required:
            bad |= ~present
        if kind == "text":
            typed = text
        elif kind == "choice":
            typed = text.str.lower()
            bad |= present & ~typed.isin(extra).fillna(False)
        elif kind == "boolean":
            typed, broken = to_boolean(text)
            bad |= broken
        elif kind in ("decimal", "integer"):
            typed = to_units(text) if kind == "decimal" else to_integer(text)
            minimum = extra * (AMOUNT if kind == "decimal" else 1)
            bad |= (present & typed.isna()) | (typed < minimum).fillna(False)
        else:  # date, timestamp
            typed = to_datetime(text)
            bad |= present & typed.isna()
            if kind == "date":
                typed = typed.dt.normalize()
            if extra != "future_ok":
                limit = pd.Timestamp(loaded_at)
                bad |= (typed > (limit.normalize() if kind == "date" else limit)).fillna(False)
        out[column] = typed
    for column, parent in PARENTS.get(entity, {}).items():
        # a lookup in the parent's (unique) key index: Series.isin on pandas 3 strings
        # builds one Python object per key, 30x slower on a million keys
        known = pd.Index(staged[parent][KEYS[parent]]).get_indexer(out[column]) >= 0
        bad |= out[column].notna() & ~known
    out["_file_rank"] = raw["_file_rank"]
    out["_row_number"] = raw["_row_number"]
    good = out[~bad]
    latest = good.sort_values(
        ["updated_at", "_file_rank", "_row_number"], ascending=False, na_position="last"
    ).drop_duplicates(KEYS[entity])
    return latest.drop(columns=["_file_rank", "_row_number"]).reset_index(drop=True)


# --- The core ------------------------------------------------------------------------------


def round_units(values, scale: int) -> np.ndarray:
    """Integers in 1/scale of a unit -> ten-thousandths, rounded half away from zero."""
    values = np.asarray(values, dtype=np.int64)
    step = scale // AMOUNT
    return np.sign(values) * ((np.abs(values) + step // 2) // step)


def double_to_units(values) -> np.ndarray:
    """A double cast to decimal(18, 4) as DuckDB does: x * 1e4 rounded half away from zero."""
    scaled = np.asarray(values, dtype=np.float64) * AMOUNT
    whole = np.trunc(scaled)
    return (whole + np.sign(scaled) * (np.abs(scaled - whole) >= 0.5)).astype(np.int64)


def ntile(order: pd.DataFrame, by: list[str], ascending: list[bool], buckets: int = 5) -> pd.Series:
    """SQL ntile(buckets) over (order by ...): the first n % buckets tiles get one more."""
    ranked = order.sort_values(by, ascending=ascending, kind="stable")
    n = len(ranked)
    position = np.arange(n)
    size, extra = divmod(n, buckets)
    big = extra * (size + 1)
    tile = np.where(
        position < big,
        position // max(size + 1, 1),
        extra + (position - big) // max(size, 1),
    )
    return pd.Series(tile + 1, index=ranked.index)


def compute(landing: Path, as_of: date, loaded_at: datetime) -> pd.DataFrame:
    """The core per contact, written for pandas 3's string dtype."""
    settings = project_vars()
    as_of_ts = pd.Timestamp(as_of)
    staged: dict[str, pd.DataFrame] = {}
    for entity in ENTITIES:
        staged[entity] = stage(landing, entity, staged, loaded_at)
    contacts, products, orders = staged["contacts"], staged["products"], staged["orders"]
    contacts["is_internal"] = contacts["is_internal"].fillna(False).astype(bool)

    currency = pd.read_csv(SEEDS_DIR / "currency_rates.csv", dtype=str)
    rates = to_units(currency["rate_to_reporting_currency"], RATE)  # decimal(18, 6)
    rate_of = dict(zip(currency["currency"], rates, strict=True))
    cost_rates = pd.read_csv(SEEDS_DIR / "cost_rates.csv", dtype=str)
    cost_rates["units"] = to_units(cost_rates["rate"])  # decimal(18, 4)
    flat = cost_rates.groupby("cost_item")["units"].max()
    minute_rate = cost_rates[cost_rates["cost_item"] == "support_minute"].set_index("channel")[
        "units"
    ]

    # Orders up to the evaluation date, valued in the reporting currency. A returned order
    # is a paid order refunded in full, its goods back in stock: no revenue, no cost of goods.
    lines = staged["order_lines"].merge(products[["product_id", "unit_cost"]], on="product_id")
    quantity = lines["quantity"].astype("int64")
    lines["net"] = quantity * lines["unit_price"] - lines["discount_amount"].fillna(0)
    lines["cogs"] = quantity * lines["unit_cost"]
    per_order = lines.groupby("order_id")[["net", "cogs"]].sum()
    orders = orders.assign(ordered_on=orders["ordered_at"].dt.normalize())
    orders = orders[orders["ordered_on"] <= as_of_ts].join(per_order, on="order_id")
    is_paid = orders["status"].isin(settings["paid_order_statuses"])
    is_returned = orders["status"] == "returned"
    valued = is_paid & ~is_returned
    rate = orders["currency"].str.upper().map(rate_of).astype("int64")
    orders = orders.assign(
        paid=is_paid.astype("int64"),
        returned=is_returned.astype("int64"),
        paid_on=orders["ordered_on"].where(is_paid),
        net_revenue=(orders["net"].fillna(0) * rate).where(valued, 0).astype("int64"),
        cost_of_goods=(orders["cogs"].fillna(0) * RATE).where(valued, 0).astype("int64"),
    )
    buying = orders.groupby("contact_id").agg(
        paid_orders=("paid", "sum"),
        first_order_date=("paid_on", "min"),
        last_order_date=("paid_on", "max"),
        returned_orders=("returned", "sum"),
        net_revenue=("net_revenue", "sum"),
        cost_of_goods=("cost_of_goods", "sum"),
    )
    # each contact's summed amounts are rounded to four decimals, as the warehouse stores them
    per_amount = TOTAL // AMOUNT
    buying["net_revenue"] = round_units(buying["net_revenue"], TOTAL) * per_amount

    # Support minutes at the channel's rate, tickets opened up to the evaluation date.
    tickets = staged["support_tickets"]
    tickets = tickets[tickets["opened_at"].dt.normalize() <= as_of_ts]
    minute_cost = tickets["channel"].map(minute_rate) * tickets["handling_minutes"].fillna(0)
    support = (
        (minute_cost.fillna(0).astype("int64") * (TOTAL // AMOUNT**2))
        .groupby(tickets["contact_id"])
        .sum()
    )

    # Late invoices: paid in full after the due date, or not fully paid and past due.
    payments = staged["payments"]
    payments = payments[payments["paid_on"] <= as_of_ts]
    paid = payments.groupby("invoice_id").agg(
        paid_amount=("amount", "sum"), last_paid_on=("paid_on", "max")
    )
    invoices = staged["invoices"]
    invoices = invoices[invoices["invoiced_on"] <= as_of_ts].join(paid, on="invoice_id")
    fully_paid = invoices["paid_amount"].fillna(0) >= invoices["amount"]
    late = np.where(
        fully_paid,
        (invoices["last_paid_on"] > invoices["due_on"]).fillna(False),
        as_of_ts > invoices["due_on"],
    )
    late_invoices = (
        pd.Series(late.astype("int64"), index=invoices.index).groupby(invoices["contact_id"]).sum()
    )

    # The contacts of the mart: created by the evaluation date. A campaign's cost is shared
    # equally by the contacts it acquired.
    people = contacts[contacts["created_at"].dt.normalize() <= as_of_ts].set_index("contact_id")
    acquired = people["acquisition_campaign_id"].value_counts()
    campaigns = staged["campaigns"].set_index("campaign_id")
    campaign_cost = campaigns["cost"] * campaigns["currency"].str.upper().map(rate_of)
    per_contact = (campaign_cost.astype("float64") / TOTAL) / acquired.reindex(campaign_cost.index)
    acquisition_cost = people["acquisition_campaign_id"].map(per_contact).fillna(0.0)

    core = people[["is_internal"]].join(buying)
    core["paid_orders"] = core["paid_orders"].fillna(0).astype("int64")
    net_revenue = core["net_revenue"].fillna(0).astype("int64")
    cost_of_goods = core["cost_of_goods"].fillna(0).astype("int64")
    gross_margin = net_revenue - cost_of_goods
    support_cost = round_units(support.reindex(core.index, fill_value=0), TOTAL) * per_amount
    order_handling = core["paid_orders"] * int(flat["order_handling"]) * RATE
    returns_handling = (
        core["returned_orders"].fillna(0).astype("int64") * int(flat["return_handling"]) * RATE
    )
    collection = (
        late_invoices.reindex(core.index, fill_value=0).astype("int64")
        * int(flat["late_payment_collection"])
        * RATE
    )
    cost_to_serve = support_cost + order_handling + returns_handling + collection
    # a decimal less a double is a double, as in the warehouse
    profit = (gross_margin - cost_to_serve).astype("float64") / TOTAL - acquisition_cost

    # Whale curve and value tiers: external customers ranked by profit; a customer's tier
    # is read from the share of positive profit made by the customers ranked above.
    ranked = pd.DataFrame({"profit": profit, "contact_id": core.index}).rename_axis(None)
    ranked = ranked[(core["paid_orders"] > 0) & ~core["is_internal"]]
    ranked = ranked.sort_values(["profit", "contact_id"], ascending=[False, True])
    profitable = ranked.loc[ranked["profit"] > 0, "profit"]
    share_above = profitable.cumsum().shift(fill_value=0.0) / profitable.sum()
    tier = pd.Series("iron", index=ranked.index, dtype=object)
    tier[share_above.reindex(ranked.index) < settings["tier_gold_share"]] = "gold"
    tier[share_above.reindex(ranked.index) < settings["tier_platinum_share"]] = "platinum"
    tier[ranked["profit"] < 0] = "lead"

    # RFM quintiles over external customers that exist on the evaluation date (the people
    # above), ties by contact_id.
    rfm = buying[buying.index.isin(people.index)]
    rfm = rfm[(rfm["paid_orders"] > 0) & ~people["is_internal"].reindex(rfm.index)]
    rfm = rfm.assign(
        recency_days=(as_of_ts - rfm["last_order_date"]).dt.days, contact_id=rfm.index
    ).rename_axis(None)
    rfm_scores = pd.DataFrame(
        {
            "recency_days": rfm["recency_days"],
            "recency_score": ntile(rfm, ["recency_days", "contact_id"], [False, True]),
            "frequency_score": ntile(rfm, ["paid_orders", "contact_id"], [True, True]),
            "monetary_score": ntile(rfm, ["net_revenue", "contact_id"], [True, True]),
        }
    )

    result = pd.DataFrame(index=core.index)
    result["is_internal"] = core["is_internal"]
    result["paid_orders"] = core["paid_orders"]
    result["first_order_date"] = core["first_order_date"]
    result["last_order_date"] = core["last_order_date"]
    result = result.join(rfm_scores[["recency_days"]])
    money = {
        "net_revenue": round_units(net_revenue, TOTAL),
        "cost_of_goods": round_units(cost_of_goods, TOTAL),
        "gross_margin": round_units(gross_margin, TOTAL),
        "support_cost": round_units(support_cost, TOTAL),
        "order_handling_cost": round_units(order_handling, TOTAL),
        "returns_handling_cost": round_units(returns_handling, TOTAL),
        "collection_cost": round_units(collection, TOTAL),
        "acquisition_cost": double_to_units(acquisition_cost),
        "cost_to_serve": round_units(cost_to_serve, TOTAL),
        "profit": double_to_units(profit),
    }
    for column in MONEY_COLUMNS:
        result[column] = money[column]
    result = result.join(rfm_scores[["recency_score", "frequency_score", "monetary_score"]])
    result["value_tier"] = tier
    return result.rename_axis("contact_id").reset_index().sort_values("contact_id")


def decimal_array(units: np.ndarray) -> pa.Array:
    """Integer ten-thousandths as a decimal(18, 4) Arrow array (the 128-bit words directly)."""
    units = np.asarray(units, dtype="<i8")
    words = np.empty(2 * len(units), dtype="<i8")
    words[0::2] = units
    words[1::2] = units >> 63  # sign extension
    return pa.Array.from_buffers(pa.decimal128(18, 4), len(units), [None, pa.py_buffer(words)])


def to_arrow(result: pd.DataFrame) -> pa.Table:
    columns = {
        "contact_id": pa.array(result["contact_id"].astype(str), pa.string()),
        "is_internal": pa.array(result["is_internal"].astype(bool), pa.bool_()),
        "paid_orders": pa.array(result["paid_orders"].astype("int64"), pa.int64()),
    }
    for name in ("first_order_date", "last_order_date"):
        columns[name] = pa.array(result[name]).cast(pa.timestamp("us")).cast(pa.date32())
    columns["recency_days"] = pa.array(result["recency_days"].astype("Int64"), pa.int64())
    for name in MONEY_COLUMNS:
        columns[name] = decimal_array(result[name].to_numpy())
    for name in ("recency_score", "frequency_score", "monetary_score"):
        columns[name] = pa.array(result[name].astype("Int64"), pa.int64())
    columns["value_tier"] = pa.array(result["value_tier"], pa.string(), from_pandas=True)
    return pa.table(columns)


def run(landing: Path, as_of: date, out: Path, loaded_at: datetime | None = None) -> Path:
    """Compute the core from the landing files and write it to `out` (Parquet)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = compute(Path(landing), as_of, loaded_at or parse_loaded_at(None))
    pq.write_table(to_arrow(result), out)
    return out


def main(argv: list[str] | None = None) -> int:
    args = core_arguments(__doc__.split("\n\n")[0]).parse_args(argv)
    started = time.perf_counter()
    out = run(args.landing, args.as_of, args.out, parse_loaded_at(args.loaded_at))
    report("pandas_core", started, pq.read_metadata(out).num_rows, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
