"""pytest: scripts/export_marts.py masks personal data by default, driven by metadata.

The customers mart holds no personal data, so the tests add a mart table that does (contact
names, emails, phone, birth dates from staging) to a copy of the refreshed warehouse.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from scripts.export_marts import (
    export_marts,
    meta_pii_columns,
    pii_columns_of,
    write_csv_files,
)
from tests.python.test_refresh import CRAFTED_LANDING, published_refresh


def known_personal_values() -> list[str]:
    with (CRAFTED_LANDING / "contacts" / "2026-07-01.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    values = [r[c] for r in rows for c in ("first_name", "last_name", "email") if r.get(c)]
    assert len(values) > 20
    return values


@pytest.fixture
def db_with_pii(tmp_path_factory, tmp_path) -> Path:
    source = published_refresh(tmp_path_factory) / "published" / "crm.duckdb"
    folder = tmp_path / "db"
    folder.mkdir()
    db = folder / "crm.duckdb"  # same file name: DuckDB views refer to catalog "crm"
    shutil.copy2(source, db)
    with duckdb.connect(str(db)) as con:
        con.execute(
            "create table main_marts.contact_directory as select contact_id, first_name, "
            "last_name, email, birth_date from main_staging.stg_crm__contacts"
        )
    return db


def all_text(folder: Path) -> str:
    """Every exported file's content as text: CSV bytes, Parquet read back through DuckDB."""
    chunks = []
    with duckdb.connect() as con:
        for path in sorted(folder.iterdir()):
            chunks.append(path.read_bytes().decode("utf-8", errors="replace"))
            if path.suffix == ".parquet":
                rows = con.execute(f"select * from read_parquet('{path}')").fetchall()
                chunks.append(repr(rows))
    return "\n".join(chunks)


def test_default_export_masks_personal_data(db_with_pii, tmp_path):
    out = tmp_path / "exports"
    manifest = export_marts(db_with_pii, out, salt="test-salt")
    text = all_text(out)
    leaked = [v for v in known_personal_values() if v in text]
    assert leaked == []
    assert set(manifest["masked_columns"]["contact_directory"]) == {
        "first_name",
        "last_name",
        "email",
        "birth_date",
    }
    assert "customers" not in manifest["masked_columns"]
    # hashed, not blanked: stable and joinable, one distinct hash per distinct email
    with duckdb.connect() as con:
        hashed = con.execute(
            f"select count(distinct email), min(length(email)) "
            f"from read_parquet('{out / 'contact_directory.parquet'}')"
        ).fetchone()
    assert hashed == (12, 64)


def test_manifest_lists_every_file_with_rows_and_checksums(db_with_pii, tmp_path):
    out = tmp_path / "exports"
    manifest = export_marts(db_with_pii, out, salt="s")
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk == manifest
    assert manifest["as_of_date"] == "2026-06-30"
    assert manifest["exported_at"]
    with duckdb.connect(str(db_with_pii), read_only=True) as con:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema='main_marts'"
            ).fetchall()
        ]
        for entry in manifest["files"]:
            path = out / entry["file"]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
            table = entry["table"].split(".")[1]
            expected = con.execute(f'select count(*) from main_marts."{table}"').fetchone()[0]
            assert entry["rows"] == expected
    assert {f["file"] for f in manifest["files"]} == {
        f"{t}.{fmt}" for t in tables for fmt in ("parquet", "csv")
    }


def test_files_hold_the_table_sorted_and_unchanged_data_gives_the_same_bytes(db_with_pii, tmp_path):
    with duckdb.connect(str(db_with_pii)) as con:  # stored in an order unlike the sorted one
        con.execute(
            "create table main_marts.shuffled as select (i * 7919) % 1000 as k, "
            "'row ' || i as label from range(1000) t(i) order by k desc"
        )
        # the first column repeats and has nulls: the other columns decide the order
        con.execute(
            "create table main_marts.ties as select case when i % 10 = 0 then null else "
            "i % 3 end as k, 'row ' || (i % 7) as label, i from range(1000) t(i) order by i desc"
        )
        # the first column repeats, the first two do not: they decide the order alone
        con.execute(
            "create table main_marts.pairs as select i % 4 as day, (i * 37) % 1000 as id, "
            "'row ' || i as label from range(1000) t(i) order by label"
        )
    first = export_marts(db_with_pii, tmp_path / "first", salt="s")
    second = export_marts(db_with_pii, tmp_path / "second", salt="s")
    checksums = [{f["file"]: f["sha256"] for f in m["files"]} for m in (first, second)]
    assert checksums[0] == checksums[1]
    out = tmp_path / "first"
    with duckdb.connect() as con:
        parquet = con.execute(f"select k, label from read_parquet('{out / 'shuffled.parquet'}')")
        rows = parquet.fetchall()
    assert rows == sorted((i * 7919 % 1000, f"row {i}") for i in range(1000))
    with (out / "shuffled.csv").open(encoding="utf-8", newline="") as handle:
        assert [(int(r["k"]), r["label"]) for r in csv.DictReader(handle)] == rows
    with duckdb.connect() as con:
        ties = con.execute(f"select * from read_parquet('{out / 'ties.parquet'}')").fetchall()
    expected = [(None if i % 10 == 0 else i % 3, f"row {i % 7}", i) for i in range(1000)]
    # sorted() of Python: nulls last as DuckDB's default, then label, then i
    assert ties == sorted(expected, key=lambda r: (r[0] is None, r[0] or 0, r[1], r[2]))
    with duckdb.connect() as con:
        pairs = con.execute(f"select * from read_parquet('{out / 'pairs.parquet'}')").fetchall()
    assert pairs == sorted((i % 4, i * 37 % 1000, f"row {i}") for i in range(1000))


@pytest.mark.parametrize("kernel_copy", [True, False], ids=["copy_file_range", "without it"])
def test_csv_written_in_parts_is_the_same_bytes_as_one_copy(tmp_path, monkeypatch, kernel_copy):
    """The CSV writer against DuckDB's own single COPY of the same Parquet file, on values
    that CSV must quote (commas, quotes, line breaks), nulls and empty strings: three parts of
    uneven length (1,000 rows / 3) written at the same time, and one part; the parts joined
    by the kernel, and by Python where the system has no copy_file_range."""
    if not kernel_copy:

        def unsupported(*args, **kwargs):
            raise OSError(errno.ENOSYS, "copy_file_range not implemented")

        monkeypatch.setattr(os, "copy_file_range", unsupported, raising=False)
    parquet = tmp_path / "mart.parquet"
    with duckdb.connect() as con:
        con.execute(
            f"""copy (select i as k, case i % 5 when 0 then null when 1 then '' when 2 then
            'a, "quoted" ' || i when 3 then 'two' || chr(10) || 'lines' else 'plain ' || i end
            as label, i / 7 as ratio, date '2026-01-01' + cast(i as integer) as day
            from range(1000) t(i)) to '{parquet}' (format parquet)"""
        )
        con.execute(
            f"copy (select * from read_parquet('{parquet}')) to "
            f"'{tmp_path / 'one_copy.csv'}' (format csv, header)"
        )
    write_csv_files([(parquet, tmp_path / "parts.csv", 1000)], workers=3, min_rows_per_part=1)
    write_csv_files([(parquet, tmp_path / "single.csv", 1000)], workers=1, min_rows_per_part=1)
    expected = (tmp_path / "one_copy.csv").read_bytes()
    assert expected.count(b"\n") > 1000  # header, rows, and the line breaks inside values
    assert (tmp_path / "parts.csv").read_bytes() == expected
    assert (tmp_path / "single.csv").read_bytes() == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "mart.parquet",
        "one_copy.csv",
        "parts.csv",
        "single.csv",
    ]  # no part files left behind


def test_include_pii_exports_personal_data_in_clear(db_with_pii, tmp_path):
    out = tmp_path / "exports"
    manifest = export_marts(db_with_pii, out, include_pii=True)
    assert manifest["masked_columns"] == {}
    text = all_text(out)
    assert "ilaria@example.it" in (out / "contact_directory.csv").read_text()
    assert all(v in text for v in known_personal_values())


def test_drop_mode_removes_personal_columns(db_with_pii, tmp_path):
    out = tmp_path / "exports"
    export_marts(db_with_pii, out, pii_mode="drop")
    header = (out / "contact_directory.csv").read_text().splitlines()[0]
    assert header == "contact_id"


def test_meta_pii_flag_on_a_mart_column_masks_it(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "_m.yml").write_text(
        "version: 2\nmodels:\n- name: loyalty_cards\n  columns:\n"
        "  - name: card_holder\n    meta: {pii: true}\n"
        "  - name: nickname\n    config: {meta: {pii: true}}\n"
        "  - name: points\n"
    )
    meta = meta_pii_columns(models)
    assert meta == {"loyalty_cards": {"card_holder", "nickname"}}
    columns = ["card_holder", "nickname", "points", "email"]
    assert pii_columns_of("loyalty_cards", columns, {"email"}, meta) == [
        "card_holder",
        "nickname",
        "email",
    ]


def test_refresh_exports_hold_no_personal_data(tmp_path_factory):
    exports = published_refresh(tmp_path_factory) / "published" / "exports"
    text = all_text(exports)
    assert [v for v in known_personal_values() if v in text] == []
