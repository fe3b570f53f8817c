"""Resetting an AiiDA-mode profile between tests, and counting what that costs."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiida.manage import get_manager

from .backend import TempStoreSqliteBackend
from .store import find_store

if TYPE_CHECKING:
    from aiida.manage.configuration import Profile

__all__ = ["ResetStatistics", "reset_profile"]


@dataclass
class ResetStatistics:
    """How many resets ran, and how long they took in total."""

    count: int = 0
    seconds: float = 0.0

    def add(self, seconds: float) -> None:
        self.count += 1
        self.seconds += seconds

    def merge(self, other: dict[str, Any]) -> None:
        """Add the figures of another process (an xdist worker), as sent by :meth:`as_dict`."""
        self.count += int(other.get("count", 0))
        self.seconds += float(other.get("seconds", 0.0))

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "seconds": self.seconds}

    @property
    def mean_ms(self) -> float:
        return 1000 * self.seconds / self.count if self.count else 0.0


def reset_profile(profile: Profile, statistics: ResetStatistics) -> None:
    """Return the profile to the state it had right after it was set up, default user included.

    Everything that can carry a previous test's state goes: the database, the repository
    and the global variables are restored from the clean image; the manager drops its
    broker, runner, persister and daemon client; and the storage backend instance is
    closed, which takes with it its SQLAlchemy session, the cached default user and the
    autogroup. ORM objects of an earlier test stay bound to that closed instance, so any
    use that would touch the database raises ``ClosedStorage`` instead of reading or
    overwriting the next test's rows (primary keys start again from the same numbers).
    """
    start = time.perf_counter()
    store = find_store(profile.uuid)
    if store is None or store.clean is None:
        raise RuntimeError(f"profile {profile.name!r} has no clean state to reset to in this process")
    manager = get_manager()
    loaded = manager.get_profile()
    is_loaded = loaded is not None and loaded.uuid == profile.uuid
    storage_was_loaded = is_loaded and manager.profile_storage_loaded
    if is_loaded:
        manager.reset_profile()
    store.restore(store.clean)
    if storage_was_loaded:
        # Hand the manager a new backend instance at once. Left to the manager, the next use
        # would load it through ``get_profile_storage``, which re-applies aiida's whole logging
        # configuration (about 20 ms, more than everything else here) and re-registers this
        # process's access to the profile: both already done, with the same result, for this profile.
        manager._profile_storage = TempStoreSqliteBackend(profile)
    statistics.add(time.perf_counter() - start)
