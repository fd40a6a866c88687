"""pytest: the great-expectations suites of scripts/validate.py (landing extracts and marts)."""

from __future__ import annotations

import gc
import json
import shutil
import weakref
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from scripts.contract import load_contract
from scripts.load_landing import FileRefused, load_landing
from scripts.validate import (
    RESULT_FORMAT,
    LandingValidation,
    Validator,
    mart_tests_from_yaml,
    validate_landing,
    validate_marts,
)
from tests.python.test_refresh import CRAFTED_LANDING, published_refresh


@pytest.fixture(scope="module")
def validator(tmp_path_factory) -> Validator:
    return Validator(tmp_path_factory.mktemp("validation"), "test-run")


def test_crafted_landing_passes(validator):
    report = validate_landing(CRAFTED_LANDING, validator)
    assert report.success, report.summary()
    names = {s.name for s in report.suites}
    assert {"landing.contacts", "landing.nps_responses", "landing.orders"} <= names


def test_validation_leaves_pandas_string_dtype_to_the_rest_of_the_process(validator):
    # great-expectations needs object strings; the switch must not outlive the validation
    # (it once made the pandas benchmark peer, run in the same pytest process, see no rows).
    before = pd.get_option("future.infer_string")
    validate_landing(CRAFTED_LANDING, validator)
    assert pd.get_option("future.infer_string") is before is True
    assert pd.Series(["a"]).dtype == "str"


def defective_landing(tmp_path: Path) -> Path:
    """The crafted landing plus a drop of 5 NPS answers out of range (5 of 7 rows) and one of
    5 contacts without id and with an unknown account type (5 of 17 rows)."""
    landing = tmp_path / "landing"
    shutil.copytree(CRAFTED_LANDING, landing)
    (landing / "nps_responses" / "2026-07-02.csv").write_text(
        "response_id,contact_id,responded_at,score,response_source\n"
        + "".join(f"NX{i},K08,2026-06-1{i} 12:00:00,{20 + i},survey\n" for i in range(5))
    )
    (landing / "contacts" / "2026-07-02.csv").write_text(
        "contact_id,account_type,created_at,updated_at\n"
        + "".join(",reseller,2026-06-01 09:00:00,2026-06-01 09:00:00\n" for _ in range(5))
    )
    return landing


def expectation_results(raw: dict) -> dict[tuple[str, str], dict]:
    """{(expectation type, column): {success, result}} of one suite's stored results."""
    [suite] = raw["validation_results"]
    return {
        (e["expectation_type"], e["kwargs"].get("column", "")): {
            "success": e["success"],
            "result": e["result"],
        }
        for e in suite["expectations"]
    }


def test_landing_defects_beyond_tolerance_fail(validator, tmp_path):
    report = validate_landing(defective_landing(tmp_path), validator)
    failed = {s.name: " ".join(s.failed) for s in report.suites if not s.success}
    assert set(failed) == {"landing.nps_responses", "landing.contacts"}
    assert "score__number" in failed["landing.nps_responses"]
    assert "contact_id" in failed["landing.contacts"]
    assert "account_type__normalised" in failed["landing.contacts"]
    raw = dict(zip((s.name for s in report.suites), report.raw_results, strict=True))
    nps = expectation_results(raw["landing.nps_responses"])
    score = nps[("expect_column_values_to_be_between", "score__number")]["result"]
    assert (score["element_count"], score["unexpected_count"]) == (7, 5)
    assert score["partial_unexpected_list"] == [20.0, 21.0, 22.0, 23.0, 24.0]
    assert score["partial_unexpected_index_list"] == [2, 3, 4, 5, 6]  # rows after the 2 good
    contacts = expectation_results(raw["landing.contacts"])
    key = contacts[("expect_column_values_to_not_be_null", "contact_id")]["result"]
    assert (key["element_count"], key["unexpected_count"]) == (17, 5)
    rows = contacts[("expect_table_row_count_to_be_between", "")]["result"]
    assert rows["observed_value"] == 17


def test_the_loader_validates_only_the_files_it_loads(validator, tmp_path, monkeypatch):
    """A refresh validates while it loads: the loader shows each file it stages to the
    landing suites, so the crafted landing loaded earlier is skipped by its manifest and not
    validated again. The new NPS drop is judged on its own 5 rows (all out of range) and the
    new contacts drop on its 5 rows (none with an id); no other entity has a suite."""
    monkeypatch.setenv("CRM_DUCKDB_PATH", str(tmp_path / "crm.duckdb"))
    quarantine = tmp_path / "quarantine"
    first = load_landing(CRAFTED_LANDING, "duckdb", quarantine_dir=quarantine)
    landing = defective_landing(tmp_path)
    validation = LandingValidation(validator)
    second = load_landing(landing, "duckdb", quarantine_dir=quarantine, validation=validation)
    report = validation.finish()
    assert sorted(o.source_file for o in second if o.status == "loaded") == [
        "contacts/2026-07-02.csv",
        "nps_responses/2026-07-02.csv",
    ]
    assert sum(o.status == "skipped" for o in second) == len(first)
    assert {s.name for s in report.suites} == {"landing.nps_responses", "landing.contacts"}
    assert not any(s.success for s in report.suites)
    raw = dict(zip((s.name for s in report.suites), report.raw_results, strict=True))
    nps = expectation_results(raw["landing.nps_responses"])
    score = nps[("expect_column_values_to_be_between", "score__number")]["result"]
    assert (score["element_count"], score["unexpected_count"]) == (5, 5)
    contacts = expectation_results(raw["landing.contacts"])
    key = contacts[("expect_column_values_to_not_be_null", "contact_id")]["result"]
    assert (key["element_count"], key["unexpected_count"]) == (5, 5)


def test_landing_verdicts_and_counts_do_not_depend_on_the_chunk_size(validator, tmp_path):
    """Chunks of 2 rows split every file; the defect rates are judged on the totals, so the
    results equal those of one chunk per file, value for value."""
    landing = defective_landing(tmp_path)
    whole = validate_landing(landing, validator)
    chunked = validate_landing(landing, validator, chunk_rows=2)
    assert [(s.name, s.success, s.evaluated) for s in chunked.suites] == [
        (s.name, s.success, s.evaluated) for s in whole.suites
    ]
    for one, other in zip(whole.raw_results, chunked.raw_results, strict=True):
        assert expectation_results(one) == expectation_results(other)
    parts = chunked.raw_results[[s.name for s in chunked.suites].index("landing.contacts")]
    assert parts["validation_results"][0]["success"] is False


def test_an_entity_whose_every_file_is_refused_fails_on_its_row_count(validator, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(CRAFTED_LANDING, landing)
    (landing / "referrals" / "2026-07-01.csv").write_text("referral_id\nR1\n")
    report = validate_landing(landing, validator)
    [referrals] = [s for s in report.suites if s.name == "landing.referrals"]
    assert not referrals.success
    assert referrals.failed == [
        "expect_table_row_count_to_be_between {'min_value': 1} (observed: 0)"
    ]
    assert any("referrals/2026-07-01.csv" in n for n in report.notes)


def test_a_finished_landing_validation_keeps_its_report_and_takes_no_more_files(validator):
    referrals = load_contract().entities["referrals"]
    validation = LandingValidation(validator)
    validation.file_refused(referrals, "referrals", FileRefused("referrals/x.csv: unreadable"))
    report = validation.finish()
    assert [s.name for s in report.suites] == ["landing.referrals"]
    assert validation.finish() is report
    assert [s.name for s in report.suites] == ["landing.referrals"]
    with pytest.raises(RuntimeError, match="already finished"):
        validation.file_refused(referrals, "referrals", FileRefused("referrals/y.csv"))


def crafted_frame() -> pd.DataFrame:
    """Ten rows worked out by hand (see test_chunked_run_equals_a_whole_frame_run)."""
    return pd.DataFrame(
        {
            "k": ["a", None, "c", "d", "e", None, "g", "h", "i", "j"],
            "label": ["x", "y", "bad", None, "x", "x", "oops", None, "y", "x"],
            "n": [1.0, 2.0, 3.0, 11.0, None, 5.0, 12.0, 13.0, 4.0, 0.0],
            "u": ["p", "q", "p", "r", "s", "t", "v", "w", "q", None],
        }
    )


def crafted_expectations(gx) -> list:
    expect = gx.expectations
    return [
        expect.ExpectTableRowCountToBeBetween(min_value=5, max_value=20),
        expect.ExpectColumnToExist(column="label"),
        expect.ExpectColumnValuesToNotBeNull(column="k", mostly=0.75),
        expect.ExpectColumnValuesToBeInSet(column="label", value_set=["x", "y"], mostly=0.75),
        expect.ExpectColumnValuesToBeBetween(column="n", min_value=0, max_value=10, mostly=0.9),
        expect.ExpectColumnValuesToBeUnique(column="u"),
    ]


def test_gx_keeps_no_frame_it_has_validated(validator):
    """gx's execution engine caches every validated batch with its frame: the last chunk of
    each suite stayed referenced for the whole refresh, through its dbt builds."""
    gx = validator.gx
    run = validator.suite_run(
        "forgotten", [gx.expectations.ExpectColumnValuesToBeUnique(column="u")]
    )
    frame = crafted_frame()[["u"]]
    held = weakref.ref(frame)
    run.validate_column("u", frame)
    del frame
    gc.collect()
    assert held() is None
    outcome, _ = run.finish()
    assert not outcome.success  # p and q repeat: the result outlives the frame


@pytest.mark.parametrize("chunk_rows", [1, 3, 4, 10, 1000])
def test_chunked_run_equals_a_whole_frame_run(validator, chunk_rows):
    """By hand: k has 2 nulls in 10 rows (80% >= 75%: ok); label has 2 missing and 2 values
    outside {x, y} in the 8 others (75% >= 75%: ok, although the first chunk of 3 rows alone
    is 1/3 bad); n has 1 missing and 3 values above 10 in 9 (67% < 90%: fails, although two
    chunks of 3 have none); u repeats p and q (4 rows) and has one null. gx on the whole frame
    says the same, value for value."""
    gx = validator.gx
    frame = crafted_frame()
    outcome, raw = validator.run_suite(
        "crafted", frame, crafted_expectations(gx), chunk_rows=chunk_rows
    )
    chunked = expectation_results(raw)

    suite = gx.ExpectationSuite(name=f"crafted.reference.{chunk_rows}")
    for expectation in crafted_expectations(gx):
        suite.add_expectation(expectation)
    asset = validator.source.add_dataframe_asset(name=f"crafted.reference.{chunk_rows}")
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": frame}
    )
    reference = batch.validate(suite, result_format=RESULT_FORMAT).describe_dict()
    assert chunked == expectation_results({"validation_results": [reference]})

    assert not outcome.success and outcome.evaluated == 6
    assert [f.split(" ")[0] for f in outcome.failed] == [
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_unique",
    ]
    k = chunked[("expect_column_values_to_not_be_null", "k")]
    assert k["success"] and k["result"]["unexpected_count"] == 2
    assert k["result"]["partial_unexpected_index_list"] == [1, 5]
    label = chunked[("expect_column_values_to_be_in_set", "label")]
    assert label["success"]
    assert (label["result"]["missing_count"], label["result"]["unexpected_count"]) == (2, 2)
    assert label["result"]["unexpected_percent"] == 25.0
    assert label["result"]["partial_unexpected_list"] == ["bad", "oops"]
    n = chunked[("expect_column_values_to_be_between", "n")]
    assert not n["success"]
    assert (n["result"]["missing_count"], n["result"]["unexpected_count"]) == (1, 3)
    assert n["result"]["partial_unexpected_index_list"] == [3, 6, 7]
    u = chunked[("expect_column_values_to_be_unique", "u")]
    assert (u["result"]["missing_count"], u["result"]["unexpected_count"]) == (1, 4)
    rows = chunked[("expect_table_row_count_to_be_between", "")]
    assert rows == {"success": True, "result": {"observed_value": 10}}


@pytest.mark.parametrize(
    ("bad_rows", "success"),
    [
        ([3, 13, 23, 33, 43, 53], False),  # 6% spread over six chunks, four chunks clean
        ([70, 71, 72, 73], True),  # 4%, all in one chunk of which they are 40%
    ],
)
def test_mostly_is_judged_on_the_totals_not_per_chunk(validator, bad_rows, success):
    """100 labels in chunks of 10 at 95%: what counts is the share of bad rows in the whole
    suite, however they fall into chunks."""
    gx = validator.gx
    labels = ["ok"] * 100
    for i in bad_rows:
        labels[i] = "broken"
    frame = pd.DataFrame({"label": labels})
    expectation = gx.expectations.ExpectColumnValuesToBeInSet(
        column="label", value_set=["ok"], mostly=0.95
    )
    outcome, raw = validator.run_suite("spread", frame, [expectation], chunk_rows=10)
    assert outcome.success is success
    result = expectation_results(raw)[("expect_column_values_to_be_in_set", "label")]["result"]
    assert (result["element_count"], result["unexpected_count"]) == (100, len(bad_rows))
    assert result["partial_unexpected_index_list"] == bad_rows


def test_a_few_defects_are_tolerated(validator, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(CRAFTED_LANDING, landing)
    (landing / "nps_responses" / "2026-07-02.csv").write_text(
        "response_id,contact_id,responded_at,score,response_source\n"
        + "".join(f"NY{i},K08,2026-06-1{i % 10} 12:00:00,{i % 11},survey\n" for i in range(40))
        + "NYBAD,K08,2026-06-11 12:00:00,11,survey\n"
    )
    report = validate_landing(landing, validator, mostly=0.95)
    assert report.success, report.summary()


def test_file_the_loader_refuses_is_noted_not_validated(validator, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(CRAFTED_LANDING, landing)
    (landing / "orders" / "2026-07-02.csv").write_text("order_id\nO9\n")  # required cols missing
    report = validate_landing(landing, validator)
    assert report.success
    assert any("orders/2026-07-02.csv" in n and "missing required" in n for n in report.notes)


def test_mart_tests_are_read_from_the_yaml():
    declared = mart_tests_from_yaml()["customers"]
    assert ("unique", "contact_id", None) in declared
    accepted = {column: values for test, column, values in declared if test == "accepted_values"}
    assert {"strategy", "lifecycle_stage", "relationship_rung"} <= set(accepted)
    assert "protect" in accepted["strategy"]


@pytest.fixture
def marts_copy(tmp_path_factory, tmp_path) -> Path:
    source = published_refresh(tmp_path_factory) / "published" / "crm.duckdb"
    folder = tmp_path / "db"
    folder.mkdir()
    shutil.copy2(source, folder / "crm.duckdb")
    return folder / "crm.duckdb"


def test_built_marts_pass_and_write_docs_and_results(validator, marts_copy):
    report = validate_marts(marts_copy, validator)
    assert report.success, report.summary()
    customers = next(s for s in report.suites if s.name == "marts.customers")
    assert customers.evaluated >= 20
    path = validator.write_results([report])
    assert json.loads(path.read_text())["success"] is True
    assert (validator.docs_dir / "index.html").is_file()


def test_broken_marts_fail_with_the_broken_rules(validator, marts_copy):
    with duckdb.connect(str(marts_copy)) as con:
        con.execute("update main_marts.customers set strategy = 'bogus' where contact_id = 'K01'")
        con.execute("update main_marts.customers set profit = profit + 5 where contact_id = 'K02'")
        con.execute("delete from main_marts.customers where contact_id = 'K03'")
    report = validate_marts(marts_copy, validator)
    customers = next(s for s in report.suites if s.name == "marts.customers")
    assert not customers.success
    failed = " ".join(customers.failed)
    assert "'column': 'strategy'" in failed
    assert "profit_identity_residual" in failed
    assert "expect_table_row_count_to_equal" in failed


def test_uniqueness_is_judged_on_the_whole_mart_in_any_chunk_size(validator, marts_copy):
    """A duplicated contact: DuckDB finds the repeated value over the whole table and gx's
    result equals a whole-column gx run; chunks of 5 rows give the same results as one."""
    with duckdb.connect(str(marts_copy)) as con:
        con.execute(
            "insert into main_marts.customers "
            "select * from main_marts.customers where contact_id = 'K05'"
        )
        column = con.execute("select contact_id from main_marts.customers").df()
    whole = validate_marts(marts_copy, validator)
    chunked = validate_marts(marts_copy, validator, chunk_rows=5)
    assert [(s.name, s.success, s.failed) for s in chunked.suites] == [
        (s.name, s.success, s.failed) for s in whole.suites
    ]
    for one, other in zip(whole.raw_results, chunked.raw_results, strict=True):
        assert expectation_results(one) == expectation_results(other)
    names = [s.name for s in whole.suites]
    customers = expectation_results(whole.raw_results[names.index("marts.customers")])
    unique = customers[("expect_column_values_to_be_unique", "contact_id")]
    assert not unique["success"]
    assert unique["result"]["partial_unexpected_list"] == ["K05", "K05"]

    gx = validator.gx
    suite = gx.ExpectationSuite(name="unique.reference")
    suite.add_expectation(gx.expectations.ExpectColumnValuesToBeUnique(column="contact_id"))
    asset = validator.source.add_dataframe_asset(name="unique.reference")
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": column}
    )
    reference = batch.validate(suite, result_format=RESULT_FORMAT).describe_dict()
    assert (
        unique
        == expectation_results({"validation_results": [reference]})[
            ("expect_column_values_to_be_unique", "contact_id")
        ]
    )
    rows = customers[("expect_table_row_count_to_equal", "")]
    assert not rows["success"] and rows["result"]["observed_value"] == len(column)
