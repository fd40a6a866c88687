"""Tests of the synthetic CRM extract generator (scripts/generate_crm.py).

Every fact is computed from the generated files, read back as a loader would read them
(declared encoding, BOM stripped), never from the generator's internals.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml

from scripts import generate_crm as gen

PROJECT = Path(__file__).resolve().parents[2]
CONTRACT = yaml.safe_load((PROJECT / "docs" / "extract_contract.yml").read_text(encoding="utf-8"))
ENTITIES = list(CONTRACT["entities"])
CONTACTS = 400
DROPS = ["2026-10-28", "2026-10-29", "2026-10-30", "2026-10-31"]
END = dt.datetime(2026, 11, 1)
POLISH_LETTERS = set("łśżąęŁŚŻĄĘ")


def run(out: Path, **kwargs) -> list[gen.FileInfo]:
    cfg = gen.Config(
        contacts=kwargs.pop("contacts", CONTACTS), seed=kwargs.pop("seed", 7), out=out, **kwargs
    )
    return gen.generate(cfg)


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("landing")
    run(out)
    return out


def decode(path: Path) -> str:
    """A file's text, honouring an encoding declared in its name, without a BOM."""
    suffixes = [s.lstrip(".").lower() for s in path.suffixes[:-1]]
    encoding = next((s for s in suffixes if s.startswith("windows-")), "utf-8")
    text = path.read_bytes().decode(encoding)
    return text.removeprefix("\ufeff")


def read(landing: Path, entity: str) -> list[dict]:
    """All rows of an entity over every drop, each with the name of its file."""
    rows = []
    for path in sorted((landing / entity).glob("*.csv")):
        for row in csv.DictReader(io.StringIO(decode(path), newline="")):
            row["_file"] = path.name
            rows.append(row)
    return rows


def latest(rows: list[dict], key: str) -> dict[str, dict]:
    """Latest version of each key (the last one in drop order)."""
    return {r[key]: r for r in rows}


def parse_ts(value: str) -> dt.datetime | None:
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None


@pytest.fixture(scope="module")
def data(landing) -> dict[str, list[dict]]:
    return {entity: read(landing, entity) for entity in ENTITIES}


@pytest.fixture(scope="module")
def orders_by_contact(data) -> dict[str, list[dict]]:
    by_contact = defaultdict(list)
    for order in latest(data["orders"], "order_id").values():
        when = parse_ts(order["ordered_at"])
        if order["status"] != "cancelled" and when and when < END:  # valid, not future-dated
            by_contact[order["contact_id"]].append(order)
    return by_contact


# ------------------------------------------------------------------ files and contract


def test_same_seed_gives_byte_identical_files(landing, tmp_path):
    again = tmp_path / "again"
    run(again)
    first = {p.relative_to(landing): p.read_bytes() for p in landing.rglob("*") if p.is_file()}
    second = {p.relative_to(again): p.read_bytes() for p in again.rglob("*") if p.is_file()}
    assert first.keys() == second.keys()
    assert all(first[k] == second[k] for k in first), "a file differs between two identical runs"


def test_another_seed_gives_other_data(landing, tmp_path):
    other = tmp_path / "other"
    run(other, seed=8)
    name = f"contacts/{DROPS[0]}.csv"
    assert (other / name).read_bytes() != (landing / name).read_bytes()


def test_every_contract_column_in_every_file(landing):
    for entity, spec in CONTRACT["entities"].items():
        files = sorted((landing / entity).glob("*.csv"))
        assert files, f"no files for {entity}"
        for path in files:
            header = next(csv.reader(io.StringIO(decode(path))))
            assert header == list(spec["columns"]), f"{path.name} of {entity}: {header}"


def test_drops_are_named_by_date_and_first_drop_carries_history(landing, data):
    for entity in ENTITIES:
        names = {p.name.split(".")[0] for p in (landing / entity).glob("*.csv")}
        assert names <= set(DROPS), names
        assert DROPS[0] in names
        per_file = Counter(r["_file"].split(".")[0] for r in data[entity])
        assert per_file[DROPS[0]] == max(per_file.values())
    created = [parse_ts(r["created_at"]) for r in data["contacts"]]
    assert min(created) < dt.datetime(2023, 2, 1)
    for entity in ("orders", "order_lines", "payments", "marketing_touches", "support_tickets"):
        later = [r for r in data[entity] if not r["_file"].startswith(DROPS[0])]
        assert later, f"{entity} has no rows in the daily drops"


def test_history_spans_2023_to_last_drop(data):
    times = [parse_ts(o["ordered_at"]) for o in data["orders"]]
    times = [t for t in times if t and t.year < 2030]
    assert min(times) < dt.datetime(2023, 3, 1)
    assert max(times) >= dt.datetime(2026, 10, 28)
    assert max(times) < END
    # the first drop holds nothing newer than its own day
    first = [parse_ts(o["updated_at"]) for o in data["orders"] if o["_file"].startswith(DROPS[0])]
    assert max(first) < dt.datetime(2026, 10, 29)


def test_windows_1250_drop_is_legacy_encoded_with_polish_names(landing):
    legacy = sorted((landing / "contacts").glob("*.windows-1250.csv"))
    assert [p.name for p in legacy] == [f"{DROPS[1]}.windows-1250.csv"]
    raw = legacy[0].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("cp1250")
    assert set(text) & POLISH_LETTERS
    assert any(ch in text for ch in "łśżąę")


def test_other_files_are_utf8_and_one_has_a_bom(landing):
    boms = 0
    for path in landing.rglob("*.csv"):
        if "windows-1250" in path.name:
            continue
        raw = path.read_bytes()
        raw.decode("utf-8")
        boms += raw.startswith(b"\xef\xbb\xbf")
    assert boms >= 1


def test_parquet_output_has_contract_columns(tmp_path):
    import duckdb

    out = tmp_path / "pq"
    files = run(out, contacts=300, drops=2, fmt="parquet")
    assert {f.entity for f in files} == set(ENTITIES)
    con = duckdb.connect()
    for entity, spec in CONTRACT["entities"].items():
        paths = sorted((out / entity).glob("*.parquet"))
        assert paths, entity
        for path in paths:
            columns = [
                r[0]
                for r in con.execute(f"describe select * from read_parquet('{path}')").fetchall()
            ]
            assert columns == list(spec["columns"])
    rows = con.execute(f"select count(*) from read_parquet('{out}/orders/*.parquet')").fetchone()[0]
    assert rows == sum(f.rows for f in files if f.entity == "orders")


def test_cli_writes_files_and_summary(tmp_path, capsys):
    assert (
        gen.main(["--contacts", "150", "--drops", "1", "--seed", "3", "--out", str(tmp_path)]) == 0
    )
    printed = capsys.readouterr().out
    assert "orders" in printed and "total" in printed
    assert (tmp_path / "orders" / "2026-10-31.csv").exists()


# ------------------------------------------------------------------ defects


def test_unparseable_and_future_dates(data):
    ordered = [o["ordered_at"] for o in data["orders"]]
    assert any(v and parse_ts(v) is None for v in ordered), "no unparseable ordered_at"
    assert any(v.startswith("2031") for v in ordered), "no ordered_at in 2031"
    births = [c["birth_date"] for c in data["contacts"] if c["birth_date"]]
    assert any(parse_ts(v) is None for v in births)
    paid = [p["paid_on"] for p in data["payments"]]
    assert any(parse_ts(v) is None for v in paid)
    assert any(r["responded_at"].startswith("2031") for r in data["nps_responses"])


def test_negative_amounts(data):
    assert any(float(r["unit_price"]) < 0 for r in data["order_lines"])
    assert any(float(r["amount"]) < 0 for r in data["payments"])


def test_nps_scores_out_of_range(data):
    scores = {int(r["score"]) for r in data["nps_responses"]}
    assert scores - set(range(11)), "no out-of-range score"
    assert scores & {9, 10} and scores & set(range(7))


def test_orphan_references(data):
    contacts = {c["contact_id"] for c in data["contacts"]}
    products = {p["product_id"] for p in data["products"]}
    orders = {o["order_id"] for o in data["orders"]}
    assert any(o["contact_id"] not in contacts for o in data["orders"])
    assert any(line["product_id"] not in products for line in data["order_lines"])
    # the rest of the references hold
    orphan_lines = [line for line in data["order_lines"] if line["order_id"] not in orders]
    assert not orphan_lines
    invoices = {i["invoice_id"] for i in data["invoices"]}
    assert all(p["invoice_id"] in invoices for p in data["payments"])
    assert all(t["contact_id"] in contacts for t in data["support_tickets"])
    assert all(
        not t["related_order_id"] or t["related_order_id"] in orders
        for t in data["support_tickets"]
    )


def test_resent_rows_and_later_updates(data):
    for entity in ("orders", "order_lines", "contacts", "payments"):
        seen = defaultdict(set)
        for r in data[entity]:
            seen[tuple(v for k, v in r.items() if k != "_file")].add(r["_file"])
        assert any(len(files) > 1 for files in seen.values()), (
            f"no identical re-sent row in {entity}"
        )
    versions = defaultdict(set)
    for c in data["contacts"]:
        versions[c["contact_id"]].add((c["updated_at"], c["city"], c["email"]))
    changed = [cid for cid, v in versions.items() if len(v) > 1]
    assert changed, "no contact updated in a later drop"
    first_drop = {c["contact_id"]: c for c in data["contacts"] if c["_file"].startswith(DROPS[0])}
    later = [
        c
        for c in data["contacts"]
        if not c["_file"].startswith(DROPS[0]) and c["contact_id"] in first_drop
    ]
    assert any(c["updated_at"] > first_drop[c["contact_id"]]["updated_at"] for c in later)


def test_untidy_contact_values(data):
    emails = [c["email"] for c in data["contacts"] if c["email"]]
    assert any(e != e.strip() and e.strip() != e.strip().lower() for e in emails)
    countries = Counter(c["country"] for c in data["contacts"])
    assert any(len(v) > 2 for v in countries), "no country written as a name"
    assert countries.most_common(1)[0][0] in ("IT", "PL")


def test_order_status_versions_across_drops(data):
    statuses = defaultdict(list)
    for o in data["orders"]:
        statuses[o["order_id"]].append(o["status"])
    assert any(len(set(v)) > 1 for v in statuses.values()), "no order changed status between drops"
    final = Counter(o["status"] for o in latest(data["orders"], "order_id").values())
    assert final["delivered"] > final["returned"] > 0 and final["cancelled"] > 0


# ------------------------------------------------------------------ labels and seeds


def read_seed(name: str) -> list[dict]:
    return list(
        csv.DictReader(io.StringIO((PROJECT / "seeds" / f"{name}.csv").read_text(encoding="utf-8")))
    )


def test_seed_files_match_the_generator():
    for name, rows in gen.seed_tables().items():
        on_disk = list(
            csv.reader(io.StringIO((PROJECT / "seeds" / f"{name}.csv").read_text(encoding="utf-8")))
        )
        assert on_disk == [list(r) for r in rows], (
            f"seeds/{name}.csv is out of date: run --write-seeds seeds"
        )


def test_every_emitted_label_is_mapped(data):
    tickets = {
        r["crm_category_label"]: r["canonical_category"] for r in read_seed("ticket_category_map")
    }
    labels = {t["category_label"].strip().lower() for t in data["support_tickets"]}
    assert labels <= tickets.keys(), labels - tickets.keys()
    assert set(tickets.values()) == {
        "question",
        "complaint",
        "document_request",
        "escalation",
        "price_negotiation",
        "out_of_catalogue_request",
        "suggestion",
        "billing",
        "other",
    }
    products = {r["crm_category_label"] for r in read_seed("product_category_map")}
    assert {p["category"].strip().lower() for p in data["products"]} <= products
    countries = {r["country_alias"]: r for r in read_seed("country_codes")}
    assert {c["country"].strip().lower() for c in data["contacts"]} <= countries.keys()
    assert {"it", "italia", "włochy", "pl", "polska", "polonia", "poland", "us"} <= countries.keys()
    assert {r["macro_region"] for r in countries.values()} >= {
        "southern_europe",
        "central_europe",
        "north_america",
    }


# ------------------------------------------------------------------ behaviour classes


def test_prospects_reached_and_engaged(data, orders_by_contact):
    touches = defaultdict(Counter)
    for t in data["marketing_touches"]:
        touches[t["contact_id"]][t["touch_type"]] += 1
    contacts = latest(data["contacts"], "contact_id")
    prospects = [c for c in contacts if c not in orders_by_contact]
    outbound = {"impression", "send"}
    reached = [c for c in prospects if touches[c] and set(touches[c]) <= outbound]
    engaged = [c for c in prospects if set(touches[c]) - outbound]
    assert len(reached) >= 10 and len(engaged) >= 10


def test_gift_internal_b2b_and_reference_buyers(data, orders_by_contact):
    contacts = latest(data["contacts"], "contact_id")
    gifts = [o for o in latest(data["orders"], "order_id").values() if o["is_gift"] == "true"]
    recipients = [
        o for o in gifts if o["consumer_contact_id"] and o["consumer_contact_id"] != o["contact_id"]
    ]
    assert len(recipients) >= 10
    assert all(o["consumer_contact_id"] in contacts for o in recipients)
    internal = [c for c, r in contacts.items() if r["is_internal"] == "true"]
    assert internal and any(c in orders_by_contact for c in internal)
    types = Counter(r["account_type"] for r in contacts.values())
    assert (
        types["purchasing_agent"] >= 3
        and types["business"] >= 3
        and types["consumer"] > CONTACTS / 2
    )
    agents = [c for c, r in contacts.items() if r["account_type"] == "purchasing_agent"]
    units = defaultdict(int)
    order_contact = {o["order_id"]: o["contact_id"] for o in data["orders"]}
    for line in latest(data["order_lines"], "order_line_id").values():
        units[order_contact[line["order_id"]]] += int(line["quantity"])
    median_units = sorted(units.values())[len(units) // 2]
    assert max(units[a] for a in agents) > 10 * median_units
    assert any(r["is_reference_customer"] == "true" for r in contacts.values())


def test_buyer_rhythms(orders_by_contact):
    counts = Counter({c: len(v) for c, v in orders_by_contact.items()})
    assert sum(1 for n in counts.values() if n == 1) >= 10  # one-time buyers
    assert sum(1 for n in counts.values() if n >= 20) >= 10  # regular repeat buyers
    last = {c: max(parse_ts(o["ordered_at"]) for o in v) for c, v in orders_by_contact.items()}
    first = {c: min(parse_ts(o["ordered_at"]) for o in v) for c, v in orders_by_contact.items()}
    lapsed = [c for c in counts if counts[c] >= 3 and (END - last[c]).days > 365]
    recent_first = [c for c in counts if (END - first[c]).days < 90]
    assert len(lapsed) >= 5 and len(recent_first) >= 5
    regained = []
    for c, v in orders_by_contact.items():
        times = sorted(
            parse_ts(o["ordered_at"]) for o in v if not o["ordered_at"].startswith("2031")
        )
        gaps = [(b - a).days for a, b in zip(times, times[1:], strict=False)]
        if gaps and max(gaps) > 300 and (END - times[-1]).days < 90:
            regained.append(c)
    assert len(regained) >= 3


def test_discount_hunters_and_impulsive_buyers(data, orders_by_contact):
    hunters = [
        c
        for c, v in orders_by_contact.items()
        if len(v) >= 3 and sum(bool(o["promo_code"]) for o in v) / len(v) >= 0.7
    ]
    assert len(hunters) >= 5
    lines = Counter(r["order_id"] for r in latest(data["order_lines"], "order_line_id").values())
    touch_times = defaultdict(list)
    for t in data["marketing_touches"]:
        if parse_ts(t["touched_at"]):
            touch_times[t["contact_id"]].append(parse_ts(t["touched_at"]))
    impulsive = 0
    for c, v in orders_by_contact.items():
        if len(v) < 3 or any(lines[o["order_id"]] != 1 for o in v):
            continue
        ordered = [parse_ts(o["ordered_at"]) for o in v]
        if not any(t <= when and (when - t).days < 7 for when in ordered for t in touch_times[c]):
            impulsive += 1
    assert impulsive >= 5


def test_service_behaviour_signals(data, orders_by_contact):
    seed = {
        r["crm_category_label"]: r["canonical_category"] for r in read_seed("ticket_category_map")
    }
    tickets = [
        t for t in latest(data["support_tickets"], "ticket_id").values() if parse_ts(t["opened_at"])
    ]
    by_category = defaultdict(set)
    for t in tickets:
        by_category[seed[t["category_label"].strip().lower()]].add(t["contact_id"])
    for category in (
        "question",
        "complaint",
        "document_request",
        "escalation",
        "price_negotiation",
        "out_of_catalogue_request",
        "suggestion",
        "billing",
    ):
        assert len(by_category[category]) >= 5, category
    off_hours = [
        t
        for t in tickets
        if parse_ts(t["opened_at"]).weekday() >= 5 or not 8 <= parse_ts(t["opened_at"]).hour < 18
    ]
    assert len(off_hours) >= 20
    per_contact = defaultdict(list)
    for t in tickets:
        per_contact[t["contact_id"]].append(t)
    urgent_heavy = [
        c
        for c, v in per_contact.items()
        if len(v) >= 4 and sum(t["is_urgent"] == "true" for t in v) / len(v) > 0.6
    ]
    assert len(urgent_heavy) >= 3
    assert any(int(t["clarification_round_trips"]) >= 5 for t in tickets)
    assert any(t["is_pre_purchase"] == "true" for t in tickets)
    public_low = [
        r
        for r in data["nps_responses"]
        if r["response_source"] == "public_review" and 0 <= int(r["score"]) <= 4
    ]
    assert len(public_low) >= 5
    silent = [c for c, v in orders_by_contact.items() if len(v) >= 5 and c not in per_contact]
    assert len(silent) >= 10


def test_invoices_paid_late_or_never(data):
    paid = defaultdict(list)
    for p in data["payments"]:
        if parse_ts(p["paid_on"]):
            paid[p["invoice_id"]].append(parse_ts(p["paid_on"]))
    invoices = [i for i in latest(data["invoices"], "invoice_id").values() if parse_ts(i["due_on"])]
    late = [
        i
        for i in invoices
        if paid[i["invoice_id"]] and max(paid[i["invoice_id"]]) > parse_ts(i["due_on"])
    ]
    never = [
        i
        for i in invoices
        if not paid[i["invoice_id"]] and parse_ts(i["due_on"]) < dt.datetime(2026, 10, 1)
    ]
    assert len(late) >= 10 and len(never) >= 5


def test_promoters_refer_buyers_and_campaigns_acquire(data, orders_by_contact):
    referred_buyers = [
        r for r in data["referrals"] if r["referred_contact_id"] in orders_by_contact
    ]
    assert len(referred_buyers) >= 5
    referrers = Counter(r["referrer_contact_id"] for r in data["referrals"])
    scores = defaultdict(list)
    for r in data["nps_responses"]:
        scores[r["contact_id"]].append(int(r["score"]))
    assert any(scores[c] and scores[c][-1] >= 9 for c in referrers)
    campaigns = {c["campaign_id"] for c in data["campaigns"]}
    acquired = [c for c in data["contacts"] if c["acquisition_campaign_id"]]
    assert len(acquired) > CONTACTS / 5
    assert {c["acquisition_campaign_id"] for c in acquired} <= campaigns
    assert all(float(c["cost"]) >= 0 for c in data["campaigns"])


def test_products_premium_technology_and_cheap_buyers(data, orders_by_contact):
    products = latest(data["products"], "product_id")
    assert any(p["is_premium"] == "true" for p in products.values())
    assert any(
        p["technology_generation"] and int(p["technology_generation"]) >= 4
        for p in products.values()
    )
    order_contact = {o["order_id"]: o["contact_id"] for o in data["orders"]}
    premium_share = defaultdict(list)
    for line in data["order_lines"]:
        product = products.get(line["product_id"])
        if product:
            premium_share[order_contact[line["order_id"]]].append(product["is_premium"] == "true")
    shares = [sum(v) / len(v) for v in premium_share.values() if len(v) >= 3]
    assert sum(s >= 0.5 for s in shares) >= 5  # premium buyers
    assert sum(s == 0 for s in shares) >= 5  # never premium


def test_currencies_follow_country(data):
    contacts = latest(data["contacts"], "contact_id")
    for o in latest(data["orders"], "order_id").values():
        country = contacts.get(o["contact_id"], {}).get("country", "").strip().lower()
        if country in ("pl", "polska", "poland", "polonia"):
            assert o["currency"].lower() == "pln"
        elif country in ("it", "italia", "italy", "włochy"):
            assert o["currency"].lower() == "eur"
    names = " ".join(c["first_name"] + " " + c["last_name"] for c in contacts.values())
    assert set(names) & POLISH_LETTERS
    assert set(names) & {"ò", "à"}  # Nicolò, Pirrò, Lucà


def test_chunked_generation_keeps_ids_unique_and_references_whole(tmp_path, monkeypatch):
    """Large runs generate orders and what follows in chunks of contacts; ids must continue."""
    monkeypatch.setattr(gen, "CHUNK_CONTACTS", 120)
    out = tmp_path / "chunked"
    run(out, contacts=300, seed=5)
    data = {entity: read(out, entity) for entity in ENTITIES}
    single_version = {
        "order_lines": "order_line_id",
        "invoices": "invoice_id",
        "payments": "payment_id",
        "marketing_touches": "touch_id",
        "nps_responses": "response_id",
    }
    for entity, key in single_version.items():
        contents = defaultdict(set)
        for r in data[entity]:
            contents[r[key]].add(tuple(v for k, v in r.items() if k != "_file"))
        assert all(len(v) == 1 for v in contents.values()), f"{entity}: an id names two rows"
    orders = defaultdict(set)
    for o in data["orders"]:
        orders[o["order_id"]].add((o["contact_id"], o["ordered_at"]))
    assert all(len(v) == 1 for v in orders.values()), "an order id names two orders"
    contacts = {c["contact_id"] for c in data["contacts"]}
    for line in data["order_lines"]:
        assert line["order_id"] in orders
    for invoice in data["invoices"]:
        (buyer, _), *_ = orders[invoice["order_id"]]
        assert buyer == invoice["contact_id"] or buyer not in contacts
    # every chunk of contacts has buyers
    buyers = {int(c[1:]) - 1 for (c, _), *_ in orders.values() if c in contacts}
    assert {b // 120 for b in buyers} == {0, 1, 2}
