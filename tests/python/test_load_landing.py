"""The loader's behaviour on good and broken landing files (DuckDB target)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import pytest

from scripts.load_landing import load_landing

CONTACT_HEADER = [
    "contact_id",
    "first_name",
    "last_name",
    "account_type",
    "created_at",
    "updated_at",
]
ORDER_HEADER = [
    "order_id",
    "contact_id",
    "ordered_at",
    "channel",
    "status",
    "currency",
    "updated_at",
]


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding="utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def contact_row(contact_id: str, first: str = "Anna", last: str = "Rossi") -> list[str]:
    return [contact_id, first, last, "consumer", "2026-01-01 10:00:00", "2026-01-01 10:00:00"]


def order_row(order_id: str, contact_id: str = "C1") -> list[str]:
    return [
        order_id,
        contact_id,
        "2026-02-01 12:00:00",
        "web",
        "paid",
        "EUR",
        "2026-02-01 12:00:00",
    ]


@pytest.fixture
def warehouse(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "warehouse" / "crm.duckdb"
    monkeypatch.setenv("CRM_DUCKDB_PATH", str(path))
    monkeypatch.setenv("CRM_QUARANTINE_DIR", str(tmp_path / "quarantine"))
    return path


def query(path: Path, sql: str):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def outcome_by_file(outcomes):
    return {o.source_file: o for o in outcomes}


def test_good_files_load_with_lineage(tmp_path, warehouse):
    landing = tmp_path / "landing"
    write_csv(
        landing / "contacts/2026-11-01.csv", CONTACT_HEADER, [contact_row("C1"), contact_row("C2")]
    )
    write_csv(
        landing / "orders/2026-11-01.csv",
        ORDER_HEADER,
        [order_row("O1"), order_row("O2"), order_row("O3")],
    )

    outcomes = outcome_by_file(load_landing(landing))

    assert outcomes["contacts/2026-11-01.csv"].status == "loaded"
    assert outcomes["orders/2026-11-01.csv"].rows == 3
    rows = query(
        warehouse,
        "select order_id, _source_file, _source_row_number, promo_code from raw.orders order by 1",
    )
    assert rows == [
        ("O1", "orders/2026-11-01.csv", 1, None),
        ("O2", "orders/2026-11-01.csv", 2, None),
        ("O3", "orders/2026-11-01.csv", 3, None),
    ]
    manifest = query(
        warehouse, "select entity, status, rows_loaded from raw.load_manifest order by 1"
    )
    assert manifest == [("contacts", "loaded", 2), ("orders", "loaded", 3)]


def test_rerun_loads_nothing_twice_and_a_new_drop_loads_alone(tmp_path, warehouse):
    landing = tmp_path / "landing"
    write_csv(landing / "orders/2026-11-01.csv", ORDER_HEADER, [order_row("O1")])
    load_landing(landing)

    again = load_landing(landing)
    assert [o.status for o in again] == ["skipped"]

    write_csv(landing / "orders/2026-11-02.csv", ORDER_HEADER, [order_row("O2"), order_row("O3")])
    third = outcome_by_file(load_landing(landing))
    assert third["orders/2026-11-01.csv"].status == "skipped"
    assert third["orders/2026-11-02.csv"].status == "loaded"
    assert query(warehouse, "select count(*) from raw.orders") == [(3,)]
    assert query(warehouse, "select count(distinct _load_id) from raw.orders") == [(2,)]


def test_missing_required_column_refuses_the_file_and_the_rest_loads(tmp_path, warehouse):
    landing = tmp_path / "landing"
    header = [c for c in ORDER_HEADER if c != "status"]
    write_csv(
        landing / "orders/2026-11-01.csv",
        header,
        [["O1", "C1", "2026-02-01", "web", "EUR", "2026-02-01"]],
    )
    write_csv(landing / "contacts/2026-11-01.csv", CONTACT_HEADER, [contact_row("C1")])

    outcomes = outcome_by_file(load_landing(landing))

    refused = outcomes["orders/2026-11-01.csv"]
    assert refused.status == "refused"
    assert "orders/2026-11-01.csv" in refused.message
    assert "status" in refused.message
    assert outcomes["contacts/2026-11-01.csv"].status == "loaded"
    assert query(warehouse, "select count(*) from raw.orders") == [(0,)]
    assert query(warehouse, "select status from raw.load_manifest where entity = 'orders'") == [
        ("refused",)
    ]
    quarantined = tmp_path / "quarantine" / "orders" / "2026-11-01.csv"
    assert quarantined.exists()
    assert "status" in quarantined.with_name("2026-11-01.csv.reason.txt").read_text()
    # A refused file is not retried until its content changes.
    assert [o.status for o in load_landing(landing) if o.entity == "orders"] == ["skipped"]


def test_declared_windows_1250_keeps_polish_names(tmp_path, warehouse):
    landing = tmp_path / "landing"
    names = [("Łukasz", "Wiśniewski"), ("Małgorzata", "Dąbrowska"), ("Żaneta", "Szymańska")]
    rows = [contact_row(f"C{i}", first, last) for i, (first, last) in enumerate(names)]
    path = write_csv(
        landing / "contacts/2026-11-01.windows-1250.csv", CONTACT_HEADER, rows, "cp1250"
    )
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")

    outcomes = load_landing(landing)

    assert [o.status for o in outcomes] == ["loaded"]
    loaded = query(warehouse, "select first_name, last_name from raw.contacts order by contact_id")
    assert loaded == names


def test_windows_1252_italian_names(tmp_path, warehouse):
    landing = tmp_path / "landing"
    names = [("Nicolò", "Caffè"), ("Ludovica", "Bellò")]
    rows = [contact_row(f"C{i}", first, last) for i, (first, last) in enumerate(names)]
    write_csv(landing / "contacts/2026-11-01.windows-1252.csv", CONTACT_HEADER, rows, "cp1252")
    load_landing(landing)
    assert query(warehouse, "select first_name, last_name from raw.contacts order by 1") == sorted(
        names
    )


def test_undeclared_legacy_encoding_is_refused_with_advice(tmp_path, warehouse):
    landing = tmp_path / "landing"
    write_csv(
        landing / "contacts/2026-11-01.csv", CONTACT_HEADER, [contact_row("C1", "Łukasz")], "cp1250"
    )
    [outcome] = load_landing(landing)
    assert outcome.status == "refused"
    assert "not valid UTF-8" in outcome.message
    assert "2026-11-01.windows-1250.csv" in outcome.message


def test_utf8_with_bom_reads_the_first_column(tmp_path, warehouse):
    landing = tmp_path / "landing"
    path = write_csv(
        landing / "contacts/2026-11-01.csv", CONTACT_HEADER, [contact_row("C1", "Nicolò")]
    )
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    [outcome] = load_landing(landing)
    assert outcome.status == "loaded"
    assert query(warehouse, "select contact_id, first_name from raw.contacts") == [("C1", "Nicolò")]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("2026-11-01.csv", b"", "empty file"),
        ("2026-11-01.csv", ",".join(ORDER_HEADER).encode() + b"\n", "no data rows"),
        ("2026-11-01.xlsx", b"PK\x03\x04 not a csv", "not a CSV or Parquet"),
        ("2026-11-01.parquet", b"this is not parquet", "not a readable Parquet"),
        (
            "2026-11-01.csv",
            (",".join(ORDER_HEADER) + '\nO1,C1,"2026-02-01,web,paid,EUR,x\n').encode(),
            "not a well-formed CSV",
        ),
    ],
)
def test_broken_files_are_refused_with_the_file_named(tmp_path, warehouse, name, content, expected):
    landing = tmp_path / "landing"
    (landing / "orders").mkdir(parents=True)
    (landing / "orders" / name).write_bytes(content)
    [outcome] = load_landing(landing)
    assert outcome.status == "refused"
    assert outcome.message.startswith(f"orders/{name}:")
    assert expected in outcome.message


def test_unknown_entity_folder_is_refused(tmp_path, warehouse):
    landing = tmp_path / "landing"
    write_csv(landing / "leads/2026-11-01.csv", CONTACT_HEADER, [contact_row("C1")])
    [outcome] = load_landing(landing)
    assert outcome.status == "refused"
    assert "not an entity of the contract" in outcome.message


def test_parquet_and_unknown_columns(tmp_path, warehouse):
    landing = tmp_path / "landing"
    (landing / "orders").mkdir(parents=True)
    target = landing / "orders" / "2026-11-01.parquet"
    with duckdb.connect() as con:
        con.execute(
            f"""copy (select 'O9' as order_id, 'C1' as contact_id,
                       timestamp '2026-02-01 12:00:00' as ordered_at, 'web' as channel,
                       'paid' as status, 'EUR' as currency,
                       timestamp '2026-02-01 12:00:00' as updated_at, 42 as loyalty_points)
                to '{target}' (format parquet)"""
        )
    [outcome] = load_landing(landing)
    assert outcome.status == "loaded"
    assert "loyalty_points" in outcome.message
    assert query(warehouse, "select order_id, ordered_at, status from raw.orders") == [
        ("O9", "2026-02-01 12:00:00", "paid")
    ]


def test_line_numbers_of_a_file_large_enough_to_be_read_in_parallel(tmp_path, warehouse):
    """DuckDB stages a file of about a million rows on several threads, and the raw rows are
    appended in any order; each row must still carry its own line number. The small file
    loaded first checks that the second one is staged in order again after that append. On a
    machine with one core DuckDB stages every file in order, and this checks less."""
    landing = tmp_path / "landing"
    write_csv(landing / "orders/2026-11-01.csv", ORDER_HEADER, [order_row("O1")])
    lines = 1_000_000  # smaller files were staged on one thread here, in order either way
    big = landing / "orders/2026-11-02.csv"
    with big.open("w", encoding="utf-8") as out:
        out.write(",".join(ORDER_HEADER) + "\n")
        tail = ",".join(order_row("")[1:])
        out.writelines(f"L{line},{tail}\n" for line in range(1, lines + 1))

    outcomes = outcome_by_file(load_landing(landing))

    assert outcomes["orders/2026-11-02.csv"].rows == lines
    [(rows, misnumbered)] = query(
        warehouse,
        "select count(*), count(*) filter (where order_id <> 'L' || _source_row_number) "
        "from raw.orders where _source_file = 'orders/2026-11-02.csv'",
    )
    assert (rows, misnumbered) == (lines, 0)
