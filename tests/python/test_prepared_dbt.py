"""scripts.prepared_dbt: a dbt command parsed ahead runs only when told, on its own target."""

from __future__ import annotations

import csv

import duckdb
import pytest

from scripts.contract import PROJECT_DIR
from scripts.prepared_dbt import EXIT_NOT_RUN, PreparedDbt, out_of_memory_advice
from tests.python.conftest import base_env

SEED = PROJECT_DIR / "seeds" / "cost_rates.csv"


@pytest.mark.parametrize("write_manifest", [True, False])
def test_a_child_told_to_stop_has_parsed_and_touched_no_warehouse(tmp_path, write_manifest):
    env = base_env(tmp_path)
    with PreparedDbt(
        ["seed", "--select", "cost_rates"], "duckdb", env, write_manifest=write_manifest
    ) as prepared:
        process = prepared.process
    assert process.returncode == EXIT_NOT_RUN
    assert (tmp_path / "dbt_target" / "perf_info.json").exists()  # only a parse writes it
    # the value-model fit reads manifest.json while the second build's dbt parses
    assert (tmp_path / "dbt_target" / "manifest.json").exists() == write_manifest
    assert not (tmp_path / "crm.duckdb").exists()


def test_a_child_told_to_go_runs_its_command(tmp_path):
    env = base_env(tmp_path)
    with PreparedDbt(["seed", "--select", "cost_rates"], "duckdb", env) as prepared:
        prepared.run()
    with SEED.open(newline="", encoding="utf-8") as seed:
        expected = sorted((row["cost_item"], row["channel"]) for row in csv.DictReader(seed))
    with duckdb.connect(str(tmp_path / "crm.duckdb"), read_only=True) as con:
        seeded = con.execute("select cost_item, channel from main_reference.cost_rates").fetchall()
    assert sorted(seeded) == expected


def test_a_failing_command_stops_the_caller_with_its_name_and_exit(tmp_path, capfd):
    # the cost-rate test without its seed: the build's node fails (dbt's exit 1)
    env = base_env(tmp_path)
    test = "assert_cost_rates_one_rate_per_item_and_channel_and_no_other"
    prepared = PreparedDbt(["build", "--select", test], "duckdb", env)
    with pytest.raises(SystemExit, match=r"dbt build failed on duckdb \(exit 1\)"):
        prepared.run()
    assert "CRM_DUCKDB_MEMORY_LIMIT" not in capfd.readouterr().err  # not a memory failure


@pytest.mark.parametrize(
    "command, bound, exit_code",
    [
        # a seed's 30 MiB batch under a 1 MB bound: a failed node, as a large model fails
        (["seed", "--select", "cost_rates"], "1MB", 1),
        # a list of 50 million integers held whole (DuckDB cannot spill it): dbt itself
        # raises for `show`, and the error is its exception, not a node's message
        (["show", "--inline", "select len(list(i)) as n from range(50000000) as t(i)"], "64MB", 2),
    ],
    ids=["node", "dbt_exception"],
)
def test_running_out_of_duckdbs_memory_names_the_bound_to_raise(
    tmp_path, capfd, command, bound, exit_code
):
    env = {**base_env(tmp_path), "CRM_DUCKDB_MEMORY_LIMIT": bound}
    prepared = PreparedDbt(command, "duckdb", env)
    failed = rf"dbt {command[0]} failed on duckdb \(exit {exit_code}\)"
    with pytest.raises(SystemExit, match=failed):
        prepared.run()
    streams = capfd.readouterr()
    assert "Out of Memory Error" in streams.out + streams.err  # dbt's report of DuckDB's error
    assert f"CRM_DUCKDB_MEMORY_LIMIT, now {bound}" in streams.err


def test_the_parse_keeps_quiet_on_the_console_and_logs_to_the_file(tmp_path, capfd):
    # The parse runs during the step before: its lines would interleave with that step's, and
    # the command prints dbt's header anyway. The log file keeps both invocations.
    env = base_env(tmp_path)
    env.pop("DBT_LOG_LEVEL", None)
    env.pop("DBT_LOG_LEVEL_FILE", None)
    with PreparedDbt(["ls", "--resource-type", "seed"], "duckdb", env) as prepared:
        prepared.run()
    console = capfd.readouterr().out
    assert console.count("Running with dbt") == 1
    assert "crm_warehouse.cost_rates" in console
    log = (tmp_path / "dbt_logs" / "dbt.log").read_text(encoding="utf-8")
    assert log.count("Running with dbt") == 2
    assert "Performance info:" in log  # the parse's own event, which the bench times it by


def test_a_users_log_level_reaches_the_parse(tmp_path, capfd):
    env = {**base_env(tmp_path), "DBT_LOG_LEVEL": "info"}
    with PreparedDbt(["ls", "--resource-type", "seed"], "duckdb", env) as prepared:
        prepared.run()
    assert capfd.readouterr().out.count("Running with dbt") == 2


# the message dbt relays from DuckDB when a node exceeds the bound (3M run, session 29)
DUCKDB_PIN_FAILURE = (
    "Out of Memory Error: failed to pin block of size 256.0 KiB (1.8 GiB/1.8 GiB used)"
)


def test_out_of_memory_advice_names_the_variable_and_the_bound_it_ran_with(monkeypatch):
    monkeypatch.setenv("CRM_DUCKDB_MEMORY_LIMIT", "3GB")
    advice = out_of_memory_advice("duckdb", [None, "Runtime Error", DUCKDB_PIN_FAILURE])
    assert advice.startswith(
        "DuckDB ran out of its memory bound (CRM_DUCKDB_MEMORY_LIMIT, now 3GB)"
    )
    assert "Run again with a larger bound" in advice

    monkeypatch.delenv("CRM_DUCKDB_MEMORY_LIMIT")
    advice = out_of_memory_advice("duckdb", [DUCKDB_PIN_FAILURE])
    assert "(CRM_DUCKDB_MEMORY_LIMIT, unset, so the dbt profile's default)" in advice


def test_out_of_memory_advice_is_only_for_duckdb_running_out_of_memory():
    assert out_of_memory_advice("duckdb", [None, "Binder Error: column not found"]) is None
    assert out_of_memory_advice("postgres", [DUCKDB_PIN_FAILURE]) is None
