"""Every store the plugin makes in one test process: where it lives, when it is reused, and its end.

Function-scoped stores are not built per test. For each distinct starting state
(archive, seed, default user email) the registry builds a hidden *template*
store once, takes a snapshot of it, and hands tests a *working* store that is
restored from that snapshot at every test's setup. The template is never given
to a test, so a test that closes or wrecks its store cannot spoil the snapshot:
the next test simply gets a new working store restored from it.

Folders come from pytest's ``tmp_path_factory`` and are removed as the stores
close, so nothing but kept stores remains after a run.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import runtime
from .exceptions import StorageBusy
from .fixtures import KEEP_ERROR_PROPERTY, KEEP_SETTING_KEY, REGISTRY_KEY, SETTINGS_KEY, USER_PROPERTY
from .keep import KEPT_FOLDER, should_keep, write_kept_store
from .marker import StoreSettings
from .seeding import import_seed_archive, seed_store

if TYPE_CHECKING:
    import pytest

    from .plugin import KeepPolicy
    from .storage.backend import SqliteTempBackend, StoreSnapshot

__all__ = ["StoreRegistry", "TempStoreFactory", "start_registry"]

_DEFAULT_SETTINGS = StoreSettings()


class TempStoreFactory:
    """What the ``tempstore_factory`` fixture hands out (and its type, for annotations).

    Call it for a new store; every store it made is closed, and its folder
    removed, when the fixture ends.
    """

    def __init__(self, registry: StoreRegistry) -> None:
        self._registry = registry
        self._made: list[SqliteTempBackend] = []

    def __call__(
        self, *, archive: str | os.PathLike[str] | None = None, **create_profile_kwargs: Any
    ) -> SqliteTempBackend:
        """A new store, made by ``SqliteTempBackend.create_profile(**create_profile_kwargs)``.

        ``archive`` is imported into it (a relative path is taken from the current
        working directory).
        """
        store = self._registry.new_store("factory", **create_profile_kwargs)
        self._made.append(store)
        if archive is not None:
            import_seed_archive(store, Path(os.fspath(archive)).absolute())
        return store

    def close(self) -> None:
        """Close every store made here."""
        while self._made:
            self._registry.release(self._made.pop())


@dataclass
class _RunningTest:
    """What the registry knows of a test between its setup and its teardown report."""

    store: SqliteTempBackend | None = None
    wide_stores: list[SqliteTempBackend] = field(default_factory=list)
    failed: bool = False


@dataclass
class _StartingState:
    """A starting state for function-scoped stores: its template, snapshot and current working store."""

    template: SqliteTempBackend
    snapshot: StoreSnapshot
    working: SqliteTempBackend | None = None


class StoreRegistry:
    """The stores of one test process, from creation to close."""

    def __init__(self, keep_policy: KeepPolicy, worker_id: str | None = None) -> None:
        self.keep_policy = keep_policy
        #: The xdist worker this process is (``gw0``, ...), or ``None``.
        self.worker_id = worker_id
        self._tmp_path_factory: pytest.TempPathFactory | None = None
        #: Every open store we made, with the folder we own for it (``None`` for a caller's folder).
        self._folders: dict[SqliteTempBackend, Path | None] = {}
        self._states: dict[tuple[Any, ...], _StartingState] = {}
        self._module_store: SqliteTempBackend | None = None
        self._failed: set[int] = set()
        #: The tests between setup and their teardown report, by node id.
        self._running: dict[str, _RunningTest] = {}
        self._folder_count = 0
        #: ``(property, value)`` pairs about every store kept in this process, in order: the
        #: terminal summary's list (``tempstore_kept``: its folder; ``tempstore_keep_error``: why not).
        self.kept: list[tuple[str, str]] = []
        #: Those of them not yet attached to a test report.
        self.pending: list[tuple[str, str]] = []

    def bind(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        """Take folders from ``tmp_path_factory`` from now on."""
        self._tmp_path_factory = tmp_path_factory

    @property
    def _factory(self) -> pytest.TempPathFactory:
        if self._tmp_path_factory is None:
            raise RuntimeError("the tempstore registry is used before the session fixture bound it")
        return self._tmp_path_factory

    # ------------------------------------------------------------------ making and closing stores

    def new_store(self, kind: str, *, filepath: Any = None, **profile_kwargs: Any) -> SqliteTempBackend:
        """A new store in a folder of its own under pytest's base temporary folder.

        ``kind`` names the folder (``tempstore-<kind>-<n>``). With an explicit
        ``filepath`` the caller owns that folder and it is not removed.
        """
        from .storage.backend import SqliteTempBackend  # noqa: PLC0415 - SQLAlchemy loads on first use

        owned = self._new_folder(kind) if filepath is None else None
        try:
            profile = SqliteTempBackend.create_profile(
                filepath=owned if filepath is None else filepath, **profile_kwargs
            )
            store = SqliteTempBackend(profile)
        except BaseException:
            if owned is not None:
                shutil.rmtree(owned, ignore_errors=True)
            raise
        self._folders[store] = owned
        return store

    def new_factory(self) -> TempStoreFactory:
        """What ``tempstore_factory`` hands out: it makes stores of kind ``factory`` until closed."""
        return TempStoreFactory(self)

    def _new_folder(self, kind: str) -> Path:
        # Named by our own counter: pytest's numbered folders would leave a "-current" symlink behind.
        while True:
            self._folder_count += 1
            try:
                return self._factory.mktemp(f"tempstore-{kind}-{self._folder_count}", numbered=False)
            except FileExistsError:
                continue

    def release(self, store: SqliteTempBackend) -> None:
        """Close ``store`` and remove the folder we made for it."""
        owned = self._folders.pop(store, None)
        self._failed.discard(id(store))
        store.close()
        if owned is not None:
            shutil.rmtree(owned, ignore_errors=True)

    def close_all(self) -> None:
        """Close every store made here; run at the end of the session, also after an interruption."""
        self._states.clear()
        self._module_store = None
        for store in list(self._folders):
            self.release(store)

    # ------------------------------------------------------------------ function scope

    def function_store(self, nodeid: str, settings: StoreSettings | None = None) -> SqliteTempBackend:
        """The store of the test ``nodeid``, in the starting state ``settings`` ask for (default: empty)."""
        store = self._restored_store(settings or _DEFAULT_SETTINGS)
        self._running.setdefault(nodeid, _RunningTest()).store = store
        return store

    def use_wide_stores(self, nodeid: str, stores: list[SqliteTempBackend]) -> None:
        """Note the module and session stores the test ``nodeid`` uses (kept if it fails)."""
        self._running.setdefault(nodeid, _RunningTest()).wide_stores = stores

    def _restored_store(self, settings: StoreSettings) -> SqliteTempBackend:
        key = settings.seed_key
        state = self._states.get(key)
        if state is None:
            state = self._build_starting_state(settings)
            self._states[key] = state
        store = state.working
        if store is None or store.is_closed:
            store = self._new_working_store(state, settings)
        try:
            store.restore(state.snapshot)
        except StorageBusy:
            # The last test left a transaction open on it: start over with a new store.
            store = self._new_working_store(state, settings)
            store.restore(state.snapshot)
        return store

    def _build_starting_state(self, settings: StoreSettings) -> _StartingState:
        template = self.new_store("template", **_profile_kwargs(settings))
        try:
            seed_store(template, settings.archive, settings.seed)
            snapshot = template.snapshot()
        except BaseException:
            self.release(template)
            raise
        return _StartingState(template, snapshot)

    def _new_working_store(self, state: _StartingState, settings: StoreSettings) -> SqliteTempBackend:
        if state.working is not None:
            self.release(state.working)
            state.working = None
        state.working = self.new_store("function", **_profile_kwargs(settings))
        return state.working

    # ------------------------------------------------------------------ module and session scope

    def module_store(self) -> SqliteTempBackend:
        """The store for the current module: one per process, emptied between modules."""
        store = self._module_store
        if store is None or store.is_closed:
            if store is not None:
                self.release(store)
            store = self._module_store = self.new_store("module")
        return store

    def note_failure(self, store: SqliteTempBackend) -> None:
        """Remember that a test using the module or session ``store`` failed."""
        self._failed.add(id(store))

    def finish_wide_store(self, store: SqliteTempBackend, label: str) -> None:
        """End a module's or the session's use of ``store``: keep it if asked, then empty it."""
        failed = id(store) in self._failed
        self._failed.discard(id(store))
        if store.is_closed:
            return
        if should_keep(self.keep_policy, failed):
            # Several workers may each have a store for the same module, and each has a session store.
            self.keep(store, label if self.worker_id is None else f"{label}-{self.worker_id}")
        try:
            store._clear()
        except StorageBusy:
            # A test left a transaction open on it; a new store replaces it where needed.
            self.release(store)

    # ------------------------------------------------------------------ keeping

    def after_phase(self, item: pytest.Item, report: pytest.TestReport) -> None:
        """Note a failed phase; after teardown keep the test's store if asked, and attach what was kept.

        At teardown every fixture of the test is gone, so a failure in setup,
        call or teardown is known. The state lives here, not on the test item,
        and is dropped at teardown: a long run keeps nothing per test.
        """
        test = self._running.get(item.nodeid)
        if test is not None:
            if report.failed:
                test.failed = True
                for wide_store in test.wide_stores:
                    self.note_failure(wide_store)
            if report.when == "teardown":
                del self._running[item.nodeid]
                settings = item.stash.get(SETTINGS_KEY, _DEFAULT_SETTINGS)
                if test.store is not None and should_keep(self.keep_policy, test.failed, settings.keep):
                    self.keep(test.store, item.nodeid)
        if report.when == "teardown" and self.pending:
            # Kept folders travel with the report: to the terminal summary, xdist's controller, JUnit XML.
            report.user_properties.extend(self.drain_pending())

    def keep(self, store: SqliteTempBackend, label: str) -> None:
        """Write ``store`` to the kept folder named after ``label``; note the outcome.

        A store that cannot be written is reported rather than failing the run.
        """
        if store.is_closed:
            self._note(KEEP_ERROR_PROPERTY, f"{label}: the store was closed by the test")
            return
        try:
            folder = write_kept_store(store, self.kept_root(), label)
        except Exception as error:  # reported in the summary; the run goes on
            self._note(KEEP_ERROR_PROPERTY, f"{label}: {type(error).__name__}: {error}")
        else:
            self._note(USER_PROPERTY, str(folder))

    def _note(self, name: str, value: str) -> None:
        self.kept.append((name, value))
        self.pending.append((name, value))

    def kept_root(self) -> Path:
        """``<basetemp>/tempstore-kept``; for an xdist worker, in the run's base folder, not the worker's."""
        basetemp = self._factory.getbasetemp()
        if self.worker_id is not None and basetemp.name == f"popen-{self.worker_id}":
            basetemp = basetemp.parent
        return basetemp / KEPT_FOLDER

    def drain_pending(self) -> list[tuple[str, str]]:
        """Take the notes about kept stores that no report carries yet."""
        pending, self.pending = self.pending, []
        return pending


def start_registry(config: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> StoreRegistry:
    """The run's registry, made when a test first needs a store, with the hooks of a run that uses stores."""
    policy, _source = config.stash[KEEP_SETTING_KEY]
    registry = StoreRegistry(policy, getattr(config, "workerinput", {}).get("workerid"))
    registry.bind(tmp_path_factory)
    config.stash[REGISTRY_KEY] = registry
    config.pluginmanager.register(runtime, runtime.PLUGIN_NAME)
    return registry


def _profile_kwargs(settings: StoreSettings) -> dict[str, Any]:
    if settings.default_user_email is None:
        return {}
    return {"default_user_email": settings.default_user_email}
