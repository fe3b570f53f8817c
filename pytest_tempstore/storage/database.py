"""One in-memory SQLite database, shared by every thread that uses a store.

Each store owns a single connection of the chosen driver (see ``driver``) to a private ``:memory:``
database, reached through a ``StaticPool`` engine so that every thread sees the
same data (SQLAlchemy's default pool would give each thread its own, empty,
database). A re-entrant lock serialises access.

New databases are copies of an empty schema built once per process, which is
why a store costs about a millisecond instead of the ~25 ms that creating the
tables takes; every store's engine shares one SQLAlchemy dialect, initialized
once, for the same reason. Copies, snapshots and restores use SQLite's backup
API: unlike ``deserialize()`` (which pysqlite3 lacks), it refuses (rather than
crashing the process) when a statement is still active on the target
connection, and in that case the database moves to a fresh connection instead.

A restore of the snapshot the database last matched is skipped when nothing
has been written since (same connection, same ``total_changes``, same schema
cookie): copying would also make SQLite re-read the schema, ~0.35 ms.
"""

from __future__ import annotations

import functools
import threading
import weakref
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from . import driver
from .models import Base, is_jsonb

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable, Mapping, Sequence

    from sqlalchemy.engine import URL, Connection, Dialect

__all__ = ["Database", "DatabaseSnapshot", "empty_schema", "write_json_as_text"]


@functools.cache
def _shared_dialect() -> tuple[Dialect, URL, Callable[[Any], None] | None]:
    """The SQLite dialect that every store's engine shares, initialized once per process.

    ``create_engine`` builds a new dialect and initializes it on its first
    connection: about half of what a new store cost. Every store talks to the
    same driver and SQLite, so one initialized dialect serves them all. Also
    returns the URL and the dialect's setup for each new connection (the SQL
    functions it registers, such as ``regexp``).
    """
    prototype = sa.create_engine(
        "sqlite://",
        module=driver.DBAPI,
        creator=lambda: driver.connect(":memory:", check_same_thread=False),
        poolclass=StaticPool,
    )
    with prototype.connect():
        pass  # the first connection initializes the dialect
    prototype.dispose()
    return prototype.dialect, prototype.url, prototype.dialect.on_connect_url(prototype.url)


def _connect() -> sqlite3.Connection:
    """A new connection to a private, empty in-memory database, set up as the dialect expects.

    ``isolation_level=None`` stops the driver from issuing its own ``BEGIN``;
    the engine's ``begin`` hook issues it instead, which is what makes
    SAVEPOINTs behave (see SQLAlchemy's pysqlite dialect notes).
    """
    connection = driver.connect(":memory:", check_same_thread=False, isolation_level=None)
    connection.execute("PRAGMA foreign_keys = ON")
    _dialect, _url, set_up = _shared_dialect()
    if set_up is not None:
        set_up(connection)
    return connection


def _engine(creator: Callable[[], sqlite3.Connection], *, echo: bool = False) -> sa.Engine:
    """An engine on the one connection ``creator`` hands out (made by ``_connect``), on the shared dialect."""
    dialect, url, _set_up = _shared_dialect()
    pool = StaticPool(creator, dialect=dialect)  # type: ignore[arg-type]  # a DB-API connection, untyped there
    return sa.Engine(pool, dialect, url, echo=echo)


@functools.cache
def _json_text_updates() -> tuple[str, ...]:
    """The statements that turn the schema's JSONB columns back into JSON text (none without JSONB)."""
    updates = []
    for table in Base.metadata.sorted_tables:
        names = [column.name for column in table.columns if is_jsonb(column)]
        if names:
            assignments = ", ".join(f'"{name}" = json("{name}")' for name in names)
            updates.append(f'UPDATE "{table.name}" SET {assignments}')
    return tuple(updates)


def write_json_as_text(connection: sqlite3.Connection) -> None:
    """Turn every JSONB column of ``connection``'s database into JSON text, as archives hold it."""
    updates = _json_text_updates()
    if updates:
        with connection:
            for update in updates:
                connection.execute(update)


def _emit_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")


class DatabaseSnapshot:
    """A frozen copy of a database, held in a private in-memory connection."""

    __slots__ = ("__weakref__", "_connection")

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def copy_into(self, target: sqlite3.Connection) -> None:
        """Overwrite ``target`` with this snapshot (the driver's ``OperationalError`` if it is busy)."""
        self._connection.backup(target)

    def close(self) -> None:
        """Free the snapshot's memory now rather than at garbage collection."""
        self._connection.close()


@functools.cache
def empty_schema() -> DatabaseSnapshot:
    """A snapshot of a database holding the ten empty tables, built once per process."""
    scratch = _connect()
    engine = _engine(lambda: scratch)
    Base.metadata.create_all(engine)
    template = driver.connect(":memory:", check_same_thread=False)
    scratch.backup(template)
    engine.dispose()  # closes ``scratch``
    return DatabaseSnapshot(template)


def _new_database() -> sqlite3.Connection:
    connection = _connect()
    # Safe: nothing runs on a new connection yet, so the copy cannot find it busy.
    empty_schema().copy_into(connection)
    return connection


class Database:
    """The SQL half of a store: one connection, its engine, its session and its lock."""

    def __init__(self, *, echo: bool = False) -> None:
        self.lock = threading.RLock()
        self._connection = _new_database()
        self.engine = _engine(self._current_connection, echo=echo)
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
        copy = driver.connect(":memory:", check_same_thread=False)
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
            except driver.OperationalError:
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
            try:
                empty_schema().copy_into(self._connection)
            except driver.OperationalError:
                self._replace_connection(_new_database())

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
            if self.has_unsent_changes:
                self.session.flush()
            return self._connection.execute(sql, parameters).fetchall()

    @property
    def has_unsent_changes(self) -> bool:
        """Whether the session holds ORM objects added, changed or deleted but not yet flushed."""
        session = self.session
        return bool(session.new or session.dirty or session.deleted)

    def scalar(self, sql: str, parameters: tuple[Any, ...] = ()) -> Any:
        """The first column of the first row of a raw query, on the session's connection."""
        row = self.session.connection().exec_driver_sql(sql, parameters).first()
        return None if row is None else row[0]

    def close(self) -> None:
        """Close the session, the engine and the connection. Idempotent."""
        with self.lock:
            self.session.close()
            # The pool alone: Engine.dispose() would also make a new pool, never to be used.
            self.engine.pool.dispose()
            self._connection.close()
