"""Smoke tests for the engine harness in scripts/engines/.

- ensure_postgres.sh / ensure_java.sh leave working binaries behind (installing via apt if
  they are missing, so on a fresh CI machine the first run may take a minute);
- postgres_server.py starts a throwaway server we can connect to with psycopg2, and stops it;
- pyspark can start a local, Hive-enabled session whose Derby metastore and warehouse live in
  tmp_path. This runs in a subprocess so that the JVM (and its JVM-wide settings such as
  derby.system.home) does not leak into the pytest process and later dbt-spark sessions.

Timings are printed as ``[engine-harness] ...`` lines and recorded as junit properties.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ENGINES_DIR = REPO_ROOT / "scripts" / "engines"


def _load_postgres_server():
    spec = importlib.util.spec_from_file_location(
        "postgres_server", ENGINES_DIR / "postgres_server.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("postgres_server", module)
    spec.loader.exec_module(module)
    return module


pg_server = _load_postgres_server()


def _report(capsys, record_property, name: str, seconds: float) -> None:
    record_property(name, f"{seconds:.2f}")
    with capsys.disabled():
        print(f"\n[engine-harness] {name}: {seconds:.2f}s")


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


def _run_script(
    name: str, *args: str, env: dict[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(ENGINES_DIR / name), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


@pytest.fixture(scope="module")
def pg_ready():
    proc = _run_script("ensure_postgres.sh", "--print-bindir")
    assert proc.returncode == 0, f"ensure_postgres.sh failed:\n{proc.stdout}\n{proc.stderr}"
    return Path(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def java_home() -> str:
    proc = _run_script("ensure_java.sh")
    assert proc.returncode == 0, f"ensure_java.sh failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout.strip().splitlines()[-1]


def test_ensure_postgres_is_idempotent_and_quiet(pg_ready):
    assert (pg_ready / "initdb").is_file()
    assert (pg_ready / "pg_ctl").is_file()
    proc = _run_script("ensure_postgres.sh")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""


def test_postgres_server_lifecycle(pg_ready, tmp_path, capsys, record_property):
    import psycopg2

    t0 = time.monotonic()
    info = pg_server.start(tmp_path / "pg")
    _report(capsys, record_property, "postgres_start_seconds", time.monotonic() - t0)
    try:
        assert info.host == "127.0.0.1"
        assert info.dbname == "crm_warehouse"
        assert pg_server.is_running(info)
        # idempotent: a second start() returns the running server
        assert pg_server.start(tmp_path / "pg") == info

        conn = psycopg2.connect(
            host=info.host,
            port=info.port,
            user=info.user,
            password=info.password,
            dbname=info.dbname,
        )
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("select 1")
                assert cur.fetchone() == (1,)
                cur.execute("create table harness_smoke (id int primary key, name text)")
                cur.execute("insert into harness_smoke values (1, 'a'), (2, 'b')")
                cur.execute("select count(*) from harness_smoke")
                assert cur.fetchone() == (2,)
                cur.execute("show listen_addresses")
                assert cur.fetchone() == ("127.0.0.1",)
        finally:
            conn.close()

        with pytest.raises(psycopg2.OperationalError):
            psycopg2.connect(info.dsn().replace(f"password={info.password}", "password=wrong"))
    finally:
        t0 = time.monotonic()
        pg_server.stop(info)
        _report(capsys, record_property, "postgres_stop_seconds", time.monotonic() - t0)
    assert not pg_server.is_running(info)
    assert not _port_open(info.host, info.port)
    assert not Path(info.data_dir).exists()


def test_postgres_server_cli_and_context_manager(pg_ready, tmp_path):
    import psycopg2

    script = str(ENGINES_DIR / "postgres_server.py")
    state_dir = tmp_path / "cli"
    proc = subprocess.run(
        [sys.executable, script, "start", "--dir", str(state_dir)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    env = dict(re.findall(r"^export (PG[A-Z]+)=(\S+)$", proc.stdout, flags=re.M))
    assert set(env) == {"PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"}
    try:
        conn = psycopg2.connect(
            host=env["PGHOST"],
            port=int(env["PGPORT"]),
            user=env["PGUSER"],
            password=env["PGPASSWORD"],
            dbname=env["PGDATABASE"],
        )
        with conn, conn.cursor() as cur:
            cur.execute("select current_database()")
            assert cur.fetchone() == ("crm_warehouse",)
        conn.close()
        status = subprocess.run(
            [sys.executable, script, "status", "--dir", str(state_dir)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert status.returncode == 0, status.stdout + status.stderr
    finally:
        stop = subprocess.run(
            [sys.executable, script, "stop", "--dir", str(state_dir)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert stop.returncode == 0, stop.stderr
    assert not _port_open(env["PGHOST"], int(env["PGPORT"]))

    with pg_server.running_server(tmp_path / "ctx") as info:
        conn = psycopg2.connect(info.dsn())
        with conn, conn.cursor() as cur:
            cur.execute("select 1")
            assert cur.fetchone() == (1,)
        conn.close()
    assert not pg_server.is_running(info)


def _java_major(java: str) -> int:
    out = subprocess.run(
        [java, "-version"], capture_output=True, text=True, check=True, timeout=60
    ).stderr
    version = re.search(r'version "([^"]+)"', out).group(1)
    parts = version.split(".")
    return int(parts[1]) if parts[0] == "1" else int(re.match(r"\d+", parts[0]).group(0))


def test_ensure_java_gives_java_17_plus(java_home):
    java = Path(java_home) / "bin" / "java"
    assert java.is_file(), f"ensure_java.sh printed {java_home!r} which has no bin/java"
    assert _java_major(str(java)) >= 17
    # second run with JAVA_HOME set to the answer: same answer, silent (no install)
    proc = _run_script("ensure_java.sh", env={**os.environ, "JAVA_HOME": java_home})
    assert proc.returncode == 0
    assert proc.stdout.strip().splitlines()[-1] == java_home
    assert proc.stderr == ""


def test_ensure_java_ignores_java_home_too_new_for_spark(java_home, tmp_path):
    # Spark 4.1's Hive/Hadoop code fails on Java >= 24 ("getSubject is not supported"),
    # so a JAVA_HOME pointing at e.g. Java 25 must be skipped in favour of a 17..21 one.
    fake_home = tmp_path / "jdk-25"
    (fake_home / "bin").mkdir(parents=True)
    fake_java = fake_home / "bin" / "java"
    fake_java.write_text("#!/bin/sh\necho 'openjdk version \"25.0.1\" 2025-10-21' >&2\n")
    fake_java.chmod(0o755)
    proc = _run_script("ensure_java.sh", env={**os.environ, "JAVA_HOME": str(fake_home)})
    assert proc.returncode == 0, proc.stderr
    chosen = proc.stdout.strip().splitlines()[-1]
    assert chosen != str(fake_home)
    assert 17 <= _java_major(str(Path(chosen) / "bin" / "java")) <= 21
    assert "ignoring JAVA_HOME" in proc.stderr


_SPARK_SMOKE = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path

    base = Path(sys.argv[1])
    t0 = time.monotonic()
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[1]")
        .appName("engine-harness-smoke")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.warehouse.dir", str(base / "warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={base / 'derby'}")
        .config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={base / 'metastore_db'};create=true",
        )
        .enableHiveSupport()
        .getOrCreate()
    )
    t_session = time.monotonic() - t0
    one = spark.sql("select 1 as one").collect()[0]["one"]
    t_select = time.monotonic() - t0 - t_session
    t1 = time.monotonic()
    spark.sql("create database if not exists harness_smoke")
    spark.sql("create table harness_smoke.t (id int) using parquet")
    spark.sql("insert into harness_smoke.t values (1), (2)")
    n = spark.sql("select count(*) as n from harness_smoke.t").collect()[0]["n"]
    t_table = time.monotonic() - t1
    catalog = spark.conf.get("spark.sql.catalogImplementation")
    spark.stop()
    print(json.dumps({"one": one, "n": n, "catalog": catalog, "session_s": t_session,
                      "first_select_s": t_select, "hive_table_s": t_table}))
    """
)


def test_pyspark_session_smoke(java_home, tmp_path, capsys, record_property):
    pytest.importorskip("pyspark")
    base = tmp_path / "spark"
    cwd = tmp_path / "cwd"
    base.mkdir()
    cwd.mkdir()
    env = {
        **os.environ,
        "JAVA_HOME": java_home,
        "PYSPARK_PYTHON": sys.executable,
        # otherwise Spark resolves the hostname and may pick a non-loopback interface
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    env.pop("SPARK_HOME", None)  # use the pip-installed pyspark's own jars
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", _SPARK_SMOKE, str(base)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    wall = time.monotonic() - t0
    assert proc.returncode == 0, f"pyspark smoke failed:\n{proc.stdout}\n{proc.stderr[-5000:]}"
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["one"] == 1
    assert result["n"] == 2
    assert result["catalog"] == "hive"
    _report(capsys, record_property, "spark_session_start_seconds", result["session_s"])
    _report(capsys, record_property, "spark_first_select_seconds", result["first_select_s"])
    _report(capsys, record_property, "spark_hive_table_roundtrip_seconds", result["hive_table_s"])
    _report(capsys, record_property, "spark_subprocess_wall_seconds", wall)
    # Derby metastore / derby.log / warehouse must not leak into the working directory.
    assert list(cwd.iterdir()) == []
    assert (base / "metastore_db").is_dir()
    assert (base / "derby" / "derby.log").is_file()
    assert (base / "warehouse" / "harness_smoke.db").is_dir()
