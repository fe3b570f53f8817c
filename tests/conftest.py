"""Fixtures shared by the project's test folders: throwaway stores, and pytest runs under test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path  # noqa: TC003 - pytest evaluates fixture annotations at collection
from typing import Any

import pytest

from pytest_tempstore.storage.backend import SqliteTempBackend

RunPytest = Callable[..., pytest.RunResult]


@pytest.fixture
def new_store() -> Iterator[Callable[..., SqliteTempBackend]]:
    """Make stores on demand (keyword arguments go to ``create_profile``); all are closed after the test."""
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
def runpytest(pytester: pytest.Pytester, basetemp: Path, _top_level_run: None) -> RunPytest:
    """``pytester.runpytest`` (in process) with ``--basetemp`` set to the ``basetemp`` fixture."""

    def run(*args: str, **kwargs: object) -> pytest.RunResult:
        # Runs under test keep their files' order unless they ask for `-p randomly` themselves.
        return pytester.runpytest(f"--basetemp={basetemp}", "-p", "no:randomly", *args, **kwargs)

    return run


@pytest.fixture
def runpytest_subprocess(pytester: pytest.Pytester, basetemp: Path, _top_level_run: None) -> RunPytest:
    """``pytester.runpytest_subprocess`` with ``--basetemp``; in file order unless given ``-p randomly``."""

    def run(*args: str, timeout: float = 120) -> pytest.RunResult:
        # Without hypothesis's plugin, which costs each new process seconds to import and plays no part here.
        return pytester.runpytest_subprocess(
            f"--basetemp={basetemp}", "-p", "no:hypothesispytest", "-p", "no:randomly", *args, timeout=timeout
        )

    return run
