"""great-expectations suites on the landing extracts (as they load) and the marts (after build).

Landing: every readable file of each entity is read the way the loader reads it (DuckDB, all
columns as text; scripts/load_landing.LandingReader) and checked against the extract contract:
required columns present, key columns not null, numeric ranges (NPS score 0-10) and accepted
values. Row-level defects the staging layer rejects are tolerated up to `mostly`
(CRM_GX_MOSTLY, default 0.95) of the entity's rows, all files together; files the loader would
refuse as a whole are reported and left to the loader (it quarantines them). A refresh
validates while it loads: the loader hands each file it has staged to LandingValidation, so
the file is read once; `validate_landing` reads a landing folder itself the same way.

Marts: every table of the marts schema, read through DuckDB. The `unique`, `not_null` and
`accepted_values` data tests declared in models/marts/*.yml become expectations (unfiltered
ones only), and the customers mart gets the cross-column and reconciliation checks dbt does
not state: profit = gross_margin - cost_to_serve - acquisition_cost (a computed column) and one
row per staged contact created up to the evaluation date.

Scale: no table or entity is ever held whole in pandas. DuckDB computes the columns the
expectations read (only those: trimmed lower-case labels, numbers, whether a value is present)
and streams them in chunks of at most CRM_GX_CHUNK_ROWS rows (default 1,000,000); each chunk is
validated by great-expectations and the chunks' counts are added up, so `mostly` is judged on
the totals of the whole suite and the merged result is exactly the one a single whole-frame
run would give. Column sets are checked on each file's (table's) header; uniqueness, which a
chunk cannot judge, is computed by DuckDB over the whole table and great-expectations validates
the rows whose value repeats. DuckDB itself stays within CRM_DUCKDB_MEMORY_LIMIT and spills.

great-expectations 1.x: an ephemeral context, a pandas data source, one ExpectationSuite and
ValidationDefinition per entity or mart table and one merged suite result each, stored in the
context; Data Docs HTML (default warehouse/validation/data_docs) are built from them and the
results of a run are written as JSON (warehouse/validation/results/<run id>.json). Its SQL
path through duckdb-engine is not used.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import yaml

from scripts.contract import PROJECT_DIR, EntitySpec, load_contract
from scripts.load_landing import (
    FileRefused,
    LandingReader,
    discover_files,
    duckdb_settings,
    env_path,
    quote_ident,
)
from scripts.validation_report import SuiteOutcome, ValidationReport


def _object_strings(function: Callable) -> Callable:
    """Run `function` with pandas' pre-3.0 object strings, which great-expectations 1.x
    needs; only around the validation itself, so that other pandas code in the same process
    keeps pandas 3's string dtype (a global switch here once made the pandas benchmark peer
    find no contacts when both ran in one pytest process)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with warnings.catch_warnings():  # deprecated in pandas 3, still needed by gx 1.x
            warnings.simplefilter("ignore")
            with pd.option_context("future.infer_string", False):
                return function(*args, **kwargs)

    return wrapper


MARTS_SCHEMA = "main_marts"
STAGING_SCHEMA = "main_staging"
DEFAULT_VALIDATION_DIR = PROJECT_DIR / "warehouse" / "validation"
MARTS_MODELS_DIR = PROJECT_DIR / "models" / "marts"
# Tolerance for row-level defects in the extracts (staging rejects those rows with a reason).
DEFAULT_MOSTLY = float(os.environ.get("CRM_GX_MOSTLY", "0.95"))
# Rows validated by great-expectations at a time (bounds the pandas memory of a suite).
DEFAULT_CHUNK_ROWS = int(os.environ.get("CRM_GX_CHUNK_ROWS", "1000000"))
PROFIT_TOLERANCE = 0.01
PARTIAL_UNEXPECTED = 20  # unexpected values kept per expectation, as gx's SUMMARY format
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": PARTIAL_UNEXPECTED}

# How an expectation is evaluated over a suite's data (see SuiteRun).
HEADER = "header"  # on every file's / table's column set (a frame without rows)
ROWS = "rows"  # on the rows, chunk by chunk; counts added up
COLUMN = "column"  # on one column of the whole table at once (uniqueness)
SCOPES = {
    "expect_column_to_exist": HEADER,
    "expect_table_column_count_to_be_between": HEADER,
    "expect_table_row_count_to_be_between": ROWS,
    "expect_table_row_count_to_equal": ROWS,
    "expect_column_values_to_not_be_null": ROWS,
    "expect_column_values_to_be_in_set": ROWS,
    "expect_column_values_to_be_between": ROWS,
    "expect_column_values_to_be_unique": COLUMN,
}
# A value marks a present (not null) cell where an expectation only asks whether it is null.
PRESENT = "present"


def _quiet_gx() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    for name in ("great_expectations", "tqdm"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _key(type_: str, kwargs: dict) -> str:
    """An expectation's identity within a suite: its type and arguments."""
    args = {k: v for k, v in kwargs.items() if k != "batch_id"}
    return type_ + json.dumps(args, sort_keys=True, default=str)


class Validator:
    """One ephemeral great-expectations context per run, publishing one Data Docs site."""

    def __init__(self, validation_dir: Path, run_id: str, chunk_rows: int = DEFAULT_CHUNK_ROWS):
        _quiet_gx()
        import great_expectations as gx

        self.gx = gx
        self.run_id = run_id
        self.chunk_rows = max(1, int(chunk_rows))
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

    def suite_run(self, name: str, expectations: list) -> SuiteRun:
        # a suite run twice in one context (the tests do) gets a numbered gx name
        self._runs_of[name] = self._runs_of.get(name, 0) + 1
        gx_name = name if self._runs_of[name] == 1 else f"{name}.run{self._runs_of[name]}"
        return SuiteRun(self, name, gx_name, expectations)

    def run_suite(
        self, name: str, frame: pd.DataFrame, expectations: list, chunk_rows: int | None = None
    ) -> tuple[SuiteOutcome, dict]:
        """Validate an in-memory frame: its header, its rows in chunks, its whole columns."""
        run = self.suite_run(name, expectations)
        run.validate_header(frame.head(0))
        size = chunk_rows or self.chunk_rows
        for start in range(0, max(len(frame), 1), size):
            run.validate_rows(frame.iloc[start : start + size])
        for column in run.whole_columns():
            run.validate_column(column, frame[[column]])
        return run.finish()

    def write_results(self, reports: list[ValidationReport]) -> Path:
        self.context.build_data_docs(site_names=["crm"])
        results_dir = self.validation_dir / "results"
        results_dir.mkdir(parents=True, exist_ok=True)
        path = results_dir / f"{self.run_id}.json"
        payload = {
            "run_id": self.run_id,
            "written_at": datetime.now(UTC).isoformat(),
            "success": all(r.success for r in reports),
            "reports": [r.to_dict() for r in reports],
        }
        path.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
        return path

    def export_stores(self) -> dict[str, list[list]]:
        """The suites and suite results this context holds, as gx's own stores serialise
        them: a refresh validates the landing in its load step's process and publishes the
        results with the marts' (import_stores). Data Docs index only what the building
        context holds, and delete the site's other pages."""
        exported = {}
        for name in _published_stores():
            store = getattr(self.context, name)
            exported[name] = [
                [list(key.to_tuple()), store.serialize(store.get(key))] for key in store.list_keys()
            ]
        return exported

    def import_stores(self, exported: dict[str, list[list]]) -> None:
        for name, entries in exported.items():
            store = getattr(self.context, name)
            key_class = _published_stores()[name]
            for key, serialised in entries:
                store.set(key_class.from_tuple(tuple(key)), store.deserialize(serialised))


def _published_stores() -> dict[str, type]:
    """The context's stores a Data Docs site is built from, with the class of their keys."""
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    return {
        "expectations_store": ExpectationSuiteIdentifier,
        "validation_results_store": ValidationResultIdentifier,
    }


# ---------------------------------------------------------------------------- chunked suites


@dataclass
class _MapCounts:
    """Counts of a column-map expectation over some rows (gx's own result fields)."""

    element: int = 0
    missing: int | None = 0  # None: the expectation does not count missing values (not-null)
    unexpected: int = 0
    values: list = field(default_factory=list)
    index: list = field(default_factory=list)
    indexed: bool = False

    def add(self, result: dict) -> None:
        self.element += result.get("element_count") or 0
        if "missing_count" in result and self.missing is not None:
            self.missing += result["missing_count"] or 0
        else:
            self.missing = None
        self.unexpected += result.get("unexpected_count") or 0
        room = PARTIAL_UNEXPECTED - len(self.values)
        self.values += list(result.get("partial_unexpected_list") or [])[: max(room, 0)]
        if "partial_unexpected_index_list" in result:
            self.indexed = True
            room = PARTIAL_UNEXPECTED - len(self.index)
            self.index += list(result["partial_unexpected_index_list"])[: max(room, 0)]


def _map_success(type_: str, counts: _MapCounts, mostly: float) -> bool:
    """gx's rule for `mostly` (ColumnMapExpectation._validate; not-null counts every row)."""
    if type_ == "expect_column_values_to_not_be_null":
        total = counts.element
        return total == 0 or (total - counts.unexpected) / total >= mostly
    nonnull = counts.element - (counts.missing or 0)
    if counts.element == 0 or nonnull == 0:
        return True
    return (nonnull - counts.unexpected) / nonnull >= mostly


def _map_result(counts: _MapCounts, success: bool) -> dict:
    """The result dict gx's SUMMARY format gives for these counts (_format_map_output)."""
    element, missing, unexpected = counts.element, counts.missing, counts.unexpected
    percent_total = unexpected / element * 100 if element else None
    nonnull = None if missing is None else element - missing
    if missing is None:
        percent = percent_total
    else:
        percent = unexpected / nonnull * 100 if element and nonnull else None
    result: dict = {
        "element_count": element,
        "unexpected_count": unexpected,
        "unexpected_percent": percent,
        "partial_unexpected_list": counts.values,
    }
    if missing is not None:
        result["missing_count"] = missing
        result["missing_percent"] = missing / element * 100 if element else None
        result["unexpected_percent_total"] = percent_total
        result["unexpected_percent_nonmissing"] = percent
    with suppress(TypeError):  # values of mixed types: gx leaves the counts out too
        result["partial_unexpected_counts"] = [
            {"value": value, "count": count}
            for value, count in sorted(
                Counter(counts.values).most_common(PARTIAL_UNEXPECTED),
                key=lambda x: (-x[1], x[0]),
            )
        ]
    if counts.indexed:
        result["partial_unexpected_index_list"] = counts.index
    return {"success": success, "result": result}


def _raised(result) -> str | None:
    """The message of an exception gx caught while validating (top level or per metric)."""
    info = result.exception_info or {}
    for entry in [info, *info.values()]:
        if isinstance(entry, dict) and entry.get("raised_exception"):
            return str(entry.get("exception_message") or "exception")
    return None


def _row_count_success(type_: str, kwargs: dict, rows: int) -> bool:
    if type_ == "expect_table_row_count_to_equal":
        return rows == kwargs["value"]
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if low is not None and (rows <= low if kwargs.get("strict_min") else rows < low):
        return False
    return not (high is not None and (rows >= high if kwargs.get("strict_max") else rows > high))


def _forget_batch(batch) -> None:
    """Drop gx's cached copy of a validated batch. gx's execution engine keeps every batch it
    has validated, with its data frame, by batch id, for later metric requests; one id per
    asset means the last chunk of every suite stays referenced for the life of the context
    (the refresh's whole run). Our results are complete once `validate` returns, and nothing
    asks gx for more. (At 1M contacts this did not lower the refresh's resident memory after
    the load, about 390 MiB either way: docs/decisions.md.)"""
    manager = batch.data.execution_engine.batch_manager
    manager.batch_data_cache.pop(batch.id, None)
    manager.batch_cache.pop(batch.id, None)


class SuiteRun:
    """One suite over data seen in parts, merged into one suite result.

    Header expectations (column sets) are validated on every frame passed to
    `validate_header` (one per file or table, no rows) and hold when they hold on all of
    them. Row expectations are validated on every chunk passed to `validate_rows`; their
    element, missing and unexpected counts are added up and `mostly` is judged on the totals
    (gx's own rule), row counts are summed, and each chunk gets the index of its rows in the
    whole, so the merged result equals a whole-frame run. Whole-column expectations
    (uniqueness) get one frame each from `validate_column`, with counts of rows validated
    elsewhere added by `add_counted_rows`.
    """

    def __init__(self, validator: Validator, name: str, gx_name: str, expectations: list):
        gx = validator.gx
        self.validator = validator
        self.name = name
        self.gx_name = gx_name
        self.expectations: list = []
        seen: set[str] = set()
        for expectation in expectations:
            key = _key(expectation.expectation_type, expectation.configuration.kwargs)
            if key not in seen:  # a suite is a set: gx drops repeats too
                seen.add(key)
                self.expectations.append(expectation)
        self.keys = [_key(e.expectation_type, e.configuration.kwargs) for e in self.expectations]
        self.scopes = [SCOPES.get(e.expectation_type) for e in self.expectations]
        unknown = [
            e.expectation_type for e, s in zip(self.expectations, self.scopes, strict=True) if not s
        ]
        if unknown:
            raise ValueError(f"no rule to validate {unknown} in parts; add it to SCOPES")
        self._asset = validator.source.add_dataframe_asset(name=gx_name)
        self.batch_definition = self._asset.add_batch_definition_whole_dataframe(f"{gx_name}.all")
        self._suites = {}
        for scope in (HEADER, ROWS):
            members = [e for e, s in zip(self.expectations, self.scopes, strict=True) if s == scope]
            if members:
                suite = gx.ExpectationSuite(name=f"{gx_name}.{scope}")
                for expectation in members:
                    suite.add_expectation(expectation)
                self._suites[scope] = suite
        self._parts: list[list] = [[] for _ in self.expectations]
        self._counted: list[_MapCounts | None] = [None for _ in self.expectations]
        self._frames = {HEADER: 0, ROWS: 0, COLUMN: 0}
        self.rows = 0
        self._meta: dict | None = None
        self._batch_id: str | None = None

    @property
    def row_chunks(self) -> int:
        return self._frames[ROWS]

    def whole_columns(self) -> list[str]:
        return [
            e.configuration.kwargs["column"]
            for e, s in zip(self.expectations, self.scopes, strict=True)
            if s == COLUMN
        ]

    def _validate(self, frame: pd.DataFrame, suite, indices: list[int]) -> None:
        batch = self.batch_definition.get_batch(batch_parameters={"dataframe": frame})
        try:
            result = batch.validate(suite, result_format=RESULT_FORMAT)
        finally:
            _forget_batch(batch)
        if self._meta is None:
            self._meta = dict(result.meta)
            self._batch_id = result.batch_id
        by_key = {
            _key(r.expectation_config.type, r.expectation_config.kwargs): r for r in result.results
        }
        for i in indices:
            self._parts[i].append(by_key[self.keys[i]])

    def validate_header(self, frame: pd.DataFrame) -> None:
        """The column set of one file or table (the frame's rows are not looked at)."""
        self._frames[HEADER] += 1
        if HEADER in self._suites:
            indices = [i for i, s in enumerate(self.scopes) if s == HEADER]
            self._validate(frame.head(0), self._suites[HEADER], indices)

    def validate_rows(self, frame: pd.DataFrame) -> None:
        """The next chunk of rows (in order: the chunk is indexed after the rows before it)."""
        frame = frame.set_axis(pd.RangeIndex(self.rows, self.rows + len(frame)), axis=0)
        self.rows += len(frame)
        self._frames[ROWS] += 1
        if ROWS in self._suites:
            indices = [i for i, s in enumerate(self.scopes) if s == ROWS]
            self._validate(frame, self._suites[ROWS], indices)

    def validate_column(self, column: str, frame: pd.DataFrame) -> None:
        """Rows of `column` for its whole-column expectations (frame: that one column)."""
        self._frames[COLUMN] += 1
        indices = [
            i
            for i, s in enumerate(self.scopes)
            if s == COLUMN and self.expectations[i].configuration.kwargs["column"] == column
        ]
        suite = self.validator.gx.ExpectationSuite(name=f"{self.gx_name}.{column}")
        for i in indices:
            suite.add_expectation(self.expectations[i])
        self._validate(frame, suite, indices)

    def add_counted_rows(self, column: str, rows: int, missing: int, unexpected: int) -> None:
        """Rows of `column` counted without being shown to gx (rows of a unique column whose
        value occurs once are expected; missing ones are missing)."""
        for i, expectation in enumerate(self.expectations):
            if self.scopes[i] == COLUMN and expectation.configuration.kwargs["column"] == column:
                counted = self._counted[i] or _MapCounts()
                counted.element += rows
                counted.missing = (counted.missing or 0) + missing
                counted.unexpected += unexpected
                self._counted[i] = counted

    def _merge(self, i: int):
        from great_expectations.core import ExpectationValidationResult

        expectation = self.expectations[i]
        type_ = expectation.expectation_type
        kwargs = expectation.configuration.kwargs
        parts = self._parts[i]
        raised = [p for p in parts if _raised(p)]
        if raised:  # a part gx could not evaluate (a missing column...): the whole fails
            return raised[0]
        if self.scopes[i] == HEADER:
            failing = [p for p in parts if not p.success]
            success, result = not failing, (failing or parts)[0].result
        elif type_.startswith("expect_table_row_count"):
            rows = sum(p.result.get("observed_value") or 0 for p in parts)
            success, result = _row_count_success(type_, kwargs, rows), {"observed_value": rows}
        else:
            counts = _MapCounts(missing=None if type_.endswith("not_be_null") else 0)
            for part in parts:
                counts.add(part.result)
            if self._counted[i] is not None:
                counts.element += self._counted[i].element
                if counts.missing is not None:
                    counts.missing += self._counted[i].missing or 0
                counts.unexpected += self._counted[i].unexpected
            mostly = kwargs.get("mostly")
            success = _map_success(type_, counts, 1.0 if mostly is None else mostly)
            merged = _map_result(counts, success)
            success, result = merged["success"], merged["result"]
        return ExpectationValidationResult(
            success=success, expectation_config=parts[0].expectation_config, result=result
        )

    def finish(self, keep: Callable[[object], bool] | None = None) -> tuple[SuiteOutcome, dict]:
        """Merge the parts into one suite result, store it for Data Docs, describe it."""
        gx = self.validator.gx
        from great_expectations.core import ExpectationSuiteValidationResult
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        for scope, frames in self._frames.items():
            if frames == 0 and scope in self.scopes:
                raise RuntimeError(f"{self.name}: nothing was given for its {scope} expectations")
        kept = [i for i, e in enumerate(self.expectations) if keep is None or keep(e)]
        merged = [self._merge(i) for i in kept]
        context = self.validator.context
        suite = context.suites.add(gx.ExpectationSuite(name=self.gx_name))
        for i in kept:
            suite.add_expectation(self.expectations[i])
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=self.gx_name, data=self.batch_definition, suite=suite)
        )
        for result, saved in zip(merged, suite.expectations, strict=True):
            result.expectation_config = saved.configuration
        run_time = datetime.now(UTC)
        meta = dict(self._meta or {})
        meta.pop("batch_markers", None)  # the first chunk's fingerprint; not the whole
        meta.update(
            validation_id=definition.id,
            checkpoint_id=None,
            batch_parameters={"dataframe": "<DATAFRAME>"},
            crm_parts={
                "headers": self._frames[HEADER],
                "row_chunks": self._frames[ROWS],
                "rows": self.rows,
                "chunk_rows": self.validator.chunk_rows,
            },
        )
        good = sum(1 for r in merged if r.success)
        suite_result = ExpectationSuiteValidationResult(
            success=good == len(merged),
            results=merged,
            suite_name=self.gx_name,
            statistics={
                "evaluated_expectations": len(merged),
                "successful_expectations": good,
                "unsuccessful_expectations": len(merged) - good,
                "success_percent": good / len(merged) * 100 if merged else None,
            },
            meta=meta,
            batch_id=self._batch_id,
        )
        run_id = RunIdentifier(run_name=self.validator.run_id, run_time=run_time)
        suite_result.meta["run_id"] = run_id
        suite_result.meta["validation_time"] = run_time
        context.validation_results_store.store_validation_results(
            suite_validation_result=suite_result,
            suite_validation_result_identifier=ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=self.gx_name),
                run_id=run_id,
                batch_identifier=self._batch_id,
            ),
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=self.gx_name),
        )
        described_suite = suite_result.describe_dict()
        # the layout of a Checkpoint result, as before: one validation per suite
        described = {
            "success": suite_result.success,
            "statistics": {
                "evaluated_validations": 1,
                "success_percent": 100.0 if suite_result.success else 0.0,
                "successful_validations": int(suite_result.success),
                "unsuccessful_validations": int(not suite_result.success),
            },
            "validation_results": [described_suite],
        }
        failed = []
        for exp, result in zip(described_suite["expectations"], merged, strict=True):
            if not exp["success"]:
                kwargs = {k: v for k, v in exp["kwargs"].items() if k != "batch_id"}
                observed = exp.get("result", {})
                detail = observed.get("observed_value", observed.get("unexpected_count"))
                detail = _raised(result) or detail
                failed.append(f"{exp['expectation_type']} {kwargs} (observed: {detail})")
        outcome = SuiteOutcome(self.name, bool(suite_result.success), len(merged), failed)
        return outcome, described


def arrow_chunks(result: duckdb.DuckDBPyConnection, rows: int) -> Iterator[pd.DataFrame]:
    """A DuckDB result as pandas frames of at most `rows` rows. Text columns become pandas
    categoricals (dictionary-encoded by Arrow): gx hashes and tests them by code, not by
    string, which is what makes a chunk cheap to validate."""
    import pyarrow as pa
    import pyarrow.compute as pc

    reader = (
        result.to_arrow_reader(rows)
        if hasattr(result, "to_arrow_reader")
        else result.fetch_record_batch(rows)
    )
    for batch in reader:
        arrays = []
        for array in batch.columns:
            kind = array.type
            if pa.types.is_string_view(kind) or pa.types.is_large_string(kind):
                array = array.cast(pa.string())
                kind = array.type
            if pa.types.is_string(kind):
                array = pc.dictionary_encode(array)
            arrays.append(array)
        table = pa.Table.from_arrays(arrays, names=batch.schema.names)
        yield table.to_pandas()


# ---------------------------------------------------------------------------- landing


@dataclass
class LandingPlan:
    """What the landing suite of one entity checks and the columns DuckDB computes for it."""

    entity: EntitySpec
    expectations: list
    columns: dict[str, tuple[str, str]]  # frame column -> (contract column, SQL kind)
    base_of: dict[int, str]  # id(expectation) -> contract column it is about

    def select_sql(self, present: Iterable[str]) -> str:
        """The frame columns computed from the staged file `landing_file`, the way staging
        reads them: labels trimmed and lower-cased (blank is missing), numbers that parse."""
        present = set(present)
        out = []
        for name, (column, kind) in self.columns.items():
            source = quote_ident(column)
            if column not in present:
                expr = "cast(null as double)" if kind == "number" else "cast(null as varchar)"
            elif kind == "present":
                expr = f"case when {source} is not null then '{PRESENT}' end"
            elif kind == "normalised":
                expr = f"nullif(lower(trim({source})), '')"
            else:
                expr = f"try_cast(trim({source}) as double)"
            out.append(f"{expr} as {quote_ident(name)}")
        return f"select {', '.join(out) or 'null as none'} from landing_file"

    def empty_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                name: pd.Series(dtype=float if kind == "number" else object)
                for name, (_, kind) in self.columns.items()
            }
        )


def landing_plan(entity: EntitySpec, mostly: float) -> LandingPlan:
    import great_expectations as gx

    expect = gx.expectations
    expectations: list = [expect.ExpectTableRowCountToBeBetween(min_value=1)]
    expectations += [expect.ExpectColumnToExist(column=c) for c in entity.required_columns]
    columns: dict[str, tuple[str, str]] = {}
    base_of: dict[int, str] = {}

    def add(expectation, column: str) -> None:
        expectations.append(expectation)
        base_of[id(expectation)] = column

    for key in entity.key:
        # only whether the key is there matters: DuckDB says so, gx counts it
        columns[key] = (key, "present")
        add(expect.ExpectColumnValuesToNotBeNull(column=key, mostly=mostly), key)
    for spec in entity.columns.values():
        if spec.allowed:
            name = f"{spec.name}__normalised"
            columns[name] = (spec.name, "normalised")
            add(
                expect.ExpectColumnValuesToBeInSet(
                    column=name, value_set=list(spec.allowed), mostly=mostly
                ),
                spec.name,
            )
        if spec.type in ("integer", "decimal") and (spec.min is not None or spec.max is not None):
            name = f"{spec.name}__number"
            columns[name] = (spec.name, "number")
            add(
                expect.ExpectColumnValuesToBeBetween(
                    column=name, min_value=spec.min, max_value=spec.max, mostly=mostly
                ),
                spec.name,
            )
    return LandingPlan(entity, expectations, columns, base_of)


class LandingValidation:
    """The landing suites, fed one staged file at a time: by `validate_landing`, which reads
    the landing folder itself, or by the loader (`scripts.load_landing.load_landing`'s
    `validation`), which hands over each file it has just staged so that a refresh reads every
    extract once. One suite per entity over all its files, finished by `finish`, after which
    it takes no more files and `finish` returns the same report."""

    def __init__(self, validator: Validator, mostly: float = DEFAULT_MOSTLY, chunk_rows=None):
        self.validator = validator
        self.mostly = mostly
        self.chunk_rows = chunk_rows or validator.chunk_rows
        self.report = ValidationReport(stage="landing")
        self.seconds = 0.0  # in the suites: not gx's import and context, nor the loader
        self._runs: dict[str, tuple[LandingPlan, SuiteRun, set[str]]] = {}
        self._refused: dict[str, EntitySpec] = {}
        self._finished = False

    def _still_open(self) -> None:
        if self._finished:
            raise RuntimeError(
                "LandingValidation already finished: its report is final; "
                "start a new LandingValidation to validate more files"
            )

    def _run_of(self, entity: EntitySpec) -> tuple[LandingPlan, SuiteRun, set[str]]:
        if entity.name not in self._runs:
            plan = landing_plan(entity, self.mostly)
            run = self.validator.suite_run(f"landing.{entity.name}", plan.expectations)
            self._runs[entity.name] = (plan, run, set())
        return self._runs[entity.name]

    @contextmanager
    def _timed(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - started

    @_object_strings
    def file_staged(self, con: duckdb.DuckDBPyConnection, entity: EntitySpec) -> None:
        """Validate the file the loader's reader has just staged as `landing_file` on con."""
        self._still_open()
        with self._timed():
            plan, run, seen = self._run_of(entity)
            present = [r[0] for r in con.execute("describe landing_file").fetchall()]
            seen.update(present)
            run.validate_header(pd.DataFrame(columns=present))
            for frame in arrow_chunks(con.execute(plan.select_sql(present)), self.chunk_rows):
                run.validate_rows(frame)

    def file_refused(self, entity: EntitySpec | None, folder: str, refusal: FileRefused) -> None:
        self._still_open()
        if entity is None:
            note = f"folder {folder!r} is not a contract entity (the loader refuses it)"
            if note not in self.report.notes:
                self.report.notes.append(note)
            return
        self._refused[entity.name] = entity
        self.report.notes.append(f"refused by the loader: {refusal}")

    @_object_strings
    def finish(self) -> ValidationReport:
        if self._finished:
            return self.report
        self._finished = True
        with self._timed():
            self._finish_suites()
        return self.report

    def _finish_suites(self) -> None:
        for entity in self._refused.values():
            if entity.name not in self._runs:  # no readable file: the row count fails
                _, run, _ = self._run_of(entity)
                run.validate_header(pd.DataFrame(columns=list(entity.columns)))
                run.validate_rows(landing_plan(entity, self.mostly).empty_frame())
        for name in sorted(self._runs):
            plan, run, seen = self._runs[name]
            if name in self._refused and not seen:
                outcome, raw = run.finish()
            else:  # as before, a rule about a column no file has is left out of the suite
                outcome, raw = run.finish(
                    keep=lambda e, plan=plan, seen=seen: (
                        id(e) not in plan.base_of or plan.base_of[id(e)] in seen
                    )
                )
            self.report.suites.append(outcome)
            self.report.raw_results.append(raw)


def validate_landing(
    landing_dir: Path,
    validator: Validator,
    mostly: float = DEFAULT_MOSTLY,
    chunk_rows: int | None = None,
) -> ValidationReport:
    """The landing suites over every file of the landing folder, read as the loader reads
    them (a refresh validates while it loads instead: see LandingValidation)."""
    contract = load_contract()
    landing_dir = Path(landing_dir).resolve()
    validation = LandingValidation(validator, mostly, chunk_rows)
    con = duckdb.connect(":memory:", config=duckdb_settings(in_memory=True))
    try:
        reader = LandingReader(con, contract.declared_encodings)
        for entity_name, path in discover_files(landing_dir):
            entity = contract.entities.get(entity_name)
            display = path.relative_to(landing_dir).as_posix()
            try:
                if entity is None:
                    raise FileRefused(f"{display}: folder {entity_name!r} is not an entity")
                reader.read(path, entity, display)
            except FileRefused as refusal:
                validation.file_refused(entity, entity_name, refusal)
                continue
            validation.file_staged(con, entity)
    finally:
        con.close()
    return validation.finish()


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


def mart_expectations(columns: Iterable[str], declared: list[tuple]) -> list:
    import great_expectations as gx

    expect = gx.expectations
    columns = set(columns)
    out: list = []
    for test, column, values in declared:
        if column not in columns:
            out.append(expect.ExpectColumnToExist(column=column))
        elif test == "unique":
            out.append(expect.ExpectColumnValuesToBeUnique(column=column))
        elif test == "not_null":
            out.append(expect.ExpectColumnValuesToNotBeNull(column=column))
        else:
            out.append(expect.ExpectColumnValuesToBeInSet(column=column, value_set=values))
    return out


def customers_checks(
    con: duckdb.DuckDBPyConnection, columns: Iterable[str]
) -> tuple[dict[str, str], list]:
    """Cross-column and reconciliation checks of the customers mart: the computed columns
    they read ({name: SQL}) and the expectations."""
    import great_expectations as gx

    expect = gx.expectations
    computed: dict[str, str] = {}
    out: list = []
    needed = {"profit", "gross_margin", "cost_to_serve", "acquisition_cost"}
    if needed <= set(columns):
        computed["profit_identity_residual"] = (
            "coalesce(cast(gross_margin as double), 0) - coalesce(cast(cost_to_serve as double), 0)"
            " - coalesce(cast(acquisition_cost as double), 0) - cast(profit as double)"
        )
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
    return computed, out


def mart_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ? "
        "order by table_name",
        [MARTS_SCHEMA],
    ).fetchall()
    return [r[0] for r in rows]


def mart_select_sql(
    table: str, types: dict[str, str], expectations: list, computed: dict[str, str]
) -> str:
    """The columns the row expectations of a mart read. A column that is only checked for
    nulls is sent as 'present' or null (NaN counts as null, as in pandas); checked values are
    sent as they are, decimals as doubles (as DuckDB's pandas export gives them)."""
    values: dict[str, set[str]] = {}
    for expectation in expectations:
        if SCOPES.get(expectation.expectation_type) != ROWS:
            continue
        column = expectation.configuration.kwargs.get("column")
        if column and column not in computed:
            values.setdefault(column, set()).add(expectation.expectation_type)
    out = []
    for column, kinds in values.items():
        source, kind = quote_ident(column), types.get(column, "")
        if kinds == {"expect_column_values_to_not_be_null"}:
            nan = f" or isnan({source})" if kind in ("FLOAT", "DOUBLE", "REAL") else ""
            out.append(f"case when {source} is null{nan} then null else '{PRESENT}' end")
        elif kind.startswith("DECIMAL"):
            out.append(f"cast({source} as double)")
        else:
            out.append(source)
        out[-1] += f" as {source}"
    out += [f"{sql} as {quote_ident(name)}" for name, sql in computed.items()]
    return f"select {', '.join(out) or '1 as one'} from {MARTS_SCHEMA}.{quote_ident(table)}"


def _validate_unique(
    con: duckdb.DuckDBPyConnection, run: SuiteRun, table: str, column: str, cap: int
) -> None:
    """Uniqueness over the whole table, computed by DuckDB: gx validates the rows whose value
    repeats (its unexpected rows; at most `cap` of them, indexed by their position in the
    table like the chunks) and the other rows are added as counted rows (a value that occurs
    once is expected; a null is missing)."""
    source = f"{MARTS_SCHEMA}.{quote_ident(table)}"
    col = quote_ident(column)
    repeated = (
        f"select {col} from {source} where {col} is not null group by all having count(*) > 1"
    )
    rows, missing, duplicated = con.execute(
        f"""
        select count(*), count(*) - count({col}), count(*) filter (where {col} in ({repeated}))
        from {source}
        """
    ).fetchone()
    frame = con.execute(
        f"""
        select _row, {col} from (select row_number() over () - 1 as _row, {col} from {source})
        where {col} in ({repeated}) order by _row limit {int(cap)}
        """
    ).df()
    frame = frame.set_index("_row").rename_axis(None)
    run.validate_column(column, frame)
    run.add_counted_rows(column, rows - len(frame), missing, duplicated - len(frame))


@_object_strings
def validate_marts(db_path: Path, validator: Validator, chunk_rows: int | None = None):
    report = ValidationReport(stage="marts")
    declared = mart_tests_from_yaml()
    chunk_rows = chunk_rows or validator.chunk_rows
    with duckdb.connect(str(db_path), read_only=True, config=duckdb_settings()) as con:
        tables = mart_tables(con)
        if "customers" not in tables:
            report.suites.append(
                SuiteOutcome("marts.customers", False, 1, [f"{MARTS_SCHEMA}.customers is missing"])
            )
            return report
        for table in tables:
            described = con.execute(f"describe {MARTS_SCHEMA}.{quote_ident(table)}").fetchall()
            types = {r[0]: r[1] for r in described}
            expectations = mart_expectations(types, declared.get(table, []))
            computed: dict[str, str] = {}
            if table == "customers":
                computed, extra = customers_checks(con, types)
                expectations += extra
            if not expectations:
                import great_expectations as gx

                expectations = [gx.expectations.ExpectTableColumnCountToBeBetween(min_value=1)]
            run = validator.suite_run(f"marts.{table}", expectations)
            run.validate_header(pd.DataFrame(columns=list(types)))
            sql = mart_select_sql(table, types, run.expectations, computed)
            for frame in arrow_chunks(con.execute(sql), chunk_rows):
                run.validate_rows(frame)
            if run.row_chunks == 0:  # an empty table: its row expectations still get their say
                run.validate_rows(con.execute(f"{sql} limit 0").df())
            for column in run.whole_columns():
                _validate_unique(con, run, table, column, chunk_rows)
            outcome, raw = run.finish()
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
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=DEFAULT_CHUNK_ROWS,
        help="rows validated at a time (CRM_GX_CHUNK_ROWS); verdicts do not depend on it",
    )
    args = parser.parse_args(argv)
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]
    validator = Validator(args.validation_dir, run_id, chunk_rows=args.chunk_rows)
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
