"""The AiiDA storage backend of the AiiDA mode, registered as ``tempstore.sqlite_temp``.

It is aiida-core's in-memory SQLite storage (``core.sqlite_temp``) made fit for
test suites: the data lives in the profile's :class:`~.store.SharedStore`, so it
survives aiida closing and re-creating the backend; ``_clear()`` and
``delete_nodes_and_connections`` work; and the store can be captured and
restored in well under a millisecond.

A store exists only in the memory of the process that created the profile. A
daemon worker or ``verdi`` subprocess that loads the profile from the
configuration file gets :class:`~aiida.common.exceptions.UnreachableStorage`
with a message naming the mode, rather than an empty database of its own.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa
from aiida.common.exceptions import ClosedStorage, UnreachableStorage
from aiida.manage.configuration import Profile
from aiida.orm.implementation import StorageBackend
from aiida.storage.sqlite_temp.backend import SqliteTempBackend
from aiida.storage.sqlite_zip.models import DbGroupNodes, DbLink, DbNode, SqliteBase
from pydantic import BaseModel, Field

from .store import SharedStore, create_store, find_store

if TYPE_CHECKING:
    from collections.abc import Iterable

    from aiida.repository.backend.abstract import AbstractRepositoryBackend
    from sqlalchemy.orm import Session

__all__ = ["ENTRY_POINT_NAME", "TempStoreSqliteBackend"]

#: The name of the backend in the ``aiida.storage`` entry-point group.
ENTRY_POINT_NAME: Final = "tempstore.sqlite_temp"

#: SQLite's default limit of bound parameters per statement is 32766; stay well below it.
_DELETE_CHUNK: Final = 10_000

_MODE: Final = "pytest-tempstore's AiiDA mode (--tempstore-aiida)"


class TempStoreSqliteBackend(SqliteTempBackend):
    """aiida-core's in-memory SQLite storage, kept per profile for the whole process and resettable."""

    class CliModel(BaseModel):
        """The storage configuration of a profile."""

        filepath: str | None = Field(
            default=None,
            description="Folder of the file repository; a private temporary folder when not given.",
        )
        owner_pid: int | None = Field(
            default=None,
            description="The process whose memory holds the store; other processes cannot reach it.",
        )
        debug: bool = Field(default=False, description="Echo every SQL statement.")

    cli_exposed = False

    @staticmethod
    def create_profile(
        name: str = "temp",
        default_user_email: str = "user@email.com",
        options: dict[str, Any] | None = None,
        debug: bool = False,
        filepath: str | os.PathLike[str] | None = None,
    ) -> Profile:
        """A profile (not yet in any configuration) that uses this backend and no broker."""
        return Profile(
            name,
            {
                "default_user_email": default_user_email,
                "storage": {
                    "backend": ENTRY_POINT_NAME,
                    "config": {
                        "filepath": None if filepath is None else os.fspath(filepath),
                        "owner_pid": os.getpid(),
                        "debug": debug,
                    },
                },
                "process_control": {"backend": None, "config": {}},
                "options": options or {},
            },
        )

    @classmethod
    def initialise(cls, profile: Profile, reset: bool = False) -> bool:
        """Create the profile's store in this process; with ``reset``, empty an existing one."""
        store = find_store(profile.uuid)
        if store is None:
            _create_store_for(profile)
            return True
        if reset:
            store.restore(store.empty)
            return True
        return False

    def __init__(self, profile: Profile) -> None:
        # The parent's constructor would build a private database and sandbox; this backend borrows
        # the profile's store instead, so only the generic part of the set-up runs.
        StorageBackend.__init__(self, profile)
        self._store = _store_for(profile)
        self._closed = False

    def __str__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"TempStore SQLite storage (in memory) [{state}], repository: {self._store.repository}"

    @property
    def store(self) -> SharedStore:
        """The profile's store, shared with every other backend instance of the profile."""
        return self._store

    @property
    def is_closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Close this backend instance; the store and its committed data stay for the next one.

        Uncommitted work is dropped and the session forgets its ORM objects, so that
        entities loaded through this instance stop working, as with aiida's own storages.
        """
        if not self._closed:
            self._closed = True
            self._store.renew_session()

    def get_session(self) -> Session:
        if self._closed:
            raise ClosedStorage(str(self))
        return self._store.session

    def get_repository(self) -> AbstractRepositoryBackend:  # type: ignore[override]
        # The parent declares aiida's own sandbox class; ours has the same interface and an O(1) index.
        if self._closed:
            raise ClosedStorage(str(self))
        return self._store.aiida_repository

    def get_global_variable(self, key: str) -> Any:
        return self._store.global_variables[key][0]

    def set_global_variable(
        self, key: str, value: Any, description: str | None = None, overwrite: bool = True
    ) -> None:
        if not overwrite and key in self._store.global_variables:
            raise ValueError(f"global variable {key} already exists")
        self._store.global_variables[key] = (value, description)

    def _clear(self) -> None:
        """Remove all data: rows, repository objects and global variables (the tables stay)."""
        if self._closed:
            raise ClosedStorage(str(self))
        StorageBackend._clear(self)  # forgets the cached default user and starts a new autogroup
        self._store.restore(self._store.empty)

    def delete(self) -> None:
        """Delete all data of the store; the profile can go on using it."""
        self._store.restore(self._store.empty)

    def maintain(self, full: bool = False, dry_run: bool = False, **kwargs: Any) -> None:
        """Unlink the files of deleted repository objects (nothing else needs maintenance)."""
        if not dry_run:
            self._store.repository.maintain(dry_run=dry_run, live=not full)

    def delete_nodes_and_connections(self, pks_to_delete: Iterable[int]) -> None:
        """Delete the nodes, their links in both directions and their group memberships.

        Like aiida's other storages, it must run inside a transaction; comments and logs of the
        nodes go with them through the schema's cascading foreign keys.
        """
        if not self.in_transaction:
            raise AssertionError("Cannot delete nodes and links outside a transaction")
        pks = list(pks_to_delete)
        tables = SqliteBase.metadata.tables
        memberships, links, nodes = tables["db_dbgroup_dbnodes"], tables["db_dblink"], tables["db_dbnode"]
        deletions = (
            (DbGroupNodes, memberships.c.dbnode_id),
            (DbLink, links.c.input_id),
            (DbLink, links.c.output_id),
            (DbNode, nodes.c.id),
        )
        session = self.get_session()
        for start in range(0, len(pks), _DELETE_CHUNK):
            chunk = pks[start : start + _DELETE_CHUNK]
            for model, column in deletions:
                # "fetch": the session forgets the deleted objects, as in aiida's other storages.
                statement = sa.delete(model).where(column.in_(chunk))
                session.execute(statement.execution_options(synchronize_session="fetch"))


def _create_store_for(profile: Profile) -> SharedStore:
    config = profile.storage_config
    return create_store(
        profile.uuid, repository_folder=config.get("filepath"), echo=bool(config.get("debug"))
    )


def _store_for(profile: Profile) -> SharedStore:
    """The profile's store; created on first use unless the profile belongs to another process."""
    store = find_store(profile.uuid)
    if store is not None:
        return store
    owner = profile.storage_config.get("owner_pid")
    if owner is not None and owner != os.getpid():
        raise UnreachableStorage(
            f"the storage of profile {profile.name!r} lives in the memory of process {owner}, "
            f"the test run of {_MODE}; a daemon worker or `verdi` subprocess cannot reach it"
        )
    return _create_store_for(profile)
