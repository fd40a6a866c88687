"""Load new landing files into the raw schema of the warehouse.

Every file under <landing>/<entity>/ (CSV or Parquet, many drops per entity) is read once,
checked against the extract contract (docs/extract_contract.yml) and appended to
raw.<entity> with its lineage: source file, row number, load id and load time. A manifest
(raw.load_manifest) records every file with its checksum, so a re-run loads nothing twice.
A broken file is refused with a message naming the file and the problem, copied to the
quarantine folder, recorded in the manifest, and the other files still load.

DuckDB is the reader for every engine: it parses CSV and Parquet fast and identically
everywhere. Rows are then written with the target's own bulk path: a direct insert into the
DuckDB file, COPY ... FROM STDIN on PostgreSQL, Parquet files under the Spark raw folder
(registered as tables by the dbt on-run-start hook).
"""

from __future__ import annotations

import argparse
import codecs
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from scripts.contract import PROJECT_DIR, EntitySpec, load_contract
from scripts.file_checksums import ChecksumCache

DEFAULT_LANDING_DIR = PROJECT_DIR / "data" / "sample" / "landing"
SUPPORTED_SUFFIXES = (".csv", ".parquet")
MANIFEST_TABLE = "load_manifest"
# Spark needs a schema even for an entity with no files yet; file names starting with "_"
# are invisible to Spark, so the placeholder is an ordinary name.
EMPTY_SCHEMA_FILE = "0-empty-schema.parquet"
MANIFEST_COLUMNS = (
    "load_id",
    "entity",
    "source_file",
    "file_checksum",
    "file_bytes",
    "status",
    "rows_loaded",
    "message",
    "loaded_at",
)


class FileRefused(Exception):
    """A landing file that breaks the contract as a whole; the message says why and what to do."""


@dataclass
class FileOutcome:
    entity: str
    source_file: str
    status: str  # loaded | refused | skipped
    rows: int = 0
    message: str = ""


def env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value) if value else default


def declared_encoding(path: Path, declared: Iterable[str]) -> str:
    """The encoding a file declares in its name (orders/2026-11-01.windows-1250.csv)."""
    suffixes = [s.lstrip(".").lower() for s in path.suffixes[:-1]]
    for suffix in reversed(suffixes):
        if suffix in declared:
            return suffix
    return "utf-8"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def discover_files(landing_dir: Path) -> list[tuple[str, Path]]:
    """Every candidate file as (entity folder name, path), in a stable order."""
    found = []
    for entity_dir in sorted(p for p in landing_dir.iterdir() if p.is_dir()):
        for path in sorted(p for p in entity_dir.rglob("*") if p.is_file()):
            if path.name.startswith(".") or path.name.lower().endswith(".md"):
                continue
            found.append((entity_dir.name, path))
    return found


class LandingReader:
    """Reads one landing file into a DuckDB temp table `landing_file`, all columns as text."""

    def __init__(self, con: duckdb.DuckDBPyConnection, declared_encodings: Iterable[str]):
        self.con = con
        self.declared_encodings = tuple(declared_encodings)

    def read(self, path: Path, entity: EntitySpec, display_name: str) -> tuple[list[str], str]:
        """Stage the file; return the contract columns it provides and a note on extras."""
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            raise FileRefused(
                f"{display_name}: not a CSV or Parquet file (extension {path.suffix or 'none'}); "
                "drop files as <entity>/<name>.csv or .parquet"
            )
        if path.stat().st_size == 0:
            raise FileRefused(f"{display_name}: empty file (0 bytes); re-export it with data")
        self.con.execute("drop table if exists landing_file")
        if path.suffix.lower() == ".parquet":
            self._read_parquet(path, display_name)
        else:
            self._read_csv(path, display_name)
        return self._check_columns(entity, display_name)

    def _read_parquet(self, path: Path, display_name: str) -> None:
        try:
            described = self.con.execute(
                f"describe select * from read_parquet({quote_literal(str(path))})"
            ).fetchall()
            casts = ", ".join(
                f"cast({quote_ident(name)} as varchar) as {quote_ident(name.strip().lower())}"
                for name, *_ in described
            )
            self.con.execute(
                f"create temp table landing_file as select {casts} "
                f"from read_parquet({quote_literal(str(path))})"
            )
        except duckdb.Error as exc:
            raise FileRefused(f"{display_name}: not a readable Parquet file ({exc})") from exc

    def _read_csv(self, path: Path, display_name: str) -> None:
        encoding = declared_encoding(path, self.declared_encodings)
        with tempfile.TemporaryDirectory() as tmp:
            source = path
            if encoding != "utf-8":
                source = Path(tmp) / "decoded.csv"
                try:
                    text = path.read_bytes().decode(encoding)
                except UnicodeDecodeError as exc:
                    raise FileRefused(
                        f"{display_name}: cannot be decoded as the declared {encoding} "
                        f"(byte {exc.start}); check the export's encoding"
                    ) from exc
                source.write_text(text, encoding="utf-8")
            else:
                self._check_utf8(path, display_name)
            options = (
                "header = true, all_varchar = true, delim = ',', quote = '\"', "
                "escape = '\"', strict_mode = true, null_padding = false, "
                "auto_detect = true, sample_size = -1"
            )
            try:
                self.con.execute(
                    "create temp table landing_file as select * from "
                    f"read_csv({quote_literal(str(source))}, {options})"
                )
            except duckdb.Error as exc:
                first_line = str(exc).strip().splitlines()[0]
                raise FileRefused(
                    f"{display_name}: not a well-formed CSV file ({first_line})"
                ) from exc
        columns = [r[0] for r in self.con.execute("describe landing_file").fetchall()]
        renames = {c: c.strip().lower().lstrip("\ufeff") for c in columns}
        if len(set(renames.values())) != len(renames):
            raise FileRefused(f"{display_name}: the header repeats a column name ({columns})")
        for old, new in renames.items():
            if old != new:
                self.con.execute(
                    "alter table landing_file rename column "
                    f"{quote_ident(old)} to {quote_ident(new)}"
                )

    @staticmethod
    def _check_utf8(path: Path, display_name: str) -> None:
        decoder_errors = None
        offset = 0
        with path.open("rb") as handle:
            decoder = codecs.getincrementaldecoder("utf-8")()
            for block in iter(lambda: handle.read(1 << 20), b""):
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:
                    decoder_errors = offset + exc.start
                    break
                offset += len(block)
        if decoder_errors is not None:
            raise FileRefused(
                f"{display_name}: not valid UTF-8 (first bad byte at offset {decoder_errors}). "
                "If the export is Windows-1250 or Windows-1252, declare it in the file name, "
                f"e.g. {path.stem}.windows-1250{path.suffix}"
            )

    def _check_columns(self, entity: EntitySpec, display_name: str) -> tuple[list[str], str]:
        present = [r[0] for r in self.con.execute("describe landing_file").fetchall()]
        missing = [c for c in entity.required_columns if c not in present]
        if missing:
            raise FileRefused(
                f"{display_name}: missing required column(s) {', '.join(missing)}; "
                f"the contract for {entity.name} requires {', '.join(entity.required_columns)}"
            )
        rows = self.con.execute("select count(*) from landing_file").fetchone()[0]
        if rows == 0:
            raise FileRefused(f"{display_name}: header only, no data rows")
        unknown = [c for c in present if c not in entity.columns]
        note = f"ignored unknown column(s): {', '.join(unknown)}" if unknown else ""
        return [c for c in entity.columns if c in present], note

    def select_for_raw(
        self, entity: EntitySpec, present: list[str], source_file: str, load_id: str, loaded_at
    ) -> str:
        """SELECT producing the raw table's columns from the staged file, in contract order."""
        values = [
            quote_ident(c) if c in present else f"cast(null as varchar) as {quote_ident(c)}"
            for c in entity.columns
        ]
        values += [
            f"{quote_literal(source_file)} as _source_file",
            "cast(rowid + 1 as bigint) as _source_row_number",
            f"{quote_literal(load_id)} as _load_id",
            f"timestamp {quote_literal(loaded_at.strftime('%Y-%m-%d %H:%M:%S.%f'))} as _loaded_at",
        ]
        return f"select {', '.join(values)} from landing_file"


def raw_column_types(entity: EntitySpec) -> list[tuple[str, str]]:
    return [(c, "text") for c in entity.columns] + [
        ("_source_file", "text"),
        ("_source_row_number", "bigint"),
        ("_load_id", "text"),
        ("_loaded_at", "timestamp"),
    ]


MANIFEST_TYPES = [
    ("load_id", "text"),
    ("entity", "text"),
    ("source_file", "text"),
    ("file_checksum", "text"),
    ("file_bytes", "bigint"),
    ("status", "text"),
    ("rows_loaded", "bigint"),
    ("message", "text"),
    ("loaded_at", "timestamp"),
]


class DuckDBTarget:
    """Raw tables inside the warehouse DuckDB file; the reader works in the same connection."""

    def __init__(self, path: Path, schema: str):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(str(path), config=duckdb_settings())
        self.schema = schema
        self.con.execute(f"create schema if not exists {quote_ident(schema)}")

    def ensure_tables(self, entities: Iterable[EntitySpec]) -> None:
        for entity in entities:
            self._create(entity.name, raw_column_types(entity))
        self._create(MANIFEST_TABLE, MANIFEST_TYPES)

    def _create(self, table: str, columns: list[tuple[str, str]]) -> None:
        cols = ", ".join(f"{quote_ident(c)} {t.replace('text', 'varchar')}" for c, t in columns)
        self.con.execute(f"create table if not exists {self._table(table)} ({cols})")

    def _table(self, name: str) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(name)}"

    def manifest(self) -> set[tuple[str, str]]:
        rows = self.con.execute(
            f"select source_file, file_checksum from {self._table(MANIFEST_TABLE)}"
        ).fetchall()
        return {(r[0], r[1]) for r in rows}

    def write(self, entity: EntitySpec, select_sql: str, manifest_row: dict) -> None:
        # The raw rows may be stored in any order: their line numbers are the staged file's
        # row ids (select_for_raw), fixed when it was staged. Appended in order, a large file
        # made DuckDB rewrite the table when the load committed (the 1M landing: 89 s to
        # load, 20 s of it in two commits and the close; docs/decisions.md). The setting is
        # the database's, and the next file's staging needs the order back: its row ids must
        # be its line numbers.
        self.con.execute("set preserve_insertion_order = false")
        try:
            self.con.execute("begin transaction")
            try:
                if select_sql:
                    self.con.execute(f"insert into {self._table(entity.name)} {select_sql}")
                self._insert_manifest(manifest_row)
                self.con.execute("commit")
            except Exception:
                self.con.execute("rollback")
                raise
        finally:
            self.con.execute("reset preserve_insertion_order")

    def record_refusal(self, manifest_row: dict) -> None:
        self._insert_manifest(manifest_row)

    def _insert_manifest(self, row: dict) -> None:
        placeholders = ", ".join("?" for _ in MANIFEST_COLUMNS)
        self.con.execute(
            f"insert into {self._table(MANIFEST_TABLE)} values ({placeholders})",
            [row[c] for c in MANIFEST_COLUMNS],
        )

    def close(self) -> None:
        self.con.close()


class PostgresTarget:
    """Raw tables in PostgreSQL, filled with COPY FROM STDIN (its bulk path)."""

    def __init__(self, reader_con: duckdb.DuckDBPyConnection, schema: str):
        import psycopg2

        self.reader_con = reader_con
        self.schema = schema
        self.pg = psycopg2.connect(
            host=os.environ.get("CRM_PG_HOST", "127.0.0.1"),
            port=int(os.environ.get("CRM_PG_PORT", "5432")),
            user=os.environ.get("CRM_PG_USER", "postgres"),
            password=os.environ.get("CRM_PG_PASSWORD", ""),
            dbname=os.environ.get("CRM_PG_DBNAME", "crm_warehouse"),
        )
        with self.pg, self.pg.cursor() as cur:
            cur.execute(f"create schema if not exists {quote_ident(schema)}")

    def _table(self, name: str) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(name)}"

    def ensure_tables(self, entities: Iterable[EntitySpec]) -> None:
        with self.pg, self.pg.cursor() as cur:
            for entity in entities:
                cols = ", ".join(f"{quote_ident(c)} {t}" for c, t in raw_column_types(entity))
                cur.execute(f"create table if not exists {self._table(entity.name)} ({cols})")
            cols = ", ".join(f"{quote_ident(c)} {t}" for c, t in MANIFEST_TYPES)
            cur.execute(f"create table if not exists {self._table(MANIFEST_TABLE)} ({cols})")

    def manifest(self) -> set[tuple[str, str]]:
        with self.pg.cursor() as cur:
            cur.execute(f"select source_file, file_checksum from {self._table(MANIFEST_TABLE)}")
            return {(r[0], r[1]) for r in cur.fetchall()}

    def write(self, entity: EntitySpec, select_sql: str, manifest_row: dict) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            csv_path = Path(tmp) / "rows.csv"
            self.reader_con.execute(
                f"copy ({select_sql}) to {quote_literal(str(csv_path))} "
                "(format csv, header true, timestampformat '%Y-%m-%d %H:%M:%S.%f')"
            )
            columns = ", ".join(quote_ident(c) for c, _ in raw_column_types(entity))
            with self.pg, self.pg.cursor() as cur, csv_path.open("r", encoding="utf-8") as fh:
                cur.copy_expert(
                    f"copy {self._table(entity.name)} ({columns}) "
                    "from stdin with (format csv, header true)",
                    fh,
                )
                self._insert_manifest(cur, manifest_row)

    def record_refusal(self, manifest_row: dict) -> None:
        with self.pg, self.pg.cursor() as cur:
            self._insert_manifest(cur, manifest_row)

    def _insert_manifest(self, cur, row: dict) -> None:
        placeholders = ", ".join("%s" for _ in MANIFEST_COLUMNS)
        cur.execute(
            f"insert into {self._table(MANIFEST_TABLE)} values ({placeholders})",
            [row[c] for c in MANIFEST_COLUMNS],
        )

    def close(self) -> None:
        self.pg.close()


class SparkTarget:
    """Parquet files under <raw dir>/<entity>/, one per loaded file.

    The dbt on-run-start hook registers each folder as table raw.<entity>, so neither the
    loader nor the tests need a JVM of their own for loading.
    """

    def __init__(self, reader_con: duckdb.DuckDBPyConnection, raw_dir: Path):
        self.reader_con = reader_con
        self.raw_dir = raw_dir
        raw_dir.mkdir(parents=True, exist_ok=True)

    def ensure_tables(self, entities: Iterable[EntitySpec]) -> None:
        # An empty entity still needs a schema for Spark to read: an empty Parquet file.
        for entity in entities:
            folder = self.raw_dir / entity.name
            if not any(folder.glob("*.parquet")):
                cols = ", ".join(
                    f"cast(null as {t.replace('text', 'varchar')}) as {quote_ident(c)}"
                    for c, t in raw_column_types(entity)
                )
                self._write_parquet(f"select {cols} where false", folder / EMPTY_SCHEMA_FILE)
        folder = self.raw_dir / MANIFEST_TABLE
        if not any(folder.glob("*.parquet")):
            cols = ", ".join(
                f"cast(null as {t.replace('text', 'varchar')}) as {quote_ident(c)}"
                for c, t in MANIFEST_TYPES
            )
            self._write_parquet(f"select {cols} where false", folder / EMPTY_SCHEMA_FILE)

    def _write_parquet(self, select_sql: str, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = self._partial_path(target)
        self.reader_con.execute(
            f"copy ({select_sql}) to {quote_literal(str(partial))} (format parquet)"
        )
        partial.replace(target)  # atomic: Spark never sees a half-written file

    def _partial_path(self, target: Path) -> Path:
        # Spark skips paths starting with "_": a crash mid-write never leaves a file it reads.
        folder = self.raw_dir / "_partial"
        folder.mkdir(exist_ok=True)
        return folder / f"{target.parent.name}__{target.name}"

    def manifest(self) -> set[tuple[str, str]]:
        pattern = str(self.raw_dir / MANIFEST_TABLE / "*.parquet")
        rows = self.reader_con.execute(
            f"select source_file, file_checksum from read_parquet({quote_literal(pattern)})"
        ).fetchall()
        return {(r[0], r[1]) for r in rows}

    def write(self, entity: EntitySpec, select_sql: str, manifest_row: dict) -> None:
        name = f"{manifest_row['load_id']}__{manifest_row['file_checksum'][:16]}.parquet"
        if select_sql:
            self._write_parquet(select_sql, self.raw_dir / entity.name / name)
        self.record_refusal(manifest_row, name)

    def record_refusal(self, manifest_row: dict, name: str | None = None) -> None:
        name = name or f"{manifest_row['load_id']}__{manifest_row['file_checksum'][:16]}.parquet"
        values = ", ".join(
            f"cast(? as {t.replace('text', 'varchar')}) as {quote_ident(c)}"
            for c, t in MANIFEST_TYPES
        )
        target = self.raw_dir / MANIFEST_TABLE / name
        partial = self._partial_path(target)
        self.reader_con.execute(
            f"copy (select {values}) to {quote_literal(str(partial))} (format parquet)",
            [manifest_row[c] for c in MANIFEST_COLUMNS],
        )
        partial.replace(target)

    def close(self) -> None:
        pass


def duckdb_settings(in_memory: bool = False) -> dict[str, str]:
    """The same memory bound as the dbt profile (CRM_DUCKDB_MEMORY_LIMIT): a large landing
    file spills to disk instead of taking 80% of the machine's memory. A file database spills
    beside itself (<file>.tmp); an in-memory one to a folder of its own process."""
    settings = {"memory_limit": os.environ.get("CRM_DUCKDB_MEMORY_LIMIT", "2GB")}
    if in_memory:
        spill = Path(tempfile.gettempdir()) / f"crm-duckdb-spill-{os.getpid()}"
        settings["temp_directory"] = str(spill)
    return settings


def open_target(target: str, schema: str):
    """Return (target writer, DuckDB connection to read landing files with)."""
    if target == "duckdb":
        writer = DuckDBTarget(
            env_path("CRM_DUCKDB_PATH", PROJECT_DIR / "warehouse/crm.duckdb"), schema
        )
        return writer, writer.con
    reader_con = duckdb.connect(":memory:", config=duckdb_settings(in_memory=True))
    if target == "postgres":
        return PostgresTarget(reader_con, schema), reader_con
    if target == "spark":
        raw_dir = env_path("CRM_SPARK_RAW_DIR", PROJECT_DIR / "warehouse" / "spark_raw")
        return SparkTarget(reader_con, raw_dir), reader_con
    raise SystemExit(f"unknown target {target!r}: choose duckdb, postgres or spark")


def load_landing(
    landing_dir: Path,
    target: str = "duckdb",
    schema: str = "raw",
    quarantine_dir: Path | None = None,
    validation=None,
    checksum_cache: Path | None = None,
) -> list[FileOutcome]:
    """Load every landing file the manifest does not hold yet. `validation` (optional, a
    scripts.validate.LandingValidation) is shown each file as staged and each refusal, so
    that validating a new drop does not read it a second time. `checksum_cache` (optional):
    a file remembering the landing files' checksums (scripts.file_checksums), so that files
    unchanged since an earlier run are not read to find the new ones."""
    contract = load_contract()
    landing_dir = landing_dir.resolve()
    if not landing_dir.is_dir():
        raise SystemExit(
            f"landing folder {landing_dir} does not exist: set CRM_LANDING_DIR or pass --landing"
        )
    quarantine_dir = quarantine_dir or env_path(
        "CRM_QUARANTINE_DIR", PROJECT_DIR / "warehouse" / "quarantine"
    )
    writer, reader_con = open_target(target, schema)
    reader = LandingReader(reader_con, contract.declared_encodings)
    load_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    outcomes: list[FileOutcome] = []
    try:
        writer.ensure_tables(contract.entities.values())
        already = writer.manifest()
        candidates = discover_files(landing_dir)
        cache = ChecksumCache(checksum_cache)
        checksums = cache.checksums(path for _, path in candidates)
        cache.save()
        for entity_name, path in candidates:
            source_file = path.relative_to(landing_dir).as_posix()
            checksum = checksums[path]
            if (source_file, checksum) in already:
                outcomes.append(FileOutcome(entity_name, source_file, "skipped"))
                continue
            manifest_row = {
                "load_id": load_id,
                "entity": entity_name,
                "source_file": source_file,
                "file_checksum": checksum,
                "file_bytes": path.stat().st_size,
                "status": "loaded",
                "rows_loaded": 0,
                "message": "",
                "loaded_at": loaded_at,
            }
            try:
                entity = contract.entities.get(entity_name)
                if entity is None:
                    raise FileRefused(
                        f"{source_file}: folder {entity_name!r} is not an entity of the contract "
                        f"({', '.join(contract.entities)})"
                    )
                present, note = reader.read(path, entity, source_file)
                if validation is not None:
                    validation.file_staged(reader_con, entity)
                rows = reader_con.execute("select count(*) from landing_file").fetchone()[0]
                select_sql = reader.select_for_raw(entity, present, source_file, load_id, loaded_at)
                manifest_row.update(rows_loaded=rows, message=note)
                writer.write(entity, select_sql, manifest_row)
                outcomes.append(FileOutcome(entity_name, source_file, "loaded", rows, note))
            except FileRefused as refusal:
                if validation is not None:
                    validation.file_refused(entity, entity_name, refusal)
                message = str(refusal)
                manifest_row.update(status="refused", message=message)
                writer.record_refusal(manifest_row)
                set_aside(path, quarantine_dir / source_file, message)
                outcomes.append(FileOutcome(entity_name, source_file, "refused", 0, message))
    finally:
        writer.close()
    return outcomes


def set_aside(path: Path, destination: Path, reason: str) -> None:
    """Copy a refused file to the quarantine folder with its reason beside it.

    The landing folder belongs to the extract producer (and may be read-only), so the file is
    copied, not moved; the manifest keeps it from being retried until its content changes.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, destination)
    destination.with_name(destination.name + ".reason.txt").write_text(reason + "\n", "utf-8")


def print_summary(outcomes: list[FileOutcome]) -> None:
    loaded = [o for o in outcomes if o.status == "loaded"]
    refused = [o for o in outcomes if o.status == "refused"]
    skipped = [o for o in outcomes if o.status == "skipped"]
    for o in loaded:
        extra = f" ({o.message})" if o.message else ""
        print(f"loaded   {o.source_file}: {o.rows} rows{extra}")
    for o in refused:
        print(f"REFUSED  {o.message}", file=sys.stderr)
    print(
        f"{len(loaded)} file(s) loaded ({sum(o.rows for o in loaded)} rows), "
        f"{len(skipped)} already loaded, {len(refused)} refused"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--landing",
        type=Path,
        default=env_path("CRM_LANDING_DIR", DEFAULT_LANDING_DIR),
        help="landing folder with one sub-folder per entity (env CRM_LANDING_DIR)",
    )
    parser.add_argument(
        "--target",
        default=os.environ.get("DBT_TARGET", "duckdb"),
        choices=["duckdb", "postgres", "spark"],
        help="warehouse engine (env DBT_TARGET)",
    )
    parser.add_argument("--schema", default=os.environ.get("CRM_RAW_SCHEMA", "raw"))
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 3 when any file was refused"
    )
    parser.add_argument(
        "--checksum-cache",
        type=Path,
        default=os.environ.get("CRM_CHECKSUM_CACHE"),  # argparse applies type= to a text default
        help="JSON file remembering the landing files' checksums between runs, so that "
        "unchanged files are not read again (env CRM_CHECKSUM_CACHE; default: none)",
    )
    args = parser.parse_args(argv)
    outcomes = load_landing(
        args.landing, args.target, args.schema, checksum_cache=args.checksum_cache
    )
    print_summary(outcomes)
    if args.strict and any(o.status == "refused" for o in outcomes):
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
