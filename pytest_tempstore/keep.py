"""Keeping stores after their tests: which to keep, where they go, writing them, and the summary.

A kept store is written as an unzipped AiiDA archive folder (``metadata.json``,
``db.sqlite3``, ``repo/<sha256>``) in ``<basetemp>/tempstore-kept/<test id>/``,
so ``import_archive`` loads it back and the ``sqlite3`` shell opens its database.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import TYPE_CHECKING

from .fixtures import KEEP_ERROR_PROPERTY, USER_PROPERTY

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pytest

    from .plugin import KeepPolicy
    from .storage.backend import SqliteTempBackend

__all__ = [
    "KEPT_FOLDER",
    "folder_name_for",
    "should_keep",
    "write_kept_store",
    "write_summary",
]

#: The folder under pytest's base temporary folder that holds the kept stores.
KEPT_FOLDER = "tempstore-kept"

_MAX_NAME_LENGTH = 120


def should_keep(policy: KeepPolicy, failed: bool, marker_keep: bool | None = None) -> bool:
    """Whether a store is kept: the marker's ``keep`` decides when given, else the policy."""
    if marker_keep is not None:
        return marker_keep
    return policy == "all" or (policy == "failed" and failed)


def folder_name_for(nodeid: str) -> str:
    """A safe folder name for a test id: ``tests/test_a.py::test_b[x/y]`` -> ``tests_test_a.py__test_b_x_y``.

    Every character outside ``[A-Za-z0-9._-]`` becomes ``_``; the name never starts
    with a dot and is cut to a length every file system accepts. Names may collide;
    :func:`write_kept_store` makes the folders unique.
    """
    name = re.sub(r"[^A-Za-z0-9._-]", "_", nodeid).strip("._") or "session"
    return name[:_MAX_NAME_LENGTH]


def write_kept_store(store: SqliteTempBackend, root: Path, label: str) -> Path:
    """Write ``store`` as an archive folder in ``root``, named after ``label``; return the folder.

    The name is made unique (``-2``, ``-3``, ...) if taken, also when processes write side by side.
    """
    from .archive import create_archive  # noqa: PLC0415 - loaded only when a store is kept

    root.mkdir(parents=True, exist_ok=True)
    name = folder_name_for(label)
    for counter in itertools.count(1):
        target = root / (name if counter == 1 else f"{name}-{counter}")
        if target.exists():
            continue
        try:
            return Path(create_archive(store, target, archive_format="folder"))
        except FileExistsError:
            continue  # another process took the name meanwhile
    raise AssertionError("unreachable")  # pragma: no cover


def write_summary(terminalreporter: pytest.TerminalReporter, entries: Sequence[Sequence[str]]) -> None:
    """The terminal summary's section: every kept folder, then every store that could not be kept."""
    folders = [str(value) for name, value in entries if name == USER_PROPERTY]
    problems = [str(value) for name, value in entries if name == KEEP_ERROR_PROPERTY]
    plural = "" if len(folders) == 1 else "s"
    terminalreporter.write_sep("=", f"tempstore: {len(folders)} kept store{plural}")
    for folder in folders:
        terminalreporter.write_line(folder)
    for problem in problems:
        terminalreporter.write_line(f"could not keep {problem}", red=True)
