"""The plugin's fixtures, and the state the plugin keeps in pytest's stashes under typed keys.

Cheap to import (every pytest run does): the storage code loads when a store
is first needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from . import _stores_in_use

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .marker import StoreSettings
    from .plugin import KeepPolicy
    from .registry import StoreRegistry, TempStoreFactory
    from .storage.backend import SqliteTempBackend

__all__ = [
    "KEEP_ERROR_PROPERTY",
    "KEEP_SETTING_KEY",
    "KEPT_PROPERTIES",
    "KEPT_WORKER_OUTPUT_KEY",
    "REGISTRY_KEY",
    "SETTINGS_KEY",
    "USER_PROPERTY",
    "tempstore",
    "tempstore_factory",
    "tempstore_module",
    "tempstore_session",
]

#: The name under which a kept folder travels in a test report's ``user_properties``
#: (and so reaches the xdist controller and JUnit XML).
USER_PROPERTY = "tempstore_kept"
#: The report property naming a store that could not be kept, and why.
KEEP_ERROR_PROPERTY = "tempstore_keep_error"
KEPT_PROPERTIES = (USER_PROPERTY, KEEP_ERROR_PROPERTY)
#: The key under which an xdist worker hands its last kept stores to the controller.
KEPT_WORKER_OUTPUT_KEY = "tempstore_kept"

# On the config: the run as a whole.
#: The keep policy in force and where it came from (``command line``, ``ini`` or ``default``).
KEEP_SETTING_KEY: pytest.StashKey[tuple[KeepPolicy, str]] = pytest.StashKey()
REGISTRY_KEY: pytest.StashKey[StoreRegistry] = pytest.StashKey()

# On a test item.
#: The marker settings of a test that uses a tempstore (or carries the marker).
SETTINGS_KEY: pytest.StashKey[StoreSettings] = pytest.StashKey()

#: The fixtures that hand out stores; a test using any of them carries the tempstore marker.
STORE_FIXTURES = frozenset({"tempstore", "tempstore_module", "tempstore_session", "tempstore_factory"})
#: The fixtures whose stores outlive a test; a test using them gets ``_tempstore_wide_stores``.
WIDE_STORE_FIXTURES = ("tempstore_session", "tempstore_module")


def _stop_using(store: SqliteTempBackend) -> None:
    """Undo the matching ``_stores_in_use.append(store)``: the innermost entry that is this store."""
    for index in range(len(_stores_in_use) - 1, -1, -1):
        if _stores_in_use[index] is store:
            del _stores_in_use[index]
            return


def _registry(request: pytest.FixtureRequest) -> StoreRegistry:
    """The process's store registry, made when a test first needs a store; folders from tmp_path_factory.

    A plain function, not a session fixture the store fixtures request: pytest keeps a
    finalizer of every function-scoped fixture on the session fixtures it requests until the
    session ends, which would grow memory with every test.
    """
    registry = request.config.stash.get(REGISTRY_KEY, None)
    if registry is None:
        from .registry import start_registry  # noqa: PLC0415 - not loaded by runs that use no store

        registry = start_registry(request.config, request.getfixturevalue("tmp_path_factory"))
    return registry


@pytest.fixture
def tempstore(request: pytest.FixtureRequest) -> Iterator[SqliteTempBackend]:
    """An AiiDA provenance store of this test's own: empty but for the default user, or seeded by the marker.

    The store (a ``SqliteTempBackend``) never sees another test's data and is
    ``current_store()`` while the test runs. Configure it with
    ``@pytest.mark.tempstore(archive=..., seed=..., default_user_email=..., keep=...)``
    on the test, its class or its module. Each starting state is built once per
    process and restored before every test, which costs about a millisecond.
    """
    store = _registry(request).function_store(request.node.nodeid, request.node.stash.get(SETTINGS_KEY, None))
    _stores_in_use.append(store)  # current_store() until _stop_using(store)
    yield store
    _stop_using(store)


@pytest.fixture(scope="module")
def tempstore_module(request: pytest.FixtureRequest) -> Iterator[SqliteTempBackend]:
    """An AiiDA provenance store shared by the tests of one module, emptied when the module ends.

    Tests see each other's data, in the order they run. At the module's end the
    store is kept if ``--tempstore-keep`` asks for it (``failed``: when a test
    using it failed), then emptied with ``_clear()``. The marker does not
    configure it.
    """
    registry = _registry(request)
    store = registry.module_store()
    yield store
    registry.finish_wide_store(store, f"{request.node.nodeid}::tempstore_module")


@pytest.fixture(scope="session")
def tempstore_session(request: pytest.FixtureRequest) -> Iterator[SqliteTempBackend]:
    """An AiiDA provenance store shared by every test of the run (one per xdist worker).

    It is kept at the session's end if ``--tempstore-keep`` asks for it
    (``failed``: when a test using it failed), then emptied and closed. The
    marker does not configure it.
    """
    registry = _registry(request)
    store = registry.new_store("session")
    yield store
    registry.finish_wide_store(store, "tempstore_session")
    registry.release(store)


@pytest.fixture(scope="session")
def tempstore_factory(request: pytest.FixtureRequest) -> Iterator[TempStoreFactory]:
    """Make extra AiiDA provenance stores: ``tempstore_factory(**create_profile_kwargs, archive=None)``.

    Keyword arguments go to ``SqliteTempBackend.create_profile`` (``name``,
    ``default_user_email``, ``options``, ``debug``, ``filepath``); ``archive``
    is imported into the new store (a relative path is taken from the current
    working directory). Without ``filepath`` the store's folder comes from
    ``tmp_path_factory``. Every store made is closed at the session's end; these
    stores are never ``current_store()`` and never kept.
    """
    factory = _registry(request).new_factory()
    yield factory
    factory.close()


@pytest.fixture
def _tempstore_wide_stores(request: pytest.FixtureRequest) -> Iterator[None]:
    """Make the session and module stores a test uses ``current_store()`` while it runs."""
    stores = [request.getfixturevalue(name) for name in WIDE_STORE_FIXTURES if name in request.fixturenames]
    _registry(request).use_wide_stores(request.node.nodeid, stores)
    for store in stores:
        _stores_in_use.append(store)  # current_store() until _stop_using(store)
    yield
    for store in reversed(stores):
        _stop_using(store)
