"""Helpers for the plugin's end-to-end tests, which run pytest on generated test files with ``pytester``."""

from __future__ import annotations

import io
from pathlib import Path  # noqa: TC003 - pytest evaluates fixture annotations at collection
from typing import TYPE_CHECKING

# Loaded here, outside the runs under test: pytester unloads the modules a run imported, and
# importing SQLAlchemy (or hypothesis, for its plugin's summary) again for every run would be slow.
import hypothesis  # noqa: F401

from pytest_tempstore.archive import create_archive
from pytest_tempstore.storage.backend import SqliteTempBackend  # noqa: TC001 - loaded early on purpose

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence


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
