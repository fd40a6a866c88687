"""Shared fixtures: the three engines and a warehouse built from the shipped sample.

An engine that cannot be started is skipped locally; with CRM_REQUIRE_ALL_ENGINES=1 (set by
.ci/run) the same situation fails the run, so CI never passes with an engine untested.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from scripts.contract import PROJECT_DIR
from scripts.prepared_dbt import DBT_EXECUTABLE
from scripts.run_pipeline import engine_environment

SAMPLE_LANDING = PROJECT_DIR / "data" / "sample" / "landing"
CRAFTED_LANDING = PROJECT_DIR / "tests" / "fixtures" / "crafted" / "landing"
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

    def target_schema(self) -> str:
        """The profile's schema: dbt's own tables, and the prefix of every layer's schema."""
        return {"duckdb": "main", "postgres": "public", "spark": "crm"}[self.engine]

    def schema(self, layer: str) -> str:
        return f"{self.target_schema()}_{layer}" if layer != "raw" else "raw"

    def query(self, sql: str) -> list[tuple]:
        if self.engine == "duckdb":
            import duckdb

            with duckdb.connect(self.env["CRM_DUCKDB_PATH"], read_only=True) as con:
                return [tuple(r) for r in con.execute(sql).fetchall()]
        if self.engine == "postgres":
            con = self._postgres_connection()
            try:
                with con.cursor() as cur:
                    cur.execute(sql)
                    return [tuple(r) for r in cur.fetchall()]
            finally:
                con.close()
        return self._spark_query(sql)

    def execute(self, sql: str) -> None:
        """Run a statement that changes the warehouse (query only reads); DuckDB and PostgreSQL."""
        if self.engine == "duckdb":
            import duckdb

            with duckdb.connect(self.env["CRM_DUCKDB_PATH"]) as con:
                con.execute(sql)
            return
        if self.engine != "postgres":
            raise NotImplementedError(f"Warehouse.execute does not support {self.engine}")
        con = self._postgres_connection()
        try:
            with con, con.cursor() as cur:
                cur.execute(sql)
        finally:
            con.close()

    def _postgres_connection(self):
        import psycopg2

        return psycopg2.connect(
            host=self.env["CRM_PG_HOST"],
            port=int(self.env["CRM_PG_PORT"]),
            user=self.env["CRM_PG_USER"],
            password=self.env["CRM_PG_PASSWORD"],
            dbname=self.env["CRM_PG_DBNAME"],
        )

    def _spark_query(self, sql: str) -> list[tuple]:
        if self._spark is None:
            self._spark = subprocess.Popen(
                [
                    sys.executable,
                    str(Path(__file__).with_name("spark_query_server.py")),
                    self.env["CRM_SPARK_WAREHOUSE_DIR"],
                ],
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            ready = self._spark.stdout.readline()
            if not ready:
                pytest.fail("the Spark query process did not start")
        self._spark.stdin.write(json.dumps({"sql": sql}) + "\n")
        self._spark.stdin.flush()
        answer = json.loads(self._spark.stdout.readline())
        if "error" in answer:
            raise RuntimeError(f"{answer['error']}\nquery: {sql}")
        return [tuple(r) for r in answer["rows"]]

    def close(self) -> None:
        if self._spark is not None:
            self._spark.stdin.close()
            self._spark.wait(timeout=120)
            self._spark = None


def dbt(warehouse: Warehouse, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run one dbt command on the warehouse; fail the test when it fails, unless `check` is off."""
    env = engine_environment()
    env.update(warehouse.env)
    command = [DBT_EXECUTABLE, *args, "--target", warehouse.engine]
    command += ["--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]
    completed = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    if check and completed.returncode != 0:
        pytest.fail(
            f"dbt {' '.join(args)} failed on {warehouse.engine}:\n{completed.stdout[-6000:]}"
        )
    return completed


def load(warehouse: Warehouse) -> None:
    command = [
        str(Path(DBT_EXECUTABLE).with_name("python")),
        "-m",
        "scripts.load_landing",
        "--target",
        warehouse.engine,
        "--landing",
        str(warehouse.landing),
    ]
    completed = subprocess.run(
        command, cwd=PROJECT_DIR, env=warehouse.env, capture_output=True, text=True
    )
    if completed.returncode != 0:
        pytest.fail(f"load failed on {warehouse.engine}:\n{completed.stdout}{completed.stderr}")


def base_env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DBT_EXCLUDE_RESOURCE_TYPES", None)
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
    workdir = tmp_path_factory.mktemp("spark")
    return {
        "JAVA_HOME": java_home,
        "CRM_SPARK_WAREHOUSE_DIR": str(workdir / "warehouse"),
        "CRM_SPARK_RAW_DIR": str(workdir / "raw"),
        "CRM_SPARK_MASTER": "local[2]",
        "SPARK_LOCAL_IP": "127.0.0.1",
    }


def isolated_engine_env(request, engine: str, workdir: Path) -> dict[str, str]:
    """Settings giving one build its own warehouse: a new PostgreSQL database, or new Spark
    folders and metastore, so several builds in one session never share raw tables."""
    if engine == "postgres":
        import psycopg2

        env = dict(request.getfixturevalue("postgres_env"))
        database = f"crm_{workdir.name.lower().replace('-', '_')}"
        con = psycopg2.connect(
            host=env["CRM_PG_HOST"],
            port=int(env["CRM_PG_PORT"]),
            user=env["CRM_PG_USER"],
            password=env["CRM_PG_PASSWORD"],
            dbname=env["CRM_PG_DBNAME"],
        )
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute(f'create database "{database}"')
        con.close()
        env["CRM_PG_DBNAME"] = database
        return env
    if engine == "spark":
        env = dict(request.getfixturevalue("spark_env"))
        env["CRM_SPARK_WAREHOUSE_DIR"] = str(workdir / "spark_warehouse")
        env["CRM_SPARK_RAW_DIR"] = str(workdir / "spark_raw")
        # A dbt unit test costs 15-20 s on a local Spark session (about 15 minutes for the
        # suite); they check rule logic, not the engine, and run in every DuckDB and
        # PostgreSQL build. Spark runs the models and every data test.
        env["DBT_EXCLUDE_RESOURCE_TYPES"] = "unit_test"
        return env
    return {}


def build_warehouse(request, engine: str, workdir: Path, landing: Path) -> Warehouse:
    if not landing.is_dir():
        pytest.fail(f"the landing folder is missing at {landing}")
    env = base_env(workdir)
    env.update(isolated_engine_env(request, engine, workdir))
    warehouse = Warehouse(engine=engine, env=env, workdir=workdir, landing=landing)
    warehouse.run_pipeline()
    return warehouse


@pytest.fixture(scope="session", params=["duckdb", "postgres", "spark"])
def warehouse(request, tmp_path_factory) -> Warehouse:
    """The shipped sample built on each engine."""
    workdir = tmp_path_factory.mktemp(f"sample_{request.param}")
    built = build_warehouse(request, request.param, workdir, SAMPLE_LANDING)
    yield built
    built.close()


@pytest.fixture(scope="session", params=["duckdb", "postgres", "spark"])
def crafted_warehouse(request, tmp_path_factory) -> Warehouse:
    """The hand-worked twelve-contact fixture built once per engine and shared read-only by
    every test module (an engine build costs minutes on Spark)."""
    workdir = tmp_path_factory.mktemp(f"crafted_{request.param}")
    built = build_warehouse(request, request.param, workdir, CRAFTED_LANDING)
    yield built
    built.close()
