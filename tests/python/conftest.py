"""Shared fixtures: the three engines and a warehouse built from the shipped sample.

An engine that cannot be started is skipped locally; with CRM_REQUIRE_ALL_ENGINES=1 (set by
.ci/run) the same situation fails the run, so CI never passes with an engine untested.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from scripts.contract import PROJECT_DIR

SAMPLE_LANDING = PROJECT_DIR / "data" / "sample" / "landing"
REQUIRE_ALL_ENGINES = os.environ.get("CRM_REQUIRE_ALL_ENGINES") == "1"


def engine_unavailable(reason: str) -> None:
    if REQUIRE_ALL_ENGINES:
        pytest.fail(f"{reason}; CRM_REQUIRE_ALL_ENGINES=1 turns this skip into a failure")
    pytest.skip(reason)


@dataclass
class Warehouse:
    """A warehouse built by the project's own pipeline on one engine, and how to query it."""

    engine: str
    env: dict[str, str]
    workdir: Path
    landing: Path
    _spark: object = field(default=None, repr=False)

    def run_pipeline(self, *extra: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "scripts.run_pipeline", "--target", self.engine]
        command += ["--landing", str(self.landing), *extra]
        completed = subprocess.run(
            command, cwd=PROJECT_DIR, env=self.env, capture_output=True, text=True
        )
        if completed.returncode != 0:
            tail = (completed.stdout + completed.stderr)[-6000:]
            pytest.fail(f"pipeline failed on {self.engine}:\n{tail}")
        return completed

    def schema(self, layer: str) -> str:
        prefix = {"duckdb": "main", "postgres": "public", "spark": "crm"}[self.engine]
        return f"{prefix}_{layer}" if layer != "raw" else "raw"

    def query(self, sql: str) -> list[tuple]:
        if self.engine == "duckdb":
            import duckdb

            with duckdb.connect(self.env["CRM_DUCKDB_PATH"], read_only=True) as con:
                return [tuple(r) for r in con.execute(sql).fetchall()]
        if self.engine == "postgres":
            import psycopg2

            con = psycopg2.connect(
                host=self.env["CRM_PG_HOST"],
                port=int(self.env["CRM_PG_PORT"]),
                user=self.env["CRM_PG_USER"],
                password=self.env["CRM_PG_PASSWORD"],
                dbname=self.env["CRM_PG_DBNAME"],
            )
            try:
                with con.cursor() as cur:
                    cur.execute(sql)
                    return [tuple(r) for r in cur.fetchall()]
            finally:
                con.close()
        return [tuple(r) for r in self.spark_session().sql(sql).collect()]

    def spark_session(self):
        if self._spark is None:
            from pyspark.sql import SparkSession

            warehouse_dir = self.env["CRM_SPARK_WAREHOUSE_DIR"]
            self._spark = (
                SparkSession.builder.master("local[1]")
                .config("spark.ui.enabled", "false")
                .config("spark.sql.warehouse.dir", warehouse_dir)
                .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={warehouse_dir}")
                .config(
                    "spark.hadoop.javax.jdo.option.ConnectionURL",
                    f"jdbc:derby:;databaseName={warehouse_dir}/metastore_db;create=true",
                )
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .enableHiveSupport()
                .getOrCreate()
            )
        return self._spark

    def close(self) -> None:
        if self._spark is not None:
            self._spark.stop()
            self._spark = None


def base_env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DBT_TARGET_PATH=str(workdir / "dbt_target"),
        DBT_LOG_PATH=str(workdir / "dbt_logs"),
        CRM_QUARANTINE_DIR=str(workdir / "quarantine"),
        CRM_DUCKDB_PATH=str(workdir / "crm.duckdb"),
    )
    return env


@pytest.fixture(scope="session")
def postgres_env(tmp_path_factory) -> dict[str, str]:
    ensure = subprocess.run(
        ["bash", str(PROJECT_DIR / "scripts/engines/ensure_postgres.sh")],
        capture_output=True,
        text=True,
    )
    if ensure.returncode != 0:
        engine_unavailable(f"PostgreSQL could not be installed: {ensure.stderr[-2000:]}")
    from scripts.engines import postgres_server

    try:
        info = postgres_server.start(tmp_path_factory.mktemp("postgres"))
    except postgres_server.PostgresServerError as exc:
        engine_unavailable(f"PostgreSQL could not be started: {exc}")
    yield {
        "CRM_PG_HOST": info.host,
        "CRM_PG_PORT": str(info.port),
        "CRM_PG_USER": info.user,
        "CRM_PG_PASSWORD": info.password,
        "CRM_PG_DBNAME": info.dbname,
    }
    postgres_server.stop(info)


@pytest.fixture(scope="session")
def spark_env(tmp_path_factory) -> dict[str, str]:
    ensure = subprocess.run(
        ["bash", str(PROJECT_DIR / "scripts/engines/ensure_java.sh")],
        capture_output=True,
        text=True,
    )
    if ensure.returncode != 0 or not ensure.stdout.strip():
        engine_unavailable(f"no Java runtime for Spark: {ensure.stderr[-2000:]}")
    java_home = ensure.stdout.strip().splitlines()[-1]
    os.environ["JAVA_HOME"] = java_home  # for the in-process query session too
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    workdir = tmp_path_factory.mktemp("spark")
    return {
        "JAVA_HOME": java_home,
        "CRM_SPARK_WAREHOUSE_DIR": str(workdir / "warehouse"),
        "CRM_SPARK_RAW_DIR": str(workdir / "raw"),
        "CRM_SPARK_MASTER": "local[2]",
        "SPARK_LOCAL_IP": "127.0.0.1",
    }


def build_warehouse(engine: str, workdir: Path, extra_env: dict[str, str]) -> Warehouse:
    if not SAMPLE_LANDING.is_dir():
        pytest.fail(f"the shipped sample is missing at {SAMPLE_LANDING}")
    env = base_env(workdir)
    env.update(extra_env)
    warehouse = Warehouse(engine=engine, env=env, workdir=workdir, landing=SAMPLE_LANDING)
    warehouse.run_pipeline()
    return warehouse


@pytest.fixture(scope="session")
def duckdb_warehouse(tmp_path_factory) -> Warehouse:
    return build_warehouse("duckdb", tmp_path_factory.mktemp("duckdb"), {})


@pytest.fixture(scope="session")
def postgres_warehouse(tmp_path_factory, postgres_env) -> Warehouse:
    return build_warehouse("postgres", tmp_path_factory.mktemp("pg_build"), postgres_env)


@pytest.fixture(scope="session")
def spark_warehouse(tmp_path_factory, spark_env) -> Warehouse:
    warehouse = build_warehouse("spark", tmp_path_factory.mktemp("spark_build"), spark_env)
    yield warehouse
    warehouse.close()


@pytest.fixture(scope="session", params=["duckdb", "postgres", "spark"])
def warehouse(request) -> Warehouse:
    return request.getfixturevalue(f"{request.param}_warehouse")
