"""Fast unit tests of the benchmark harness (bench/harness.py): no dbt build, no generator.

Covered: the median, the interleaving order, the landing split, the parsing of a refresh's
timestamped output and of dbt's JSON log, the agreement check, the targets, the rendering of
the results and the marker replacement in docs/benchmarks.md, and the memory measurement of
child processes that allocate a known amount.
"""

from __future__ import annotations

import importlib.machinery
import json
import os
import py_compile
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import harness

MIB = harness.MIB

# ------------------------------------------------------------------------------ small logic


def test_median_odd_even_and_empty():
    assert harness.median([3.0, 1.0, 2.0]) == 2.0
    assert harness.median([4, 1, 3, 2]) == 2.5
    assert harness.median([None, 5.0, None]) == 5.0
    assert harness.median([]) is None
    assert harness.median([None]) is None


def test_interleaving_rotates_so_every_unit_runs_first_once():
    units = [("full_refresh", "incremental_refresh"), ("reference",), ("pandas",), ("startup",)]
    orders = [harness.interleaved_order(units, r) for r in range(4)]
    assert orders[0] == units
    assert orders[1] == [("reference",), ("pandas",), ("startup",), units[0]]
    assert [o[0] for o in orders] == units  # each unit is first exactly once
    assert [o[-1] for o in orders] == [units[3], units[0], units[1], units[2]]
    for order in orders:  # the incremental refresh always directly follows its full refresh
        flat = [c for unit in order for c in unit]
        assert flat.index("incremental_refresh") == flat.index("full_refresh") + 1
    assert harness.interleaved_order(units, 5) == orders[1]
    assert harness.interleaved_order([], 2) == []


def test_parse_scales_and_growth_exponent():
    assert harness.parse_scales("100000, 1M,2k,1_000") == [100_000, 1_000_000, 2000, 1000]
    assert harness.growth_exponent(10.0, 100.0, 1000, 10_000) == pytest.approx(1.0)
    assert harness.growth_exponent(10.0, 50.0, 1000, 10_000) < 1


def test_cli_adds_scale_to_scales_and_checks_contenders(tmp_path):
    args = harness.parse_args(["--scales", "2k", "--scale", "10000000", "--workdir", str(tmp_path)])
    assert args.scales == [2000, 10_000_000]
    assert args.repeats == 3
    with pytest.raises(SystemExit):
        harness.parse_args(["--contenders", "incremental_refresh"])
    with pytest.raises(SystemExit):
        harness.parse_args(["--contenders", "full_refresh,spark"])


# ------------------------------------------------------------------------------ landing split


def test_split_landing_keeps_all_but_the_last_days_orders_lines_invoices_payments(tmp_path):
    generated = tmp_path / "generated"
    files = {
        "contacts/2026-10-28.csv": "contact_id\nc1\n",
        "contacts/2026-10-31.csv": "contact_id\nc2\n",
        "orders/2026-10-28.csv": "order_id\no1\no2\no3\n",
        "orders/2026-10-30.csv": "order_id\no4\n",
        "orders/2026-10-31.csv": "order_id\no3\no5\n",
        "order_lines/2026-10-31.csv": "order_line_id\nl1\n",
        "invoices/2026-10-31.csv": "invoice_id\ni1\n",
        "payments/2026-10-30.csv": "payment_id\np1\n",
        "payments/2026-10-31.csv": "payment_id\np2\n",
    }
    for rel, text in files.items():
        (generated / rel).parent.mkdir(parents=True, exist_ok=True)
        (generated / rel).write_text(text)
    full = tmp_path / "full"
    facts = harness.split_landing(generated, full)
    assert facts["drop_date"] == "2026-10-31"
    assert sorted(facts["drop_files"]) == [
        "invoices/2026-10-31.csv",
        "order_lines/2026-10-31.csv",
        "orders/2026-10-31.csv",
        "payments/2026-10-31.csv",
    ]
    kept = sorted(p.relative_to(full).as_posix() for p in full.rglob("*") if p.is_file())
    assert kept == [
        "contacts/2026-10-28.csv",
        "contacts/2026-10-31.csv",  # other entities' last day stays in the full landing
        "orders/2026-10-28.csv",
        "orders/2026-10-30.csv",
        "payments/2026-10-30.csv",
    ]
    share = harness.drop_share(generated, facts["drop_files"])
    assert share["orders_before"] == 4
    assert share["order_rows_in_drop"] == 2
    assert share["new_orders_in_drop"] == 1  # o3 is an update of a known order
    assert share["new_order_share"] == pytest.approx(0.25)


# ------------------------------------------------------------------------------ profiles


def _iso(t0: float, t: float) -> str:
    """dbt's timestamp of the moment t seconds after t0."""
    return datetime.fromtimestamp(t0 + t, UTC).replace(tzinfo=None).isoformat() + "Z"


def _timestamped_output(path: Path, t0: float, output: list[tuple[float, str]]) -> Path:
    """A refresh's output as the harness records it: each line after its epoch time."""
    path.write_text("".join(f"{t0 + t:.3f} {text}\n" for t, text in output))
    return path


def _dbt_event(name: str, ts: str, invocation: str, **data) -> str:
    return json.dumps({"info": {"name": name, "ts": ts, "invocation_id": invocation}, "data": data})


def _node(name: str, path: str, kind: str, seconds: float) -> dict:
    return {
        "execution_time": seconds,
        "node_info": {
            "node_name": name,
            "node_path": path,
            "resource_type": kind,
            "materialized": "table" if kind == "model" else kind,
            "unique_id": f"{kind}.p.{name}",
        },
    }


def test_refresh_profile_from_output_run_log_and_dbt_log(tmp_path):
    t0 = 1_800_000_000.0  # epoch of the child's start
    output = [
        (0.0, "== prepare"),
        (0.5, "== validate_landing"),
        (10.5, "== load"),
        (14.5, "== build_and_test"),
        (16.0, "$ /venv/bin/dbt build --exclude source:value_model+ --target duckdb"),
        (60.0, "$ python -m scripts.fit_value_model --target duckdb"),
        (70.0, "$ /venv/bin/dbt build --select source:value_model+ --target duckdb"),
        (100.0, "== validate_marts"),
        (110.0, "== measure"),
        (111.0, "== export"),
        (115.0, "== publish"),
    ]
    stdout = _timestamped_output(tmp_path / "stdout.log", t0, output)

    log = [
        _dbt_event("MainReportVersion", _iso(t0, 18), "a"),
        _dbt_event("LogHookStartLine", _iso(t0, 25), "a"),
        _dbt_event(
            "LogModelResult",
            _iso(t0, 30),
            "a",
            **_node("stg_x", "staging/crm/stg_x.sql", "model", 3),
        ),
        _dbt_event(
            "LogModelResult",
            _iso(t0, 40),
            "a",
            **_node("int_y", "intermediate/int_y.sql", "model", 9),
        ),
        _dbt_event(
            "LogTestResult", _iso(t0, 41), "a", **_node("not_null_x", "nn.sql", "test", 1.5)
        ),
        _dbt_event("FinishedRunningStats", _iso(t0, 59), "a", execution_time=34.0),
        "not json at all",
        _dbt_event("MainReportVersion", _iso(t0, 71), "b"),
        _dbt_event("UnableToPartialParse", _iso(t0, 72), "b", reason="profile has changed"),
        _dbt_event("LogStartLine", _iso(t0, 76), "b"),
        _dbt_event(
            "LogModelResult",
            _iso(t0, 90),
            "b",
            **_node("customers", "marts/customers.sql", "model", 12),
        ),
        _dbt_event(
            "LogTestResult", _iso(t0, 95), "b", **_node("ut", "marts/x.yml", "unit_test", 0.5)
        ),
        _dbt_event("FinishedRunningStats", _iso(t0, 99), "b", execution_time=23.0),
    ]
    dbt_log = tmp_path / "dbt.log"
    dbt_log.write_text("\n".join(log) + "\n")
    steps = {
        "prepare": 0.4,
        "validate_landing": 10.0,
        "load / landing validation": 1.5,  # a part the load timed itself, logged before it
        "load": 4.0,
        "build_and_test": 85.5,
        "validate_marts": 10.0,
        "measure": 1.0,
        "export": 4.0,
        "publish": 0.6,
    }
    samples = [(t0 + t, kib) for t, kib in [(1, 100), (5, 900), (30, 2000), (65, 3000), (105, 700)]]
    run = harness.ChildRun(
        command=["x"],
        returncode=0,
        wall_s=118.0,
        maxrss_kib=3000,
        tree_peak_kib=3000,
        started_epoch=t0,
        samples=samples,
    )
    profile = harness.refresh_profile(run, {"step_seconds": steps}, stdout, dbt_log)
    phases = profile["phases"]
    assert phases["validate_landing"] == 10.0  # the run log is authoritative for steps
    dbt1 = "build_and_test / dbt build --exclude source:value_model+"
    assert phases["build_and_test / run_pipeline start, before its first command"] == 1.5
    assert phases[dbt1] == 44.0
    assert phases[f"{dbt1} / start-up: interpreter and imports"] == 2.0  # 16 s -> 18 s
    assert phases[f"{dbt1} / start-up: parse, connect"] == 7.0  # 18 s -> hook at 25 s
    assert phases[f"{dbt1} / running nodes (dbt's timer)"] == 34.0
    assert phases["build_and_test / value model fit"] == 10.0
    assert phases["build_and_test / dbt build --select source:value_model+"] == 30.0
    # a step's part is listed under its step and not counted again in the rest of the run
    assert phases["load / landing validation"] == 1.5
    assert list(phases).index("load / landing validation") == list(phases).index("load") + 1
    assert phases["other (interpreter start, lock, run log)"] == pytest.approx(118 - 115.5)
    assert profile["phase_peak_kib"]["validate_landing"] == 900
    assert profile["phase_peak_kib"]["build_and_test / value model fit"] == 3000
    assert profile["dbt_invocations"] == 2
    assert profile["dbt_parse"] == ["partial", "profile has changed"]
    assert profile["dbt_groups"]["staging models"] == {"nodes": 1, "seconds": 3.0}
    assert profile["dbt_groups"]["intermediate models"]["seconds"] == 9.0
    assert profile["dbt_groups"]["marts models"]["seconds"] == 12.0
    assert profile["dbt_groups"]["data tests"]["nodes"] == 1
    assert profile["dbt_groups"]["unit tests"]["nodes"] == 1
    assert profile["dbt_models"]["customers"]["layer"] == "marts"


# ------------------------------------------------------------------------------ agreement


def test_a_build_parsed_ahead_gets_its_parse_and_its_own_start_up(tmp_path):
    """scripts.prepared_dbt parses in an invocation of its own while the step before runs;
    the profile gives that parse to the build after it and times only what is left."""
    t0 = 1_700_000_000.0

    output = [
        (0.0, "== load"),  # the first build's parse runs during the load
        (10.0, "== build_and_test"),
        (10.5, "$ /v/bin/dbt build --exclude source:value_model+ --target duckdb"),
        (40.0, "$ python -m scripts.fit_value_model --target duckdb"),
        (46.0, "$ /v/bin/dbt build --select source:value_model+ --target duckdb"),
        (70.0, "== validate_marts"),
    ]
    stdout = _timestamped_output(tmp_path / "stdout.log", t0, output)
    log = [
        _dbt_event("MainReportVersion", _iso(t0, 1), "parse1"),
        _dbt_event(
            "UnableToPartialParse", _iso(t0, 2), "parse1", reason="saved manifest not found"
        ),
        _dbt_event("ParsePerfInfoPath", _iso(t0, 4), "parse1", path="target/perf_info.json"),
        _dbt_event("MainReportVersion", _iso(t0, 10.7), "build1"),
        _dbt_event("LogHookStartLine", _iso(t0, 11.5), "build1"),
        _dbt_event("FinishedRunningStats", _iso(t0, 39), "build1", execution_time=27.5),
        _dbt_event("MainReportVersion", _iso(t0, 41), "parse2"),
        _dbt_event("ParsePerfInfoPath", _iso(t0, 43.5), "parse2", path="target/perf_info.json"),
        _dbt_event("MainReportVersion", _iso(t0, 46.25), "build2"),
        _dbt_event("LogStartLine", _iso(t0, 47), "build2"),
        _dbt_event("FinishedRunningStats", _iso(t0, 69), "build2", execution_time=22.0),
    ]
    dbt_log = tmp_path / "dbt.log"
    dbt_log.write_text("\n".join(log) + "\n")
    invocations = harness.parse_dbt_log(dbt_log)
    assert [inv["parsed_ahead_s"] for inv in invocations] == [3.0, 2.5]
    run = harness.ChildRun(
        command=["x"],
        returncode=0,
        wall_s=75.0,
        maxrss_kib=1,
        tree_peak_kib=1,
        started_epoch=t0,
        samples=[],
    )
    steps = {"load": 10.0, "build_and_test": 60.0, "validate_marts": 5.0}
    profile = harness.refresh_profile(run, {"step_seconds": steps}, stdout, dbt_log)
    phases = profile["phases"]
    first = "build_and_test / dbt build --exclude source:value_model+"
    second = "build_and_test / dbt build --select source:value_model+"
    assert phases[f"{first} / parsed ahead, during the step before"] == 3.0
    assert phases[f"{first} / start-up: waking the parsed dbt"] == 0.2  # 10.5 s -> 10.7 s
    assert phases[f"{first} / start-up: connect"] == 0.8  # 10.7 s -> hook at 11.5 s
    assert phases[f"{second} / parsed ahead, during the step before"] == 2.5
    assert phases[f"{second} / start-up: waking the parsed dbt"] == 0.25
    assert phases[f"{second} / running nodes (dbt's timer)"] == 22.0
    assert f"{first} / start-up: interpreter and imports" not in phases
    assert profile["dbt_invocations"] == 2
    assert profile["dbt_parse"] == ["saved manifest not found", "partial"]


def test_compare_stats_names_every_difference():
    mart = {
        "contacts": 3,
        "sum net_revenue": 100.0,
        "sum profit": 10.0,
        "sum paid_orders": 5.0,
        "value_tier": {"gold": 1, "(none)": 2},
    }
    same = dict(mart, **{"sum net_revenue": 100.0001})  # per-contact rounding
    assert set(harness.compare_stats(mart, same).values()) == {"same"}
    other = dict(mart, contacts=4, **{"sum profit": 11.0, "value_tier": {"gold": 2, "(none)": 2}})
    verdicts = harness.compare_stats(mart, other)
    assert verdicts["contacts"].startswith("differs")
    assert verdicts["sum profit"].startswith("differs")
    assert verdicts["value_tier"] == "differs: gold 1 vs 2"
    assert harness.compare_stats(mart, {"contacts": 3})["sum profit"] == "missing"


# ------------------------------------------------------------------------------ rendering


def _run(scale, contender, repeat, wall, peak=500.0, ok=True, **extra):
    return {
        "scale": scale,
        "repeat": repeat,
        "contender": contender,
        "ok": ok,
        "wall_s": wall,
        "peak_mib": peak,
        "tree_peak_mib": peak,
        "maxrss_mib": peak / 2,
        "run_dir": "/tmp/x",
        **extra,
    }


def _profile(build: float) -> dict:
    return {
        "phases": {"load": 2.0, "build_and_test": build, "build_and_test / value model fit": 1.0},
        "phase_peak_kib": {"load": 100 * 1024, "build_and_test": 400 * 1024},
        "dbt_invocations": 2,
        "dbt_parse": ["partial", "partial"],
        "dbt_groups": {"staging models": {"nodes": 10, "seconds": build / 2}},
        "dbt_models": {"stg_a": {"layer": "staging", "materialized": "table", "seconds": 3.0}},
    }


def _payload() -> dict:
    stats = {
        "contacts": 10,
        "sum net_revenue": 5.0,
        "sum profit": 1.0,
        "sum paid_orders": 7.0,
        "value_tier": {"gold": 10},
    }
    runs = []
    for scale, k in ((1000, 1), (10_000, 5)):
        for repeat, jitter in enumerate((0.0, 2.0, -1.0)):
            runs.append(
                _run(
                    scale,
                    "full_refresh",
                    repeat,
                    100 * k + jitter,
                    peak=1000.0 * k,
                    profile=_profile(50.0 * k),
                    output_stats=stats,
                )
            )
            runs.append(
                _run(scale, "incremental_refresh", repeat, 20 * k + jitter, profile=_profile(5.0))
            )
            runs.append(_run(scale, "reference", repeat, 10 * k + jitter, output_stats=stats))
            parts = {"interpreter_and_imports_s": 3.0, "parse_connect_s": 2.0}
            parts.update(running_nodes_s=1.0, parse="partial")
            runs.append(_run(scale, "dbt_startup", repeat, 6.0, startup=parts))
        runs.append(_run(scale, "pandas", 0, 0.0, ok=False, error="not run: module missing"))
    scales = [
        {"contacts": n, "data": {"seed": 42}, "as_of": "2026-10-31", "orders": []}
        for n in (1000, 10_000)
    ]
    payload = {
        "date": "2026-11-23T00:00:00+00:00",
        "command": "python -m bench.harness --scales 1000,10000",
        "settings": {"repeats": 3, "dbt_threads": "4"},
        "machine": {
            "cores": 2,
            "cores_usable": 2,
            "memory_gib": 23.4,
            "cpu": "Test CPU",
            "os": "Linux",
        },
        "versions": {"python": "3.12", "duckdb": "1.5"},
        "git": {"commit": "abc1234", "uncommitted_project_files": 0},
        "load_average_start": [1.0, 1.0, 1.0],
        "load_average_end": [1.0, 1.0, 1.0],
        "runs": runs,
    }
    payload["summary"] = harness.summarise(payload, scales, runs)
    return payload


def test_summary_medians_ratios_growth_and_targets():
    summary = _payload()["summary"]
    small, large = summary["scales"]
    full = small["contenders"]["full_refresh"]
    assert full["median_s"] == 100.0
    assert (full["min_s"], full["max_s"]) == (99.0, 102.0)
    assert full["x_reference"] == pytest.approx(10.0)
    assert small["contenders"]["pandas"] == {
        "runs": 1,
        "ok": 0,
        "median_s": None,
        "min_s": None,
        "max_s": None,
        "peak_mib": None,
        "tree_peak_mib": None,
        "maxrss_mib": None,
        "x_reference": None,
    }
    assert small["phases"]["full_refresh"]["build_and_test"] == {
        "median_s": 50.0,
        "peak_mib": 400.0,
    }
    assert set(small["agreement"]["verdicts"]) == {"reference"}  # pandas did not run
    assert set(small["agreement"]["verdicts"]["reference"].values()) == {"same"}
    growth = {g["contender"]: g for g in summary["growth"]}
    assert growth["full_refresh"]["time_ratio"] == pytest.approx(5.0)
    assert growth["full_refresh"]["exponent"] == pytest.approx(0.699, abs=0.001)
    targets = {(t["target"].split(" (")[0], t["scale"]): t["status"] for t in summary["targets"]}
    # 100 s vs 2 x 10 s + 6 s: not met; incremental 20 <= 100/3: met; pandas: not measured
    assert targets[("full refresh <= 2 x reference + dbt start-up", 1000)] == "not met"
    assert targets[("incremental refresh <= 1/3 of the full refresh", 1000)] == "met"
    assert targets[("full refresh faster than the pandas peer", 1000)] == "not measured"
    assert targets[("refresh peak memory < 3 GB", 1000)] == "met"  # 1,000 MiB
    assert targets[("refresh peak memory < 3 GB", 10_000)] == "not met"  # 5,000 MiB > 3e9 B
    assert targets[("full refresh <= 2 x reference + dbt start-up", 1_000_000)] == "not measured"
    assert targets[("full refresh grows no worse than linearly", 10_000)] == "met"
    assert targets[("10M contacts completes", 10_000_000)] == "not measured"


def test_render_results_has_the_tables_and_the_failures():
    text = harness.render_results(_payload())
    assert "### 1k contacts (1,000)" in text and "### 10k contacts (10,000)" in text
    assert "| full refresh (scripts.refresh, from scratch) | 3/3 | 100.0 | 99.0 – 102.0 |" in text
    assert "| 10.00× |" in text  # ratio to the reference
    assert "| pandas peer | 0/1 | – |" in text
    assert "Machine: 2 cores (2 usable), 23.4 GiB memory, Test CPU, Linux" in text
    assert "Linux, Python bytecode not recorded;" in text  # runs before the fact was kept
    assert "Versions: python 3.12, duckdb 1.5" in text
    assert "`python -m bench.harness --scales 1000,10000`" in text
    assert "↳ value model fit" in text
    assert "| staging models | 10 | 25.0 |" in text
    assert "Slowest models of the full refresh" in text
    assert "dbt parsing per invocation: partial, partial." in text
    assert "interpreter and imports 3.00 s, parse and connect 2.00 s (partial parse)" in text
    assert "| 1k → 10k | 10.00× | 5.00× | 0.70 |" in text
    assert "| **not met** |" in text
    assert "### Failures" in text and "not run: module missing" in text


def test_refresh_disk_counts_each_file_once_and_follows_no_link(tmp_path):
    published = tmp_path / "published"
    (published / ".exports" / "r0").mkdir(parents=True)
    (published / ".exports" / "r1").mkdir()
    (tmp_path / "validation").mkdir()
    for path, size in (
        (published / "crm.duckdb", 1000),
        (published / ".exports" / "r1" / "customers.csv", 300),
        (published / ".exports" / "r1" / "customers.parquet", 200),
        (published / ".exports" / "r0" / "customers.csv", 100),
        (tmp_path / "validation" / "index.html", 50),
    ):
        path.write_bytes(b"x" * size)
    (published / "exports").symlink_to(".exports/r1")
    os.link(tmp_path / "validation" / "index.html", tmp_path / "validation" / "same.html")
    assert harness.refresh_disk(tmp_path) == {
        "warehouse_bytes": 1000,
        "exports_bytes": 300 + 200,
        # every file once: not the exports again through the link, not the hard link twice
        "folder_bytes": 1000 + 300 + 200 + 100 + 50,
    }


def test_disk_after_the_refreshes_and_the_10m_estimate():
    payload = _payload()
    for run in payload["runs"]:
        if run["contender"] == "full_refresh":
            run["disk"] = {
                "warehouse_bytes": 600 * MIB,
                "exports_bytes": 200 * MIB,
                "folder_bytes": 900 * MIB,
            }
        elif run["contender"] == "incremental_refresh":
            run["disk"] = {
                "warehouse_bytes": 610 * MIB,
                "exports_bytes": 205 * MIB,
                "folder_bytes": (1119 + run["repeat"] % 3) * MIB,  # 1119, 1120, 1121
            }
    scales = [
        {"contacts": n, "data": {"seed": 42, "full_bytes": landing * MIB}, "as_of": "2026-10-31"}
        for n, landing in ((1000, 30), (10_000, 300))
    ]
    payload["machine"]["disk_free_gib"] = 50.0
    payload["summary"] = harness.summarise(payload, scales, payload["runs"])
    # the largest scale: landing 300 + folder 1,120 + working copy 610 = 2,030 MiB; x 1,000
    assert payload["summary"]["disk_at_10m"] == {"from": 10_000, "bytes": 2030 * MIB * 1000}
    text = harness.render_results(payload)
    assert (
        "Disk (median): after the full refresh the warehouse file 600 MiB, its exports 200 MiB, "
        "the refresh folder 900 MiB; after the incremental refresh the warehouse file 610 MiB, "
        "its exports 205 MiB, the refresh folder 1,120 MiB; an incremental refresh needs about "
        "2,030 MiB at its fullest"
    ) in text
    # 2,030,000 MiB = 1,982.4 GiB
    assert "Disk for 10M contacts, extrapolated linearly from 10k: about 1,982 GiB" in text
    assert "this machine had 50.0 GiB free at the start." in text


def test_no_disk_line_without_disk_figures():
    text = harness.render_results(_payload())
    assert "Disk (median)" not in text and "Disk for 10M" not in text


def test_markers_replace_only_the_results_block(tmp_path):
    doc = tmp_path / "benchmarks.md"
    harness.write_doc(doc, "first results\n")
    created = doc.read_text()
    assert created.startswith("# Benchmarks")
    assert harness.MARK_START + "\nfirst results\n" + harness.MARK_END in created
    doc.write_text(
        "# Mine\n\nintro\n\n"
        + created[created.index(harness.MARK_START) :]
        + "\n## Analysis\n\nwritten by hand\n"
    )
    harness.write_doc(doc, "second results")
    text = doc.read_text()
    assert text.startswith("# Mine\n\nintro\n\n" + harness.MARK_START + "\nsecond results\n")
    assert "first results" not in text
    assert text.endswith("## Analysis\n\nwritten by hand\n")
    assert text.count(harness.MARK_START) == 1
    assert harness.replace_between_markers("plain", "r").endswith(f"{harness.MARK_END}\n")


# ------------------------------------------------------------------------------ memory

ALLOCATE = "data = b'x' * ({mib} << 20); import time; time.sleep({sleep})"


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def test_run_child_measures_the_peak_of_a_child_that_allocates(tmp_path):
    # The test process itself holds 400 MiB: Linux folds a forking parent's footprint into the
    # child's ru_maxrss, and the figure must still be the child's own (in CI's full suite the
    # pytest process was 495 MiB and every child measured at least that).
    ballast = b"y" * (400 << 20)
    run = harness.run_child(
        # held for 3 s: the sampler must see it even on a machine busy with other jobs
        _python(ALLOCATE.format(mib=200, sleep=3.0) + "; print('done')"),
        stdout_path=tmp_path / "out.log",
        stderr_path=tmp_path / "err.log",
        sample_interval=0.1,
    )
    assert run.returncode == 0 and len(ballast) == 400 << 20
    assert 200 * 1024 <= run.maxrss_kib < 320 * 1024
    assert 200 * 1024 <= run.tree_peak_kib < 320 * 1024
    assert run.wall_s >= 3.0
    stamp, _, line = (tmp_path / "out.log").read_text().strip().partition(" ")
    assert line == "done" and float(stamp) >= run.started_epoch


def test_run_child_counts_grandchildren_alive_together_and_reaped(tmp_path):
    # The child holds 100 MiB while its child holds 150 MiB: wait4 sees the largest single
    # process (150), the sampler the two at once (250).
    code = f"""
        import subprocess, sys
        data = b'x' * (100 << 20)
        subprocess.run([sys.executable, "-c", {ALLOCATE.format(mib=150, sleep=3.0)!r}], check=True)
    """
    run = harness.run_child(
        _python(code),
        stdout_path=tmp_path / "out.log",
        stderr_path=tmp_path / "err.log",
        sample_interval=0.1,
    )
    assert run.returncode == 0, (tmp_path / "err.log").read_text()
    assert 150 * 1024 <= run.maxrss_kib < 230 * 1024
    assert run.tree_peak_kib >= 250 * 1024
    assert run.peak_kib == run.tree_peak_kib
    # per program: the launcher and the two `python -c` processes, summed under one name
    assert max(by_role.get("python -c", 0) for by_role in run.roles) >= 250 * 1024
    assert {role for by_role in run.roles for role in by_role} == {"launch", "python -c"}


def test_run_child_reports_failure_and_timeout(tmp_path):
    failed = harness.run_child(
        _python("import sys; print('boom', file=sys.stderr); sys.exit(3)"),
        stdout_path=tmp_path / "a.out",
        stderr_path=tmp_path / "a.err",
    )
    assert failed.returncode == 3 and not failed.timed_out
    assert (tmp_path / "a.err").read_text().rstrip().endswith("boom")
    slow = harness.run_child(
        _python("import time; time.sleep(30)"),
        stdout_path=tmp_path / "b.out",
        stderr_path=tmp_path / "b.err",
        timeout=0.5,
    )
    assert slow.timed_out and slow.returncode != 0 and slow.wall_s < 15


def test_last_run_record_ignores_a_run_older_than_the_child(tmp_path):
    log = tmp_path / "refresh_runs.jsonl"
    log.write_text(
        json.dumps({"run_id": "a", "started_at": "2026-11-23T00:00:00"})
        + "\n"
        + json.dumps({"run_id": "b", "started_at": "2026-11-23T00:10:00.5"})
        + "\n"
    )
    from datetime import UTC, datetime

    at = datetime(2026, 11, 23, 0, 10, tzinfo=UTC).timestamp()
    assert harness.last_run_record(tmp_path)["run_id"] == "b"
    assert harness.last_run_record(tmp_path, at)["run_id"] == "b"
    assert harness.last_run_record(tmp_path, at + 3600) is None
    assert harness.last_run_record(tmp_path / "missing") is None


def test_code_fingerprint_changes_with_a_file_and_the_warning_names_the_runs(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a.sql").write_text("select 1")
    (tmp_path / "profiles.yml").write_text("x: 1")
    paths = ("models", "profiles.yml", "missing")
    before = harness.code_fingerprint(tmp_path, paths)
    assert harness.code_fingerprint(tmp_path, paths) == before
    (tmp_path / "models" / "a.sql").write_text("select 2")
    assert harness.code_fingerprint(tmp_path, paths) != before

    payload = _payload()
    assert harness.code_warning(payload) == []
    payload["runs"][0]["code"], payload["runs"][1]["code"] = "aaa", "bbb"
    warning = "\n".join(harness.code_warning(payload))
    assert "changed during this bench" in warning
    assert "- code `aaa`: 1k r0 full_refresh" in warning
    assert "- code `bbb`: 1k r0 incremental_refresh" in warning


def test_a_scale_can_have_its_own_repeats_and_contenders():
    args = harness.parse_args(
        ["--scales", "100k,1M", "--repeats-at", "1M=1", "--contenders-at", "1M=full_refresh,pandas"]
    )
    assert args.repeats == 3 and args.repeats_at == {1_000_000: 1}
    assert args.contenders_at == {1_000_000: ["full_refresh", "pandas"]}
    payload = {
        "settings": {"repeats": 3},
        "scales": [{"contacts": 100_000, "repeats": 3}, {"contacts": 1_000_000, "repeats": 1}],
    }
    assert harness.repeats_text(payload) == "3 at 100k, 1 at 1M"
    payload["scales"][1]["repeats"] = 3
    assert harness.repeats_text(payload) == "3"


@pytest.mark.parametrize(
    "option",
    [
        ["--repeats-at", "2M=1"],  # not a benched scale
        ["--repeats-at", "1M=0"],
        ["--repeats-at", "1M"],
        ["--contenders-at", "1M=incremental_refresh"],  # needs the full refresh's warehouse
        ["--contenders-at", "1M=full_refresh,nonsense"],
    ],
)
def test_per_scale_options_are_checked(option):
    with pytest.raises(SystemExit) as refused:
        harness.parse_args(["--scales", "100k,1M", *option])
    assert refused.value.code == 2


# ------------------------------------------------------------------------------ memory samples


@pytest.mark.parametrize(
    ("argv", "role"),
    [
        (["/venv/bin/python", "-m", "scripts.refresh", "--landing", "x"], "refresh"),
        (["/venv/bin/python", "/venv/bin/dbt", "build", "--select", "x"], "dbt"),
        # the launcher's command line carries the contender's `-m` after its own script
        (
            ["/usr/bin/python3", "-I", "-S", "/p/bench/launch.py", "r", "--", "py", "-m", "a.b"],
            "launch",
        ),
        (["python3.12", "-c", "print(1)"], "python -c"),
        (["/bin/sh", "-c", "exec x"], "sh"),
        ([], "?"),
    ],
)
def test_process_role_names_the_program_not_its_arguments(argv, role):
    assert harness.process_role(argv) == role


def _memory_run(t0: float) -> harness.ChildRun:
    # 4 samples, 10 s apart; the tree peaks at 25 s with 3,000 MiB: dbt 2,500 + refresh 500.
    samples = [(t0 + 5, 600 * 1024), (t0 + 15, 2000 * 1024), (t0 + 25, 3000 * 1024)]
    samples.append((t0 + 35, 800 * 1024))
    roles = [
        {"refresh": 600 * 1024},
        {"refresh": 500 * 1024, "dbt": 1500 * 1024},
        {"refresh": 500 * 1024, "dbt": 2500 * 1024},
        {"refresh": 800 * 1024},
    ]
    return harness.ChildRun(
        command=["x"],
        returncode=1,
        wall_s=40.0,
        maxrss_kib=2500 * 1024,
        tree_peak_kib=3000 * 1024,
        started_epoch=t0,
        samples=samples,
        roles=roles,
    )


def test_peak_moment_names_the_programs_and_the_dbt_nodes_running_then():
    t0 = 1_800_000_000.0
    nodes = [  # running from ended_epoch - seconds to ended_epoch
        {"name": "base_orders", "ended_epoch": t0 + 30, "seconds": 10.0},  # 20-30: running
        {"name": "unique_lines", "ended_epoch": t0 + 26, "seconds": 2.0},  # 24-26: running
        {"name": "stg_contacts", "ended_epoch": t0 + 24, "seconds": 5.0},  # 19-24: over
        {"name": "customers", "ended_epoch": t0 + 39, "seconds": 3.0},  # 36-39: not yet
    ]
    moment = harness.peak_moment(_memory_run(t0), [{"nodes": nodes}])
    assert moment == {
        "at_s": 25.0,
        "tree_mib": 3000.0,
        "processes_mib": {"dbt": 2500.0, "refresh": 500.0},
        "dbt_nodes_running": ["base_orders", "unique_lines"],
    }
    line = harness.render_peak_moments({"full_refresh": [dict(moment, repeat=0, ok=False)]})[0]
    assert line == (
        "- Peak of the full refresh, run 0 (failed): 3,000 MiB at 25.0 s "
        "(dbt 2,500, refresh 500 MiB); dbt nodes running: `base_orders`, `unique_lines`."
    )
    assert harness.peak_moment(harness.ChildRun(["x"], 0, 1.0, 0, 0, t0), []) is None


def test_memory_timeline_has_one_row_per_sample_and_a_column_per_program(tmp_path):
    t0 = 1_800_000_000.0
    path = tmp_path / "memory.csv"
    harness.write_memory_timeline(_memory_run(t0), path)
    assert path.read_text().splitlines() == [
        "seconds,tree_kib,dbt_kib,refresh_kib",
        "5.00,614400,0,614400",
        "15.00,2048000,1536000,512000",
        "25.00,3072000,2560000,512000",
        "35.00,819200,0,819200",
    ]


def test_the_run_record_names_the_duckdb_settings_of_the_profile_or_the_environment(
    monkeypatch,
):
    monkeypatch.delenv("CRM_DBT_THREADS", raising=False)
    monkeypatch.delenv("CRM_DUCKDB_MEMORY_LIMIT", raising=False)
    # the DuckDB output's defaults, not PostgreSQL's (4 threads): the harness runs DuckDB
    assert harness.duckdb_profile_setting("CRM_DBT_THREADS") == "1 (profiles.yml default)"
    memory = harness.duckdb_profile_setting("CRM_DUCKDB_MEMORY_LIMIT")
    assert memory == "2GB (profiles.yml default)"
    # a run at 3M needed a larger bound: the record must say which one it ran with
    monkeypatch.setenv("CRM_DUCKDB_MEMORY_LIMIT", "4GB")
    assert harness.duckdb_profile_setting("CRM_DUCKDB_MEMORY_LIMIT") == "4GB"


def test_bytecode_state_tells_whether_imports_compile_from_source(tmp_path, monkeypatch):
    module = tmp_path / "dbt" / "__init__.py"
    module.parent.mkdir()
    module.write_text("")
    spec = importlib.machinery.ModuleSpec("dbt", None, origin=str(module))
    monkeypatch.setattr(harness.importlib.util, "find_spec", lambda name: spec)
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    assert harness.python_bytecode_state().startswith("compiled from source in every process")
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE")
    assert harness.python_bytecode_state() == "compiled on first import, then cached"
    py_compile.compile(str(module))  # writes __pycache__/__init__.cpython-3xx.pyc
    assert harness.python_bytecode_state() == "precompiled"


def test_settle_disk_syncs_and_times_it(monkeypatch):
    calls = []

    def slow_sync():
        calls.append("sync")
        harness.time.sleep(0.2)

    monkeypatch.setattr(harness.os, "sync", slow_sync)
    seconds = harness.settle_disk()
    assert calls == ["sync"]
    assert 0.2 <= seconds < 5


def test_the_dbt_target_folder_is_emptied_when_made_for_another_checkout(tmp_path):
    first = harness.dbt_target_for(tmp_path, Path("/checkouts/a"))
    (first / "partial_parse.msgpack").write_bytes(b"the parse of checkout a")
    assert harness.dbt_target_for(tmp_path, Path("/checkouts/a")) == first
    assert (first / "partial_parse.msgpack").exists()  # the same checkout keeps its parse
    second = harness.dbt_target_for(tmp_path, Path("/checkouts/b"))
    assert second == first
    assert sorted(p.name for p in second.iterdir()) == ["crm_project_dir"]
    # a folder kept from before the bench marked it is emptied too
    (second / "crm_project_dir").unlink()
    (second / "manifest.json").write_text("{}")
    harness.dbt_target_for(tmp_path, Path("/checkouts/b"))
    assert not (second / "manifest.json").exists()
