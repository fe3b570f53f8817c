"""``current_store()``: the store of the running test.

The fixtures push a store when a test starts using it and pop it at teardown;
the innermost one in use is the current one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .storage.backend import SqliteTempBackend

__all__ = ["activate", "current_store", "deactivate"]

_active: list[SqliteTempBackend] = []


def current_store() -> SqliteTempBackend:
    """The running test's innermost store; ``LookupError`` when no store is in use."""
    if not _active:
        raise LookupError(
            "no tempstore is in use: request the `tempstore` fixture or mark the test with tempstore"
        )
    return _active[-1]


def activate(store: SqliteTempBackend) -> None:
    """Make ``store`` the current store until ``deactivate(store)``."""
    _active.append(store)


def deactivate(store: SqliteTempBackend) -> None:
    """Undo the matching ``activate(store)``."""
    for index in range(len(_active) - 1, -1, -1):
        if _active[index] is store:
            del _active[index]
            return
