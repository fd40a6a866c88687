"""great-expectations suites on the landing extracts (before load) and the marts (after build).

Landing: every readable file of each entity is read the way the loader reads it (DuckDB, all
columns as text; scripts/load_landing.LandingReader), the files of one entity are stacked into
one pandas frame and checked against the extract contract: required columns present, key
columns not null, numeric ranges (NPS score 0-10) and accepted values. Row-level defects the
staging layer rejects are tolerated up to `mostly` (CRM_GX_MOSTLY, default 0.95); files the
loader would refuse as a whole are reported and left to the loader (it quarantines them).

Marts: every table of the marts schema is read through DuckDB into pandas. The `unique`,
`not_null` and `accepted_values` data tests declared in models/marts/*.yml become expectations
(unfiltered ones only), and the customers mart gets the cross-column and reconciliation
checks dbt does not state: profit = gross_margin - cost_to_serve - acquisition_cost (a computed
column) and one row per staged contact created up to the evaluation date.

great-expectations 1.x: an ephemeral context, a pandas data source, one ExpectationSuite,
ValidationDefinition and Checkpoint per frame; the Checkpoint updates the Data Docs HTML site
(default warehouse/validation/data_docs) and the results of a run are written as JSON
(warehouse/validation/results/<run id>.json). Its SQL path through duckdb-engine is not used.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import yaml

from scripts.contract import PROJECT_DIR, EntitySpec, load_contract
from scripts.load_landing import FileRefused, LandingReader, discover_files, env_path

with warnings.catch_warnings():  # deprecated in pandas 3, still needed by gx 1.x
    warnings.simplefilter("ignore")
    pd.set_option("future.infer_string", False)

MARTS_SCHEMA = "main_marts"
STAGING_SCHEMA = "main_staging"
DEFAULT_VALIDATION_DIR = PROJECT_DIR / "warehouse" / "validation"
MARTS_MODELS_DIR = PROJECT_DIR / "models" / "marts"
# Tolerance for row-level defects in the extracts (staging rejects those rows with a reason).
DEFAULT_MOSTLY = float(os.environ.get("CRM_GX_MOSTLY", "0.95"))
PROFIT_TOLERANCE = 0.01


@dataclass
class SuiteOutcome:
    name: str
    success: bool
    evaluated: int
    failed: list[str] = field(default_factory=list)


@dataclass
class ValidationReport:
    stage: str
    suites: list[SuiteOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    raw_results: list[dict] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return all(s.success for s in self.suites)

    def summary(self) -> str:
        lines = []
        for s in self.suites:
            state = "ok" if s.success else "FAILED"
            lines.append(f"{self.stage} suite {s.name}: {state} ({s.evaluated} expectations)")
            lines += [f"  failed: {f}" for f in s.failed]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _quiet_gx() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    for name in ("great_expectations", "tqdm"):
        logging.getLogger(name).setLevel(logging.ERROR)


class Validator:
    """One ephemeral great-expectations context per run, publishing one Data Docs site."""

    def __init__(self, validation_dir: Path, run_id: str):
        _quiet_gx()
        import great_expectations as gx

        self.gx = gx
        self.run_id = run_id
        self.validation_dir = Path(validation_dir)
        self.docs_dir = self.validation_dir / "data_docs"
        self.docs_dir.mkdir(parents=True, exist_ok=True)
        self.context = gx.get_context(mode="ephemeral")
        try:
            from great_expectations.data_context.types.base import ProgressBarsConfig

            self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        except Exception:  # noqa: BLE001 - cosmetic only
            pass
        self.context.add_data_docs_site(
            site_name="crm",
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(self.docs_dir.resolve()),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
        self.source = self.context.data_sources.add_pandas("crm")
        self._runs_of: dict[str, int] = {}

    def run_suite(
        self, name: str, frame: pd.DataFrame, expectations: list
    ) -> tuple[SuiteOutcome, dict]:
        gx = self.gx
        # a suite run twice in one context (the tests do) gets a numbered gx name
        self._runs_of[name] = self._runs_of.get(name, 0) + 1
        gx_name = name if self._runs_of[name] == 1 else f"{name}.run{self._runs_of[name]}"
        asset = self.source.add_dataframe_asset(name=gx_name)
        batch = asset.add_batch_definition_whole_dataframe(f"{gx_name}.all")
        suite = self.context.suites.add(gx.ExpectationSuite(name=gx_name))
        for expectation in expectations:
            suite.add_expectation(expectation)
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=gx_name, data=batch, suite=suite)
        )
        checkpoint = self.context.checkpoints.add(
            gx.Checkpoint(
                name=f"{gx_name}.checkpoint",
                validation_definitions=[definition],
                actions=[],  # Data Docs are built once per run, in write_results
                result_format={"result_format": "SUMMARY"},
            )
        )
        result = checkpoint.run(batch_parameters={"dataframe": frame})
        described = result.describe_dict()
        failed = []
        evaluated = 0
        for validation in described["validation_results"]:
            for exp in validation["expectations"]:
                evaluated += 1
                if not exp["success"]:
                    kwargs = {k: v for k, v in exp["kwargs"].items() if k != "batch_id"}
                    observed = exp.get("result", {})
                    detail = observed.get("observed_value", observed.get("unexpected_count"))
                    failed.append(f"{exp['expectation_type']} {kwargs} (observed: {detail})")
        return SuiteOutcome(name, bool(result.success), evaluated, failed), described

    def write_results(self, reports: list[ValidationReport]) -> Path:
        self.context.build_data_docs(site_names=["crm"])
        results_dir = self.validation_dir / "results"
        results_dir.mkdir(parents=True, exist_ok=True)
        path = results_dir / f"{self.run_id}.json"
        payload = {
            "run_id": self.run_id,
            "written_at": datetime.now(UTC).isoformat(),
            "success": all(r.success for r in reports),
            "reports": [
                {
                    "stage": r.stage,
                    "success": r.success,
                    "notes": r.notes,
                    "suites": [s.__dict__ for s in r.suites],
                    "results": r.raw_results,
                }
                for r in reports
            ],
        }
        path.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
        return path


# ---------------------------------------------------------------------------- landing


def read_landing_entity(
    landing_dir: Path, entity: EntitySpec, files: list[Path], notes: list[str]
) -> pd.DataFrame:
    """The entity's readable files stacked into one frame of text columns (as the loader sees
    them); files the loader would refuse are noted, not read."""
    con = duckdb.connect(":memory:")
    reader = LandingReader(con, load_contract().declared_encodings)
    frames = []
    try:
        for path in files:
            display = path.relative_to(landing_dir).as_posix()
            try:
                reader.read(path, entity, display)
            except FileRefused as refusal:
                notes.append(f"left to the loader (it will refuse it): {refusal}")
                continue
            frame = con.execute("select * from landing_file").df()
            frame["_source_file"] = display
            frames.append(frame)
    finally:
        con.close()
    if not frames:
        return pd.DataFrame(columns=[*entity.columns, "_source_file"])
    return pd.concat(frames, ignore_index=True, sort=False)


def landing_expectations(entity: EntitySpec, frame: pd.DataFrame, mostly: float) -> list:
    import great_expectations as gx

    expect = gx.expectations
    out: list = [expect.ExpectTableRowCountToBeBetween(min_value=1)]
    out += [expect.ExpectColumnToExist(column=c) for c in entity.required_columns]
    for key in entity.key:
        if key in frame.columns:
            out.append(expect.ExpectColumnValuesToNotBeNull(column=key, mostly=mostly))
    for spec in entity.columns.values():
        if spec.name not in frame.columns:
            continue
        if spec.allowed:
            out.append(
                expect.ExpectColumnValuesToBeInSet(
                    column=f"{spec.name}__normalised", value_set=list(spec.allowed), mostly=mostly
                )
            )
        if spec.type in ("integer", "decimal") and (spec.min is not None or spec.max is not None):
            out.append(
                expect.ExpectColumnValuesToBeBetween(
                    column=f"{spec.name}__number",
                    min_value=spec.min,
                    max_value=spec.max,
                    mostly=mostly,
                )
            )
    return out


def prepare_landing_frame(entity: EntitySpec, frame: pd.DataFrame) -> pd.DataFrame:
    """Computed columns the expectations read: trimmed lower-case labels, numbers."""
    frame = frame.copy()
    for spec in entity.columns.values():
        if spec.name not in frame.columns:
            continue
        text = frame[spec.name].astype(object).where(frame[spec.name].notna(), None)
        if spec.allowed:
            normalised = text.map(lambda v: v.strip().lower() if isinstance(v, str) else None)
            frame[f"{spec.name}__normalised"] = normalised.where(normalised != "", None)
        if spec.type in ("integer", "decimal"):
            frame[f"{spec.name}__number"] = pd.to_numeric(text, errors="coerce").astype(float)
    return frame


def validate_landing(
    landing_dir: Path, validator: Validator, mostly: float = DEFAULT_MOSTLY
) -> ValidationReport:
    contract = load_contract()
    landing_dir = Path(landing_dir).resolve()
    report = ValidationReport(stage="landing")
    by_entity: dict[str, list[Path]] = {}
    for entity_name, path in discover_files(landing_dir):
        by_entity.setdefault(entity_name, []).append(path)
    for entity_name, files in sorted(by_entity.items()):
        entity = contract.entities.get(entity_name)
        if entity is None:
            report.notes.append(
                f"folder {entity_name!r} is not a contract entity (loader refuses it)"
            )
            continue
        frame = read_landing_entity(landing_dir, entity, files, report.notes)
        frame = prepare_landing_frame(entity, frame)
        outcome, raw = validator.run_suite(
            f"landing.{entity_name}", frame, landing_expectations(entity, frame, mostly)
        )
        report.suites.append(outcome)
        report.raw_results.append(raw)
    return report


# ---------------------------------------------------------------------------- marts


def mart_tests_from_yaml(models_dir: Path = MARTS_MODELS_DIR) -> dict[str, list[tuple]]:
    """{model: [(test, column, values)]} for unfiltered unique/not_null/accepted_values tests."""
    tests: dict[str, list[tuple]] = {}
    for path in sorted(models_dir.rglob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for model in doc.get("models", []) or []:
            found = tests.setdefault(model["name"], [])
            for column in model.get("columns", []) or []:
                for test in column.get("data_tests", column.get("tests", [])) or []:
                    if isinstance(test, str):
                        name, body = test, {}
                    else:
                        name, body = next(iter(test.items()))
                        body = body or {}
                    if (body.get("config") or {}).get("where"):
                        continue  # a filtered test stays dbt's job
                    if name in ("unique", "not_null"):
                        found.append((name, column["name"], None))
                    elif name == "accepted_values":
                        args = body.get("arguments", body)
                        found.append((name, column["name"], list(args.get("values", []))))
    return tests


def mart_expectations(table: str, frame: pd.DataFrame, declared: list[tuple]) -> list:
    import great_expectations as gx

    expect = gx.expectations
    out: list = []
    for test, column, values in declared:
        if column not in frame.columns:
            out.append(expect.ExpectColumnToExist(column=column))
        elif test == "unique":
            out.append(expect.ExpectColumnValuesToBeUnique(column=column))
        elif test == "not_null":
            out.append(expect.ExpectColumnValuesToNotBeNull(column=column))
        else:
            out.append(expect.ExpectColumnValuesToBeInSet(column=column, value_set=values))
    return out


def customers_checks(
    con: duckdb.DuckDBPyConnection, frame: pd.DataFrame
) -> tuple[pd.DataFrame, list]:
    """Cross-column and reconciliation checks of the customers mart."""
    import great_expectations as gx

    expect = gx.expectations
    frame = frame.copy()
    out: list = []
    needed = {"profit", "gross_margin", "cost_to_serve", "acquisition_cost"}
    if needed <= set(frame.columns):
        residual = (
            frame["gross_margin"].astype(float).fillna(0)
            - frame["cost_to_serve"].astype(float).fillna(0)
            - frame["acquisition_cost"].astype(float).fillna(0)
            - frame["profit"].astype(float)
        )
        frame["profit_identity_residual"] = residual
        out.append(
            expect.ExpectColumnValuesToBeBetween(
                column="profit_identity_residual",
                min_value=-PROFIT_TOLERANCE,
                max_value=PROFIT_TOLERANCE,
            )
        )
    else:
        out += [expect.ExpectColumnToExist(column=c) for c in sorted(needed)]
    staged = con.execute(
        f"""
        select count(*) from {STAGING_SCHEMA}.stg_crm__contacts
        where cast(created_at as date) <= (select max(as_of_date) from {MARTS_SCHEMA}.customers)
        """
    ).fetchone()[0]
    out.append(expect.ExpectTableRowCountToEqual(value=int(staged)))
    out.append(expect.ExpectColumnToExist(column="contact_id"))
    return frame, out


def mart_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ? "
        "order by table_name",
        [MARTS_SCHEMA],
    ).fetchall()
    return [r[0] for r in rows]


def validate_marts(db_path: Path, validator: Validator) -> ValidationReport:
    report = ValidationReport(stage="marts")
    declared = mart_tests_from_yaml()
    with duckdb.connect(str(db_path), read_only=True) as con:
        tables = mart_tables(con)
        if "customers" not in tables:
            report.suites.append(
                SuiteOutcome("marts.customers", False, 1, [f"{MARTS_SCHEMA}.customers is missing"])
            )
            return report
        for table in tables:
            frame = con.execute(f'select * from {MARTS_SCHEMA}."{table}"').df()
            expectations = mart_expectations(table, frame, declared.get(table, []))
            if table == "customers":
                frame, extra = customers_checks(con, frame)
                expectations += extra
            if not expectations:
                import great_expectations as gx

                expectations = [gx.expectations.ExpectTableColumnCountToBeBetween(min_value=1)]
            outcome, raw = validator.run_suite(f"marts.{table}", frame, expectations)
            report.suites.append(outcome)
            report.raw_results.append(raw)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "what", nargs="?", default="all", choices=["all", "landing", "marts"], help="suites to run"
    )
    parser.add_argument(
        "--landing",
        type=Path,
        default=env_path("CRM_LANDING_DIR", PROJECT_DIR / "data/sample/landing"),
    )
    parser.add_argument(
        "--db", type=Path, default=env_path("CRM_DUCKDB_PATH", PROJECT_DIR / "warehouse/crm.duckdb")
    )
    parser.add_argument(
        "--validation-dir",
        type=Path,
        default=env_path("CRM_VALIDATION_DIR", DEFAULT_VALIDATION_DIR),
        help="Data Docs go to <dir>/data_docs, JSON results to <dir>/results",
    )
    parser.add_argument("--mostly", type=float, default=DEFAULT_MOSTLY)
    args = parser.parse_args(argv)
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]
    validator = Validator(args.validation_dir, run_id)
    reports = []
    if args.what in ("all", "landing"):
        reports.append(validate_landing(args.landing, validator, args.mostly))
    if args.what in ("all", "marts"):
        if not args.db.exists():
            raise SystemExit(f"no warehouse at {args.db}: run `make run` first or pass --db")
        reports.append(validate_marts(args.db, validator))
    results = validator.write_results(reports)
    for report in reports:
        print(report.summary())
    print(f"results: {results}\nData Docs: {validator.docs_dir / 'index.html'}")
    return 0 if all(r.success for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
