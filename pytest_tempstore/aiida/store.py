"""The data behind an AiiDA-mode profile: one in-memory database and one repository per profile.

aiida-core closes and re-creates a profile's storage backend whenever it resets
or switches profiles, and its own ``core.sqlite_temp`` loses every row when that
happens. Here the data lives in a :class:`SharedStore`, kept in a process-wide
registry under the profile's UUID, and each backend instance only borrows it,
so the database survives any number of close/reload cycles.

Resetting a store means restoring an :class:`StoreImage`: a copy of the
database, the set of repository keys and the global variables. Databases are
copied with SQLite's backup API, which refuses (rather than crashing the
process, as ``deserialize()`` can on SQLite 3.40) when a statement is still
active on the connection, for example a cursor kept alive by a failed test's
traceback. The store then moves to a fresh connection.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from aiida.storage.sqlite_zip.models import SqliteBase
from aiida.storage.sqlite_zip.utils import register_json_contains
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from pytest_tempstore.repository import RepositorySnapshot, SandboxShaRepositoryBackend

from .repository import AiidaShaRepository

__all__ = ["SharedStore", "StoreImage", "create_store", "find_store", "release_all_stores", "release_store"]


@functools.cache
def _empty_schema_image() -> bytes:
    """The serialised image of a database with aiida's tables and no rows, built once per process."""
    connection = sqlite3.connect(":memory:")
    engine = sa.create_engine("sqlite://", creator=lambda: connection, poolclass=StaticPool)
    SqliteBase.metadata.create_all(engine)
    image = connection.serialize()
    engine.dispose()
    return image


def _connect(image: bytes | None = None) -> sqlite3.Connection:
    """A new connection to a private in-memory database, set up as aiida-core sets up its SQLite engines.

    The driver keeps its default transaction handling, as in aiida-core's own
    SQLite storages, so that transactions behave exactly as there.
    """
    connection = sqlite3.connect(":memory:", check_same_thread=False)
    if image is not None:
        # Safe: no statement has run on this connection yet.
        connection.deserialize(image)
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA case_sensitive_like=ON")
    # aiida's own JSON containment function, which its SQLite query builder calls.
    register_json_contains(connection, None)  # type: ignore[no-untyped-call]
    return connection


@dataclass(frozen=True, eq=False)
class StoreImage:
    """A frozen copy of a whole store; it pins the repository objects it lists while it lives."""

    database: sqlite3.Connection
    repository: RepositorySnapshot
    global_variables: dict[str, tuple[Any, str | None]]

    def close(self) -> None:
        """Free the database copy now rather than at garbage collection."""
        self.database.close()


class SharedStore:
    """One profile's database, session, repository and global variables, shared by its backend instances."""

    def __init__(self, *, repository_folder: str | None = None, echo: bool = False) -> None:
        self.lock = threading.RLock()
        self._connection = _connect(_empty_schema_image())
        self.engine = sa.create_engine(
            "sqlite://",
            creator=self._current_connection,
            poolclass=StaticPool,
            json_serializer=json.dumps,
            json_deserializer=json.loads,
            echo=echo,
        )
        self.session = Session(self.engine)
        self.repository = SandboxShaRepositoryBackend(repository_folder)
        #: The same repository, as aiida-core's storage API must hand it out.
        self.aiida_repository = AiidaShaRepository(self.repository)
        self.global_variables: dict[str, tuple[Any, str | None]] = {}
        self.owner_pid = os.getpid()
        #: The store as created: tables, no rows (what ``_clear()`` returns to).
        self.empty = self.capture()
        #: The store right after its profile was set up with its default user (what resets return to).
        self.clean: StoreImage | None = None

    def _current_connection(self) -> sqlite3.Connection:
        return self._connection

    @property
    def connection(self) -> sqlite3.Connection:
        """The raw connection currently behind the engine (it changes when a restore needs a fresh one)."""
        return self._connection

    def capture(self) -> StoreImage:
        """Copy the committed state of the store."""
        with self.lock:
            copy_of_database = sqlite3.connect(":memory:", check_same_thread=False)
            self._connection.backup(copy_of_database)
            return StoreImage(
                copy_of_database, self.repository.snapshot(), copy.deepcopy(self.global_variables)
            )

    def capture_clean(self) -> None:
        """Remember the current state as the one that every reset restores."""
        previous, self.clean = self.clean, self.capture()
        if previous is not None:
            previous.close()

    def renew_session(self) -> None:
        """Close the session, dropping uncommitted work and every ORM object, and start a new one.

        A new session rather than the old one emptied: a generator of an earlier test
        (a query iterator, say) may still hold one of the old session's transactions
        open, which would make every later use of that session fail.
        """
        with self.lock:
            # Closing also returns the connection to the pool, which rolls back any open
            # transaction: the backup API writes only into a connection that is not inside one.
            self.session.close()
            self.session = Session(self.engine)

    def restore(self, image: StoreImage) -> None:
        """Make the store exactly ``image``: database, repository and global variables."""
        with self.lock:
            if self.session.in_transaction() or self.session.identity_map:
                self.renew_session()  # a reset has just done so, when it closed the backend
            try:
                image.database.backup(self._connection)
            except sqlite3.OperationalError:
                # A statement is still active on the connection: never overwrite it in place.
                fresh = _connect()
                image.database.backup(fresh)
                self._replace_connection(fresh)
            self.repository.restore(image.repository)
            self.global_variables = copy.deepcopy(image.global_variables)

    def _replace_connection(self, fresh: sqlite3.Connection) -> None:
        self._connection = fresh
        # The pool closes the old connection (SQLite defers that until its last statement is
        # finalised) and asks the creator for the new one at the next checkout.
        self.engine.dispose()

    def close(self) -> None:
        """Free the database, its images and the repository folder. Idempotent."""
        with self.lock:
            self.session.close()
            self.engine.dispose()
            self._connection.close()
            for image in (self.empty, self.clean):
                if image is not None:
                    image.close()
            self.clean = None
            self.repository.erase()


_stores: dict[str, SharedStore] = {}
_stores_lock = threading.Lock()


def create_store(key: str, *, repository_folder: str | None = None, echo: bool = False) -> SharedStore:
    """Create the store of the profile with UUID ``key``, replacing any earlier one."""
    store = SharedStore(repository_folder=repository_folder, echo=echo)
    with _stores_lock:
        previous = _stores.pop(key, None)
        _stores[key] = store
    if previous is not None:
        previous.close()
    return store


def find_store(key: str) -> SharedStore | None:
    """The store of the profile with UUID ``key`` in this process, if any."""
    return _stores.get(key)


def release_store(key: str) -> None:
    """Close and forget the store of the profile with UUID ``key``, if any."""
    with _stores_lock:
        store = _stores.pop(key, None)
    if store is not None:
        store.close()


def release_all_stores() -> None:
    """Close and forget every store of this process."""
    with _stores_lock:
        stores = list(_stores.values())
        _stores.clear()
    for store in stores:
        store.close()
