"""Run the hand-written DuckDB reference of the customer-mart core (bench/reference_core.sql).

    python -m bench.reference_core --landing DIR --as-of YYYY-MM-DD --out FILE.parquet \
        [--memory-limit 2GB] [--threads N] [--loaded-at 'YYYY-MM-DD HH:MM:SS'] [--print-sql]

The runner only finds the files (as the loader does), transcodes the few CSVs declared in a
legacy encoding (DuckDB reads UTF-8 only), and substitutes the placeholders of the script;
every rule is in the SQL. It runs in an in-memory DuckDB that spills to a temporary folder
beyond --memory-limit, and writes one row per contact to Parquet.
"""

from __future__ import annotations

import re
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

import duckdb

from bench import (
    ENTITIES,
    SEEDS_DIR,
    LandingFile,
    contract_columns,
    core_arguments,
    landing_files,
    parse_loaded_at,
    project_vars,
    report,
)

SCRIPT = Path(__file__).with_name("reference_core.sql")


def literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def file_select(file: LandingFile, rank: int, columns: list[str], tmp: Path) -> str:
    """A SELECT of one landing file: every contract column as text, plus its lineage."""
    present = dict(zip(file.columns, file.raw_columns, strict=True))
    path = file.path
    if file.kind == "parquet":
        values = [
            f"cast({ident(present[c])} as varchar) as {c}"
            if c in present
            else f"cast(null as varchar) as {c}"
            for c in columns
        ]
        source = f"read_parquet({literal(path)}, file_row_number = true)"
        row_number = "file_row_number + 1"
    else:
        if file.encoding != "utf-8":
            path = tmp / file.source_file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(file.path.read_bytes().decode(file.encoding), encoding="utf-8")
        # Columns named from the header as the loader normalises it (trimmed, lower case).
        names = ", ".join(f"{literal(c)}: 'VARCHAR'" for c in file.columns)
        values = [ident(c) if c in present else f"cast(null as varchar) as {c}" for c in columns]
        source = (
            f"read_csv({literal(path)}, header = true, auto_detect = false, "
            f"columns = {{{names}}}, delim = ',', quote = '\"', escape = '\"', "
            "strict_mode = true, null_padding = false)"
        )
        # file order, as the loader numbers rows
        row_number = "row_number() over ()"
    return (
        f"select {', '.join(values)}, {rank} as _file_rank, "
        f"cast({row_number} as bigint) as _source_row_number from {source}"
    )


def entity_relation(landing: Path, entity: str, tmp: Path) -> str:
    columns = contract_columns(entity)
    # the version order compares file names (the loader's _source_file): rank them here
    files = sorted(landing_files(landing, entity), key=lambda f: f.source_file)
    selects = [file_select(f, rank, columns, tmp) for rank, f in enumerate(files)]
    if not selects:
        empty = ", ".join(f"cast(null as varchar) as {c}" for c in columns)
        selects = [
            f"select {empty}, 0 as _file_rank, "
            "cast(null as bigint) as _source_row_number where false"
        ]
    return "(\n" + "\n        union all ".join(selects) + f"\n    ) as raw_{entity}"


def render_script(
    landing: Path, as_of: date, out: Path, loaded_at: datetime, tmp: Path, seeds: Path = SEEDS_DIR
) -> str:
    settings = project_vars()
    values = {entity: entity_relation(landing, entity, tmp) for entity in ENTITIES}
    values.update(
        seeds=str(seeds),
        as_of_date=as_of.isoformat(),
        loaded_at=loaded_at.strftime("%Y-%m-%d %H:%M:%S.%f"),
        paid_order_statuses=", ".join(literal(s) for s in settings["paid_order_statuses"]),
        tier_platinum_share=repr(settings["tier_platinum_share"]),
        tier_gold_share=repr(settings["tier_gold_share"]),
        out=str(out),
    )

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"reference_core.sql: unknown placeholder {{{name}}}")
        return values[name]

    return re.sub(r"\{(\w+)\}", substitute, SCRIPT.read_text(encoding="utf-8"))


def run(
    landing: Path,
    as_of: date,
    out: Path,
    memory_limit: str | None = None,
    threads: int | None = None,
    loaded_at: datetime | None = None,
) -> Path:
    """Compute the core from the landing files and write it to `out` (Parquet)."""
    landing, out = Path(landing).resolve(), Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    loaded_at = loaded_at or parse_loaded_at(None)
    with tempfile.TemporaryDirectory(prefix="reference_core_") as tmp:
        script = render_script(landing, as_of, out, loaded_at, Path(tmp))
        con = duckdb.connect(":memory:")
        try:
            con.execute(f"set temp_directory = {literal(Path(tmp) / 'spill')}")
            if memory_limit:
                con.execute(f"set memory_limit = {literal(memory_limit)}")
            if threads:
                con.execute(f"set threads = {int(threads)}")
            con.execute(script)
        finally:
            con.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = core_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--memory-limit", help="DuckDB memory_limit, e.g. 2GB")
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    parser.add_argument("--print-sql", action="store_true", help="print the rendered script")
    args = parser.parse_args(argv)
    loaded_at = parse_loaded_at(args.loaded_at)
    if args.print_sql:
        with tempfile.TemporaryDirectory() as tmp:
            print(render_script(args.landing.resolve(), args.as_of, args.out, loaded_at, Path(tmp)))
        return 0
    started = time.perf_counter()
    out = run(args.landing, args.as_of, args.out, args.memory_limit, args.threads, loaded_at)
    rows = duckdb.sql(f"select count(*) from read_parquet({literal(out)})").fetchone()[0]
    report("reference_core", started, rows, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
