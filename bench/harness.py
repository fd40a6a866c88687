"""Benchmark harness (issue 7): `make bench`, or `python -m bench.harness [options]`.

For each scale (contacts) it generates landing data with the project's generator, splits it
into a "full" landing and a "new daily drop", then runs, interleaved within each repeat and
in a rotated order, every contender as a child process and keeps the median of the repeats:

  full_refresh         scripts.refresh from scratch on the full landing; its phases come from
                       the run log (step_seconds), the timestamped output (sub-phases of
                       build_and_test) and dbt's JSON log (start-up, node time by layer)
  incremental_refresh  scripts.refresh again on the same warehouse after the new drop
  reference            bench.reference_core: one hand-written DuckDB script (the floor)
  pandas               bench.pandas_core: the same core in pandas
  dbt_startup          `dbt build --select currency_rates` (one tiny seed and its tests): the
                       fixed cost of one dbt invocation, with dbt's saved manifest warm

Wall time and memory are measured on the whole child tree: `os.wait4` gives the peak RSS of
the largest single process (the child or any reaped descendant; taken by the small launcher
bench/launch.py, because a child forked from a large parent inherits the parent's footprint in
that figure), and a sampler sums the RSS
of every live process of the tree every --sample-interval seconds (the simultaneous total,
which is what the machine must hold). A failing contender is reported with the tail of its
stderr; the bench goes on and exits 1 at the end.

Results: a block between markers in docs/benchmarks.md (a re-run replaces only that block)
and every figure as JSON in docs/benchmarks.json; per-run logs under <workdir>/runs/.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from scripts.contract import PROJECT_DIR

# ---------------------------------------------------------------------------- constants

DEFAULT_SCALES = (100_000, 1_000_000)
# The entities whose last-day files form the "new drop" of the incremental refresh.
DROP_ENTITIES = ("orders", "order_lines", "invoices", "payments")
CONTENDERS = ("full_refresh", "incremental_refresh", "reference", "pandas", "dbt_startup")
CONTENDER_LABELS = {
    "full_refresh": "full refresh (scripts.refresh, from scratch)",
    "incremental_refresh": "incremental refresh (+ new daily drop)",
    "reference": "hand-written DuckDB reference",
    "pandas": "pandas peer",
    "dbt_startup": "dbt fixed start-up (build of one tiny seed)",
}
# The interleaving units: the incremental refresh needs the warehouse its repeat's full
# refresh just built, so the two run back to back as one unit.
UNITS = (("full_refresh", "incremental_refresh"), ("reference",), ("pandas",), ("dbt_startup",))
STARTUP_SELECTOR = "currency_rates"
MARK_START = "<!-- bench:results:start (written by python -m bench.harness; edit outside) -->"
MARK_END = "<!-- bench:results:end -->"
DEFAULT_DOC = PROJECT_DIR / "docs" / "benchmarks.md"
DEFAULT_JSON = PROJECT_DIR / "docs" / "benchmarks.json"
ISSUE_SCALE = 1_000_000  # the scale the issue's time and memory targets are stated at
LARGE_SCALE = 10_000_000  # the scale the issue asks to complete on a 24 GB machine
PEAK_LIMIT_BYTES = 3_000_000_000  # "under 3 GB"
KIB = 1024
MIB = 1024 * 1024
GIB = 1024 * MIB
VERSIONED_PACKAGES = (
    "duckdb",
    "dbt-core",
    "dbt-duckdb",
    "pandas",
    "great-expectations",
    "pyarrow",
    "numpy",
)
PAGE_KIB = max(os.sysconf("SC_PAGE_SIZE") // KIB, 1) if hasattr(os, "sysconf") else 4

# ---------------------------------------------------------------------------- small logic


def median(values: Iterable[float | None]) -> float | None:
    """Median of the values that are not None; None when there are none."""
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


def interleaved_order(units: Sequence, repeat: int) -> list:
    """The units of one repeat: the base order rotated by the repeat number, so every unit
    runs first (cold caches) once every len(units) repeats and none is always last."""
    if not units:
        return []
    shift = repeat % len(units)
    return list(units[shift:]) + list(units[:shift])


def growth_exponent(t_small: float, t_large: float, n_small: int, n_large: int) -> float:
    """k in t ~ n^k between two scales: 1 is linear growth, below 1 sublinear."""
    return math.log(t_large / t_small) / math.log(n_large / n_small)


def parse_scales(text: str) -> list[int]:
    scales = []
    for part in text.replace("_", "").split(","):
        part = part.strip().lower()
        if not part:
            continue
        factor = 1
        if part[-1] in "km":
            factor = 1000 if part[-1] == "k" else 1_000_000
            part = part[:-1]
        scales.append(int(float(part) * factor))
    return scales


def human_scale(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return f"{n:,}"


def tail(path: Path, lines: int = 20, max_chars: int = 4000) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])[-max_chars:]


# ---------------------------------------------------------------------------- child processes


def process_table() -> dict[int, int]:
    """pid -> parent pid of every process visible in /proc."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                data = fh.read()
            table[int(entry.name)] = int(data.rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return table


def tree_pids(root: int, table: dict[int, int]) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, ppid in table.items():
        children.setdefault(ppid, []).append(pid)
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, ()))
    return found


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * PAGE_KIB
    except (OSError, IndexError, ValueError):
        return 0


def process_role(argv: Sequence[str]) -> str:
    """A short name for a process of a contender's tree, from its command line: the module of
    `python -m scripts.refresh` ("refresh"), the script a Python runs ("dbt" for dbt's entry
    point, "launch" for the harness's launcher), or the program's name. Only the interpreter's
    own options are read: the launcher's command line carries the contender's after it."""
    if not argv:
        return "?"
    program = Path(argv[0]).name
    if not program.startswith("python"):
        return program
    args = list(argv[1:])
    while args and args[0].startswith("-"):
        flag = args.pop(0)
        if flag == "-m" and args:
            return args[0].rsplit(".", 1)[-1]
        if flag == "-c":
            return "python -c"
    return Path(args[0]).stem if args else program


def _cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return [part.decode(errors="replace") for part in fh.read().split(b"\0") if part]
    except OSError:
        return []


def tree_rss_by_role(root: int) -> dict[str, int]:
    """Resident KiB of a process and all its live descendants, summed per role (see
    process_role): which program of a refresh holds the memory at a moment. Shared library
    pages count once per process: a slight overestimate."""
    by_role: dict[str, int] = {}
    for pid in tree_pids(root, process_table()):
        kib = rss_kib(pid)
        if kib:
            role = process_role(_cmdline(pid))
            by_role[role] = by_role.get(role, 0) + kib
    return by_role


class TreeSampler(threading.Thread):
    """Samples the RSS of a process tree until stopped: `samples` holds (epoch seconds, KiB of
    the whole tree) and `roles` the same moments split per program (tree_rss_by_role)."""

    def __init__(self, root: int, interval: float):
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self.roles: list[dict[str, int]] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            moment, by_role = time.time(), tree_rss_by_role(self.root)
            self.samples.append((moment, sum(by_role.values())))
            self.roles.append(by_role)
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)

    @property
    def peak_kib(self) -> int:
        return max((kib for _, kib in self.samples), default=0)


@dataclass
class ChildRun:
    command: list[str]
    returncode: int
    wall_s: float
    maxrss_kib: int  # os.wait4: the largest single process of the tree
    tree_peak_kib: int  # sampled: the whole live tree at once
    started_epoch: float
    timed_out: bool = False
    samples: list[tuple[float, int]] = field(default_factory=list, repr=False)
    roles: list[dict[str, int]] = field(default_factory=list, repr=False)  # per sample

    @property
    def peak_kib(self) -> int:
        """The conservative figure: the larger of the two measurements."""
        return max(self.maxrss_kib, self.tree_peak_kib)


def _copy_lines(stream, sink) -> None:
    """Copy a child's output to a file, each line prefixed with its arrival time (epoch)."""
    for line in stream:
        sink.write(f"{time.time():.3f} {line}")
        sink.flush()


def read_timestamped(path: Path) -> list[tuple[float, str]]:
    lines = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return lines
    for raw in text.splitlines():
        stamp, _, rest = raw.partition(" ")
        try:
            lines.append((float(stamp), rest))
        except ValueError:
            continue
    return lines


def _kill_group(pid: int) -> None:
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


LAUNCHER = Path(__file__).with_name("launch.py")


def _reported_maxrss(report: Path, fallback: int) -> int:
    """The launcher's figure for its child (KiB). A child killed on timeout takes the launcher
    with it, so there is no report: the launcher's own figure is the best left."""
    try:
        return int(report.read_text())
    except (FileNotFoundError, ValueError):
        return fallback


def run_child(
    command: Sequence[str],
    *,
    stdout_path: Path,
    stderr_path: Path,
    cwd: Path = PROJECT_DIR,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    sample_interval: float = 0.5,
) -> ChildRun:
    """Run one command in its own process group; measure wall time and peak memory of its
    whole tree. Output goes to the two files, each line prefixed with its arrival time."""
    stdout_path.parent.mkdir(parents=True, exist_ok=True)
    maxrss_report = stdout_path.with_name(stdout_path.name + ".maxrss")
    maxrss_report.unlink(missing_ok=True)
    timed_out = threading.Event()
    with (
        stdout_path.open("w", encoding="utf-8") as out,
        stderr_path.open("w", encoding="utf-8") as err,
    ):
        started_epoch = time.time()
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-I", "-S", str(LAUNCHER), str(maxrss_report), "--", *command],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        readers = [
            threading.Thread(target=_copy_lines, args=(process.stdout, out), daemon=True),
            threading.Thread(target=_copy_lines, args=(process.stderr, err), daemon=True),
        ]
        for reader in readers:
            reader.start()
        sampler = TreeSampler(process.pid, sample_interval)
        sampler.start()
        timer = None
        if timeout:

            def expire() -> None:
                timed_out.set()
                _kill_group(process.pid)

            timer = threading.Timer(timeout, expire)
            timer.daemon = True
            timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            _kill_group(process.pid)
            raise
        finally:
            if timer is not None:
                timer.cancel()
        wall = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop()
        for reader in readers:
            reader.join(timeout=30)
    return ChildRun(
        command=list(command),
        returncode=process.returncode,
        wall_s=wall,
        maxrss_kib=_reported_maxrss(maxrss_report, fallback=int(usage.ru_maxrss)),
        tree_peak_kib=sampler.peak_kib,
        started_epoch=started_epoch,
        timed_out=timed_out.is_set(),
        samples=sampler.samples,
        roles=sampler.roles,
    )


# ---------------------------------------------------------------------------- landing data


@dataclass
class DataSet:
    contacts: int
    seed: int
    generated: Path  # everything the generator wrote: the incremental refresh's landing
    full: Path  # the same minus the new drop: the full refresh's landing
    facts: dict


def split_landing(
    generated: Path, full: Path, entities: Sequence[str] = DROP_ENTITIES, days: int = 1
) -> dict:
    """Hard-link every generated file into `full` except the files of `entities` of the last
    `days` drop days, which form the new drop. Returns the drop dates and both parts."""
    files = sorted(p for p in generated.rglob("*") if p.is_file() and not p.name.startswith("."))
    dated = [
        p for p in files if p.parent.name in entities and re.match(r"\d{4}-\d{2}-\d{2}", p.name)
    ]
    if not dated:
        raise SystemExit(f"{generated}: no dated files of {', '.join(entities)} to split off")
    drop_days = sorted({p.name[:10] for p in dated})[-days:]
    drop = [p for p in dated if p.name[:10] in drop_days]
    if full.exists():
        shutil.rmtree(full)
    kept = []
    for path in files:
        if path in drop:
            continue
        target = full / path.relative_to(generated)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)
        kept.append(path.relative_to(generated).as_posix())
    return {
        "drop_date": drop_days[-1],
        "drop_days": drop_days,
        "drop_files": [p.relative_to(generated).as_posix() for p in drop],
        "full_files": len(kept),
        "full_bytes": sum((generated / rel).stat().st_size for rel in kept),
        "drop_bytes": sum(p.stat().st_size for p in drop),
    }


def _reader(paths: list[Path]) -> str:
    quoted = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
    if all(p.suffix.lower() == ".parquet" for p in paths):
        return f"read_parquet([{quoted}], union_by_name = true)"
    return f"read_csv([{quoted}], all_varchar = true, header = true, union_by_name = true)"


def drop_share(generated: Path, drop_files: Sequence[str]) -> dict:
    """How much the new drop adds to orders: rows, and order ids not seen before."""
    import duckdb

    orders = sorted((generated / "orders").glob("*"))
    drop = [generated / rel for rel in drop_files if rel.startswith("orders/")]
    before = [p for p in orders if p not in drop]
    if not drop or not before:
        return {"note": "no orders in the drop or before it"}
    with duckdb.connect() as con:
        rows_before = con.sql(f"select count(*) from {_reader(before)}").fetchone()[0]
        rows_drop, new_ids = con.sql(
            f"""select count(*), count(distinct order_id) filter (
                    where order_id not in (select order_id from {_reader(before)}
                                           where order_id is not null))
                from {_reader(drop)}"""
        ).fetchone()
        ids_before = con.sql(f"select count(distinct order_id) from {_reader(before)}").fetchone()[
            0
        ]
    return {
        "order_rows_before": rows_before,
        "order_rows_in_drop": rows_drop,
        "new_orders_in_drop": new_ids,
        "orders_before": ids_before,
        "new_order_share": new_ids / ids_before if ids_before else None,
    }


def generator_drops(drop_days: int) -> int:
    """Daily drops to generate: the generator's default 4, more when the new drop spans more
    days than the 3 that follow the first (history) drop."""
    return max(4, drop_days + 1)


def duckdb_profile_setting(variable: str) -> str:
    """A setting of the DuckDB output for the record of a run: the environment's value of
    `variable`, else its `env_var('<variable>', '<default>')` default in profiles.yml (the
    DuckDB output's, not PostgreSQL's)."""
    if os.environ.get(variable):
        return os.environ[variable]
    text = (PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8")
    duckdb_output = text.split("    duckdb:", 1)[-1].split("\n    postgres:", 1)[0]
    found = re.search(rf"env_var\('{variable}', '([^']+)'\)", duckdb_output)
    return f"{found.group(1)} (profiles.yml default)" if found else "profiles.yml default"


def prepare_data(args: argparse.Namespace, contacts: int, env: dict[str, str]) -> DataSet:
    drops = generator_drops(args.drop_days)
    name = f"contacts-{contacts}-seed-{args.seed}" + (f"-drops-{drops}" if drops != 4 else "")
    base = args.workdir / "data" / name
    generated, full, stamp = base / "generated", base / "full", base / "generated.json"
    if stamp.exists():
        facts = json.loads(stamp.read_text())
        same = (facts.get("contacts"), facts.get("seed"), facts.get("drops", 4))
        if same == (contacts, args.seed, drops) and generated.is_dir():
            print(f"[bench] reusing {human_scale(contacts)} contacts in {base}", flush=True)
            if facts.get("split_days") != args.drop_days or not full.is_dir():
                facts.update(split_and_count(generated, full, args.drop_days))
                stamp.write_text(json.dumps(facts, indent=1))
            facts["reused"] = True
            return DataSet(contacts, args.seed, generated, full, facts)
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    command = [sys.executable, "-m", "scripts.generate_crm", "--contacts", str(contacts)]
    command += ["--seed", str(args.seed), "--drops", str(drops), "--out", str(generated)]
    command += ["--quiet"]
    print(f"[bench] generating {human_scale(contacts)} contacts: {shlex.join(command)}", flush=True)
    run = run_child(
        command,
        stdout_path=base / "generate.stdout.log",
        stderr_path=base / "generate.stderr.log",
        env=env,
        sample_interval=args.sample_interval,
    )
    if run.returncode != 0:
        raise SystemExit(
            f"the generator failed (exit {run.returncode}):\n{tail(base / 'generate.stderr.log')}"
        )
    facts = {"contacts": contacts, "seed": args.seed, "drops": drops}
    facts["generate_seconds"] = round(run.wall_s, 1)
    facts["generate_peak_mib"] = round(run.peak_kib / KIB)
    facts.update(split_and_count(generated, full, args.drop_days))
    stamp.write_text(json.dumps(facts, indent=1))
    facts["reused"] = False
    return DataSet(contacts, args.seed, generated, full, facts)


def split_and_count(generated: Path, full: Path, days: int) -> dict:
    facts: dict = {"split_days": days}
    facts.update(split_landing(generated, full, days=days))
    try:
        facts.update(drop_share(generated, facts["drop_files"]))
    except Exception as exc:  # noqa: BLE001 - a fact we could not compute is reported
        facts["drop_share_error"] = f"{type(exc).__name__}: {exc}"
    return facts


# ---------------------------------------------------------------------------- profiles


def _epoch(text: str) -> float:
    """dbt's timestamps (UTC, with or without a trailing Z) as epoch seconds."""
    return datetime.fromisoformat(text.rstrip("Z")).replace(tzinfo=UTC).timestamp()


def parse_dbt_log(path: Path) -> list[dict]:
    """dbt's JSON log file (--log-format-file json): one entry per dbt invocation, in order,
    with its first event, first node start, dbt's own run timer and every node's timing."""
    invocations: dict[str, dict] = {}
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            event = json.loads(line)
            info, data = event["info"], event.get("data", {})
            ts = _epoch(info["ts"])
        except (ValueError, KeyError, TypeError):
            continue
        inv = invocations.setdefault(
            info.get("invocation_id", "?"),
            {
                "first_ts": ts,
                "last_ts": ts,
                "first_node_ts": None,
                "execution_s": None,
                "full_parse": None,
                "parse_only": False,
                "nodes": [],
            },
        )
        inv["last_ts"] = max(inv["last_ts"], ts)
        name = info.get("name")
        if name in ("LogStartLine", "LogHookStartLine") and inv["first_node_ts"] is None:
            inv["first_node_ts"] = ts
        elif name == "FinishedRunningStats":
            inv["execution_s"] = data.get("execution_time")
        elif name == "UnableToPartialParse":
            inv["full_parse"] = str(data.get("reason") or "full parse")
        elif name == "ParsePerfInfoPath":  # only `dbt parse` writes perf_info.json
            inv["parse_only"] = True
        if name in ("LogModelResult", "LogTestResult", "LogSeedResult", "LogHookEndLine"):
            node = data.get("node_info", {})
            inv["nodes"].append(
                {
                    "unique_id": node.get("unique_id", ""),
                    "name": node.get("node_name", ""),
                    "resource_type": node.get("resource_type", ""),
                    "path": node.get("node_path", ""),
                    "materialized": node.get("materialized", ""),
                    "seconds": float(data.get("execution_time") or 0.0),
                    "ended_epoch": ts,
                    "status": str(data.get("status", "")),
                }
            )
    return fold_parses_ahead(sorted(invocations.values(), key=lambda inv: inv["first_ts"]))


def fold_parses_ahead(invocations: list[dict]) -> list[dict]:
    """scripts.prepared_dbt parses the project in an invocation of its own before each build
    (while the step before runs): that parse belongs to the build that follows it, as
    `parsed_ahead_s` and its partial or full parse."""
    builds: list[dict] = []
    ahead: dict | None = None
    for inv in invocations:
        if inv["parse_only"]:
            ahead = inv
            continue
        inv["parsed_ahead_s"] = None
        if ahead is not None:
            inv["full_parse"] = inv["full_parse"] or ahead["full_parse"]
            inv["parsed_ahead_s"] = round(ahead["last_ts"] - ahead["first_ts"], 2)
            ahead = None
        builds.append(inv)
    return builds


def node_group(node: dict) -> str:
    kind = node["resource_type"]
    if kind == "model":
        layer = node["path"].split("/", 1)[0] if "/" in node["path"] else "other"
        return f"{layer} models"
    return {
        "test": "data tests",
        "unit_test": "unit tests",
        "seed": "seeds",
        "operation": "hooks",
    }.get(kind, kind or "other")


def refresh_segments(lines: list[tuple[float, str]], end_epoch: float) -> list[dict]:
    """Sections of a refresh's output: steps (`== name` lines) and, inside build_and_test,
    the commands scripts.run_pipeline runs (`$ ...` lines)."""
    marks: list[tuple[float, int, str, str]] = []
    in_build = False
    for ts, text in lines:
        if text.startswith("== "):
            step = text[3:].strip()
            marks.append((ts, 0, step, ""))
            in_build = step == "build_and_test"
            if in_build:
                marks.append((ts, 1, "run_pipeline start, before its first command", ""))
        elif in_build and text.startswith("$ "):
            if "fit_value_model" in text:
                marks.append((ts, 1, "value model fit", text[2:]))
            elif "dbt" in text and " build" in text:
                selection = re.search(r"--(select|exclude)\s+(\S+)", text)
                label = f"dbt build --{selection[1]} {selection[2]}" if selection else "dbt build"
                marks.append((ts, 1, label, text[2:]))
            else:
                marks.append((ts, 1, text[2:60], text[2:]))
    segments = []
    for i, (ts, level, name, command) in enumerate(marks):
        end = end_epoch
        for later_ts, later_level, _, _ in marks[i + 1 :]:
            if later_level <= level:
                end = later_ts
                break
        segments.append({"name": name, "level": level, "start": ts, "end": end, "command": command})
    return segments


def peak_between(samples: list[tuple[float, int]], start: float, end: float) -> int:
    return max((kib for ts, kib in samples if start <= ts <= end), default=0)


def peak_moment(run: ChildRun, invocations: list[dict]) -> dict | None:
    """The sample where the tree held the most memory: when, how much, which programs held it,
    and the dbt nodes running then (a node runs from its end less its execution time). A peak
    is a coincidence of programs and nodes; this names it."""
    if not run.samples:
        return None
    at = max(range(len(run.samples)), key=lambda i: run.samples[i][1])
    moment, kib = run.samples[at]
    by_role = run.roles[at] if at < len(run.roles) else {}
    running = [
        node["name"]
        for inv in invocations
        for node in inv["nodes"]
        if node["ended_epoch"] - node["seconds"] <= moment <= node["ended_epoch"]
    ]
    return {
        "at_s": round(moment - run.started_epoch, 1),
        "tree_mib": round(kib / KIB, 1),
        "processes_mib": {
            role: round(k / KIB, 1) for role, k in sorted(by_role.items(), key=lambda x: -x[1])
        },
        "dbt_nodes_running": sorted(running),
    }


def write_memory_timeline(run: ChildRun, path: Path) -> None:
    """Every memory sample of a run as CSV (seconds into the run, the tree, then one column per
    program), so that any moment can be matched to the dbt log afterwards."""
    roles = sorted({role for by_role in run.roles for role in by_role})
    lines = [",".join(["seconds", "tree_kib", *(f"{role}_kib" for role in roles)])]
    for (moment, kib), by_role in zip(run.samples, run.roles, strict=False):
        cells = [f"{moment - run.started_epoch:.2f}", str(kib)]
        lines.append(",".join(cells + [str(by_role.get(role, 0)) for role in roles]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def refresh_profile(run: ChildRun, record: dict | None, stdout_path: Path, dbt_log: Path) -> dict:
    """Phases of one refresh, in order: name -> seconds and name -> peak tree KiB, plus dbt's
    node time by group and per model."""
    end_epoch = run.started_epoch + run.wall_s
    segments = refresh_segments(read_timestamped(stdout_path), end_epoch)
    steps = dict((record or {}).get("step_seconds") or {})
    invocations = parse_dbt_log(dbt_log)
    phases: dict[str, float] = {}
    peaks: dict[str, int] = {}
    dbt_segments = [s for s in segments if s["name"].startswith("dbt build")]
    for seg in segments:
        if seg["level"] == 0:
            name = seg["name"]
            phases[name] = steps.get(name, round(seg["end"] - seg["start"], 2))
            # parts a step timed itself ("load / landing validation"), under their step
            phases.update((k, v) for k, v in steps.items() if k.startswith(f"{name} / "))
        else:
            name = f"build_and_test / {seg['name']}"
            phases[name] = round(seg["end"] - seg["start"], 2)
        peaks[name] = peak_between(run.samples, seg["start"], seg["end"])
        if seg in dbt_segments:
            k = dbt_segments.index(seg)
            if k < len(invocations):
                inv = invocations[k]
                if inv["parsed_ahead_s"] is None:
                    before_first_event, after_it = "interpreter and imports", "parse, connect"
                else:  # its dbt had started and parsed during the step before
                    before_first_event, after_it = "waking the parsed dbt", "connect"
                    phases[f"{name} / parsed ahead, during the step before"] = inv["parsed_ahead_s"]
                phases[f"{name} / start-up: {before_first_event}"] = round(
                    inv["first_ts"] - seg["start"], 2
                )
                if inv["first_node_ts"] is not None:
                    phases[f"{name} / start-up: {after_it}"] = round(
                        inv["first_node_ts"] - inv["first_ts"], 2
                    )
                if inv["execution_s"] is not None:
                    phases[f"{name} / running nodes (dbt's timer)"] = round(inv["execution_s"], 2)
    for name, seconds in steps.items():  # steps without an output line (none today)
        phases.setdefault(name, seconds)
    accounted = sum(v for k, v in steps.items() if " / " not in k)  # parts are in their step
    phases["other (interpreter start, lock, run log)"] = round(max(run.wall_s - accounted, 0), 2)
    groups: dict[str, dict] = {}
    models: dict[str, dict] = {}
    for inv in invocations:
        for node in inv["nodes"]:
            group = groups.setdefault(node_group(node), {"nodes": 0, "seconds": 0.0})
            group["nodes"] += 1
            group["seconds"] = round(group["seconds"] + node["seconds"], 3)
            if node["resource_type"] == "model":
                models[node["name"]] = {
                    "layer": node_group(node).removesuffix(" models"),
                    "materialized": node["materialized"],
                    "seconds": round(node["seconds"], 3),
                }
    return {
        "phases": phases,
        "phase_peak_kib": peaks,
        "dbt_invocations": len(invocations),
        "dbt_parse": [inv["full_parse"] or "partial" for inv in invocations],
        "dbt_groups": groups,
        "dbt_models": models,
        "peak_moment": peak_moment(run, invocations),
    }


def last_run_record(warehouse: Path, since_epoch: float = 0.0) -> dict | None:
    """The last run of the refresh run log, if it started after `since_epoch` (a refresh that
    died before logging leaves the previous run last)."""
    path = warehouse / "refresh_runs.jsonl"
    try:
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        record = json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None
    if record and since_epoch:
        try:
            started = datetime.fromisoformat(record["started_at"]).replace(tzinfo=UTC)
        except (KeyError, TypeError, ValueError):
            return None
        if started.timestamp() < since_epoch - 1:
            return None
    return record


# ---------------------------------------------------------------------------- agreement

AGREEMENT_CHECKS = ("contacts", "sum net_revenue", "sum profit", "sum paid_orders", "value_tier")


def tree_bytes(root: Path) -> int:
    """Bytes of the regular files under root, each file once (hard links share their bytes),
    symbolic links not followed."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            info = os.lstat(os.path.join(folder, name))
            if stat.S_ISREG(info.st_mode) and (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                total += info.st_size
    return total


def refresh_disk(root: Path) -> dict:
    """What a refresh leaves on disk in its folder: the published warehouse file, the exports
    it published, and the whole folder (with older export versions, validation results and
    the run log). While an incremental refresh runs, its working copy of the warehouse is
    there too."""
    warehouse = root / "published" / "crm.duckdb"
    exports = root / "published" / "exports"
    return {
        "warehouse_bytes": warehouse.stat().st_size if warehouse.is_file() else None,
        "exports_bytes": tree_bytes(exports.resolve()) if exports.is_dir() else None,
        "folder_bytes": tree_bytes(root) if root.is_dir() else None,
    }


def disk_needed(scale: dict) -> int | None:
    """Bytes an incremental refresh at this scale needs at its fullest, about: the landing,
    what the refresh folder holds after it, and the working copy of the warehouse it builds
    on while it runs (DuckDB's spill files not counted)."""
    landing = (scale.get("data") or {}).get("full_bytes")
    after = (scale.get("disk") or {}).get("incremental_refresh") or {}
    if not landing or not after.get("folder_bytes") or not after.get("warehouse_bytes"):
        return None
    return landing + after["folder_bytes"] + after["warehouse_bytes"]


def output_stats(parquet: Path) -> dict:
    """The figures compared between the mart and the peers (columns they share)."""
    import duckdb

    source = "read_parquet('" + str(parquet).replace("'", "''") + "')"
    with duckdb.connect() as con:
        columns = {r[0] for r in con.sql(f"describe select * from {source}").fetchall()}
        stats: dict = {"contacts": con.sql(f"select count(*) from {source}").fetchone()[0]}
        for column in ("net_revenue", "profit", "paid_orders"):
            if column in columns:
                value = con.sql(f"select sum({column}) from {source}").fetchone()[0]
                stats[f"sum {column}"] = None if value is None else float(value)
        if "value_tier" in columns:
            rows = con.sql(
                f"select coalesce(value_tier, '(none)'), count(*) from {source} group by 1"
            ).fetchall()
            stats["value_tier"] = dict(sorted(rows))
    return stats


def compare_stats(mart: dict, other: dict) -> dict[str, str]:
    """Per check: 'same', 'differs: ...' or 'missing'. Sums may differ by the 4-decimal
    rounding of each contact's amounts (half a unit of the 4th decimal per contact)."""
    verdicts = {}
    tolerance = 0.00005 * max(mart.get("contacts") or 0, 1) + 0.005
    for check in AGREEMENT_CHECKS:
        if check not in mart or check not in other:
            verdicts[check] = "missing"
        elif check == "value_tier":
            if mart[check] == other[check]:
                verdicts[check] = "same"
            else:
                keys = sorted(set(mart[check]) | set(other[check]))
                diffs = [
                    f"{k} {mart[check].get(k, 0)} vs {other[check].get(k, 0)}"
                    for k in keys
                    if mart[check].get(k, 0) != other[check].get(k, 0)
                ]
                verdicts[check] = "differs: " + ", ".join(diffs)
        elif mart[check] is None or other[check] is None:
            verdicts[check] = "same" if mart[check] == other[check] else "differs: null"
        elif abs(mart[check] - other[check]) <= (tolerance if check.startswith("sum") else 0):
            verdicts[check] = "same"
        else:
            verdicts[check] = f"differs: {mart[check]:,.4f} vs {other[check]:,.4f}"
    return verdicts


# ---------------------------------------------------------------------------- machine


def machine_facts(workdir: Path | None = None) -> dict:
    facts: dict = {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "os": platform.platform(),
        "python": platform.python_version(),
    }
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                facts["memory_gib"] = round(int(line.split()[1]) / MIB, 1)
    except OSError:
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                facts["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    for name, path in (
        ("cgroup_memory_max", "/sys/fs/cgroup/memory.max"),
        ("cgroup_cpu_max", "/sys/fs/cgroup/cpu.max"),
    ):
        with contextlib.suppress(OSError):
            facts[name] = Path(path).read_text().strip()
    facts["python_bytecode"] = python_bytecode_state()
    if workdir is not None:
        existing = next((p for p in (workdir, *workdir.parents) if p.exists()), None)
        if existing is not None:
            facts["disk_free_gib"] = round(shutil.disk_usage(existing).free / GIB, 1)
    return facts


def python_bytecode_state() -> str:
    """Whether the processes timed compile the libraries they import: runs before session 14
    compiled dbt, pandas and great-expectations from source in every process (no .pyc
    installed, PYTHONDONTWRITEBYTECODE set), 17 s of the 1M incremental refresh (decisions).
    "precompiled" means a .pyc of dbt exists, whether uv or an earlier run wrote it."""
    spec = importlib.util.find_spec("dbt")
    origin = spec.origin if spec else None
    if origin and Path(importlib.util.cache_from_source(origin)).exists():
        return "precompiled"
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return "compiled from source in every process (PYTHONDONTWRITEBYTECODE, no .pyc)"
    return "compiled on first import, then cached"


def package_versions() -> dict:
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_state() -> dict:
    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=30
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    changed = git("status", "--porcelain", "--", *CODE_PATHS)
    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "uncommitted_project_files": len(changed.splitlines()),
        "code": code_fingerprint(),
    }


# What a refresh or a peer runs: a change here during a bench makes its runs incomparable.
CODE_PATHS = (
    "models",
    "macros",
    "scripts",
    "seeds",
    "tests/dbt",
    "bench",
    "dbt_project.yml",
    "profiles.yml",
)


def code_fingerprint(root: Path = PROJECT_DIR, paths: Sequence[str] = CODE_PATHS) -> str:
    """A short hash of the files the contenders run (names and contents), taken before every
    run: the checkout is shared, and a file edited during a bench changes what is measured."""
    digest = hashlib.sha256()
    for top in paths:
        base = root / top
        files = [base] if base.is_file() else sorted(base.rglob("*")) if base.is_dir() else []
        for path in files:
            if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            try:
                digest.update(path.read_bytes())
            except OSError:
                continue
    return digest.hexdigest()[:12]


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def settle_disk() -> float:
    """Write out what earlier runs left queued for the disk (os.sync), before a run and
    untimed; return the seconds it took. A refresh leaves gigabytes of written pages behind
    (its 5.6 GiB warehouse at 1M contacts, the exports): the next run's first steps shared the
    disk with their writeback, so the incremental refresh's copy of the warehouse took 2.8,
    11.2 and 28.9 s in one bench (session 24). A daily refresh starts on a quiet disk."""
    started = time.monotonic()
    os.sync()
    return round(time.monotonic() - started, 2)


# ---------------------------------------------------------------------------- the bench


def module_available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def dbt_target_for(workdir: Path, project_dir: Path = PROJECT_DIR) -> Path:
    """The bench's dbt target folder in `workdir`, emptied first when it was made for another
    checkout of the project. dbt's saved partial parse keeps each seed's absolute path, and
    dbt reuses it from another project folder: a kept workdir benched from a new clone
    loaded the seeds of the clone before it, or failed when that was gone (session 26)."""
    target = workdir / "dbt_target"
    made_for = target / "crm_project_dir"
    if target.exists() and not (
        made_for.is_file() and made_for.read_text(encoding="utf-8") == str(project_dir)
    ):
        print(f"[bench] {target} was made for another checkout: emptied", flush=True)
        shutil.rmtree(target)
    target.mkdir(parents=True, exist_ok=True)
    made_for.write_text(str(project_dir), encoding="utf-8")
    return target


class Bench:
    def __init__(self, args: argparse.Namespace, argv: list[str]):
        self.args = args
        self.bench_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.workdir: Path = args.workdir
        self.runs_dir = self.workdir / "runs" / self.bench_id
        self.refresh_dir = self.workdir / "refresh"  # one fixed path: see decisions below
        self.target_dir = dbt_target_for(self.workdir)
        from scripts.prepared_dbt import DBT_EXECUTABLE
        from scripts.run_pipeline import engine_environment

        self.dbt = DBT_EXECUTABLE
        env = engine_environment()  # the Spark folders made absolute, as the pipeline does
        env.pop("DBT_TARGET", None)
        env.pop("CRM_DBT_VARS", None)  # the bench evaluates the project's defaults
        env.update(
            DBT_TARGET_PATH=str(self.target_dir),  # not the shared target/ of the checkout
            DBT_LOG_FORMAT_FILE="json",
            DBT_LOG_LEVEL_FILE="info",
            PYTHONUNBUFFERED="1",
        )
        self.env = env
        self.results: list[dict] = []
        self.scales: list[dict] = []
        self.report: dict = {
            "bench_id": self.bench_id,
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": "python -m bench.harness " + shlex.join(argv),
            "settings": {
                "scales": args.scales,
                "repeats": args.repeats,
                "seed": args.seed,
                "drop_days": args.drop_days,
                "contenders": args.contenders,
                "workdir": str(args.workdir),
                "sample_interval_s": args.sample_interval,
                "dbt_threads": duckdb_profile_setting("CRM_DBT_THREADS"),
                "duckdb_memory_limit": duckdb_profile_setting("CRM_DUCKDB_MEMORY_LIMIT"),
            },
            "machine": machine_facts(args.workdir),
            "versions": package_versions(),
            "git": git_state(),
            "load_average_start": load_average(),
        }

    # -- contenders ---------------------------------------------------------------------

    def contender_env(self, run_dir: Path) -> dict[str, str]:
        env = dict(self.env)
        env["DBT_LOG_PATH"] = str(run_dir / "dbt_logs")
        return env

    def command(self, contender: str, data: DataSet, as_of: str | None, out: Path) -> list[str]:
        py = sys.executable
        if contender == "full_refresh":
            return [
                py,
                "-m",
                "scripts.refresh",
                "--landing",
                str(data.full),
                "--warehouse-dir",
                str(self.refresh_dir),
            ]
        if contender == "incremental_refresh":
            return [
                py,
                "-m",
                "scripts.refresh",
                "--landing",
                str(data.generated),
                "--warehouse-dir",
                str(self.refresh_dir),
            ]
        if contender in ("reference", "pandas"):
            module = (
                self.args.reference_module if contender == "reference" else self.args.pandas_module
            )
            return [
                py,
                "-m",
                module,
                "--landing",
                str(data.full),
                "--as-of",
                str(as_of),
                "--out",
                str(out),
            ]
        if contender == "dbt_startup":
            return [
                self.dbt,
                "build",
                "--select",
                STARTUP_SELECTOR,
                "--indirect-selection",
                "cautious",  # not the singular tests that also read models
                "--target",
                "duckdb",
                "--project-dir",
                str(PROJECT_DIR),
                "--profiles-dir",
                str(PROJECT_DIR),
            ]
        raise ValueError(contender)

    def run_contender(self, contender: str, data: DataSet, repeat: int, state: dict) -> dict:
        run_dir = self.runs_dir / f"contacts-{data.contacts}" / f"r{repeat}-{contender}"
        run_dir.mkdir(parents=True, exist_ok=True)
        out = run_dir / "output.parquet"
        result: dict = {
            "scale": data.contacts,
            "repeat": repeat,
            "contender": contender,
            "ok": False,
            "run_dir": str(run_dir),
        }
        module = {"reference": self.args.reference_module, "pandas": self.args.pandas_module}.get(
            contender
        )
        if module and not module_available(module):
            result["error"] = (
                f"not run: module {module} does not exist (expected {module.replace('.', '/')}.py "
                "with the CLI --landing DIR --as-of YYYY-MM-DD --out FILE.parquet)"
            )
            return self._finish(result)
        if contender == "incremental_refresh" and not state.get("full_ok"):
            result["error"] = "not run: the full refresh of this repeat failed"
            return self._finish(result)
        if contender == "full_refresh":
            shutil.rmtree(self.refresh_dir, ignore_errors=True)
            state["full_ok"] = False
        as_of = state.get("as_of") or self.args.as_of
        if contender in ("reference", "pandas") and not as_of:
            as_of = data.facts.get("drop_date")
            result["as_of_guessed"] = True
        env = self.contender_env(run_dir)
        if contender == "dbt_startup":
            env["CRM_DUCKDB_PATH"] = str(self.refresh_dir / "work" / "crm.duckdb")
            env["DBT_TARGET"] = "duckdb"
            (self.refresh_dir / "work").mkdir(parents=True, exist_ok=True)
        command = self.command(contender, data, as_of, out)
        result["command"] = shlex.join(command)
        result["as_of"] = as_of if contender in ("reference", "pandas") else None
        result["settle_s"] = settle_disk()
        result["load_average_before"] = load_average()
        result["code"] = code_fingerprint()
        print(
            f"[bench] {human_scale(data.contacts)} r{repeat} {contender}: {shlex.join(command)}",
            flush=True,
        )
        run = run_child(
            command,
            stdout_path=run_dir / "stdout.log",
            stderr_path=run_dir / "stderr.log",
            env=env,
            timeout=self.args.timeout or None,
            sample_interval=self.args.sample_interval,
        )
        write_memory_timeline(run, run_dir / "memory.csv")
        result.update(
            returncode=run.returncode,
            wall_s=round(run.wall_s, 3),
            maxrss_mib=round(run.maxrss_kib / KIB, 1),
            tree_peak_mib=round(run.tree_peak_kib / KIB, 1),
            peak_mib=round(run.peak_kib / KIB, 1),
            timed_out=run.timed_out,
            ok=run.returncode == 0,
        )
        if contender in ("full_refresh", "incremental_refresh"):
            record = last_run_record(self.refresh_dir, run.started_epoch)
            profile = refresh_profile(
                run, record, run_dir / "stdout.log", run_dir / "dbt_logs" / "dbt.log"
            )
            result["profile"] = profile
            if record:
                result["run_log"] = {
                    k: record.get(k)
                    for k in (
                        "run_id",
                        "outcome",
                        "failed_step",
                        "as_of_date",
                        "files_loaded",
                        "files_refused",
                        "rows_loaded",
                        "rejects",
                        "mart_rows",
                    )
                }
            if result["ok"]:
                result["disk"] = refresh_disk(self.refresh_dir)
            if result["ok"] and contender == "full_refresh":
                state["full_ok"] = True
                if record and record.get("as_of_date"):
                    state.setdefault("as_of", record["as_of_date"])
                exported = self.refresh_dir / "published" / "exports" / "customers.parquet"
                self._stats(result, exported)
        elif contender in ("reference", "pandas") and result["ok"]:
            self._stats(result, out)
            if not self.args.keep_data:
                out.unlink(missing_ok=True)
        elif contender == "dbt_startup":
            invocations = parse_dbt_log(run_dir / "dbt_logs" / "dbt.log")
            if invocations:
                inv = invocations[0]
                result["startup"] = {
                    "interpreter_and_imports_s": round(inv["first_ts"] - run.started_epoch, 2),
                    "parse_connect_s": (
                        round(inv["first_node_ts"] - inv["first_ts"], 2)
                        if inv["first_node_ts"]
                        else None
                    ),
                    "running_nodes_s": inv["execution_s"],
                    "parse": inv["full_parse"] or "partial",
                }
        if not result["ok"]:
            stderr = tail(run_dir / "stderr.log", 25)
            stderr = "\n".join(line.partition(" ")[2] for line in stderr.splitlines())
            if not stderr.strip():
                stdout = tail(run_dir / "stdout.log", 25)
                stderr = "(stderr empty; stdout tail)\n" + "\n".join(
                    line.partition(" ")[2] for line in stdout.splitlines()
                )
            why = "timed out" if run.timed_out else f"exit {run.returncode}"
            result["error"] = f"{why}:\n{stderr}"
        return self._finish(result)

    def _stats(self, result: dict, parquet: Path) -> None:
        try:
            result["output_stats"] = output_stats(parquet)
        except Exception as exc:  # noqa: BLE001 - reported in the agreement section
            result["output_stats_error"] = f"{type(exc).__name__}: {exc}"

    def _finish(self, result: dict) -> dict:
        if result.get("ok"):
            print(
                f"[bench]   ok in {result['wall_s']:.1f} s, peak {result['peak_mib']:.0f} MiB",
                flush=True,
            )
        else:
            print(f"[bench]   FAILED: {result.get('error', '')[:2000]}", flush=True)
        self.results.append(result)
        self.save_partial()
        return result

    def save_partial(self) -> None:
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        payload = {**self.report, "scales": self.scales, "runs": self.results}
        (self.runs_dir / "results.json").write_text(json.dumps(payload, indent=1, default=str))

    # -- the run ------------------------------------------------------------------------

    def warm_up(self) -> None:
        """One untimed dbt invocation with the refreshes' environment, so that every timed
        dbt run starts from a saved manifest (partial parsing), as a scheduled refresh does."""
        if not any(
            c in self.args.contenders
            for c in ("full_refresh", "incremental_refresh", "dbt_startup")
        ):
            return
        warm_dir = self.runs_dir / "warm-up"
        env = self.contender_env(warm_dir)
        env["CRM_DUCKDB_PATH"] = str(self.refresh_dir / "work" / "crm.duckdb")
        env["DBT_TARGET"] = "duckdb"
        (self.refresh_dir / "work").mkdir(parents=True, exist_ok=True)
        command = [
            self.dbt,
            "parse",
            "--target",
            "duckdb",
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(PROJECT_DIR),
        ]
        print(f"[bench] warm-up (untimed): {shlex.join(command)}", flush=True)
        run = run_child(
            command,
            stdout_path=warm_dir / "stdout.log",
            stderr_path=warm_dir / "stderr.log",
            env=env,
        )
        if run.returncode != 0:
            print(
                f"[bench] warm-up failed (exit {run.returncode}); timings include a full parse",
                flush=True,
            )

    def run(self) -> int:
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        print(f"[bench] logs and raw results: {self.runs_dir}", flush=True)
        self.warm_up()
        for contacts in self.args.scales:
            contenders = self.args.contenders_at.get(contacts, self.args.contenders)
            units = [tuple(c for c in unit if c in contenders) for unit in UNITS]
            units = [u for u in units if u]
            repeats = self.args.repeats_at.get(contacts, self.args.repeats)
            data = prepare_data(self.args, contacts, self.env)
            scale = {"contacts": contacts, "data": data.facts, "orders": []}
            scale.update(repeats=repeats, contenders=contenders)
            self.scales.append(scale)
            state: dict = {}
            for repeat in range(repeats):
                order = interleaved_order(units, repeat)
                scale["orders"].append([c for unit in order for c in unit])
                state["full_ok"] = False
                for unit in order:
                    for contender in unit:
                        self.run_contender(contender, data, repeat, state)
            scale["as_of"] = state.get("as_of") or self.args.as_of
            if not self.args.keep_data:
                shutil.rmtree(data.generated.parent, ignore_errors=True)
        if not self.args.keep_data:
            shutil.rmtree(self.refresh_dir, ignore_errors=True)
        self.report["load_average_end"] = load_average()
        self.report["git_end"] = git_state()
        summary = summarise(self.report, self.scales, self.results)
        payload = {**self.report, "summary": summary, "scales": self.scales, "runs": self.results}
        (self.runs_dir / "results.json").write_text(json.dumps(payload, indent=1, default=str))
        if self.args.json:
            self.args.json.parent.mkdir(parents=True, exist_ok=True)
            self.args.json.write_text(json.dumps(payload, indent=1, default=str) + "\n")
            print(f"[bench] raw results: {self.args.json}", flush=True)
        markdown = render_results(payload)
        if self.args.doc:
            write_doc(self.args.doc, markdown)
            print(f"[bench] results written between the markers of {self.args.doc}", flush=True)
        print(markdown)
        failures = [r for r in self.results if not r["ok"]]
        disagreements = [
            (s["contacts"], name, check)
            for s in summary["scales"]
            for name, checks in s["agreement"].get("verdicts", {}).items()
            for check, verdict in checks.items()
            if verdict != "same"
        ]
        if failures:
            print(
                f"[bench] {len(failures)} contender run(s) failed: see the Failures section",
                file=sys.stderr,
            )
        if disagreements:
            print(f"[bench] outputs disagree with the mart: {disagreements}", file=sys.stderr)
        return 1 if failures or disagreements else 0


# ---------------------------------------------------------------------------- summary


def summarise(report: dict, scales: list[dict], runs: list[dict]) -> dict:
    """Medians per (scale, contender), phases, dbt groups, agreement, growth and targets."""
    out_scales = []
    for scale in scales:
        n = scale["contacts"]
        mine = [r for r in runs if r["scale"] == n]
        contenders = {}
        for name in CONTENDERS:
            rs = [r for r in mine if r["contender"] == name]
            if not rs:
                continue
            ok = [r for r in rs if r["ok"]]
            walls = [r["wall_s"] for r in ok]
            contenders[name] = {
                "runs": len(rs),
                "ok": len(ok),
                "median_s": median(walls),
                "min_s": min(walls) if walls else None,
                "max_s": max(walls) if walls else None,
                "peak_mib": max((r["peak_mib"] for r in ok), default=None),
                "tree_peak_mib": max((r["tree_peak_mib"] for r in ok), default=None),
                "maxrss_mib": max((r["maxrss_mib"] for r in ok), default=None),
            }
        reference = (contenders.get("reference") or {}).get("median_s")
        for stats in contenders.values():
            stats["x_reference"] = (
                stats["median_s"] / reference
                if reference and stats["median_s"] is not None
                else None
            )
        phases = {}
        for name in ("full_refresh", "incremental_refresh"):
            ok = [r for r in mine if r["contender"] == name and r["ok"] and "profile" in r]
            names: list[str] = []
            for r in ok:
                names += [p for p in r["profile"]["phases"] if p not in names]
            phases[name] = {
                p: {
                    "median_s": median(r["profile"]["phases"].get(p) for r in ok),
                    "peak_mib": (
                        max((r["profile"]["phase_peak_kib"].get(p, 0) for r in ok), default=0) / KIB
                        or None
                    ),
                }
                for p in names
            }
        dbt = {}
        for name in ("full_refresh", "incremental_refresh"):
            ok = [r for r in mine if r["contender"] == name and r["ok"] and "profile" in r]
            groups = sorted({g for r in ok for g in r["profile"]["dbt_groups"]})
            models = sorted({m for r in ok for m in r["profile"]["dbt_models"]})
            per_model = {
                m: {
                    "median_s": median(
                        r["profile"]["dbt_models"].get(m, {}).get("seconds") for r in ok
                    ),
                    "layer": next(
                        r["profile"]["dbt_models"][m]["layer"]
                        for r in ok
                        if m in r["profile"]["dbt_models"]
                    ),
                    "materialized": next(
                        r["profile"]["dbt_models"][m]["materialized"]
                        for r in ok
                        if m in r["profile"]["dbt_models"]
                    ),
                }
                for m in models
            }
            dbt[name] = {
                "invocations": median(r["profile"]["dbt_invocations"] for r in ok),
                "parse": sorted({", ".join(r["profile"].get("dbt_parse", [])) for r in ok}),
                "groups": {
                    g: {
                        "nodes": median(
                            r["profile"]["dbt_groups"].get(g, {}).get("nodes") for r in ok
                        ),
                        "seconds": median(
                            r["profile"]["dbt_groups"].get(g, {}).get("seconds") for r in ok
                        ),
                    }
                    for g in groups
                },
                "slowest_models": sorted(
                    ({"model": m, **v} for m, v in per_model.items() if v["median_s"] is not None),
                    key=lambda v: -v["median_s"],
                )[:10],
            }
        disk = {}
        for name in ("full_refresh", "incremental_refresh"):
            measured = [r["disk"] for r in mine if r["contender"] == name and r.get("disk")]
            if measured:
                disk[name] = {
                    key: median(d.get(key) for d in measured)
                    for key in ("warehouse_bytes", "exports_bytes", "folder_bytes")
                }
        out_scales.append(
            {
                "contacts": n,
                "data": scale.get("data", {}),
                "disk": disk,
                "as_of": scale.get("as_of"),
                "orders": scale.get("orders", []),
                "contenders": contenders,
                "phases": phases,
                "dbt": dbt,
                "agreement": agreement(mine),
                "startup": startup_parts(mine),
                "peak_moments": {
                    name: [
                        dict(r["profile"]["peak_moment"], repeat=r["repeat"], ok=r["ok"])
                        for r in mine
                        if r["contender"] == name and (r.get("profile") or {}).get("peak_moment")
                    ]
                    for name in ("full_refresh", "incremental_refresh")
                },
            }
        )
    growth = growth_table(out_scales)
    return {
        "scales": out_scales,
        "growth": growth,
        "targets": evaluate_targets(out_scales, growth),
        "disk_at_10m": disk_at_10m(out_scales),
    }


def disk_at_10m(scales: list[dict]) -> dict | None:
    """The disk a refresh of 10M contacts needs, extrapolated linearly from the largest scale
    measured below it (landing, warehouse and exports all grow with the rows)."""
    below = [s for s in scales if s["contacts"] < LARGE_SCALE and disk_needed(s)]
    if not below:
        return None
    largest = max(below, key=lambda s: s["contacts"])
    return {
        "from": largest["contacts"],
        "bytes": disk_needed(largest) * LARGE_SCALE / largest["contacts"],
    }


def startup_parts(runs: list[dict]) -> dict | None:
    ok = [r for r in runs if r["contender"] == "dbt_startup" and r["ok"] and r.get("startup")]
    if not ok:
        return None
    parts = ("interpreter_and_imports_s", "parse_connect_s", "running_nodes_s")
    result: dict = {part: median(r["startup"].get(part) for r in ok) for part in parts}
    result["parse"] = sorted({r["startup"].get("parse", "?") for r in ok})
    return result


def agreement(runs: list[dict]) -> dict:
    """The peers' outputs against the mart of the full refresh (first successful repeat)."""

    def first_stats(name: str) -> dict | None:
        for r in runs:
            if r["contender"] == name and r.get("ok") and r.get("output_stats"):
                return r["output_stats"]
        return None

    mart = first_stats("full_refresh")
    result: dict = {"stats": {}, "verdicts": {}}
    if mart is None:
        result["note"] = (
            "no customers mart to compare with (the full refresh failed or was not run)"
        )
        return result
    result["stats"]["full_refresh"] = mart
    for name in ("reference", "pandas"):
        other = first_stats(name)
        if other is not None:
            result["stats"][name] = other
            result["verdicts"][name] = compare_stats(mart, other)
    # the same contender, repeat to repeat: deterministic outputs
    for name in ("full_refresh", "reference", "pandas"):
        stats = [
            r["output_stats"] for r in runs if r["contender"] == name and r.get("output_stats")
        ]
        if len(stats) > 1 and any(s != stats[0] for s in stats[1:]):
            result.setdefault("unstable", []).append(name)
    return result


def growth_table(scales: list[dict]) -> list[dict]:
    rows = []
    ordered = sorted(scales, key=lambda s: s["contacts"])
    for small, large in zip(ordered, ordered[1:], strict=False):
        for name in CONTENDERS:
            a = small["contenders"].get(name, {}).get("median_s")
            b = large["contenders"].get(name, {}).get("median_s")
            if not a or not b:
                continue
            rows.append(
                {
                    "contender": name,
                    "from": small["contacts"],
                    "to": large["contacts"],
                    "contacts_ratio": large["contacts"] / small["contacts"],
                    "time_ratio": b / a,
                    "exponent": growth_exponent(a, b, small["contacts"], large["contacts"]),
                }
            )
    return rows


def evaluate_targets(scales: list[dict], growth: list[dict]) -> list[dict]:
    """The targets of issue 7, computed from the medians: met / not met / not measured."""
    targets = []

    def status(ok: bool | None) -> str:
        return "not measured" if ok is None else ("met" if ok else "not met")

    by_scale = {s["contacts"]: s for s in scales}
    measured = sorted(by_scale) or [ISSUE_SCALE]
    for n in measured:
        c = by_scale[n]["contenders"] if n in by_scale else {}
        full = c.get("full_refresh", {}).get("median_s")
        ref = c.get("reference", {}).get("median_s")
        startup = c.get("dbt_startup", {}).get("median_s")
        pandas = c.get("pandas", {}).get("median_s")
        incr = c.get("incremental_refresh", {}).get("median_s")
        scope = "" if n == ISSUE_SCALE else " (indicative: the target is stated at 1M)"
        limit = 2 * ref + startup if ref is not None and startup is not None else None
        targets.append(
            {
                "target": "full refresh <= 2 x reference + dbt start-up" + scope,
                "scale": n,
                "figure": full,
                "limit": limit,
                "status": status(None if full is None or limit is None else full <= limit),
            }
        )
        targets.append(
            {
                "target": "full refresh faster than the pandas peer" + scope,
                "scale": n,
                "figure": full,
                "limit": pandas,
                "status": status(None if full is None or pandas is None else full < pandas),
            }
        )
        targets.append(
            {
                "target": "incremental refresh <= 1/3 of the full refresh",
                "scale": n,
                "figure": incr,
                "limit": full / 3 if full is not None else None,
                "status": status(None if incr is None or full is None else incr <= full / 3),
            }
        )
        peaks = [c.get(k, {}).get("peak_mib") for k in ("full_refresh", "incremental_refresh")]
        peaks = [p for p in peaks if p is not None]
        peak = max(peaks) if peaks else None
        targets.append(
            {
                "target": "refresh peak memory < 3 GB" + scope,
                "scale": n,
                "figure": peak,
                "limit": PEAK_LIMIT_BYTES / MIB,
                "unit": "MiB",
                "status": status(None if peak is None else peak * MIB < PEAK_LIMIT_BYTES),
            }
        )
    if ISSUE_SCALE not in by_scale:
        for text in ("full refresh <= 2 x reference + dbt start-up", "refresh peak memory < 3 GB"):
            targets.append(
                {
                    "target": text,
                    "scale": ISSUE_SCALE,
                    "figure": None,
                    "limit": None,
                    "status": "not measured",
                }
            )
    ten_m = by_scale.get(LARGE_SCALE, {}).get("contenders", {}).get("full_refresh")
    targets.append(
        {
            "target": "10M contacts completes (on a 24 GB machine)",
            "scale": LARGE_SCALE,
            "figure": None,
            "limit": None,
            "status": "not measured" if ten_m is None else status(ten_m["ok"] == ten_m["runs"]),
        }
    )
    for row in growth:
        if row["contender"] in ("full_refresh", "incremental_refresh"):
            targets.append(
                {
                    "target": f"{row['contender'].replace('_', ' ')} grows no worse than linearly",
                    "scale": row["to"],
                    "from": row["from"],
                    "figure": row["time_ratio"],
                    "limit": row["contacts_ratio"],
                    "unit": "x",
                    "status": status(row["time_ratio"] <= row["contacts_ratio"]),
                }
            )
    if not any(r["contender"] == "full_refresh" for r in growth):
        targets.append(
            {
                "target": "full refresh grows no worse than linearly",
                "scale": None,
                "figure": None,
                "limit": None,
                "status": "not measured",
            }
        )
    return targets


# ---------------------------------------------------------------------------- rendering


def fmt_s(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def render_peak_moments(moments: dict[str, list[dict]]) -> list[str]:
    """One line per refresh run: when its tree peaked, which programs held the memory, and the
    dbt nodes running at that moment (memory.csv in the run's directory has every sample)."""
    lines = []
    for name, runs in moments.items():
        for m in runs:
            held = ", ".join(f"{role} {fmt_mib(mib)}" for role, mib in m["processes_mib"].items())
            nodes = ", ".join(f"`{n}`" for n in m["dbt_nodes_running"]) or "none"
            outcome = "" if m["ok"] else " (failed)"
            lines.append(
                f"- Peak of the {name.replace('_', ' ')}, run {m['repeat']}{outcome}: "
                f"{fmt_mib(m['tree_mib'])} MiB at {fmt_s(m['at_s'])} s ({held} MiB); "
                f"dbt nodes running: {nodes}."
            )
    return lines + [""] if lines else []


def fmt_mib(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def fmt_in_unit(value, unit: str) -> str:
    """A target's figure or limit in its unit (seconds, MiB or a ratio); '–' when unknown."""
    if value is None:
        return "–"
    if unit == "MiB":
        return fmt_mib(value) + " MiB"
    if unit == "x":
        return fmt_x(value)
    return fmt_s(value) + " s"


def fmt_x(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def repeats_text(payload: dict) -> str:
    """'3', or '3 at 100k, 1 at 1M' when scales were given their own."""
    per_scale = {s["contacts"]: s.get("repeats") for s in payload.get("scales", [])}
    default = payload["settings"]["repeats"]
    if all(r in (None, default) for r in per_scale.values()):
        return str(default)
    return ", ".join(f"{r or default} at {human_scale(n)}" for n, r in per_scale.items())


def render_results(payload: dict) -> str:
    """The markdown block written between the markers of docs/benchmarks.md."""
    summary = payload["summary"]
    m, v, git = payload["machine"], payload["versions"], payload.get("git", {})
    out = [
        f"## Results of {payload['date']}",
        "",
        f"Command: `{payload['command']}`  ",
        f"Checkout: commit `{git.get('commit', '?')}`, "
        f"{git.get('uncommitted_project_files', '?')} uncommitted file(s) under models/, macros/, "
        "scripts/, seeds/  ",
        f"Machine: {m.get('cores')} cores ({m.get('cores_usable')} usable), "
        f"{m.get('memory_gib')} GiB memory, {m.get('cpu', 'CPU unknown')}, {m.get('os')}, "
        f"Python bytecode {m.get('python_bytecode', 'not recorded')}; "
        f"load average {payload.get('load_average_start')} at the start, "
        f"{payload.get('load_average_end')} at the end  ",
        "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + "  ",
        f"Repeats: {repeats_text(payload)} per contender, interleaved (order rotated "
        f"per repeat), median shown; dbt threads {payload['settings']['dbt_threads']}, "
        f"DuckDB memory bound {payload['settings'].get('duckdb_memory_limit', 'not recorded')}.",
        "",
    ]
    out += code_warning(payload)
    failed = [r for r in payload["runs"] if not r["ok"]]
    for scale in summary["scales"]:
        n, d = scale["contacts"], scale["data"]
        out += [f"### {human_scale(n)} contacts ({n:,})", ""]
        out += [describe_data(d, scale.get("as_of")), ""]
        rows = []
        for name, c in scale["contenders"].items():
            rows.append(
                [
                    CONTENDER_LABELS[name],
                    f"{c['ok']}/{c['runs']}",
                    fmt_s(c["median_s"]),
                    f"{fmt_s(c['min_s'])} – {fmt_s(c['max_s'])}",
                    fmt_mib(c["tree_peak_mib"]),
                    fmt_mib(c["maxrss_mib"]),
                    fmt_x(c["x_reference"]),
                ]
            )
        out += [
            table(
                [
                    "contender",
                    "ok",
                    "median wall s",
                    "min – max s",
                    "peak RSS MiB (tree, sampled)",
                    "largest process MiB (wait4)",
                    "× reference",
                ],
                rows,
            ),
            "",
        ]
        out += describe_disk(scale)
        if scale.get("startup"):
            st = scale["startup"]
            out += [
                f"dbt start-up (`dbt build --select {STARTUP_SELECTOR}`, median): interpreter and "
                f"imports {fmt_s(st['interpreter_and_imports_s'])} s, parse and connect "
                f"{fmt_s(st['parse_connect_s'])} s ({'; '.join(st['parse'])} parse), running "
                f"the seed and its tests {fmt_s(st['running_nodes_s'])} s.",
                "",
            ]
        for name in ("full_refresh", "incremental_refresh"):
            phases = scale["phases"].get(name) or {}
            if not phases:
                continue
            total = scale["contenders"][name]["median_s"] or 0
            rows = []
            for phase, p in phases.items():
                depth = phase.count(" / ")
                label = ("&nbsp;&nbsp;" * 2 * depth + ("↳ " if depth else "")) + phase.rsplit(
                    " / ", 1
                )[-1]
                rows.append(
                    [
                        label,
                        fmt_s(p["median_s"]),
                        f"{100 * p['median_s'] / total:.0f}%"
                        if total and p["median_s"] is not None and depth == 0
                        else "",
                        fmt_mib(p["peak_mib"]),
                    ]
                )
            out += [
                f"Phases of the {name.replace('_', ' ')} "
                "(median s; peak of the tree during the phase):",
                "",
            ]
            out += [table(["phase", "s", "share", "peak MiB"], rows), ""]
        out += render_peak_moments(scale.get("peak_moments") or {})
        for name in ("full_refresh", "incremental_refresh"):
            dbt = scale["dbt"].get(name) or {}
            if not dbt.get("groups"):
                continue
            rows = [[g, fmt_n(x["nodes"]), fmt_s(x["seconds"])] for g, x in dbt["groups"].items()]
            out += [
                f"dbt node time of the {name.replace('_', ' ')} by layer "
                f"({fmt_n(dbt['invocations'])} dbt invocations; summed over threads, so it can "
                "exceed the wall time). dbt parsing per invocation: "
                + "; ".join(dbt.get("parse") or ["?"])
                + ".",
                "",
                table(["group", "nodes", "summed s"], rows),
                "",
            ]
            if name == "full_refresh" and dbt["slowest_models"]:
                rows = [
                    [x["model"], x["layer"], x["materialized"], fmt_s(x["median_s"])]
                    for x in dbt["slowest_models"]
                ]
                out += [
                    "Slowest models of the full refresh:",
                    "",
                    table(["model", "layer", "materialized", "s"], rows),
                    "",
                ]
        ag = scale["agreement"]
        if ag.get("verdicts") or ag.get("note"):
            out += ["Agreement with the customers mart of the full refresh:", ""]
            if ag.get("note"):
                out += [ag["note"], ""]
            else:
                mart = ag["stats"]["full_refresh"]
                rows = []
                for check in AGREEMENT_CHECKS:
                    row = [check, _stat(mart.get(check))]
                    for name in ("reference", "pandas"):
                        if name in ag["verdicts"]:
                            verdict = ag["verdicts"][name][check]
                            row.append("same" if verdict == "same" else f"**{verdict}**")
                        else:
                            row.append("not run")
                    rows.append(row)
                out += [table(["check", "mart", "reference", "pandas"], rows), ""]
            if ag.get("unstable"):
                out += [f"Outputs differ between repeats for: {', '.join(ag['unstable'])}.", ""]
    if summary["growth"]:
        rows = [
            [
                CONTENDER_LABELS[g["contender"]],
                f"{human_scale(g['from'])} → {human_scale(g['to'])}",
                fmt_x(g["contacts_ratio"]),
                fmt_x(g["time_ratio"]),
                f"{g['exponent']:.2f}",
            ]
            for g in summary["growth"]
        ]
        out += [
            "### Growth with scale",
            "",
            "Time ratio between consecutive scales; exponent k in time ∝ contacts^k (1 = linear).",
            "",
        ]
        out += [table(["contender", "scales", "contacts", "time", "k"], rows), ""]
    rows = []
    for t in summary["targets"]:
        unit = t.get("unit", "s")
        fig = fmt_in_unit(t["figure"], unit)
        lim = fmt_in_unit(t["limit"], unit)
        at = (
            "–"
            if t["scale"] is None
            else (
                f"{human_scale(t['from'])} → {human_scale(t['scale'])}"
                if "from" in t
                else human_scale(t["scale"])
            )
        )
        rows.append(
            [
                t["target"],
                at,
                fig,
                lim,
                f"**{t['status']}**" if t["status"] == "not met" else t["status"],
            ]
        )
    out += [
        "### Targets of issue 7",
        "",
        table(["target", "at", "measured", "limit", "status"], rows),
        "",
    ]
    if summary.get("disk_at_10m"):
        at = summary["disk_at_10m"]
        free = payload["machine"].get("disk_free_gib")
        out += [
            f"Disk for 10M contacts, extrapolated linearly from {human_scale(at['from'])}: about "
            f"{at['bytes'] / GIB:,.0f} GiB for an incremental refresh at its fullest (landing, "
            "refresh folder, working copy of the warehouse)"
            + (f"; this machine had {free:,.1f} GiB free at the start." if free else "."),
            "",
        ]
    if failed:
        out += ["### Failures", ""]
        for r in failed:
            out += [
                f"- {human_scale(r['scale'])} repeat {r['repeat']} {r['contender']}: "
                f"logs in `{r['run_dir']}`",
                "",
                "```",
                (r.get("error") or "")[-3000:],
                "```",
                "",
            ]
    return "\n".join(out).rstrip() + "\n"


def code_warning(payload: dict) -> list[str]:
    """A warning when the project's files changed during the bench (shared checkout)."""
    versions: dict[str, list[str]] = {}
    for r in payload["runs"]:
        if r.get("code"):
            label = f"{human_scale(r['scale'])} r{r['repeat']} {r['contender']}"
            versions.setdefault(r["code"], []).append(label)
    start = payload.get("git", {}).get("code")
    end = payload.get("git_end", {}).get("code")
    if len(versions) <= 1 and start == end:
        return []
    lines = [
        "**Warning: the project's files (models, macros, scripts, seeds, bench, dbt_project.yml, "
        "profiles.yml) changed during this bench, so runs measured different code:**",
        "",
    ]
    for code, runs in versions.items():
        lines.append(f"- code `{code}`: {', '.join(runs)}")
    lines += [f"- code at the start `{start}`, at the end `{end}`", ""]
    return lines


def describe_disk(scale: dict) -> list[str]:
    """One line on what the refreshes left on disk, when they were measured."""
    disk = scale.get("disk") or {}
    parts = []
    for name, label in (("full_refresh", "full"), ("incremental_refresh", "incremental")):
        d = disk.get(name)
        if d:
            parts.append(
                f"after the {label} refresh the warehouse file "
                f"{fmt_mib_bytes(d['warehouse_bytes'])}, its exports "
                f"{fmt_mib_bytes(d['exports_bytes'])}, the refresh folder "
                f"{fmt_mib_bytes(d['folder_bytes'])}"
            )
    if not parts:
        return []
    needed = disk_needed(scale)
    tail = (
        f"; an incremental refresh needs about {fmt_mib_bytes(needed)} at its fullest, with the "
        "landing and the working copy of the warehouse it builds on"
        if needed
        else ""
    )
    return [f"Disk (median): {'; '.join(parts)}{tail}.", ""]


def fmt_mib_bytes(value: float | None) -> str:
    return "–" if value is None else f"{value / MIB:,.0f} MiB"


def describe_data(d: dict, as_of: str | None) -> str:
    if not isinstance(d.get("new_orders_in_drop"), int):
        return f"Data: {json.dumps(d, default=str)[:1500]}"
    share = d.get("new_order_share") or 0
    seconds = d.get("generate_seconds")
    generated = "Generated earlier" if seconds is None else f"Generated in {seconds} s"
    reused = " (reused from an earlier run)" if d.get("reused") else ""
    return (
        f"Data: seed {d.get('seed')}, {d.get('full_files')} landing files "
        f"({(d.get('full_bytes') or 0) / MIB:,.0f} MiB) for the full refresh; the new drop "
        f"({', '.join(d.get('drop_days') or [str(d.get('drop_date'))])}) is "
        f"{len(d.get('drop_files', []))} files "
        f"({(d.get('drop_bytes') or 0) / MIB:,.1f} MiB) of {', '.join(DROP_ENTITIES)} with "
        f"{d['new_orders_in_drop']:,} new orders on {d.get('orders_before', 0):,} "
        f"({100 * share:.2f}%) and {d.get('order_rows_in_drop', 0):,} order rows. "
        f"{generated}{reused}; as_of_date {as_of}."
    )


def fmt_n(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _stat(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {n:,}" for k, n in value.items())
    if isinstance(value, float):
        return f"{value:,.4f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "–" if value is None else str(value)


DOC_HEADER = """# Benchmarks

`make bench` (`python -m bench.harness`, see the README) measures the full and the
incremental refresh against a hand-written DuckDB reference and a pandas peer (issue 7).
The block between the markers below is rewritten by every run; write the analysis outside it.

"""


def replace_between_markers(document: str, block: str) -> str:
    """Put `block` between the markers, keeping everything around them; append the markers
    at the end when the document has none."""
    fenced = f"{MARK_START}\n{block.rstrip()}\n{MARK_END}"
    start, end = document.find(MARK_START), document.find(MARK_END)
    if start != -1 and end != -1 and end > start:
        return document[:start] + fenced + document[end + len(MARK_END) :]
    return document.rstrip() + ("\n\n" if document.strip() else "") + fenced + "\n"


def write_doc(path: Path, block: str) -> None:
    document = path.read_text(encoding="utf-8") if path.exists() else DOC_HEADER
    path.write_text(replace_between_markers(document, block), encoding="utf-8")


# ---------------------------------------------------------------------------- command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.harness",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--scales",
        default=",".join(str(s) for s in DEFAULT_SCALES),
        help="contacts per scale, comma-separated; k and M suffixes allowed "
        "(default 100000,1000000)",
    )
    parser.add_argument(
        "--scale",
        action="append",
        default=[],
        metavar="N",
        help="add a scale to --scales (repeatable), e.g. --scale 10000000 on a larger machine",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="runs per contender and scale; the median is reported (default 3)",
    )
    parser.add_argument(
        "--repeats-at",
        action="append",
        default=[],
        metavar="SCALE=N",
        help="runs per contender at one scale (repeatable), e.g. 1M=1 when a large scale "
        "would take too long three times",
    )
    parser.add_argument(
        "--contenders-at",
        action="append",
        default=[],
        metavar="SCALE=A,B",
        help="contenders at one scale (repeatable), e.g. "
        "1M=full_refresh,reference,pandas,dbt_startup",
    )
    parser.add_argument("--seed", type=int, default=42, help="generator seed (default 42)")
    parser.add_argument(
        "--drop-days",
        type=int,
        default=1,
        help="days of orders, order lines, invoices and payments held back as the new drop "
        "(default 1: one daily drop, about 0.1%% new orders and new versions of about 0.3%% more)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=PROJECT_DIR / "warehouse" / "bench",
        help="generated data, warehouses, logs (default warehouse/bench, gitignored)",
    )
    parser.add_argument(
        "--keep-data",
        action="store_true",
        help="keep the generated landing data (reused by the next run with the same scale and "
        "seed), the last warehouse and the peers' outputs",
    )
    parser.add_argument(
        "--contenders",
        default=",".join(CONTENDERS),
        help=f"subset of {','.join(CONTENDERS)} (default all)",
    )
    parser.add_argument(
        "--as-of",
        help="as_of_date for the peers when no full refresh succeeded "
        "(default: the full refresh's, else the last drop date)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=0,
        help="seconds after which a contender is killed and reported failed (default none)",
    )
    parser.add_argument(
        "--sample-interval",
        type=float,
        default=0.5,
        help="seconds between memory samples of a child tree (default 0.5)",
    )
    parser.add_argument(
        "--doc",
        type=Path,
        default=DEFAULT_DOC,
        help="markdown file whose marked block gets the results (default docs/benchmarks.md)",
    )
    parser.add_argument(
        "--no-doc", dest="doc", action="store_const", const=None, help="do not write the markdown"
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        help="raw results as JSON (default docs/benchmarks.json)",
    )
    parser.add_argument(
        "--no-json",
        dest="json",
        action="store_const",
        const=None,
        help="do not write the JSON beside the doc (the copy under the workdir is always written)",
    )
    parser.add_argument(
        "--reference-module", default="bench.reference_core", help=argparse.SUPPRESS
    )
    parser.add_argument("--pandas-module", default="bench.pandas_core", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        scales = parse_scales(args.scales)
        for extra in args.scale:
            scales += parse_scales(extra)
    except ValueError as exc:
        parser.error(f"bad scale: {exc}")
    args.scales = sorted(set(scales))
    if not args.scales or min(args.scales) < 1:
        parser.error("give at least one positive scale")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.drop_days < 1:
        parser.error("--drop-days must be at least 1")
    args.contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    check_contenders(parser, args.contenders)
    repeats_at, contenders_at = args.repeats_at, args.contenders_at
    args.repeats_at, args.contenders_at = {}, {}
    for scale, text in per_scale_values(parser, repeats_at, args.scales, "--repeats-at"):
        if not text.isdigit() or int(text) < 1:
            parser.error(f"--repeats-at needs a positive count, got {text!r}")
        args.repeats_at[scale] = int(text)
    for scale, text in per_scale_values(parser, contenders_at, args.scales, "--contenders-at"):
        args.contenders_at[scale] = [c.strip() for c in text.split(",") if c.strip()]
        check_contenders(parser, args.contenders_at[scale])
    args.workdir = args.workdir.resolve()
    return args


def check_contenders(parser: argparse.ArgumentParser, contenders: list[str]) -> None:
    unknown = sorted(set(contenders) - set(CONTENDERS))
    if unknown:
        parser.error(f"unknown contender(s) {unknown}; choose from {', '.join(CONTENDERS)}")
    if "incremental_refresh" in contenders and "full_refresh" not in contenders:
        parser.error("incremental_refresh needs full_refresh (it starts from that warehouse)")


def per_scale_values(
    parser: argparse.ArgumentParser, items: list[str], scales: list[int], option: str
) -> list[tuple[int, str]]:
    """(scale, value) of each SCALE=VALUE of a per-scale option; the scale must be benched."""
    pairs = []
    for item in items:
        scale_text, sep, value = item.partition("=")
        try:
            (scale,) = parse_scales(scale_text) if sep else ()
        except ValueError:
            parser.error(f"{option} expects SCALE=VALUE, got {item!r}")
        if scale not in scales:
            parser.error(f"{option} {item!r}: {scale} is not one of the scales {scales}")
        pairs.append((scale, value.strip()))
    return pairs


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if os.environ.get("DBT_TARGET", "duckdb") != "duckdb":
        print("the bench measures the DuckDB refresh: unset DBT_TARGET", file=sys.stderr)
        return 2
    bench = Bench(args, argv)
    try:
        return bench.run()
    except KeyboardInterrupt:
        print(
            f"[bench] interrupted; partial results in {bench.runs_dir}/results.json",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
