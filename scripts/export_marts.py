"""Export every mart (the tables of the marts schema) to Parquet and CSV with a manifest.

Personal data is masked by default: a column is personal when the extract contract flags a
column of that name `pii: true` (docs/extract_contract.yml: names, email, phone, street
address, birth date) or its mart YAML says `meta: {pii: true}` (models/marts/*.yml, column
`meta` or `config.meta`). Masking replaces the value by sha256(salt || value) in hex, so
exports stay joinable on the hashed value without revealing it; `--pii drop` removes the
columns instead; `--include-pii` exports them in clear (an explicit opt-in).

The salt comes from CRM_PII_SALT, else from <warehouse>/secrets/pii_salt (created once,
random, mode 0600), so hashes are stable from one refresh to the next.

The manifest (manifest.json beside the files) lists file, table, format, rows, sha256 and
bytes of every file, with the as_of_date, exported_at and which columns were masked.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import secrets
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import duckdb
import yaml

from scripts.contract import PROJECT_DIR, load_contract
from scripts.file_checksums import ChecksumCache
from scripts.load_landing import duckdb_settings, env_path, quote_ident, quote_literal

MARTS_SCHEMA = "main_marts"
MARTS_MODELS_DIR = PROJECT_DIR / "models" / "marts"
MANIFEST_NAME = "manifest.json"


def contract_pii_columns() -> set[str]:
    return {
        column.name
        for entity in load_contract().entities.values()
        for column in entity.columns.values()
        if column.pii
    }


def meta_pii_columns(models_dir: Path = MARTS_MODELS_DIR) -> dict[str, set[str]]:
    """{model: {column}} for mart columns whose YAML meta says pii: true."""
    found: dict[str, set[str]] = {}
    for path in sorted(Path(models_dir).rglob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for model in doc.get("models", []) or []:
            for column in model.get("columns", []) or []:
                meta = dict(column.get("meta") or {})
                meta.update((column.get("config") or {}).get("meta") or {})
                if meta.get("pii") is True:
                    found.setdefault(model["name"], set()).add(column["name"])
    return found


def pii_columns_of(
    table: str, columns: list[str], contract_pii: set[str], meta_pii: dict[str, set[str]]
) -> list[str]:
    flagged = contract_pii | meta_pii.get(table, set())
    return [c for c in columns if c.lower() in flagged]


def pii_salt(warehouse_dir: Path) -> str:
    salt = os.environ.get("CRM_PII_SALT")
    if salt:
        return salt
    path = warehouse_dir / "secrets" / "pii_salt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def mart_tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ? "
        "order by table_name",
        [schema],
    ).fetchall()
    return [r[0] for r in rows]


#: A mart's CSV is cut into parts, written at the same time, once each part has this many rows.
CSV_MIN_ROWS_PER_PART = 100_000


@dataclass(frozen=True)
class CsvPart:
    """Rows [first_row, end_row) of a Parquet file, in its order, as CSV."""

    parquet: Path
    first_row: int
    end_row: int
    out: Path
    header: bool


def write_csv_part(part: CsvPart) -> None:
    """Write one part on a DuckDB of its own (in memory, one thread). An order-preserving CSV
    is written on one thread anyway; a second thread only reads the Parquet file ahead into
    memory (one COPY of the 1M customers mart: 1.5 GB with 2 threads, 224 MiB with one), and
    threads of one DuckDB serve its connections' queries one after the other."""
    source = f"read_parquet({quote_literal(str(part.parquet))}, file_row_number = true)"
    query = (
        f"select * exclude (file_row_number) from {source} "
        f"where file_row_number >= {part.first_row} and file_row_number < {part.end_row}"
    )
    header = "true" if part.header else "false"
    with tempfile.TemporaryDirectory(prefix="crm-csv-part-") as spill:
        config = {**duckdb_settings(), "threads": 1, "temp_directory": spill}
        with duckdb.connect(config=config) as con:
            con.execute("set enable_progress_bar = false")  # parts' bars would interleave
            con.execute(
                f"copy ({query}) to {quote_literal(str(part.out))} (format csv, header {header})"
            )


#: What copy_file_range fails with where the kernel or file system cannot do it.
COPY_FILE_RANGE_UNSUPPORTED = (errno.ENOSYS, errno.EXDEV, errno.EOPNOTSUPP, errno.EINVAL)


def append_file(source: Path, joined: BinaryIO) -> None:
    """Append the bytes of `source` at `joined`'s position, in the kernel where the system
    can (os.copy_file_range, Linux): appending the 1M export's second CSV parts (1 GB) took
    1.6-6.2 s through Python's buffers, 0.4-0.7 s so. `joined` must not be opened for
    append ("ab"): copy_file_range refuses such a file."""
    with source.open("rb") as written:
        joined.flush()
        remaining = os.fstat(written.fileno()).st_size
        while remaining > 0 and hasattr(os, "copy_file_range"):
            try:
                copied = os.copy_file_range(written.fileno(), joined.fileno(), remaining)
            except OSError as error:
                # a system without it says so on the first call, before a byte moved: the
                # copy then goes through Python
                started = remaining < os.fstat(written.fileno()).st_size
                if started or error.errno not in COPY_FILE_RANGE_UNSUPPORTED:
                    raise
                break
            if copied == 0:
                raise OSError(f"{source} ended {remaining} bytes early while appending it")
            remaining -= copied
        if remaining > 0:
            joined.seek(0, os.SEEK_END)
            shutil.copyfileobj(written, joined, 1 << 24)


def write_csv_files(
    sources: list[tuple[Path, Path, int]],
    workers: int,
    min_rows_per_part: int = CSV_MIN_ROWS_PER_PART,
) -> None:
    """Write each (Parquet file, CSV file, rows) source's rows, in the file's order, as CSV
    with a header.

    DuckDB writes an order-preserving CSV on one thread (the customers mart at 1M contacts:
    16 s for 1.5 GB while the other core idles). So a large file's rows are cut into
    consecutive ranges of its row numbers, up to one per worker, `workers` threads write the
    parts of every file at the same time, each on a DuckDB of its own (only a file's first
    part with the header), and each file's parts are appended in order: the same bytes as
    one COPY (the customers mart: 7.9 s, 359 MiB, against 16 s and 1.5 GB).
    """
    jobs: list[tuple[Path, list[CsvPart]]] = []
    for parquet, csv, rows in sources:
        count = max(1, min(workers, rows // max(min_rows_per_part, 1)))
        bounds = [rows * i // count for i in range(count + 1)]
        parts = [
            CsvPart(parquet, bounds[i], bounds[i + 1], csv.with_name(f"{csv.name}.part{i}"), i == 0)
            for i in range(count)
        ]
        jobs.append((csv, parts))
    every_part = [part for _, parts in jobs for part in parts]
    try:
        with ThreadPoolExecutor(max(workers, 1)) as pool:
            list(pool.map(write_csv_part, every_part))
        for csv, (first, *rest) in jobs:
            # The first part becomes the file and the others are appended: copying every
            # part once more took 4.4 s of the 1M export (2 GB of CSV written twice).
            os.replace(first.out, csv)
            with csv.open("r+b") as joined:
                joined.seek(0, os.SEEK_END)
                for part in rest:
                    append_file(part.out, joined)
    finally:
        for part in every_part:
            part.out.unlink(missing_ok=True)


#: How many leading columns may make up the key that orders an export (unique_order_key).
ORDER_KEY_MAX_COLUMNS = 2


def unique_order_key(
    con: duckdb.DuckDBPyConnection, rows_query: str, columns: int
) -> list[int] | None:
    """The positions of the fewest leading columns, up to ORDER_KEY_MAX_COLUMNS, that hold no
    nulls and no repeated combination: sorted on them, the rows are in the order all columns
    give (and sorting the customers mart on one key instead of 164 made its Parquet file
    2.5 s faster at 1M contacts). None when there are none: the export sorts on all."""
    widest = min(columns, ORDER_KEY_MAX_COLUMNS)
    if widest == 0:
        return None
    checks = [
        f"count(*) = count(distinct ({', '.join(f'#{i}' for i in range(1, n + 1))}))"
        + "".join(f" and count(*) = count(#{i})" for i in range(1, n + 1))
        for n in range(1, widest + 1)
    ]
    unique = con.execute(f"select {', '.join(checks)} from ({rows_query}) as exported").fetchone()
    for n, is_key in enumerate(unique, start=1):
        if is_key:
            return list(range(1, n + 1))
    return None


def export_marts(
    db_path: Path,
    out_dir: Path,
    *,
    include_pii: bool = False,
    pii_mode: str = "hash",
    salt: str | None = None,
    schema: str = MARTS_SCHEMA,
) -> dict:
    """Write <out_dir>/<table>.parquet and .csv for every mart, and the manifest; return it."""
    if not include_pii and pii_mode == "hash" and not salt:
        raise ValueError("hashing personal data needs a salt")
    out_dir.mkdir(parents=True, exist_ok=True)
    contract_pii = contract_pii_columns()
    meta_pii = meta_pii_columns()
    files = []
    written: list[tuple[str, Path, Path, int]] = []
    masked: dict[str, list[str]] = {}
    as_of_date = None
    # bounded like every other connection: ordering a 1M-row mart took 3.9 GB unbounded
    with duckdb.connect(str(db_path), read_only=True, config=duckdb_settings()) as con:
        tables = mart_tables(con, schema)
        if not tables:
            raise RuntimeError(f"no tables in schema {schema} of {db_path}: nothing to export")
        if "customers" in tables:
            value = con.execute(f"select max(as_of_date) from {schema}.customers").fetchone()[0]
            as_of_date = value.isoformat() if value is not None else None
        for table in tables:
            columns = [
                r[0] for r in con.execute(f"describe {schema}.{quote_ident(table)}").fetchall()
            ]
            personal = [] if include_pii else pii_columns_of(table, columns, contract_pii, meta_pii)
            if personal:
                masked[table] = personal
            select = []
            for column in columns:
                ident = quote_ident(column)
                if column not in personal:
                    select.append(ident)
                elif pii_mode == "hash":
                    select.append(
                        f"case when {ident} is null then null else sha256("
                        f"{quote_literal(salt)} || cast({ident} as varchar)) end as {ident}"
                    )
                # pii_mode == "drop": left out
            # Sorted, so that unchanged data gives byte-identical files; the sort is the
            # expensive part (a 1M-row mart), so it runs once, into the Parquet file, and the
            # CSV is written from that file below, whose row order a read keeps.
            rows_of_table = f"select {', '.join(select)} from {schema}.{quote_ident(table)}"
            key = unique_order_key(con, rows_of_table, len(select))
            order = "all" if key is None else ", ".join(map(str, key))
            query = f"{rows_of_table} order by {order}"
            parquet = out_dir / f"{table}.parquet"
            con.execute(f"copy ({query}) to {quote_literal(str(parquet))} (format parquet)")
            rows = con.execute(
                f"select count(*) from read_parquet({quote_literal(str(parquet))})"
            ).fetchone()[0]
            written.append((table, parquet, out_dir / f"{table}.csv", int(rows)))
        workers = int(con.execute("select current_setting('threads')").fetchone()[0])
    # After the warehouse is closed, so that the sorts' memory is given back first.
    write_csv_files([(parquet, csv, rows) for _, parquet, csv, rows in written], workers)
    # Hashed `workers` at a time: the 1M export's 2.3 GB took 1.9-2.5 s on one thread, 1.3 s on two.
    checksums = ChecksumCache(None).checksums(
        [target for _, parquet, csv, _ in written for target in (parquet, csv)], workers
    )
    for table, parquet, csv, rows in written:
        for target, fmt in ((parquet, "parquet"), (csv, "csv")):
            files.append(
                {
                    "file": target.name,
                    "table": f"{schema}.{table}",
                    "format": fmt,
                    "rows": rows,
                    "sha256": checksums[target],
                    "bytes": target.stat().st_size,
                }
            )
    manifest = {
        "as_of_date": as_of_date,
        "exported_at": datetime.now(UTC).isoformat(),
        "source": str(db_path),
        "personal_data": "included in clear"
        if include_pii
        else f"masked ({pii_mode}) in the columns listed under masked_columns",
        "masked_columns": masked,
        "files": files,
    }
    (out_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    warehouse = PROJECT_DIR / "warehouse"
    parser.add_argument(
        "--db", type=Path, default=env_path("CRM_DUCKDB_PATH", warehouse / "crm.duckdb")
    )
    parser.add_argument("--out", type=Path, default=warehouse / "exports")
    parser.add_argument(
        "--include-pii", action="store_true", help="export personal data in clear (opt-in)"
    )
    parser.add_argument("--pii", choices=["hash", "drop"], default="hash", dest="pii_mode")
    args = parser.parse_args(argv)
    salt = None if args.include_pii else pii_salt(args.db.resolve().parent)
    manifest = export_marts(
        args.db, args.out, include_pii=args.include_pii, pii_mode=args.pii_mode, salt=salt
    )
    for entry in manifest["files"]:
        print(f"{entry['file']}: {entry['rows']} rows, sha256 {entry['sha256'][:12]}")
    print(f"masked: {manifest['masked_columns'] or 'none'}; manifest: {args.out / MANIFEST_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
