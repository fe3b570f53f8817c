"""One in-memory SQLite database, shared by every thread that uses a store.

Each store owns a single ``sqlite3`` connection to a private ``:memory:``
database, reached through a ``StaticPool`` engine so that every thread sees the
same data (SQLAlchemy's default pool would give each thread its own, empty,
database). A re-entrant lock serialises access.

New databases are cloned from an image of the empty schema built once per
process, which is why a store costs well under a millisecond instead of the
~25 ms that creating the tables takes. Snapshots and restores use SQLite's
backup API: unlike ``deserialize()``, it refuses (rather than crashing the
process) when a statement is still active on the target connection, and in that
case the database moves to a fresh connection instead.

A restore of the snapshot the database last matched is skipped when nothing
has been written since (same connection, same ``total_changes``, same schema
cookie): copying would also make SQLite re-read the schema, ~0.35 ms.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
import weakref
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from .models import Base

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from sqlalchemy.engine import Connection

__all__ = ["Database", "DatabaseSnapshot", "empty_schema_image"]


@functools.cache
def empty_schema_image() -> bytes:
    """The serialised image of a database holding the ten empty tables."""
    connection = _connect()
    engine = sa.create_engine("sqlite://", creator=lambda: connection, poolclass=StaticPool)
    Base.metadata.create_all(engine)
    image = connection.serialize()
    engine.dispose()
    return image


def _connect(image: bytes | None = None) -> sqlite3.Connection:
    """A new connection to a private in-memory database, optionally loaded from ``image``.

    ``isolation_level=None`` stops the driver from issuing its own ``BEGIN``;
    the engine's ``begin`` hook issues it instead, which is what makes
    SAVEPOINTs behave (see SQLAlchemy's pysqlite dialect notes).
    """
    connection = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    if image is not None:
        # Safe here: nothing has run on this connection yet.
        connection.deserialize(image)
    connection.execute("PRAGMA foreign_keys = ON")
    return connection


def _emit_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")


class DatabaseSnapshot:
    """A frozen copy of a database, held in a private in-memory connection."""

    __slots__ = ("__weakref__", "_connection")

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def copy_into(self, target: sqlite3.Connection) -> None:
        """Overwrite ``target`` with this snapshot (``sqlite3.OperationalError`` if it is busy)."""
        self._connection.backup(target)

    def close(self) -> None:
        """Free the snapshot's memory now rather than at garbage collection."""
        self._connection.close()


class Database:
    """The SQL half of a store: one connection, its engine, its session and its lock."""

    def __init__(self, *, echo: bool = False) -> None:
        self.lock = threading.RLock()
        self._connection = _connect(empty_schema_image())
        self.engine = sa.create_engine(
            "sqlite://", creator=self._current_connection, poolclass=StaticPool, echo=echo
        )
        sa.event.listen(self.engine, "begin", _emit_begin)
        self.session = Session(self.engine)
        # The snapshot the database last equalled, and the fingerprint it had then.
        self._matched: tuple[weakref.ref[DatabaseSnapshot], tuple[sqlite3.Connection, int, int]] | None = None

    def _current_connection(self) -> sqlite3.Connection:
        return self._connection

    @property
    def dbapi_connection(self) -> sqlite3.Connection:
        """The raw ``sqlite3`` connection, for bulk work that bypasses SQLAlchemy."""
        return self._connection

    def snapshot(self) -> DatabaseSnapshot:
        """A copy of the committed state of the database."""
        copy = sqlite3.connect(":memory:", check_same_thread=False)
        with self.lock:
            self._connection.backup(copy)
            snapshot = DatabaseSnapshot(copy)
            self._remember(snapshot)
        return snapshot

    def restore(self, snapshot: DatabaseSnapshot) -> None:
        """Make the database exactly the snapshot. The caller holds no transaction."""
        with self.lock:
            self._discard_session_state()
            matched = self._matched
            if matched is not None and matched[0]() is snapshot and matched[1] == self._fingerprint():
                return
            try:
                snapshot.copy_into(self._connection)
            except sqlite3.OperationalError:
                # A statement is still active on the connection (e.g. a cursor kept
                # alive by a failed test's traceback): move to a fresh connection.
                fresh = _connect()
                snapshot.copy_into(fresh)
                self._replace_connection(fresh)
            self._remember(snapshot)

    def reset(self) -> None:
        """Empty every table by restoring the empty schema."""
        with self.lock:
            self._matched = None
            self._discard_session_state()
            fresh = _connect(empty_schema_image())
            try:
                fresh.backup(self._connection)
            except sqlite3.OperationalError:
                self._replace_connection(fresh)
            else:
                fresh.close()

    def _fingerprint(self) -> tuple[sqlite3.Connection, int, int]:
        """What changes whenever the database may have: written rows, the schema, the connection."""
        connection = self._connection
        (schema_version,) = connection.execute("PRAGMA schema_version").fetchone()
        return connection, connection.total_changes, schema_version

    def _remember(self, snapshot: DatabaseSnapshot) -> None:
        self._matched = (weakref.ref(snapshot), self._fingerprint())

    def _discard_session_state(self) -> None:
        # Drop uncommitted work and every cached ORM object: rows are about to change under them.
        self.session.rollback()
        self.session.expunge_all()

    def _replace_connection(self, fresh: sqlite3.Connection) -> None:
        self.session.close()
        self._connection = fresh
        # The pool closes the old connection and asks the creator for the new one next time.
        self.engine.dispose()

    def read(self, sql: str, parameters: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        """The rows of one raw query on the live connection, seeing this thread's uncommitted work.

        A single statement is atomic by itself, so a read needs no transaction
        of its own (that costs a BEGIN, a COMMIT and SQLAlchemy's bookkeeping,
        several times the query). ORM changes not yet sent are flushed first,
        as the session's own queries would do.
        """
        with self.lock:
            session = self.session
            if session.new or session.dirty or session.deleted:
                session.flush()
            return self._connection.execute(sql, parameters).fetchall()

    def scalar(self, sql: str, parameters: tuple[Any, ...] = ()) -> Any:
        """The first column of the first row of a raw query, on the session's connection."""
        row = self.session.connection().exec_driver_sql(sql, parameters).first()
        return None if row is None else row[0]

    def close(self) -> None:
        """Close the session, the engine and the connection. Idempotent."""
        with self.lock:
            self.session.close()
            self.engine.dispose()
            self._connection.close()
