"""Refresh the published DuckDB warehouse: load and validate, build and test, validate, publish.

`make refresh` (or cron: `cd <project> && .venv/bin/python -m scripts.refresh`) runs:

  1. lock        flock on <warehouse>/refresh.lock; a second refresh exits 75 with a message
  2. prepare     copy the published warehouse to the working copy (work/crm.duckdb), so
                 incremental history and the load manifest carry over
  3. load        new landing files into the working copy's raw schema, each validated by the
                 great-expectations landing suites as it is read (a failure is reported as
                 step validate_landing), in a child process (scripts.refresh_load) that
                 gives its memory back before the builds
  4. build_and_test     scripts.run_pipeline (dbt build: models and data tests, value model)
                        on the working copy, in a subprocess
  5. validate_marts     great-expectations suites on the marts of the working copy
  6. export      every mart to Parquet and CSV (personal data masked) in a new folder
  7. publish     switch published/exports (a symlink) to the new folder and os.replace the
                 working copy onto published/crm.duckdb

Nothing under published/ changes before step 7, so a failure anywhere leaves the previous
published warehouse and exports byte-for-byte as they were; the run exits 1 and says which
step failed. Every run (including failed ones) is appended to <warehouse>/refresh_runs.jsonl
and mirrored into ops.refresh_runs (scripts/run_log.py). DuckDB only: publishing to
PostgreSQL or Spark is not handled here.
"""

from __future__ import annotations

import argparse
import collections
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from scripts import run_log
from scripts.contract import PROJECT_DIR
from scripts.go_signal import send_go, send_stop
from scripts.load_landing import DEFAULT_LANDING_DIR, env_path
from scripts.run_pipeline import FIT_ANNOUNCEMENT
from scripts.validation_report import ValidationReport

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_LOCKED = 75  # EX_TEMPFAIL: another refresh holds the lock; try again later
MARTS_SCHEMA = "main_marts"
LANDING_VALIDATION_STEP = "load / landing validation"  # step_seconds: the load's share
DB_NAME = "crm.duckdb"  # DuckDB views name their catalog after the file: keep the same name


class StepFailed(Exception):
    def __init__(self, step: str, message: str):
        super().__init__(message)
        self.step = step


class RefreshLocked(Exception):
    pass


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def work_db(self) -> Path:
        return self.root / "work" / DB_NAME

    @property
    def published_dir(self) -> Path:
        return self.root / "published"

    @property
    def published_db(self) -> Path:
        return self.published_dir / DB_NAME

    @property
    def exports_link(self) -> Path:
        return self.published_dir / "exports"

    @property
    def export_versions(self) -> Path:
        return self.published_dir / ".exports"

    @property
    def runs_log(self) -> Path:
        return self.root / "refresh_runs.jsonl"

    @property
    def lock_file(self) -> Path:
        return self.root / "refresh.lock"

    @property
    def validation_dir(self) -> Path:
        return self.root / "validation"

    @property
    def quarantine_dir(self) -> Path:
        return self.root / "quarantine"

    @property
    def checksum_cache(self) -> Path:
        return self.root / "landing_checksums.json"


@contextmanager
def refresh_lock(path: Path, run_id: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown holder"
            raise RefreshLocked(
                f"another refresh is running ({holder}); lock file {path}. "
                "This run did nothing; try again when it has finished."
            ) from None
        handle.seek(0)
        handle.truncate()
        started = datetime.now(UTC).isoformat(timespec="seconds")
        handle.write(f"pid {os.getpid()}, run {run_id}, started {started}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # closing the descriptor releases the lock


class Refresh:
    def __init__(self, args: argparse.Namespace, layout: Layout, run_id: str):
        self.args = args
        self.layout = layout
        self.run_id = run_id
        self.started = datetime.now(UTC)
        self._t0 = time.monotonic()
        self.steps: dict[str, float] = {}
        self.record: dict = {
            "run_id": run_id,
            "started_at": self.started.replace(tzinfo=None).isoformat(),
            "landing_dir": str(Path(args.landing).resolve()),
            "outcome": "running",
            "failed_step": None,
            "error": None,
            "as_of_date": None,
            "files_loaded": 0,
            "files_refused": 0,
            "rows_loaded": 0,
            "rejects": None,
            "loaded_files": [],
            "mart_rows": {},
            "step_seconds": self.steps,
        }
        self.validator = None
        self.validator_made: Future | None = None  # the validator, made during the fit
        self.landing_stores: dict = {}  # the load step's gx suites and results (Data Docs)
        self.reports: list[ValidationReport] = []
        self.new_exports: Path | None = None
        self.load_process: subprocess.Popen | None = None
        self.build_process: subprocess.Popen | None = None
        self.load_result = layout.work_db.with_name(f"load-{run_id}.json")

    @contextmanager
    def step(self, name: str):
        print(f"== {name}", flush=True)
        started = time.monotonic()
        try:
            yield
        except StepFailed:
            raise
        except SystemExit as exc:  # run_pipeline and load_landing stop with SystemExit(msg)
            raise StepFailed(name, str(exc.code)) from exc
        except Exception as exc:
            raise StepFailed(name, f"{type(exc).__name__}: {exc}") from exc
        finally:
            self.steps[name] = round(time.monotonic() - started, 2)

    # ------------------------------------------------------------------ steps

    def prepare(self) -> None:
        work = self.layout.work_db
        work.parent.mkdir(parents=True, exist_ok=True)
        self.start_load()
        self.start_build()
        for stale in (work, work.with_name(work.name + ".wal")):
            stale.unlink(missing_ok=True)
        if self.layout.published_db.exists():
            partial = work.with_name(work.name + ".partial")
            shutil.copy2(self.layout.published_db, partial)
            os.replace(partial, work)
            print(f"working copy of {self.layout.published_db} at {work}")
        else:
            print(f"no published warehouse yet: building {work} from scratch")

    def make_validator(self):
        from scripts.validate import Validator

        validator = Validator(self.layout.validation_dir, self.run_id)
        validator.import_stores(self.landing_stores)
        return validator

    def start_validator(self) -> None:
        """Make the mart validation's validator on a thread of its own while the build's child
        fits the value model: importing great-expectations and making its context took about
        3 s of validate_marts at 1M contacts, and the fit leaves a core idle. Not earlier: the
        first build is the run's memory peak, and the import holds about 230 MiB."""
        pool = ThreadPoolExecutor(1, thread_name_prefix="validator")
        self.validator_made = pool.submit(self.make_validator)
        pool.shutdown(wait=False)  # the thread ends with its one task

    def validator_instance(self):
        if self.validator is None:
            made, self.validator_made = self.validator_made, None
            # a failure on the thread is raised here, in the step that needs the validator
            self.validator = made.result() if made is not None else self.make_validator()
        return self.validator

    def start_load(self) -> None:
        """Start the load's child process (scripts.refresh_load), which imports what it needs
        and makes its great-expectations context while prepare copies the warehouse, then
        waits for `go` on stdin before it opens the working copy. In a process of its own so
        that what the load holds is given back before dbt builds."""
        command = [sys.executable, "-m", "scripts.refresh_load", "--run-id", self.run_id]
        command += ["--landing", str(self.args.landing), "--result", str(self.load_result)]
        command += ["--quarantine-dir", str(self.layout.quarantine_dir)]
        command += ["--validation-dir", str(self.layout.validation_dir)]
        command += ["--checksum-cache", str(self.layout.checksum_cache), "--wait-for-go"]
        env = {**os.environ, "CRM_DUCKDB_PATH": str(self.layout.work_db)}
        self.load_process = subprocess.Popen(
            command, cwd=PROJECT_DIR, env=env, stdin=subprocess.PIPE
        )

    def stop_load(self) -> None:
        """A run that fails before its load closes the child's stdin: the child stops."""
        process, self.load_process = self.load_process, None
        if process is not None:
            send_stop(process)
            process.wait()
            self.load_result.unlink(missing_ok=True)

    def load(self) -> None:
        """Load the new landing files, validating each as it is staged (one read per file).
        A drop that fails validation is in the working copy's raw schema by then, but the
        working copy is never published after a failure."""
        process, self.load_process = self.load_process, None
        send_go(process)  # a child that stopped already says why in its result
        returncode = process.wait()
        try:
            payload = json.loads(self.load_result.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise StepFailed(
                "load", f"scripts.refresh_load exited {returncode} without a result (see above)"
            ) from None
        finally:
            self.load_result.unlink(missing_ok=True)
        if "error" in payload:
            raise StepFailed("load", payload["error"])
        loaded = [f for f in payload["files"] if f["status"] == "loaded"]
        self.record["loaded_files"] = [
            {k: f[k] for k in ("entity", "file", "rows")} for f in loaded
        ]
        self.record["files_loaded"] = len(loaded)
        self.record["files_refused"] = sum(f["status"] == "refused" for f in payload["files"])
        self.record["rows_loaded"] = sum(f["rows"] for f in loaded)
        self.landing_stores = payload["gx_stores"]
        # a part of the load, so named "load / ...": a step's parts do not add to the run
        self.steps[LANDING_VALIDATION_STEP] = payload["validation_seconds"]
        report = ValidationReport.from_dict(payload["report"])
        self.reports.append(report)
        print(report.summary())
        print(f"landing validation: {payload['validation_seconds']:.1f} s of the load")
        if not report.success:
            raise StepFailed(
                "validate_landing", "landing extracts fail validation:\n" + report.summary()
            )

    def start_build(self) -> None:
        """Start the build's child (scripts.run_pipeline) now, waiting for `go`: its first dbt
        imports and parses the project while prepare copies and the load loads (about 3 s at
        1M contacts), and opens the working copy only after `go`. --no-load: the load step
        loads the landing files; checksumming them again costs seconds per gigabyte and finds
        nothing new."""
        command = [sys.executable, "-m", "scripts.run_pipeline", "--target", "duckdb"]
        command += ["--no-load", "--wait-for-go"]
        if self.args.vars:
            command += ["--vars", self.args.vars]
        if self.args.full_refresh:
            command += ["--full-refresh"]
        self.build_process = subprocess.Popen(
            command,
            cwd=PROJECT_DIR,
            env=self.child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def stop_build(self) -> None:
        """A run that fails before its build closes the child's stdin: the child stops, after
        saying so (its output so far is shown)."""
        process, self.build_process = self.build_process, None
        if process is not None:
            send_stop(process)
            for line in process.stdout:
                print(line, end="", flush=True)
            process.wait()

    def build_and_test(self) -> None:
        process, self.build_process = self.build_process, None
        send_go(process)  # a child that stopped already says why below
        tail: collections.deque[str] = collections.deque(maxlen=30)
        with process:
            for line in process.stdout:
                print(line, end="", flush=True)
                tail.append(line.rstrip())
                if line.startswith(FIT_ANNOUNCEMENT) and self.validator_made is None:
                    self.start_validator()
        if process.returncode != 0:
            problems = [
                line for line in tail if "ERROR" in line or "FAIL" in line or "rror" in line
            ]
            shown = "\n".join((problems or list(tail))[-12:])
            raise StepFailed(
                "build_and_test",
                f"scripts.run_pipeline exited {process.returncode} (dbt build or its tests "
                f"failed):\n{shown}",
            )

    def child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        # dbt unit tests check the SQL logic on mocked rows: CI's job (make test), not a
        # nightly refresh's, where they cost minutes and can never fail on new data.
        env.setdefault("DBT_EXCLUDE_RESOURCE_TYPES", "unit_test")
        env.update(
            CRM_DUCKDB_PATH=str(self.layout.work_db),
            DBT_TARGET="duckdb",
            CRM_QUARANTINE_DIR=str(self.layout.quarantine_dir),
        )
        return env

    def validate_marts(self) -> None:
        from scripts.validate import validate_marts

        report = validate_marts(self.layout.work_db, self.validator_instance())
        self.reports.append(report)
        print(report.summary())
        if not report.success:
            raise StepFailed("validate_marts", "marts fail validation:\n" + report.summary())

    def measure(self) -> None:
        with duckdb.connect(str(self.layout.work_db), read_only=True) as con:
            tables = [
                r[0]
                for r in con.execute(
                    "select table_name from information_schema.tables "
                    "where table_schema = ? order by 1",
                    [MARTS_SCHEMA],
                ).fetchall()
            ]
            self.record["mart_rows"] = {
                t: con.execute(f'select count(*) from {MARTS_SCHEMA}."{t}"').fetchone()[0]
                for t in tables
            }
            as_of = con.execute(f"select max(as_of_date) from {MARTS_SCHEMA}.customers").fetchone()
            self.record["as_of_date"] = as_of[0].isoformat() if as_of[0] else None
            self.record["rejects"] = con.execute(
                "select count(*) from main_staging.stg_crm__rejects"
            ).fetchone()[0]

    def export(self) -> None:
        from scripts.export_marts import export_marts, pii_salt

        versions = self.layout.export_versions
        versions.mkdir(parents=True, exist_ok=True)
        partial = versions / f"{self.run_id}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        salt = None if self.args.include_pii else pii_salt(self.layout.root)
        export_marts(
            self.layout.work_db,
            partial,
            include_pii=self.args.include_pii,
            pii_mode=self.args.pii_mode,
            salt=salt,
        )
        self.new_exports = versions / self.run_id
        os.replace(partial, self.new_exports)

    def publish(self) -> None:
        layout = self.layout
        wal = layout.work_db.with_name(layout.work_db.name + ".wal")
        if wal.exists():
            raise StepFailed("publish", f"{wal} exists: the working copy was not closed cleanly")
        self.record["outcome"] = "success"
        self.record["finished_at"] = datetime.now(UTC).replace(tzinfo=None).isoformat()
        # ops.refresh_runs in the published file: every run so far, this one included.
        run_log.write_table(layout.work_db, [*run_log.read_jsonl(layout.runs_log), self.record])
        layout.published_dir.mkdir(parents=True, exist_ok=True)
        previous = switch_exports(layout, self.new_exports)
        try:
            os.replace(layout.work_db, layout.published_db)
        except OSError:
            if previous is not None:
                switch_exports(layout, previous)
            raise
        prune_exports(layout, keep=max(self.args.keep_exports, 1))

    # ------------------------------------------------------------------ run

    def run(self) -> int:
        try:
            with self.step("prepare"):
                self.prepare()
            os.environ["CRM_DUCKDB_PATH"] = str(self.layout.work_db)  # the loader's target
            with self.step("load"):
                self.load()
            with self.step("build_and_test"):
                self.build_and_test()
            with self.step("validate_marts"):
                self.validate_marts()
            with self.step("measure"):
                self.measure()
            with self.step("export"):
                self.export()
            self.write_validation_results()
            with self.step("publish"):
                self.publish()
        except StepFailed as failure:
            self.fail(failure.step, str(failure))
            return EXIT_FAILED
        except Exception as exc:  # noqa: BLE001 - anything unexpected is a failed run too
            self.fail("refresh", f"{type(exc).__name__}: {exc}")
            return EXIT_FAILED
        run_log.append_jsonl(self.layout.runs_log, self.record)
        counts = ", ".join(f"{t} {n}" for t, n in self.record["mart_rows"].items())
        print(
            f"refresh {self.run_id} published: as_of_date {self.record['as_of_date']}, "
            f"{self.record['files_loaded']} file(s) loaded, marts: {counts}, "
            f"{self.record['rejects']} rejected rows; "
            f"{time.monotonic() - self._t0:.1f} s"
        )
        return EXIT_OK

    def write_validation_results(self) -> None:
        if self.reports:
            validator = self.validator_instance()
            path = validator.write_results(self.reports)
            print(f"validation results: {path}; Data Docs: {validator.docs_dir}/index.html")

    def fail(self, step: str, message: str) -> None:
        self.stop_load()
        self.stop_build()
        self.record.update(
            outcome="failed",
            failed_step=step,
            error=message[-4000:],
            finished_at=datetime.now(UTC).replace(tzinfo=None).isoformat(),
        )
        if self.new_exports is not None:
            shutil.rmtree(self.new_exports, ignore_errors=True)
        shutil.rmtree(self.layout.export_versions / f"{self.run_id}.partial", ignore_errors=True)
        try:
            self.write_validation_results()
        except Exception as exc:  # noqa: BLE001
            print(f"(could not write validation results: {exc})", file=sys.stderr)
        run_log.append_jsonl(self.layout.runs_log, self.record)
        try:  # best effort: the working copy is never published after a failure
            if self.layout.work_db.exists():
                run_log.write_table(self.layout.work_db, run_log.read_jsonl(self.layout.runs_log))
        except Exception as exc:  # noqa: BLE001
            print(f"(run not recorded in the working copy: {exc})", file=sys.stderr)
        print(
            f"REFRESH FAILED at step {step} (run {self.run_id}): {message}\n"
            f"The published warehouse ({self.layout.published_db}) and exports were not "
            f"changed. Run log: {self.layout.runs_log}",
            file=sys.stderr,
        )


def switch_exports(layout: Layout, target: Path) -> Path | None:
    """Point published/exports at `target` atomically; return what it pointed at before."""
    link = layout.exports_link
    previous = None
    if link.is_symlink():
        previous = (link.parent / os.readlink(link)).resolve()
    elif link.exists():  # a plain folder from an older layout: keep it as a version
        legacy = layout.export_versions / f"legacy-{int(time.time())}"
        os.replace(link, legacy)
        previous = legacy
    temporary = link.with_name(f".exports-link-{uuid.uuid4().hex[:8]}")
    os.symlink(os.path.relpath(target, link.parent), temporary)
    os.replace(temporary, link)
    return previous


def prune_exports(layout: Layout, keep: int) -> None:
    """Keep the current export folder and the `keep` - 1 newest before it (a reader may still
    be in one), remove older ones and leftovers of failed runs."""
    current = layout.exports_link.resolve()
    versions = sorted(
        (p for p in layout.export_versions.iterdir() if p.is_dir()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    kept = 0
    for path in versions:
        if path == current:
            continue
        if path.name.endswith(".partial") or kept >= keep - 1:
            shutil.rmtree(path, ignore_errors=True)
        else:
            kept += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--landing",
        default=str(env_path("CRM_LANDING_DIR", DEFAULT_LANDING_DIR)),
        help="landing folder (env CRM_LANDING_DIR)",
    )
    parser.add_argument(
        "--warehouse-dir",
        type=Path,
        default=env_path("CRM_REFRESH_DIR", PROJECT_DIR / "warehouse"),
        help="holds work/, published/, validation/, refresh.lock, refresh_runs.jsonl "
        "(env CRM_REFRESH_DIR)",
    )
    parser.add_argument("--vars", help="dbt vars, as YAML, e.g. '{as_of_date: 2026-06-30}'")
    parser.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild the incremental base models from all raw rows (after changing the "
        "extract contract or the typing macros, or when dbt asks for it)",
    )
    parser.add_argument(
        "--include-pii", action="store_true", help="export personal data in clear (opt-in)"
    )
    parser.add_argument("--pii", choices=["hash", "drop"], default="hash", dest="pii_mode")
    parser.add_argument(
        "--keep-exports", type=int, default=2, help="export folders kept (current included)"
    )
    args = parser.parse_args(argv)
    if os.environ.get("DBT_TARGET", "duckdb") != "duckdb":
        print(
            "scripts.refresh publishes the DuckDB warehouse only; unset DBT_TARGET", file=sys.stderr
        )
        return EXIT_FAILED
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]
    layout = Layout(args.warehouse_dir.resolve())
    try:
        with refresh_lock(layout.lock_file, run_id):
            return Refresh(args, layout, run_id).run()
    except RefreshLocked as locked:
        print(f"REFRESH NOT STARTED: {locked}", file=sys.stderr)
        return EXIT_LOCKED


if __name__ == "__main__":
    sys.exit(main())
