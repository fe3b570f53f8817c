"""Keeping stores after their tests: the policy, where kept stores go, and writing them.

A kept store is written as an unzipped AiiDA archive folder (``metadata.json``,
``db.sqlite3``, ``repo/<sha256>``) in ``<basetemp>/tempstore-kept/<test id>/``,
so ``import_archive`` loads it back and the ``sqlite3`` shell opens its database.
"""

from __future__ import annotations

import enum
import itertools
import re
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import pytest

if TYPE_CHECKING:
    from .storage.backend import SqliteTempBackend

__all__ = [
    "KEEP_ERROR_PROPERTY",
    "KEPT_FOLDER",
    "USER_PROPERTY",
    "KeepPolicy",
    "KeepSetting",
    "folder_name_for",
    "resolve_keep_setting",
    "should_keep",
    "write_kept_store",
]

#: The folder under pytest's base temporary folder that holds the kept stores.
KEPT_FOLDER = "tempstore-kept"

#: The name under which a kept folder travels in a test report's ``user_properties``
#: (and so reaches the xdist controller and JUnit XML).
USER_PROPERTY = "tempstore_kept"

#: The report property naming a store that could not be kept, and why.
KEEP_ERROR_PROPERTY = "tempstore_keep_error"

_MAX_NAME_LENGTH = 120


class KeepPolicy(enum.StrEnum):
    """Which stores are written out after their tests."""

    NONE = "none"
    FAILED = "failed"
    ALL = "all"


class KeepSetting(NamedTuple):
    """The policy in force and where it came from: ``command line``, ``ini`` or ``default``."""

    policy: KeepPolicy
    source: str


def resolve_keep_setting(command_line: str | None, ini: str) -> KeepSetting:
    """The policy from the command line, else the ini key, else ``none``.

    The command line is checked by argparse; a bad ini value is a ``pytest.UsageError``.
    """
    if command_line is not None:
        return KeepSetting(KeepPolicy(command_line), "command line")
    value = ini.strip()
    if not value:
        return KeepSetting(KeepPolicy.NONE, "default")
    try:
        return KeepSetting(KeepPolicy(value), "ini")
    except ValueError:
        valid = ", ".join(policy.value for policy in KeepPolicy)
        raise pytest.UsageError(f"tempstore_keep = {value!r} is not valid; use one of: {valid}") from None


def should_keep(policy: KeepPolicy, failed: bool, marker_keep: bool | None = None) -> bool:
    """Whether a store is kept: the marker's ``keep`` decides when given, else the policy."""
    if marker_keep is not None:
        return marker_keep
    return policy is KeepPolicy.ALL or (policy is KeepPolicy.FAILED and failed)


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
