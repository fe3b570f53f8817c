"""Helpers for the plugin's end-to-end tests, which run pytest on generated test files with ``pytester``."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path  # noqa: TC003 - pytest evaluates fixture annotations at collection

# Loaded here, outside the runs under test: pytester unloads the modules a run imported, and
# importing SQLAlchemy (or hypothesis, for its plugin's summary) again for every run would be slow.
import hypothesis  # noqa: F401
import pytest

from pytest_tempstore.archive import create_archive
from pytest_tempstore.storage.backend import SqliteTempBackend  # noqa: TC001 - loaded early on purpose

RunPytest = Callable[..., pytest.RunResult]


def store_folders(basetemp: Path) -> list[str]:
    """What the plugin left under ``basetemp``, kept stores aside: the ``tempstore-*`` entries."""
    return sorted(
        str(path.relative_to(basetemp))
        for path in basetemp.rglob("tempstore-*")
        if "tempstore-kept" not in path.relative_to(basetemp).parts
    )


def kept_folders(basetemp: Path) -> list[str]:
    """The names of the kept stores' folders under ``basetemp`` (and its xdist worker folders)."""
    return sorted(path.name for path in basetemp.glob("**/tempstore-kept/*"))


@pytest.fixture(autouse=True)
def _top_level_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs under test are top-level runs, even when this suite itself runs on an xdist worker."""
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def basetemp(pytester: pytest.Pytester) -> Path:
    """The base temporary folder of the runs under test."""
    return pytester.path / "basetemp"


@pytest.fixture
def runpytest(pytester: pytest.Pytester, basetemp: Path) -> RunPytest:
    """``pytester.runpytest`` (in process) with ``--basetemp`` set to the ``basetemp`` fixture."""

    def run(*args: str, **kwargs: object) -> pytest.RunResult:
        # Runs under test keep their files' order (pytest-randomly would shuffle them).
        return pytester.runpytest(f"--basetemp={basetemp}", "-p", "no:randomly", *args, **kwargs)

    return run


@pytest.fixture
def runpytest_subprocess(pytester: pytest.Pytester, basetemp: Path) -> RunPytest:
    """``pytester.runpytest_subprocess`` with ``--basetemp`` set to the ``basetemp`` fixture."""

    def run(*args: str) -> pytest.RunResult:
        # Without hypothesis's plugin, which costs each new process seconds to import and plays no part here.
        return pytester.runpytest_subprocess(
            f"--basetemp={basetemp}", "-p", "no:hypothesispytest", "-p", "no:randomly", *args, timeout=120
        )

    return run


def write_archive(
    store_factory: Callable[[], SqliteTempBackend],
    target: Path,
    labels: Sequence[str] = ("a", "b"),
    **options,
) -> Path:
    """Write an archive of Int nodes labelled ``labels``, each with one file, to ``target``."""
    store = store_factory()
    key = store.get_repository().put_object_from_filelike(io.BytesIO(b"seed content"))
    rows = [
        {
            "node_type": "data.core.int.Int.",
            "label": label,
            "user_id": store.default_user_id,
            "attributes": {"value": number},
            "repository_metadata": {"o": {"value.txt": {"k": key}}},
        }
        for number, label in enumerate(labels)
    ]
    store.bulk_insert("node", rows, allow_defaults=True)
    return create_archive(store, target, **options)
