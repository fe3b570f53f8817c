"""``SqliteTempBackend``: a throwaway AiiDA provenance store.

The database lives in memory (see :mod:`.database`), the files in a
:class:`~pytest_tempstore.repository.SandboxShaRepositoryBackend`. Everything a
store made on disk is removed when it is closed, garbage-collected, or still
open at interpreter exit.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import threading
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, StrictBool, validate_call

from ..exceptions import (
    ClosedStorage,
    IncompatibleStorageSchema,
    InputValidationError,
    IntegrityError,
    NotExistent,
    StorageBusy,
    StorageMigrationError,
    UnreachableStorage,
)
from ..profile import STORAGE_BACKEND, Profile, StorageSection
from ..repository import RepositorySnapshot, SandboxShaRepositoryBackend
from ..sandbox import new_sandbox_folder, remove_owned_folder
from . import driver
from .collections import EntityCollectionsMixin
from .database import Database, DatabaseSnapshot, write_json_as_text
from .entity_types import EntityTypes
from .models import DbNode, DbSetting, utc_now
from .repository_metadata import referenced_keys
from .rows import column_reader, column_writer, describe_values, missing_ids, row_spec

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterable, Iterator, Mapping, Sequence

    from sqlalchemy.orm import Session

__all__ = ["SqliteTempBackend", "StoreSnapshot"]

LOGGER = logging.getLogger(__name__)
SCHEMA_VERSION = "main_0001"

_COUNTED_TABLES = {
    "Users": "db_dbuser",
    "Computers": "db_dbcomputer",
    "Nodes": "db_dbnode",
    "Groups": "db_dbgroup",
    "Comments": "db_dbcomment",
    "Logs": "db_dblog",
    "Links": "db_dblink",
}


@dataclass(frozen=True)
class StoreSnapshot:
    """The state of a store's database and repository at one moment; see ``SqliteTempBackend.snapshot``."""

    database: DatabaseSnapshot
    repository: RepositorySnapshot
    default_user_email: str
    # The id of that user's row in the snapshot (None if it was deleted): restoring need not look it up.
    default_user_id: int | None


_read_setting_value = column_reader(DbSetting, "val")
_write_setting_value = column_writer(DbSetting, "val")
_write_time = column_writer(DbSetting, "time")


def _entity_type(value: object) -> EntityTypes:
    if isinstance(value, str) and value in EntityTypes.__members__.values():
        return EntityTypes(value)
    valid = ", ".join(member.value for member in EntityTypes)
    raise InputValidationError(f"unknown entity type {value!r}; valid types are: {valid}")


class _Resources:
    """What a store must release when it goes away; kept apart from the store so a finalizer can hold it."""

    def __init__(self, database: Database, repository: SandboxShaRepositoryBackend) -> None:
        self.database = database
        self.repository = repository

    def release(self) -> None:
        self.database.close()
        self.repository.erase()


def _sandbox_removed_at_exit() -> str:
    """A new sandbox folder for a ``Model`` made without ``filepath``.

    No store owns it (a store removes only folders it made itself), so it is
    removed, with its owner lock, when the process exits; the reference leaves
    such folders behind for good.
    """
    folder = new_sandbox_folder()
    atexit.register(remove_owned_folder, folder)
    return str(folder)


class SqliteTempBackend(EntityCollectionsMixin):
    """A provenance store in an in-memory SQLite database plus a sandbox file repository.

    Create one from a profile::

        store = SqliteTempBackend(SqliteTempBackend.create_profile())

    It is usable at once: the tables exist and the profile's default user is
    stored. ``close()`` (or garbage collection) removes everything it made.
    """

    class Model(BaseModel):
        """The storage configuration of a profile."""

        model_config = ConfigDict(extra="forbid")

        filepath: str = Field(
            default_factory=_sandbox_removed_at_exit,
            title="Sandbox folder",
            description=(
                "Folder that holds the store's files; a new temporary folder, removed when the process "
                "exits, when not given."
            ),
        )
        debug: StrictBool = Field(default=False, description="Log every SQL statement.")

    _open_stores: ClassVar[weakref.WeakSet[SqliteTempBackend]] = weakref.WeakSet()

    # ------------------------------------------------------------------ profile and versions

    @staticmethod
    @validate_call
    def create_profile(
        name: str = "temp",
        default_user_email: str = "user@email.com",
        options: dict[str, Any] | None = None,
        debug: StrictBool = False,
        filepath: str | os.PathLike[str] | None = None,
    ) -> Profile:
        """A profile for a new store; it lives in memory and writes nothing to disk."""
        config: dict[str, Any] = {
            "filepath": None if filepath is None else os.fspath(filepath),
            "debug": debug,
        }
        return Profile(
            name=name,
            default_user_email=default_user_email,
            storage=StorageSection(backend=STORAGE_BACKEND, config=config),
            options=options or {},
        )

    @classmethod
    def version_head(cls) -> str:
        """The schema version this package writes."""
        return SCHEMA_VERSION

    @classmethod
    def version_profile(cls, profile: Profile) -> str:
        """The schema version of a profile's storage; a temporary store is always at the head."""
        if profile.storage_backend != STORAGE_BACKEND:
            raise IncompatibleStorageSchema(
                f"profile {profile.name!r} uses storage {profile.storage_backend!r}, not {STORAGE_BACKEND!r}"
            )
        return SCHEMA_VERSION

    @classmethod
    def initialise(cls, profile: Profile, reset: bool = False) -> bool:
        """Make the profile's storage ready; with ``reset=True``, empty every open store of the profile.

        Returns whether anything was reset.
        """
        cls.version_profile(profile)
        if not reset:
            return False
        stores = [
            store for store in list(cls._open_stores) if store.profile == profile and not store.is_closed
        ]
        for store in stores:
            store._clear()
        return bool(stores)

    @classmethod
    def migrate(cls, profile: Profile) -> None:
        """Bring the profile's storage to the head version: nothing to do for a store at the head."""
        version = cls.version_profile(profile)
        if version != SCHEMA_VERSION:
            raise StorageMigrationError(f"cannot migrate storage from {version!r} to {SCHEMA_VERSION!r}")

    # ------------------------------------------------------------------ life cycle

    def __init__(self, profile: Profile) -> None:
        self.version_profile(profile)
        self._profile = profile
        config = profile.storage_config
        filepath = config.get("filepath")
        debug = bool(config.get("debug", False))
        if filepath is not None:
            self.Model(filepath=filepath, debug=debug)
            repository_folder: Path | None = Path(filepath) / "repo"
        else:
            repository_folder = None
        database = Database(echo=debug)
        self._resources = _Resources(database, SandboxShaRepositoryBackend(repository_folder))
        self._finalizer = weakref.finalize(self, self._resources.release)
        self._closed = False
        self._depth = 0
        self._owner: int | None = None
        self._default_user_id = self._insert_default_user()
        self._open_stores.add(self)

    def _insert_default_user(self) -> int:
        connection = self._database.dbapi_connection
        cursor = connection.execute(
            "INSERT INTO db_dbuser (email, first_name, last_name, institution) VALUES (?, '', '', '')",
            (self._profile.default_user_email,),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    @property
    def profile(self) -> Profile:
        """The profile this store was made from."""
        return self._profile

    @property
    def is_closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._closed

    @property
    def _database(self) -> Database:
        if self._closed:
            raise ClosedStorage(f"the store {self._profile.name!r} is closed")
        return self._resources.database

    def close(self) -> None:
        """Release the database and remove every folder the store made. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._open_stores.discard(self)
        self._finalizer()

    def delete(self) -> None:
        """Delete the store's data for good: for a temporary store, the same as ``close()``."""
        self.close()

    def __str__(self) -> str:
        state = "closed" if self._closed else "open"
        folder = self._resources.repository.folder
        return (
            f"SqliteTemp storage [{state}], sandbox: {folder if folder is not None else '(not created yet)'}"
        )

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} profile={self._profile.name!r} [{'closed' if self._closed else 'open'}]>"
        )

    def get_session(self) -> Session:
        """The store's SQLAlchemy session."""
        return self._database.session

    def get_repository(self) -> SandboxShaRepositoryBackend:
        """The store's file repository."""
        if self._closed:
            raise ClosedStorage(f"the store {self._profile.name!r} is closed")
        return self._resources.repository

    @property
    def default_user_email(self) -> str:
        """The email of the profile's default user."""
        return self._profile.default_user_email

    @property
    def default_user_id(self) -> int:
        """The id of the profile's default user."""
        self._database  # noqa: B018 - raises ClosedStorage after close
        return self._default_user_id

    def read_sql(self, sql: str, parameters: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        """The rows (tuples of raw column values) of one SQL query, run on the store's connection.

        ``parameters`` fill ``?`` (a sequence) or ``:name`` (a mapping)
        placeholders. The query sees the calling thread's uncommitted work and
        waits while another thread holds a transaction. Values come as SQLite stores them
        (JSON as text, times as ISO strings).
        """
        return self._database.read(sql, parameters)

    def read_on_driver(self, sql: str, parameters: Sequence[Any]) -> list[Any] | None:
        """The rows of one raw query, unless ORM work outside ``transaction()`` waits for a commit.

        Inside ``transaction()``, or with nothing pending, the query runs on the
        driver, as ``read_sql()`` does. ``None`` when the session holds work done
        outside ``transaction()``: a query through ``transaction()`` commits that
        work first (AiiDA's autocommit), and the caller should make that query.
        """
        database = self._database
        with database.lock:
            if not self._depth and self._session_work_outside_transaction(database):
                return None
            return database.read(sql, parameters)

    @staticmethod
    def _session_work_outside_transaction(database: Database) -> bool:
        """Whether the session holds work done outside ``transaction()``, which the next one commits first."""
        return database.session.in_transaction() or database.has_unsent_changes

    # ------------------------------------------------------------------ transactions

    @property
    def in_transaction(self) -> bool:
        """Whether the calling thread is inside ``transaction()``."""
        return self._depth > 0 and self._owner == threading.get_ident()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A transaction on the store, yielding the session.

        Blocks nest with savepoints: an inner block that fails rolls back only
        itself; an inner block that succeeds commits nothing until the
        outermost block ends, and an error in the outer block then undoes it.
        Other threads wait until the outermost block ends.
        """
        database = self._database
        with database.lock:
            session = database.session
            outermost = self._depth == 0
            if outermost and session.in_transaction():
                # Work done on the session outside any transaction() autocommits, as in AiiDA.
                self._commit(session)
            block = session.begin() if outermost else session.begin_nested()
            # The session begins lazily; raw driver work needs BEGIN/SAVEPOINT issued now.
            session.connection()
            self._depth += 1
            self._owner = threading.get_ident()
            try:
                yield session
            except BaseException:
                if block.is_active:
                    block.rollback()
                raise
            else:
                if outermost:
                    self._commit(session)
                else:
                    block.commit()
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._owner = None

    @contextmanager
    def raw_transaction(self) -> Iterator[sqlite3.Connection]:
        """A transaction for raw SQL writes, yielding the store's driver connection.

        All the block's writes happen, or none do. Inside ``transaction()`` (or
        with ORM work not yet committed) the block is nested in it, as a savepoint.
        Otherwise the block is a transaction of its own, begun and committed on
        the driver: a session transaction costs ~0.2 ms of SQLAlchemy's
        bookkeeping, several times the writes of storing a node. The block must
        not use the session; ORM objects are expired after it.
        """
        database = self._database
        with database.lock:
            session = database.session
            if self._depth or self._session_work_outside_transaction(database):
                with self.transaction() as joined:
                    connection = joined.connection().connection.dbapi_connection
                    yield cast("sqlite3.Connection", connection)
            else:
                yield from self._driver_transaction(database.dbapi_connection)
            if session.identity_map:
                # Raw writes bypass the ORM: objects it caches may now be stale.
                session.expire_all()

    def _driver_transaction(self, connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        connection.execute("BEGIN")
        self._depth += 1
        self._owner = threading.get_ident()
        try:
            yield connection
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        else:
            try:
                connection.execute("COMMIT")  # deferred foreign keys are checked here
            except driver.DatabaseError as error:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise IntegrityError(f"the transaction could not be committed: {error}") from error
        finally:
            self._depth -= 1
            self._owner = None

    @staticmethod
    def _commit(session: Session) -> None:
        try:
            session.commit()
        except sa.exc.DBAPIError as error:
            session.rollback()
            raise IntegrityError(f"the transaction could not be committed: {error.orig}") from error

    # ------------------------------------------------------------------ bulk operations

    def bulk_insert(
        self, entity_type: EntityTypes | str, rows: Iterable[Mapping[str, Any]], allow_defaults: bool = False
    ) -> list[int]:
        """Insert rows of one entity type; return their new ids in row order.

        Each row is a dict of column values. With ``allow_defaults=False`` it
        must name every column but ``id``; otherwise missing columns take their
        defaults. The dicts are not changed. All rows go in, or none do.
        """
        spec = row_spec(_entity_type(entity_type))
        values = spec.insert_values(rows, allow_defaults=allow_defaults)
        if not values:
            return []
        nested = self.in_transaction
        with self.transaction() as session, self._savepoint(session, spec.entity_type.value, needed=nested):
            connection = self._database.dbapi_connection
            self._check_foreign_keys(connection, spec, values)
            start = connection.execute(f"SELECT COALESCE(MAX(id), 0) FROM {spec.table}").fetchone()[0] + 1
            ids = list(range(start, start + len(values)))
            connection.executemany(
                spec.insert_sql(), [(pk, *row) for pk, row in zip(ids, values, strict=True)]
            )
        return ids

    def bulk_update(self, entity_type: EntityTypes | str, rows: Iterable[Mapping[str, Any]]) -> None:
        """Update rows of one entity type; each row has ``id`` and the columns to change.

        ``mtime`` is bumped where the table has one. An unknown id raises
        ``NotExistent`` naming it, and nothing is changed.
        """
        spec = row_spec(_entity_type(entity_type))
        groups = spec.update_values(rows)
        if not groups:
            return
        nested = self.in_transaction
        with self.transaction() as session, self._savepoint(session, spec.entity_type.value, needed=nested):
            connection = self._database.dbapi_connection
            ids = [row[-1] for group in groups.values() for row in group]
            absent = missing_ids(connection, spec.table, ids)
            if absent:
                raise NotExistent(f"{spec.entity_type.value}: no rows with ids {describe_values(absent)}")
            for columns, group in groups.items():
                self._check_foreign_keys(connection, spec, group, columns)
                connection.executemany(spec.update_sql(columns), group)

    @contextmanager
    def _savepoint(self, session: Session, entity: str, *, needed: bool = True) -> Iterator[None]:
        """Run raw driver work in a savepoint: on failure the store is as before, with a clear error.

        ``needed=False`` when the caller opened the outermost transaction itself: its
        rollback already undoes everything, and a savepoint would only cost time.
        """
        nested = session.begin_nested() if needed else None
        session.connection()
        try:
            yield
        except BaseException as error:
            if nested is not None:
                nested.rollback()
            if isinstance(error, sa.exc.DBAPIError | driver.DatabaseError):
                raise IntegrityError(f"{entity}: {getattr(error, 'orig', error)}") from error
            raise
        else:
            if nested is not None:
                nested.commit()
        # Raw writes bypass the ORM: cached objects may now be stale.
        if session.identity_map:
            session.expire_all()

    @staticmethod
    def _check_foreign_keys(
        connection: Any, spec: Any, values: list[tuple[Any, ...]], columns: tuple[str, ...] | None = None
    ) -> None:
        names = spec.columns if columns is None else columns
        for foreign_key in spec.foreign_keys:
            if foreign_key.column not in names:
                continue
            position = names.index(foreign_key.column)
            absent = missing_ids(connection, foreign_key.table, (row[position] for row in values))
            if absent:
                raise IntegrityError(
                    f"{spec.entity_type.value}: {foreign_key.column} refers to rows that do not exist "
                    f"in {foreign_key.table}: {describe_values(absent)}"
                )

    def delete_nodes_and_connections(self, pks_to_delete: Iterable[int]) -> None:
        """Delete nodes with their group memberships and every link to or from them.

        Must run inside ``transaction()``; comments and logs of the nodes go with them.
        """
        if not self.in_transaction:
            raise AssertionError("delete_nodes_and_connections() must be called inside transaction()")
        pks = sorted(set(pks_to_delete))
        if not pks:
            return
        session = self._database.session
        with self._savepoint(session, EntityTypes.NODE.value):
            connection = self._database.dbapi_connection
            payload = (json.dumps(pks),)
            selection = "(SELECT value FROM json_each(?))"
            connection.execute(f"DELETE FROM db_dbgroup_dbnodes WHERE dbnode_id IN {selection}", payload)
            connection.execute(
                f"DELETE FROM db_dblink WHERE input_id IN {selection} OR output_id IN {selection}",
                payload * 2,
            )
            connection.execute(f"DELETE FROM db_dbnode WHERE id IN {selection}", payload)

    # ------------------------------------------------------------------ global variables

    def get_global_variable(self, key: str) -> Any:
        """The value stored under ``key``; ``NotExistent`` (a ``KeyError``) when there is none."""
        with self.transaction():
            row = self._database.dbapi_connection.execute(
                "SELECT val FROM db_dbsetting WHERE key = ?", (key,)
            ).fetchone()
        if row is None:
            raise NotExistent(f"no global variable {key!r}")
        return _read_setting_value(row[0])

    def set_global_variable(
        self, key: str, value: Any, description: str | None = None, overwrite: bool = True
    ) -> None:
        """Store ``value`` under ``key``; ``ValueError`` if it exists and ``overwrite`` is false."""
        try:
            json.dumps(value)
        except (TypeError, ValueError) as error:
            raise IntegrityError(
                f"global variable {key!r}: the value is not JSON-serialisable: {error}"
            ) from None
        # Raw SQL: the ORM's select-add-flush costs several times more, on a call tests make often.
        with self.transaction():
            connection = self._database.dbapi_connection
            if (
                not overwrite
                and connection.execute("SELECT 1 FROM db_dbsetting WHERE key = ?", (key,)).fetchone()
            ):
                raise ValueError(f"the global variable {key!r} already exists")
            connection.execute(
                "INSERT INTO db_dbsetting (key, val, description, time) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET val = excluded.val, time = excluded.time, "
                "description = CASE WHEN ? THEN excluded.description ELSE description END",
                (
                    key,
                    _write_setting_value(value),
                    description or "",
                    _write_time(utc_now()),
                    description is not None,
                ),
            )

    # ------------------------------------------------------------------ information and maintenance

    def get_info(self, detailed: bool = False) -> dict[str, Any]:
        """Counts of every entity, the repository's figures, and with ``detailed`` what the rows hold."""
        with self.transaction() as session:
            connection = session.connection()
            counts = connection.exec_driver_sql(
                "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {table})" for table in _COUNTED_TABLES.values())
            ).one()
            entities: dict[str, dict[str, Any]] = {
                name: {"count": count} for name, count in zip(_COUNTED_TABLES, counts, strict=True)
            }
            if detailed:

                def column(sql: str) -> list[Any]:
                    return [row[0] for row in connection.exec_driver_sql(sql)]

                entities["Users"]["emails"] = column("SELECT email FROM db_dbuser ORDER BY email")
                entities["Computers"]["labels"] = column("SELECT label FROM db_dbcomputer ORDER BY label")
                entities["Groups"]["type_strings"] = column(
                    "SELECT DISTINCT type_string FROM db_dbgroup ORDER BY type_string"
                )
                entities["Nodes"]["node_types"] = column(
                    "SELECT DISTINCT node_type FROM db_dbnode ORDER BY node_type"
                )
                entities["Nodes"]["process_types"] = column(
                    "SELECT DISTINCT process_type FROM db_dbnode WHERE process_type IS NOT NULL "
                    "ORDER BY process_type"
                )
                first, last = session.execute(
                    sa.select(sa.func.min(DbNode.ctime), sa.func.max(DbNode.ctime))
                ).one()
                entities["Nodes"]["first_created"] = first
                entities["Nodes"]["last_created"] = last
        return {"entities": entities, "repository": self.get_repository().get_info(detailed)}

    def maintain(self, dry_run: bool = False, live: bool = True, **kwargs: Any) -> dict[str, Any]:
        """Check the repository and report objects that no node refers to.

        Every object is re-hashed; objects referenced by nodes but absent and
        objects present but unreferenced are reported. Only with
        ``dry_run=False`` and ``live=False`` are unreferenced objects removed.
        Returns the report; it is also logged.
        """
        repository = self.get_repository()
        with self.transaction() as session:
            metadata = session.execute(
                sa.text("SELECT repository_metadata FROM db_dbnode WHERE repository_metadata != '{}'")
            ).scalars()
            referenced = referenced_keys(metadata)
        present = set(repository.list_objects())
        unreferenced = sorted(present - referenced)
        report: dict[str, Any] = {
            "unreferenced": unreferenced,
            "missing": sorted(referenced - present),
            "removed": [],
        }
        remove = not dry_run and not live
        if remove and unreferenced:
            repository.delete_objects(unreferenced)
            report["removed"] = unreferenced
        report["repository"] = repository.maintain(dry_run=not remove, live=not remove, **kwargs)
        LOGGER.info(
            "maintain: %d unreferenced objects (%d removed), %d referenced objects missing",
            len(unreferenced),
            len(report["removed"]),
            len(report["missing"]),
        )
        return report

    # ------------------------------------------------------------------ reset, snapshot and restore

    def _clear(self) -> None:
        """Empty every table and the repository, then store the default user again; the store stays open."""
        database = self._database
        with database.lock:
            self._require_no_transaction("_clear()")
            database.reset()
            self._default_user_id = self._insert_default_user()
            self.get_repository().clear()

    def snapshot(self) -> StoreSnapshot:
        """A cheap copy of the committed database and of the repository, for ``restore()``."""
        database = self._database
        with database.lock:
            self._require_no_transaction("snapshot()")
            if database.session.in_transaction():
                self._commit(database.session)
            email = self._profile.default_user_email
            return StoreSnapshot(
                database.snapshot(), self.get_repository().snapshot(), email, self._find_user(email)
            )

    def restore(self, snapshot: StoreSnapshot) -> None:
        """Bring rows and objects back exactly as they were at ``snapshot()``.

        Uncommitted work on the session is dropped. The snapshot may come from
        another store; its objects are then linked into this store's repository.
        """
        if not isinstance(snapshot, StoreSnapshot):
            raise InputValidationError(f"restore() takes a StoreSnapshot, not {type(snapshot).__name__}")
        database = self._database
        with database.lock:
            self._require_no_transaction("restore()")
            self.get_repository().restore(snapshot.repository)
            database.restore(snapshot.database)
            email = self._profile.default_user_email
            user_id = (
                snapshot.default_user_id if snapshot.default_user_email == email else self._find_user(email)
            )
            self._default_user_id = user_id if user_id is not None else self._insert_default_user()

    def _find_user(self, email: str) -> int | None:
        row = self._database.dbapi_connection.execute(
            "SELECT id FROM db_dbuser WHERE email = ?", (email,)
        ).fetchone()
        return None if row is None else int(row[0])

    def write_database(self, target: str | os.PathLike[str]) -> None:
        """Write the committed database to an SQLite file at ``target`` (which must not exist yet).

        The file holds the ten tables of the archive format and nothing else,
        so it can serve as an archive's ``db.sqlite3`` as it is. If it cannot be
        written (a full disk, an unwritable folder), ``UnreachableStorage`` and no file.
        """
        database = self._database
        path = Path(target)
        if path.exists():
            raise FileExistsError(f"{path} already exists")
        with database.lock:
            self._require_no_transaction("write_database()")
            if database.session.in_transaction():
                self._commit(database.session)
            try:
                destination = driver.connect(str(path))
                try:
                    database.dbapi_connection.backup(destination)
                    write_json_as_text(destination)
                finally:
                    destination.close()
            except BaseException as error:
                # A full disk or an unwritable folder: no partial file is left, and the error is ours.
                with contextlib.suppress(OSError):
                    path.unlink()
                if isinstance(error, driver.Error):
                    raise UnreachableStorage(f"cannot write the database to {path}: {error}") from error
                raise

    def _require_no_transaction(self, operation: str) -> None:
        if self._depth > 0:
            raise StorageBusy(f"{operation} cannot run inside transaction()")
