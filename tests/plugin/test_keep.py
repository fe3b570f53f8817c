"""``--tempstore-keep`` / ``tempstore_keep``: which stores are kept, where, and how they read back."""

from __future__ import annotations

import json
import sqlite3

import pytest

from pytest_tempstore.archive import import_archive
from pytest_tempstore.keep import folder_name_for
from pytest_tempstore.storage import driver

from .conftest import kept_folders, store_folders

# Each test records one node labelled after itself, so a kept store shows whose it is.
OUTCOMES = """
import pytest

def record(store, label):
    row = {"label": label, "user_id": store.default_user_id}
    store.bulk_insert("node", [row], allow_defaults=True)

@pytest.fixture
def broken_setup(tempstore):
    record(tempstore, "setup")
    raise RuntimeError("setup broke")

@pytest.fixture
def broken_teardown(tempstore):
    yield
    raise RuntimeError("teardown broke")

def test_passes(tempstore):
    record(tempstore, "passes")

def test_fails(tempstore):
    record(tempstore, "fails")
    assert False

def test_setup_errors(broken_setup):
    pass

def test_teardown_errors(tempstore, broken_teardown):
    record(tempstore, "teardown")

@pytest.mark.xfail(reason="expected")
def test_xfails(tempstore):
    record(tempstore, "xfails")
    assert False

@pytest.mark.tempstore(keep=False)
def test_fails_never_kept(tempstore):
    record(tempstore, "never")
    assert False

@pytest.mark.tempstore(keep=True)
def test_passes_always_kept(tempstore):
    record(tempstore, "always")
"""

FAILED_FOLDERS = [
    "test_keep_outcomes.py__test_fails",
    "test_keep_outcomes.py__test_passes_always_kept",
    "test_keep_outcomes.py__test_setup_errors",
    "test_keep_outcomes.py__test_teardown_errors",
]


def node_labels(database) -> list[str]:
    with sqlite3.connect(database) as connection:
        return [row[0] for row in connection.execute("SELECT label FROM db_dbnode ORDER BY label")]


@pytest.mark.parametrize(
    ("args", "ini", "header"),
    [
        ((), None, "keep=none (from default)"),
        (("--tempstore-keep",), None, "keep=failed (from command line)"),
        (("--tempstore-keep=all",), None, "keep=all (from command line)"),
        ((), "all", "keep=all (from ini)"),
        ((), "none", "keep=none (from ini)"),
        (("--tempstore-keep=none",), "all", "keep=none (from command line)"),
        (("--tempstore-keep",), "all", "keep=failed (from command line)"),
    ],
)
def test_policy_comes_from_command_line_then_ini(pytester, runpytest, args, ini, header):
    if ini is not None:
        pytester.makeini(f"[pytest]\ntempstore_keep = {ini}\n")
    pytester.makepyfile("def test_nothing(): pass")
    result = runpytest(*args)
    result.stdout.fnmatch_lines([f"tempstore: {driver.describe()}, {header}"])
    assert result.stdout.str().count("tempstore: SQLite") == 1


def test_bad_ini_value_is_a_usage_error(pytester, runpytest):
    pytester.makeini("[pytest]\ntempstore_keep = sometimes\n")
    pytester.makepyfile("def test_nothing(): pass")
    result = runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: tempstore_keep = 'sometimes' is not valid; use one of: none, failed, all"]
    )


def test_bad_option_value_is_a_usage_error(pytester, runpytest):
    pytester.makepyfile("def test_nothing(): pass")
    result = runpytest("--tempstore-keep=bogus")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*argument --tempstore-keep: invalid choice: 'bogus' (choose from*none*failed*all*)"]
    )


def test_keep_failed_keeps_failures_of_every_phase_and_loads_back(
    pytester, runpytest, basetemp, tempstore_factory
):
    pytester.makepyfile(test_keep_outcomes=OUTCOMES)
    result = runpytest("--tempstore-keep")
    result.assert_outcomes(passed=3, failed=2, errors=2, xfailed=1)
    kept = basetemp / "tempstore-kept"
    assert kept_folders(basetemp) == FAILED_FOLDERS
    result.stdout.fnmatch_lines(
        [
            "*= tempstore: 4 kept stores =*",
            *(str(kept / f"test_keep_outcomes.py__{name}") for name in ("test_fails", "test_setup_errors")),
            *(
                str(kept / f"test_keep_outcomes.py__{name}")
                for name in ("test_teardown_errors", "test_passes_always_kept")
            ),
        ],
        consecutive=True,
    )
    # Each kept store is the test's store as the test left it, an archive folder ...
    folder = kept / "test_keep_outcomes.py__test_fails"
    assert sorted(path.name for path in folder.iterdir()) == ["db.sqlite3", "metadata.json", "repo"]
    assert json.loads((folder / "metadata.json").read_text())["export_version"] == "main_0001"
    # ... whose database the sqlite3 shell (here: module) reads ...
    assert node_labels(folder / "db.sqlite3") == ["fails"]
    assert node_labels(kept / "test_keep_outcomes.py__test_setup_errors" / "db.sqlite3") == ["setup"]
    assert node_labels(kept / "test_keep_outcomes.py__test_teardown_errors" / "db.sqlite3") == ["teardown"]
    # ... and that import_archive loads back.
    store = tempstore_factory()
    report = import_archive(folder, store, create_group=False)
    assert report.new.nodes == 1
    assert store.get_info()["entities"]["Nodes"]["count"] == 1
    assert store_folders(basetemp) == []


def test_keep_all_and_none(pytester, runpytest, basetemp):
    pytester.makepyfile(test_keep_outcomes=OUTCOMES)
    runpytest("--tempstore-keep=all")
    assert len(kept_folders(basetemp)) == 6  # every test with a store, but the one marked keep=False

    pytester.makepyfile(test_keep_outcomes=OUTCOMES)
    result = runpytest()
    assert kept_folders(basetemp) == ["test_keep_outcomes.py__test_passes_always_kept"]
    result.stdout.fnmatch_lines(["*= tempstore: 1 kept store =*"])


def test_no_summary_when_nothing_is_kept(pytester, runpytest):
    pytester.makepyfile("def test_passes(tempstore): pass")
    result = runpytest("--tempstore-keep")
    result.stdout.no_fnmatch_line("*kept store*")


def test_module_and_session_stores_are_kept_when_a_test_using_them_failed(pytester, runpytest, basetemp):
    pytester.makepyfile(
        test_failing="""
        def record(store, label):
            row = {"label": label, "user_id": store.default_user_id}
            store.bulk_insert("node", [row], allow_defaults=True)

        def test_writes(tempstore_module, tempstore_session):
            record(tempstore_module, "module")
            record(tempstore_session, "session")

        def test_fails(tempstore_module):
            assert False

        def test_last_without_store():
            pass
        """,
        test_passing="""
        def test_passes(tempstore_module):
            pass
        """,
    )
    runpytest("--tempstore-keep").assert_outcomes(passed=3, failed=1)
    # The session store was used only by a passing test, the second module's store too.
    assert kept_folders(basetemp) == ["test_failing.py__tempstore_module"]
    kept = basetemp / "tempstore-kept"
    assert node_labels(kept / "test_failing.py__tempstore_module" / "db.sqlite3") == ["module"]

    runpytest("--tempstore-keep=all")
    assert kept_folders(basetemp) == [
        "tempstore_session",
        "test_failing.py__tempstore_module",
        "test_passing.py__tempstore_module",
    ]
    assert node_labels(kept / "tempstore_session" / "db.sqlite3") == ["session"]
    # The module store was emptied between the modules.
    assert node_labels(kept / "test_passing.py__tempstore_module" / "db.sqlite3") == []
    assert store_folders(basetemp) == []


def test_folder_names_are_safe_and_unique(pytester, runpytest, basetemp):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("value", ["a/b", "a_b", "../up", "ünï"])
        def test_param(tempstore, value):
            pass
        """
    )
    runpytest("--tempstore-keep=all")
    prefix = "test_folder_names_are_safe_and_unique.py__test_param_"
    assert kept_folders(basetemp) == [f"{prefix}{name}" for name in (".._up", "_xfcn_xef", "a_b", "a_b-2")]


@pytest.mark.parametrize(
    ("nodeid", "name"),
    [
        ("tests/test_a.py::test_b[x/y]", "tests_test_a.py__test_b_x_y"),
        ("test_a.py::TestC::test_d[1-2]", "test_a.py__TestC__test_d_1-2"),
        ("../outside.py::test", "outside.py__test"),
        ("", "session"),
        ("x" * 300, "x" * 120),
    ],
)
def test_folder_name_for(nodeid, name):
    assert folder_name_for(nodeid) == name


def test_a_store_that_cannot_be_kept_is_reported(pytester, runpytest):
    pytester.makepyfile(
        """
        def test_closes_its_store(tempstore):
            tempstore.close()
            assert False
        """
    )
    result = runpytest("--tempstore-keep")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*= tempstore: 0 kept stores =*",
            "could not keep test_a_store_that_cannot_be_kept_is_reported.py::test_closes_its_store: "
            "the store was closed by the test",
        ]
    )


def test_kept_folders_are_junit_properties(pytester, runpytest):
    pytester.makepyfile("def test_fails(tempstore):\n    assert False\n")
    runpytest("--tempstore-keep", "--junitxml=report.xml")
    xml = (pytester.path / "report.xml").read_text()
    assert '<property name="tempstore_kept" value="' in xml
    assert "test_kept_folders_are_junit_properties.py__test_fails" in xml
