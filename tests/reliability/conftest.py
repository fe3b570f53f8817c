"""Helpers for the reliability tests: stores, fingerprints, and runs of pytest or Python in new processes."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path  # noqa: TC003 - pytest evaluates fixture annotations at collection
from typing import TYPE_CHECKING, Any

# Loaded here, outside the runs under test: pytester unloads the modules a run imported.
import hypothesis  # noqa: F401
import pytest

if TYPE_CHECKING:
    from pytest_tempstore import SqliteTempBackend


def fingerprint(store: SqliteTempBackend) -> tuple[Any, ...]:
    """Every row of every table and every repository key with its content: equal exactly when the data is."""
    from pytest_tempstore.storage.models import Base

    with store.transaction() as session:
        connection = session.connection()
        rows = tuple(
            tuple(sorted(map(tuple, connection.exec_driver_sql(f"SELECT * FROM {table}").all()), key=repr))
            for table in Base.metadata.tables
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


def plugin_leftovers(basetemp: Path) -> list[str]:
    """What the plugin left under ``basetemp``, kept stores aside: the ``tempstore-*`` entries."""
    return sorted(
        str(path.relative_to(basetemp))
        for path in basetemp.rglob("tempstore-*")
        if "tempstore-kept" not in path.relative_to(basetemp).parts
    )
