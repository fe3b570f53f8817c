"""Helpers for the reliability tests: stores, fingerprints, and runs of pytest or Python in new processes."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path  # noqa: TC003 - pytest evaluates fixture annotations at collection
from typing import Any

# Loaded here, outside the runs under test: pytester unloads the modules a run imported.
import hypothesis  # noqa: F401
import pytest

from pytest_tempstore import SqliteTempBackend

RunPytest = Callable[..., pytest.RunResult]

_TABLES = (
    "db_dbuser",
    "db_dbcomputer",
    "db_dbauthinfo",
    "db_dbnode",
    "db_dblink",
    "db_dbgroup",
    "db_dbgroup_dbnodes",
    "db_dbcomment",
    "db_dblog",
    "db_dbsetting",
)


def fingerprint(store: SqliteTempBackend) -> tuple[Any, ...]:
    """Every row of every table and every repository key with its content: equal exactly when the data is."""
    with store.transaction() as session:
        connection = session.connection()
        rows = tuple(
            tuple(sorted(map(tuple, connection.exec_driver_sql(f"SELECT * FROM {table}").all()), key=repr))
            for table in _TABLES
        )
    repository = store.get_repository()
    objects = tuple(sorted((key, repository.get_object_content(key)) for key in repository.list_objects()))
    return rows, objects


def store_entries(root: Path) -> set[str]:
    """The ``tempstore-*`` entries directly in ``root``."""
    return {name for name in os.listdir(root) if name.startswith("tempstore-")} if root.exists() else set()


def run_python(
    code: str, *, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a new Python process with this environment plus ``env``."""
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private temporary folder for this process (``tempfile.tempdir``) and its children (``TMPDIR``)."""

    folder = tmp_path / "system-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv("TMPDIR", str(folder))
    return folder


@pytest.fixture
def new_store() -> Iterator[Callable[..., SqliteTempBackend]]:
    """Make stores on demand; all are closed after the test."""
    stores: list[SqliteTempBackend] = []

    def make(**profile: Any) -> SqliteTempBackend:
        store = SqliteTempBackend(SqliteTempBackend.create_profile(**profile))
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()


@pytest.fixture
def store(new_store: Callable[..., SqliteTempBackend]) -> SqliteTempBackend:
    """An empty store."""
    return new_store()


@pytest.fixture
def _top_level_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs under test are top-level runs, even when this suite itself runs on an xdist worker."""
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def basetemp(pytester: pytest.Pytester) -> Path:
    """The base temporary folder of the runs under test."""
    return pytester.path / "basetemp"


@pytest.fixture
def runpytest_subprocess(pytester: pytest.Pytester, basetemp: Path, _top_level_run: None) -> RunPytest:
    """``pytester.runpytest_subprocess`` with ``--basetemp``, without hypothesis's plugin (slow to import)."""

    def run(*args: str, timeout: float = 120) -> pytest.RunResult:
        return pytester.runpytest_subprocess(
            f"--basetemp={basetemp}", "-p", "no:hypothesispytest", *args, timeout=timeout
        )

    return run


def plugin_leftovers(basetemp: Path) -> list[str]:
    """What the plugin left under ``basetemp``, kept stores aside: the ``tempstore-*`` entries."""
    return sorted(
        str(path.relative_to(basetemp))
        for path in basetemp.rglob("tempstore-*")
        if "tempstore-kept" not in path.relative_to(basetemp).parts
    )
