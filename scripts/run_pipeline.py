"""The main job: load new landing files, then build and test the warehouse with dbt.

`make run` calls this on the embedded DuckDB default. DBT_TARGET selects another engine.
The value model is fitted in Python between two dbt builds (scripts/fit_value_model.py):
the first builds everything the fit reads, the second everything scored from its parameters.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from scripts.contract import PROJECT_DIR
from scripts.go_signal import wait_for_go
from scripts.prepared_dbt import EXIT_NOT_RUN, PreparedDbt


def engine_environment() -> dict[str, str]:
    """The environment dbt runs with: Spark's folders made absolute, as its DDL needs."""
    env = dict(os.environ)
    warehouse = PROJECT_DIR / "warehouse"
    for name, default in (
        ("CRM_SPARK_RAW_DIR", warehouse / "spark_raw"),
        ("CRM_SPARK_WAREHOUSE_DIR", warehouse / "spark"),
    ):
        env[name] = str(Path(env.get(name) or default).resolve())
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    return env


# dbt selector of the models (and their tests) that need the fitted value-model parameters.
NEEDS_VALUE_MODEL = "source:value_model+"


FIT_MODULE = "scripts.fit_value_model"
#: The start of the line printed when the first build has succeeded and the fit begins:
#: scripts.refresh makes the mart validation's great-expectations context then.
FIT_ANNOUNCEMENT = f"$ python -m {FIT_MODULE}"


def fit_value_model(target: str) -> None:
    """In its own process: on Spark it opens the metastore, which admits one JVM at a time."""
    command = [sys.executable, "-m", FIT_MODULE, "--target", target]
    print(f"{FIT_ANNOUNCEMENT} --target {target}", flush=True)
    completed = subprocess.run(command, cwd=PROJECT_DIR, env=engine_environment())
    if completed.returncode != 0:
        raise SystemExit(
            f"fitting the value model failed on {target} (exit {completed.returncode})"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default=os.environ.get("DBT_TARGET", "duckdb"))
    parser.add_argument(
        "--landing",
        default=os.environ.get("CRM_LANDING_DIR"),
        help="the landing folder (env CRM_LANDING_DIR; default data/sample/landing)",
    )
    parser.add_argument(
        "--vars",
        default=os.environ.get("CRM_DBT_VARS"),
        help="dbt vars for this build, as YAML, e.g. '{as_of_date: 2026-06-30}' (env CRM_DBT_VARS)",
    )
    parser.add_argument(
        "--no-load",
        action="store_true",
        help="build only: the caller has loaded the landing files (scripts.refresh does)",
    )
    parser.add_argument(
        "--wait-for-go",
        action="store_true",
        help="start the first build's dbt, then wait for a line `go` on stdin before loading "
        "or building (scripts.refresh starts this while it loads); without it, exit 3",
    )
    parser.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild the incremental base models from all raw rows (after changing the "
        "extract contract or the typing macros, or when dbt asks for it)",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    build_options = ["--full-refresh"] if args.full_refresh else []
    env = engine_environment()
    # Each build's dbt is started (imports, parse) while the step before it runs.
    with PreparedDbt(
        ["build", "--exclude", NEEDS_VALUE_MODEL, *build_options],
        args.target,
        env,
        dbt_vars=args.vars,
    ) as first_build:
        if args.wait_for_go:
            if not wait_for_go():
                print("run_pipeline: told to stop before building", flush=True)
                return EXIT_NOT_RUN
            started = time.monotonic()  # the wait was the caller's time
        if not args.no_load:
            # Imported only to load (DuckDB's module alone is about 50 MiB): scripts.refresh
            # starts this process during its own load, whose peak it adds to.
            from scripts.load_landing import DEFAULT_LANDING_DIR, load_landing, print_summary

            landing = Path(args.landing) if args.landing else DEFAULT_LANDING_DIR
            print_summary(load_landing(landing, args.target))
        first_build.run()
    # not writing target/manifest.json, which the fit reads while this one parses
    with PreparedDbt(
        ["build", "--select", NEEDS_VALUE_MODEL, *build_options],
        args.target,
        env,
        dbt_vars=args.vars,
        write_manifest=False,
    ) as second_build:
        fit_value_model(args.target)
        second_build.run()
    print(f"done in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
