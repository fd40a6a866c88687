"""Fit the value model: the step between the pipeline's two dbt invocations.

Reads what the first dbt invocation built, int_value_model_settings (the checked clv_* vars
and the evaluation date) and int_customers_value_model_inputs (x, t_x, T and mean repeat
spend per customer), fits BG/NBD, MBG/NBD and Gamma-Gamma by maximum likelihood with
scripts.clv, and replaces the parameters table (dbt source value_model.value_model_parameters)
that the second invocation scores every customer with, in SQL.

When the data cannot support a model (fewer repeat buyers than clv_min_repeat_buyers), the
optimiser does not converge, or Gamma-Gamma's expected spend is infinite (q <= 1), the model's
row says so in fit_status / fit_reason, the script prints it, and it still succeeds: the build
goes on and the predictions are null with that reason.

Where the tables are comes from dbt's manifest (target/manifest.json, or $DBT_TARGET_PATH),
so custom schemas and targets need no configuration here; how to connect comes from the
same environment variables as profiles.yml.

Usage: python -m scripts.fit_value_model [--target duckdb|postgres|spark]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from scripts.clv import (
    InsufficientDataError,
    fit_gamma_gamma,
    fit_purchase_model,
    scoring_series_terms,
    series_is_contracting,
)
from scripts.contract import PROJECT_DIR

PURCHASE_MODELS = ("bgnbd", "mbgnbd")
PROJECT_NAME = "crm_warehouse"

#: Columns of the parameters table, (name, logical type). The dbt macro
#: value_model_parameter_columns lists the same ones to stand in for a missing table.
PARAMETER_COLUMNS: list[tuple[str, str]] = [
    ("model", "string"),
    ("fit_status", "string"),
    ("fit_reason", "string"),
    ("parameters", "string"),
    ("param_r", "double"),
    ("param_alpha", "double"),
    ("param_a", "double"),
    ("param_b", "double"),
    ("param_p", "double"),
    ("param_q", "double"),
    ("param_gamma", "double"),
    ("log_likelihood", "double"),
    ("customers_used", "bigint"),
    ("repeat_buyers", "bigint"),
    ("converged", "boolean"),
    ("optimizer_message", "string"),
    ("penalizer", "double"),
    ("min_repeat_buyers", "bigint"),
    ("series_is_contracting", "boolean"),
    ("series_terms", "bigint"),
    ("series_terms_max_weeks", "double"),
    ("as_of_date", "date"),
    ("fitted_at", "timestamp"),
]


# --------------------------------------------------------------------------- fitting
@dataclass(frozen=True)
class Settings:
    """The row of int_value_model_settings the fit needs."""

    as_of_date: date
    min_repeat_buyers: int
    penalizer: float
    horizon_weeks: float
    holdout_weeks: float | None
    series_tolerance: float

    @classmethod
    def from_row(cls, row: pd.Series) -> Settings:
        holdout = row["holdout_weeks"]
        return cls(
            as_of_date=pd.Timestamp(row["as_of_date"]).date(),
            min_repeat_buyers=int(row["clv_min_repeat_buyers"]),
            penalizer=float(row["clv_penalizer"]),
            horizon_weeks=float(row["horizon_weeks"]),
            holdout_weeks=None if holdout is None or pd.isna(holdout) else float(holdout),
            series_tolerance=float(row["clv_series_tolerance"]),
        )

    @property
    def longest_scored_weeks(self) -> float:
        """The longest horizon the SQL scores: the value horizon or the holdout."""
        return max(self.horizon_weeks, self.holdout_weeks or 0.0)


def _parameter_text(params: dict[str, float]) -> str:
    return " ".join(f"{name}={value:.6g}" for name, value in params.items())


def _base_row(model: str, settings: Settings, fitted_at: datetime) -> dict:
    row: dict = {name: None for name, _ in PARAMETER_COLUMNS}
    row.update(
        model=model,
        penalizer=settings.penalizer,
        min_repeat_buyers=settings.min_repeat_buyers,
        as_of_date=settings.as_of_date,
        fitted_at=fitted_at,
    )
    return row


def _too_little_data(row: dict, error: InsufficientDataError, settings: Settings) -> dict:
    if error.n_customers == 0:
        reason = f"no customers with a paid purchase up to {settings.as_of_date}"
    else:
        reason = (
            f"{error.n_repeat_buyers} repeat buyer(s) among {error.n_customers} customers, "
            f"fewer than the {error.min_repeat_buyers} needed (var clv_min_repeat_buyers)"
        )
    row.update(
        fit_status="not_fitted",
        fit_reason=reason,
        customers_used=error.n_customers,
        repeat_buyers=error.n_repeat_buyers,
        converged=False,
    )
    return row


def _record_fit(row: dict, result) -> dict:
    row.update(
        fit_status="fitted",
        parameters=_parameter_text(result.params),
        log_likelihood=result.log_likelihood,
        customers_used=result.n_customers,
        repeat_buyers=result.n_repeat_buyers,
        converged=result.converged,
        optimizer_message=result.message,
        **{f"param_{name}": value for name, value in result.params.items()},
    )
    if not result.converged:
        row.update(
            fit_status="not_fitted",
            fit_reason=(
                f"the maximum-likelihood fit did not converge ({result.message}); "
                "more data or a small var clv_penalizer (e.g. 0.01) may help"
            ),
        )
    return row


def fit_purchase_row(
    model: str, fit_inputs: pd.DataFrame, settings: Settings, min_age_weeks: float, fitted_at
) -> dict:
    """One parameters row for BG/NBD or MBG/NBD, fitted or saying why not."""
    row = _base_row(model, settings, fitted_at)
    try:
        result = fit_purchase_model(
            model,
            fit_inputs["repeat_purchase_count"].to_numpy(float),
            fit_inputs["weeks_first_to_last_purchase"].to_numpy(float),
            fit_inputs["weeks_first_purchase_to_as_of"].to_numpy(float),
            penalizer_coef=settings.penalizer,
            min_repeat_buyers=settings.min_repeat_buyers,
        )
    except InsufficientDataError as error:
        return _too_little_data(row, error, settings)
    _record_fit(row, result)
    # How many 2F1 terms the SQL needs: per customer from z when the series contracts,
    # otherwise this proven count for the youngest customer and the longest horizon.
    row["series_is_contracting"] = series_is_contracting(model, result.params)
    row["series_terms"] = scoring_series_terms(
        model,
        result.params,
        settings.longest_scored_weeks,
        T_min=min_age_weeks,
        tol=settings.series_tolerance,
    )
    row["series_terms_max_weeks"] = settings.longest_scored_weeks
    return row


def fit_spend_row(fit_inputs: pd.DataFrame, settings: Settings, fitted_at) -> dict:
    """The parameters row of the Gamma-Gamma spend model, fitted or saying why not."""
    row = _base_row("gamma_gamma", settings, fitted_at)
    try:
        result = fit_gamma_gamma(
            fit_inputs["repeat_purchase_count"].to_numpy(float),
            fit_inputs["mean_repeat_purchase_value"].to_numpy(float),
            penalizer_coef=settings.penalizer,
            min_repeat_buyers=settings.min_repeat_buyers,
        )
    except InsufficientDataError as error:
        row = _too_little_data(row, error, settings)
        row["fit_reason"] = row["fit_reason"].replace(
            "repeat buyer(s)", "repeat buyer(s) with spend"
        )
        return row
    _record_fit(row, result)
    if row["fit_status"] == "fitted" and result.params["q"] <= 1:
        row.update(
            fit_status="not_fitted",
            fit_reason=(
                f"q = {result.params['q']:.4g} <= 1: the expected spend per purchase is "
                "infinite (spend too heavy-tailed for the Gamma-Gamma model)"
            ),
        )
    return row


def fit_value_models(
    inputs: pd.DataFrame, settings: Settings, fitted_at: datetime | None = None
) -> pd.DataFrame:
    """The parameters table for ``inputs`` (rows of int_customers_value_model_inputs)."""
    fitted_at = fitted_at or datetime.now(UTC).replace(tzinfo=None)
    inputs = inputs.astype({"repeat_purchase_count": "int64"})
    inputs["mean_repeat_purchase_value"] = pd.to_numeric(
        inputs["mean_repeat_purchase_value"], errors="coerce"
    ).astype(float)
    fit_inputs = inputs[inputs["is_used_for_fitting"].astype(bool)]
    ages = inputs["weeks_first_purchase_to_as_of"].to_numpy(float)
    min_age_weeks = float(ages.min()) if ages.size else 0.0
    rows = [
        fit_purchase_row(model, fit_inputs, settings, min_age_weeks, fitted_at)
        for model in PURCHASE_MODELS
    ]
    rows.append(fit_spend_row(fit_inputs, settings, fitted_at))
    return pd.DataFrame(rows, columns=[name for name, _ in PARAMETER_COLUMNS])


def describe(parameters: pd.DataFrame) -> Iterable[tuple[bool, str]]:
    """(is fitted, line to print) for each model."""
    for row in parameters.itertuples(index=False):
        if row.fit_status == "fitted":
            yield (
                True,
                (
                    f"value model: {row.model} fitted on {row.customers_used} customers "
                    f"({row.repeat_buyers} repeat buyers): {row.parameters}, "
                    f"log-likelihood {row.log_likelihood:.2f}"
                ),
            )
        else:
            yield (
                False,
                (
                    f"value model: {row.model} NOT FITTED: {row.fit_reason}. "
                    "Its predictions will be null with this reason (value_model_reason)."
                ),
            )


# --------------------------------------------------------------------------- warehouse access
@dataclass(frozen=True)
class Relation:
    schema: str
    identifier: str


@dataclass(frozen=True)
class ValueModelRelations:
    settings: Relation
    inputs: Relation
    parameters: Relation


def dbt_relations(target: str) -> ValueModelRelations:
    """Where dbt put the inputs and where the parameters source lives, from the manifest of
    the dbt invocation that just ran."""
    target_path = Path(os.environ.get("DBT_TARGET_PATH") or PROJECT_DIR / "target")
    manifest_path = target_path / "manifest.json"
    if not manifest_path.is_file():
        raise SystemExit(
            f"no dbt manifest at {manifest_path}: build the value-model inputs with dbt first "
            "(python -m scripts.run_pipeline does both)"
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    adapter = manifest["metadata"].get("adapter_type")
    if adapter != target:
        raise SystemExit(
            f"the dbt manifest at {manifest_path} is for {adapter}, not {target}: "
            f"run dbt for {target} first"
        )

    def model(name: str) -> Relation:
        node = manifest["nodes"][f"model.{PROJECT_NAME}.{name}"]
        return Relation(node["schema"], node["alias"])

    source = manifest["sources"][f"source.{PROJECT_NAME}.value_model.value_model_parameters"]
    return ValueModelRelations(
        settings=model("int_value_model_settings"),
        inputs=model("int_customers_value_model_inputs"),
        parameters=Relation(source["schema"], source["identifier"]),
    )


#: What the fit reads of int_customers_value_model_inputs: not contact_id, whose strings
#: took most of the read (1M contacts: 2.4 s for the table, 0.3 s for these).
FIT_INPUT_COLUMNS = (
    "repeat_purchase_count",
    "weeks_first_to_last_purchase",
    "weeks_first_purchase_to_as_of",
    "mean_repeat_purchase_value",
    "is_used_for_fitting",
)


def _quoted(relation: Relation, quote: str = '"') -> str:
    return f"{quote}{relation.schema}{quote}.{quote}{relation.identifier}{quote}"


def _select(relation: Relation, columns: Iterable[str] | None, quote: str = '"') -> str:
    listed = ", ".join(f"{quote}{c}{quote}" for c in columns) if columns else "*"
    return f"select {listed} from {_quoted(relation, quote)}"


class DuckDBWarehouse:
    def __init__(self) -> None:
        import duckdb

        path = Path(os.environ.get("CRM_DUCKDB_PATH") or "warehouse/crm.duckdb")
        self.con = duckdb.connect(str(path if path.is_absolute() else PROJECT_DIR / path))

    def read(self, relation: Relation, columns: Iterable[str] | None = None) -> pd.DataFrame:
        return self.con.execute(_select(relation, columns)).fetchdf()

    def replace_parameters(self, relation: Relation, parameters: pd.DataFrame) -> None:
        types = {"string": "varchar", "double": "double", "bigint": "bigint"}
        columns = ", ".join(
            f'cast("{name}" as {types.get(kind, kind)}) as "{name}"'
            for name, kind in PARAMETER_COLUMNS
        )
        self.con.register("fitted_parameters", parameters)
        self.con.execute(f'create schema if not exists "{relation.schema}"')
        self.con.execute(
            f"create or replace table {_quoted(relation)} as "
            f"select {columns} from fitted_parameters"
        )
        self.con.unregister("fitted_parameters")

    def close(self) -> None:
        self.con.close()


class PostgresWarehouse:
    def __init__(self) -> None:
        import psycopg2

        self.con = psycopg2.connect(
            host=os.environ.get("CRM_PG_HOST", "127.0.0.1"),
            port=int(os.environ.get("CRM_PG_PORT", "5432")),
            user=os.environ.get("CRM_PG_USER", "postgres"),
            password=os.environ.get("CRM_PG_PASSWORD", ""),
            dbname=os.environ.get("CRM_PG_DBNAME", "crm_warehouse"),
        )

    def read(self, relation: Relation, columns: Iterable[str] | None = None) -> pd.DataFrame:
        with self.con.cursor() as cur:
            cur.execute(_select(relation, columns))
            names = [d[0] for d in cur.description]
            return pd.DataFrame(cur.fetchall(), columns=names)

    def replace_parameters(self, relation: Relation, parameters: pd.DataFrame) -> None:
        types = {"string": "text", "double": "double precision"}
        columns = ", ".join(f'"{name}" {types.get(kind, kind)}' for name, kind in PARAMETER_COLUMNS)
        placeholders = ", ".join("%s" for _ in PARAMETER_COLUMNS)
        with self.con, self.con.cursor() as cur:  # one transaction: readers never see it half done
            cur.execute(f'create schema if not exists "{relation.schema}"')
            cur.execute(f"drop table if exists {_quoted(relation)}")
            cur.execute(f"create table {_quoted(relation)} ({columns})")
            cur.executemany(
                f"insert into {_quoted(relation)} values ({placeholders})", _plain_rows(parameters)
            )

    def close(self) -> None:
        self.con.close()


class SparkWarehouse:
    """A Spark session on the same metastore as dbt's (profiles.yml, target spark).

    The embedded metastore admits one JVM at a time: this runs in its own process, after
    the first dbt invocation ended and before the second starts."""

    def __init__(self) -> None:
        from pyspark.sql import SparkSession

        warehouse_dir = str(
            Path(
                os.environ.get("CRM_SPARK_WAREHOUSE_DIR") or PROJECT_DIR / "warehouse/spark"
            ).resolve()
        )
        self.spark = (
            SparkSession.builder.master(os.environ.get("CRM_SPARK_MASTER", "local[2]"))
            .appName("fit_value_model")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.warehouse.dir", warehouse_dir)
            .config("spark.driver.memory", os.environ.get("CRM_SPARK_DRIVER_MEMORY", "4g"))
            .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse_dir}")
            .config(
                "spark.hadoop.javax.jdo.option.ConnectionURL",
                f"jdbc:derby:;databaseName={warehouse_dir}/metastore_db;create=true",
            )
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .enableHiveSupport()
            .getOrCreate()
        )
        self.spark.sparkContext.setLogLevel("ERROR")

    def read(self, relation: Relation, columns: Iterable[str] | None = None) -> pd.DataFrame:
        return self.spark.sql(_select(relation, columns, "`")).toPandas()

    def replace_parameters(self, relation: Relation, parameters: pd.DataFrame) -> None:
        from pyspark.sql import types as T

        spark_types = {
            "string": T.StringType(),
            "double": T.DoubleType(),
            "bigint": T.LongType(),
            "boolean": T.BooleanType(),
            "date": T.DateType(),
            "timestamp": T.TimestampType(),
        }
        schema = T.StructType(
            [T.StructField(name, spark_types[kind], True) for name, kind in PARAMETER_COLUMNS]
        )
        frame = self.spark.createDataFrame(_plain_rows(parameters), schema)
        self.spark.sql(f"create database if not exists `{relation.schema}`")
        frame.write.mode("overwrite").format("parquet").saveAsTable(_quoted(relation, "`"))

    def close(self) -> None:
        self.spark.stop()


def _plain_rows(parameters: pd.DataFrame) -> list[tuple]:
    """Rows as plain Python values of each column's type, None where missing: drivers
    reject numpy types and NaN, and a whole-number column with a gap comes back as floats."""
    converters = {"bigint": int, "double": float, "boolean": bool}

    def plain(value, kind: str):
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
            return None
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, pd.Timestamp):
            return value.to_pydatetime()
        return converters.get(kind, lambda v: v)(value)

    kinds = [kind for _, kind in PARAMETER_COLUMNS]
    return [
        tuple(plain(value, kind) for value, kind in zip(row, kinds, strict=True))
        for row in parameters.itertuples(index=False)
    ]


WAREHOUSES = {"duckdb": DuckDBWarehouse, "postgres": PostgresWarehouse, "spark": SparkWarehouse}


def run(target: str) -> pd.DataFrame:
    """Fit on ``target``'s warehouse and replace its parameters table; return the table."""
    if target not in WAREHOUSES:
        raise SystemExit(f"unknown target {target!r}: choose {', '.join(WAREHOUSES)}")
    relations = dbt_relations(target)
    warehouse = WAREHOUSES[target]()
    try:
        settings_rows = warehouse.read(relations.settings)
        if len(settings_rows) != 1:
            raise SystemExit(f"{relations.settings} should hold one row, not {len(settings_rows)}")
        settings = Settings.from_row(settings_rows.iloc[0])
        # In no particular order: the fit sums over the distinct input rows, sorted, so the
        # same inputs give the same parameters whatever order they come in.
        inputs = warehouse.read(relations.inputs, FIT_INPUT_COLUMNS)
        parameters = fit_value_models(inputs, settings)
        warehouse.replace_parameters(relations.parameters, parameters)
    finally:
        warehouse.close()
    print(f"value model: {len(inputs)} customers as of {settings.as_of_date}")
    for fitted, line in describe(parameters):
        print(line, file=sys.stdout if fitted else sys.stderr, flush=True)
    return parameters


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default=os.environ.get("DBT_TARGET", "duckdb"))
    args = parser.parse_args(argv)
    run(args.target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
