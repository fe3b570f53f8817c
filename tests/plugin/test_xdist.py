"""Under pytest-xdist (``-n 2``): the same outcomes, per-worker folders, and kept stores in the summary."""

from __future__ import annotations

import pytest

from .conftest import kept_folders, store_folders

SUITE = {
    "test_isolation": """
        import pytest

        def record(store, label):
            row = {"label": label, "user_id": store.default_user_id}
            store.bulk_insert("node", [row], allow_defaults=True)

        @pytest.mark.parametrize("run", range(6))
        def test_writes_and_sees_nothing_else(tempstore, run):
            assert tempstore.get_info()["entities"]["Nodes"]["count"] == 0
            record(tempstore, str(run))

        def test_fails_and_is_kept(tempstore):
            record(tempstore, "kept")
            assert False
    """,
    "test_seeded": """
        import os
        import pytest
        from pytest_tempstore import current_store

        def seed(store):
            # One line per build: the seed must run once per process.
            with open(os.environ["SEED_LOG"], "a") as log:
                log.write(f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}\\n")
            store.set_global_variable("seeded", True)

        pytestmark = pytest.mark.tempstore(seed=seed)

        @pytest.mark.parametrize("run", range(6))
        def test_seeded_without_fixture(run):
            store = current_store()
            assert store.get_global_variable("seeded") is True
            with pytest.raises(KeyError):
                store.get_global_variable("changed")
            store.set_global_variable("changed", run)
    """,
    "test_shared": """
        import pytest

        @pytest.mark.parametrize("run", range(3))
        def test_module(tempstore_module, run):
            tempstore_module.set_global_variable(f"run{run}", run)

        def test_session(tempstore_session):
            assert not tempstore_session.is_closed

        def test_module_fails(tempstore_module):
            assert False
    """,
}


@pytest.fixture
def suite(pytester, tmp_path, monkeypatch):
    """The suite above; its seed writes a line per build to the returned log file."""
    pytester.makepyfile(**SUITE)
    log = tmp_path / "seed.log"
    monkeypatch.setenv("SEED_LOG", str(log))
    return log


def test_same_outcomes_with_two_workers(suite, runpytest, runpytest_subprocess, basetemp, monkeypatch):
    expected = {"passed": 16, "failed": 2}
    runpytest("--tempstore-keep").assert_outcomes(**expected)
    assert suite.read_text() == "main\n"

    suite.unlink()
    private_tmp = suite.parent / "system-tmp"
    private_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    result = runpytest_subprocess("-n", "2", "--tempstore-keep")
    result.assert_outcomes(**expected)
    # Each worker built the seeded state once (the seeded module may run on one worker or both).
    builds = suite.read_text().split()
    assert sorted(set(builds)) == sorted(builds)
    assert set(builds) <= {"gw0", "gw1"}

    # Kept stores land in the run's tempstore-kept folder and are listed by the controller.
    kept = kept_folders(basetemp)
    assert "test_isolation.py__test_fails_and_is_kept" in kept
    assert [name for name in kept if "tempstore_module" in name] in (
        ["test_shared.py__tempstore_module-gw0"],
        ["test_shared.py__tempstore_module-gw1"],
    )
    result.stdout.fnmatch_lines(
        [
            "*= tempstore: 2 kept stores =*",
            f"{basetemp}/tempstore-kept/*",
            f"{basetemp}/tempstore-kept/*",
        ]
    )
    # Each worker had its own folders, and nothing is left of them but what was kept.
    assert store_folders(basetemp) == []
    assert sorted(path.name for path in basetemp.iterdir() if path.name.startswith("popen-")) == [
        "popen-gw0",
        "popen-gw1",
    ]
    assert list(private_tmp.iterdir()) == []


def test_a_store_kept_after_a_workers_last_report_is_listed(pytester, runpytest_subprocess, basetemp):
    pytester.makepyfile("def test_uses_the_session_store(tempstore_session):\n    pass\n")
    result = runpytest_subprocess("-n", "2", "--tempstore-keep=all")
    result.assert_outcomes(passed=1)
    # Kept as the worker's session ends, after its last report: it travels in the worker's output.
    worker = kept_folders(basetemp)
    assert len(worker) == 1
    assert worker[0] in ("tempstore_session-gw0", "tempstore_session-gw1")
    result.stdout.fnmatch_lines(["*= tempstore: 1 kept store =*", f"{basetemp}/tempstore-kept/{worker[0]}"])
