"""aiida-core fixture suites give the same outcome per test with and without --tempstore-aiida."""

from __future__ import annotations

import os
import re

import psutil

DAEMON_TEST = "test_modern::test_needs_the_daemon"
OPEN_STATEMENT_TESTS = {
    "test_open_statement::test_leaves_an_open_iterator_behind",
    "test_open_statement::test_next_test_gets_a_clean_working_profile",
    "test_open_statement::test_and_the_one_after",
}
#: aiida_profile_clean in 9 modern tests and 3 open-statement ones, aiida_profile_clean_class once. The
#: daemon test is skipped while its session-scoped daemon fixture is set up, before its profile is reset.
MODERN_RESETS = 13


def test_modern_suite_gives_the_same_outcomes(suite_runs):
    baseline, with_mode = suite_runs.result("modern-off"), suite_runs.result("modern-on")
    assert set(baseline.outcomes) <= set(with_mode.outcomes)
    differences = {
        test: (outcome, with_mode.outcomes[test])
        for test, outcome in baseline.outcomes.items()
        if outcome != with_mode.outcomes[test]
    }
    # The only difference: the daemon test errors without a broker on aiida's storage, and is
    # skipped before anything starts with the mode.
    assert differences == {DAEMON_TEST: ("error", "skipped")}, baseline.output
    assert "--tempstore-aiida" in with_mode.skip_reasons[DAEMON_TEST]
    # The suite is meaningful: everything else passes on aiida's own storage.
    assert {outcome for test, outcome in baseline.outcomes.items() if test != DAEMON_TEST} == {"passed"}


def test_deprecated_suite_gives_the_same_outcomes(suite_runs):
    baseline, with_mode = suite_runs.result("deprecated-off"), suite_runs.result("deprecated-on")
    assert baseline.outcomes == with_mode.outcomes, with_mode.output
    assert set(baseline.outcomes.values()) == {"passed"}, baseline.output
    # On from the ini file; off when the command line says so.
    assert "profiles in memory: 1 x core.sqlite_dos" in with_mode.output
    assert "tempstore-aiida" not in baseline.output


def test_an_iterator_left_open_across_resets_neither_crashes_nor_leaks(suite_runs):
    with_mode = suite_runs.result("modern-on")
    assert with_mode.returncode == 0, with_mode.output
    assert {test: with_mode.outcomes[test] for test in OPEN_STATEMENT_TESTS} == dict.fromkeys(
        OPEN_STATEMENT_TESTS, "passed"
    )


def test_other_processes_are_skipped_when_marked_and_told_why_otherwise(suite_runs):
    with_mode = suite_runs.result("modern-on")
    marked = "test_other_processes::test_marked_subprocess_test_is_skipped"
    assert with_mode.outcomes[marked] == "skipped"
    assert "--tempstore-aiida" in with_mode.skip_reasons[marked]
    assert (
        with_mode.outcomes["test_other_processes::test_unmarked_verdi_subprocess_gets_a_clear_error"]
        == "passed"
    )


def test_header_and_summary_report_the_mode(suite_runs):
    baseline, with_mode = suite_runs.result("modern-off"), suite_runs.result("modern-on")
    assert re.search(r"^tempstore-aiida: on \(aiida-core 2\.\d+\.\d+\)", with_mode.output, re.MULTILINE)
    resets = re.search(r"^resets: (\d+), mean (\d+\.\d+) ms$", with_mode.output, re.MULTILINE)
    assert resets is not None, with_mode.output
    assert int(resets.group(1)) == MODERN_RESETS
    # aiida_profile and aiida_profile_tmp on SQLite; the PostgreSQL profile is left as it is.
    assert "profiles in memory: 2 x core.sqlite_dos" in with_mode.output
    assert "profiles left untouched: 1 x core.psql_dos" in with_mode.output
    assert "tempstore-aiida" not in baseline.output


def test_xdist_workers_give_the_same_outcomes_and_one_summary(suite_runs):
    single, distributed = suite_runs.result("modern-on"), suite_runs.result("modern-on-xdist")
    assert distributed.returncode == 0, distributed.output
    assert distributed.outcomes == {test: single.outcomes[test] for test in distributed.outcomes}
    # One summary on the controller, adding up the workers' figures.
    assert distributed.output.count("resets: ") == 1
    assert f"resets: {MODERN_RESETS}, mean" in distributed.output


def test_no_process_of_the_runs_is_left(suite_runs):
    for name in ("modern-on", "modern-on-xdist", "deprecated-on"):
        suite_runs.result(name)
    root = str(suite_runs.root)
    leftovers = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            aiida_path = process.environ().get("AIIDA_PATH", "")
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        if aiida_path.startswith(root):
            leftovers.append(process.info["cmdline"])
    assert leftovers == []


def test_the_mode_leaves_no_temporary_files(suite_runs):
    for name in ("modern-on", "modern-on-xdist", "deprecated-on"):
        suite_runs.result(name)
        assert sorted(os.listdir(suite_runs.root / name / "tmp")) == [], name
