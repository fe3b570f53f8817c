"""Wrappers around aiida-core's ``aiida_profile_factory`` fixtures that move SQLite profiles into memory.

Every fixture of aiida-core that yields a profile (``aiida_profile``,
``aiida_profile_clean``, ``aiida_profile_tmp``, ...) builds it through
``aiida_profile_factory``, and every clean-up goes through the reset method that
factory attaches to the profile. Wrapping the factory's value therefore changes
all of them at once: a profile asked for on SQLite is created on
``tempstore.sqlite_temp``, its state right after set-up is captured, and its
reset method restores that state. Profiles on any other storage (PostgreSQL)
pass through untouched.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from .backend import ENTRY_POINT_NAME
from .reset import ResetStatistics, reset_profile
from .store import find_store, release_store

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from aiida.manage.configuration import Profile

__all__ = [
    "DEPRECATED_FIXTURES_MODULE",
    "SQLITE_BACKENDS",
    "ModeState",
    "is_aiida_fixture_module",
    "wrap_deprecated_factory",
    "wrap_modern_factory",
]

MODERN_FIXTURES_PACKAGE: Final = "aiida.tools.pytest_fixtures"
DEPRECATED_FIXTURES_MODULE: Final = "aiida.manage.tests.pytest_fixtures"


def is_aiida_fixture_module(module: str) -> bool:
    """Whether ``module`` holds aiida-core's fixtures: the only ones that this mode wraps or skips."""
    return module == DEPRECATED_FIXTURES_MODULE or module.startswith(MODERN_FIXTURES_PACKAGE + ".")


#: The storages that this mode replaces; the modern factory's default is ``core.sqlite_dos``.
SQLITE_BACKENDS: Final = frozenset({"core.sqlite_dos", "core.sqlite_temp", ENTRY_POINT_NAME})
_DEFAULT_BACKEND: Final = "core.sqlite_dos"


@dataclass
class ModeState:
    """What the mode did in this process: resets, and the profiles it replaced or left alone."""

    aiida_version: str
    statistics: ResetStatistics = field(default_factory=ResetStatistics)
    #: Storage backend as asked for -> number of profiles moved into memory.
    in_memory: dict[str, int] = field(default_factory=dict)
    #: Storage backend -> number of profiles left as they were.
    untouched: dict[str, int] = field(default_factory=dict)

    def note(self, requested: str, *, replaced: bool) -> None:
        counts = self.in_memory if replaced else self.untouched
        counts[requested] = counts.get(requested, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "statistics": self.statistics.as_dict(),
            "in_memory": dict(self.in_memory),
            "untouched": dict(self.untouched),
        }

    def merge(self, other: dict[str, Any]) -> None:
        """Add what another process (an xdist worker) reported through :meth:`as_dict`."""
        self.statistics.merge(other.get("statistics", {}))
        for name, counts in (("in_memory", self.in_memory), ("untouched", self.untouched)):
            for backend, number in other.get(name, {}).items():
                counts[backend] = counts.get(backend, 0) + int(number)


def _adopt(profile: Profile, state: ModeState, reset_attribute: str) -> None:
    """Capture the freshly set-up profile as its clean state and give it the fast reset."""
    store = find_store(profile.uuid)
    if store is None:
        raise RuntimeError(f"profile {profile.name!r} was created without its in-memory store")
    store.capture_clean()
    setattr(profile, reset_attribute, functools.partial(reset_profile, profile, state.statistics))


def _in_memory_storage_config() -> dict[str, Any]:
    return {"owner_pid": os.getpid()}


def _stop_daemon_if_running(profile: Profile) -> None:
    """A daemon may have been started by hand; it cannot work on this profile and must not outlive it."""
    if profile.process_control_backend is None:
        return  # no daemon can run without a broker
    from aiida.engine.daemon.client import DaemonException, get_daemon_client  # noqa: PLC0415

    client = get_daemon_client(profile.name)
    if client.is_daemon_running:
        with contextlib.suppress(DaemonException):
            client.stop_daemon(wait=True)


def wrap_modern_factory(original: Callable[..., Any], state: ModeState) -> Callable[..., Any]:
    """Wrap the context-manager factory of ``aiida.tools.pytest_fixtures``."""

    @contextlib.contextmanager
    def factory(
        config: Any,
        *,
        storage_backend: str | None = None,
        storage_config: dict[str, Any] | None = None,
        **options: Any,
    ) -> Iterator[Profile]:
        requested = storage_backend or _DEFAULT_BACKEND
        if requested not in SQLITE_BACKENDS:
            state.note(requested, replaced=False)
            with original(
                config, storage_backend=requested, storage_config=storage_config, **options
            ) as profile:
                yield profile
            return
        # The SQLite configuration (a folder for a file database) has no meaning in memory; dropping it
        # also keeps the store's clean-up away from folders that the suite owns.
        in_memory = _in_memory_storage_config()
        with original(
            config, storage_backend=ENTRY_POINT_NAME, storage_config=in_memory, **options
        ) as profile:
            try:
                _adopt(profile, state, "reset_storage")
                state.note(requested, replaced=True)
                yield profile
            finally:
                _stop_daemon_if_running(profile)
                release_store(profile.uuid)

    return factory


def wrap_deprecated_factory(original: Callable[..., Any], state: ModeState) -> Callable[..., Any]:
    """Wrap the factory of the deprecated ``aiida.manage.tests.pytest_fixtures`` (it returns the profile).

    Its profiles live until the end of the session, when every store is released.
    """

    def factory(custom_configuration: dict[str, Any] | None = None) -> Profile:
        storage = (custom_configuration or {}).get("storage") or {}
        requested = str(storage.get("backend"))
        if requested not in SQLITE_BACKENDS:
            state.note(requested, replaced=False)
            profile: Profile = original(custom_configuration)
            return profile
        configuration = copy.deepcopy(custom_configuration or {})
        configuration["storage"] = {"backend": ENTRY_POINT_NAME, "config": _in_memory_storage_config()}
        profile = original(configuration)
        _adopt(profile, state, "clear_profile")
        state.note(requested, replaced=True)
        return profile

    return factory
