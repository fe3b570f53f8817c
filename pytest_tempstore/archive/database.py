"""An archive's ``db.sqlite3``, extracted into a private temporary folder and checked.

The copy is the only file an import writes outside the store, and it is
removed when the :class:`ArchiveDatabase` closes, whatever happened. Rows are
read in batches and decoded into the Python values ``bulk_insert`` takes.
"""

from __future__ import annotations

import functools
import json
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa

from ..exceptions import ArchiveError
from ..storage.entity_types import EntityTypes
from ..storage.models import MODEL_BY_ENTITY_TYPE, UTCDateTime, is_json
from .format import DATABASE_NAME

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from .source import ArchiveSource

__all__ = ["ArchiveDatabase", "TableReader", "decode_json", "table_reader"]

BATCH_SIZE: Final = 5000

#: Columns that ``main_0000`` archives may hold as NULL, and the values that
#: later versions put there instead (``None`` means: the current time).
_NULL_DEFAULTS: Final[dict[str, dict[str, str | None]]] = {
    "db_dbauthinfo": {"enabled": "1", "auth_params": "'{}'", "metadata": "'{}'"},
    "db_dbcomment": {"content": "''", "ctime": None, "mtime": None},
    "db_dbcomputer": {
        "description": "''",
        "hostname": "''",
        "metadata": "'{}'",
        "scheduler_type": "''",
        "transport_type": "''",
    },
    "db_dbgroup": {"description": "''", "time": None, "type_string": "'core'"},
    "db_dblog": {"levelname": "''", "loggername": "''", "message": "''", "metadata": "'{}'", "time": None},
    "db_dbnode": {"ctime": None, "description": "''", "label": "''", "mtime": None},
    "db_dbuser": {"first_name": "''", "last_name": "''", "institution": "''"},
}
#: Rows that ``main_0000`` archives may hold without an owner; later versions drop them.
_ORPHAN_FILTERS: Final = {
    "db_dbauthinfo": "aiidauser_id IS NULL OR dbcomputer_id IS NULL",
    "db_dbcomment": "dbnode_id IS NULL OR user_id IS NULL",
}


def decode_json(value: Any) -> Any:
    """The Python value of a JSON column; ``ArchiveError`` for malformed JSON."""
    # JSON columns have numeric affinity: a top-level number comes back as a number.
    if not isinstance(value, str | bytes):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise ArchiveError(f"{DATABASE_NAME} holds malformed JSON: {value[:80]!r}") from None


def _decode_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            raise ArchiveError(f"{DATABASE_NAME} holds a malformed time {value!r}") from None
    # Archive times are UTC; an explicit offset is honoured.
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def _decode_bool(value: Any) -> bool:
    return bool(value)


@dataclass(frozen=True)
class TableReader:
    """How to read the rows of one table: its columns and a decoder per column."""

    entity_type: EntityTypes
    table: str
    columns: tuple[str, ...]
    decoders: tuple[Callable[[Any], Any] | None, ...]

    def decode(self, row: tuple[Any, ...]) -> dict[str, Any]:
        """One raw row (``id`` first) as a dict of column values without ``id``."""
        return {
            name: value if decode is None or value is None else decode(value)
            for name, value, decode in zip(self.columns, row[1:], self.decoders, strict=True)
        }


@functools.cache
def table_reader(entity_type: EntityTypes) -> TableReader:
    """The reader of one entity type's table, built from the store's models."""
    table = MODEL_BY_ENTITY_TYPE[entity_type].__table__
    assert isinstance(table, sa.Table)
    columns = tuple(column for column in table.columns if column.name != "id")
    decoders: list[Callable[[Any], Any] | None] = []
    for column in columns:
        if is_json(column):
            decoders.append(decode_json)
        elif isinstance(column.type, UTCDateTime):
            decoders.append(_decode_time)
        elif isinstance(column.type, sa.Boolean):
            decoders.append(_decode_bool)
        else:
            decoders.append(None)
    return TableReader(entity_type, table.name, tuple(column.name for column in columns), tuple(decoders))


class ArchiveDatabase:
    """A private, checked copy of an archive's ``db.sqlite3``, upgraded to ``main_0001`` values.

    Use it as a context manager; the copy is deleted on exit.
    """

    def __init__(self, source: ArchiveSource, version: str) -> None:
        self._where = f"{source.path}: {DATABASE_NAME}"
        self._folder = Path(tempfile.mkdtemp(prefix="tempstore-archive-"))
        self._connection: sqlite3.Connection | None = None
        try:
            path = self._folder / DATABASE_NAME
            source.copy_database(path)
            self._connection = sqlite3.connect(path)
            self._check()
            if version in ("main_0000", "main_0000a"):
                self._fill_nulls()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> ArchiveDatabase:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection and delete the copy. Idempotent."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        shutil.rmtree(self._folder, ignore_errors=True)

    @property
    def connection(self) -> sqlite3.Connection:
        assert self._connection is not None, "the archive database is closed"
        return self._connection

    def _check(self) -> None:
        try:
            verdict = self.connection.execute("PRAGMA quick_check").fetchone()
            if verdict is None or verdict[0] != "ok":
                raise ArchiveError(f"{self._where} is corrupt: {verdict[0] if verdict else 'no verdict'}")
            for entity_type in EntityTypes:
                reader = table_reader(entity_type)
                present = {row[1] for row in self.connection.execute(f"PRAGMA table_info({reader.table})")}
                if not present:
                    raise ArchiveError(f"{self._where} has no table {reader.table}")
                missing = sorted({"id", *reader.columns} - present)
                if missing:
                    raise ArchiveError(f"{self._where}: table {reader.table} lacks the columns {missing}")
        except sqlite3.DatabaseError as error:
            raise ArchiveError(f"{self._where} is not a valid SQLite database: {error}") from error

    def _fill_nulls(self) -> None:
        now = f"'{datetime.now(UTC).replace(tzinfo=None).isoformat(sep=' ')}'"
        with self.connection:
            for table, condition in _ORPHAN_FILTERS.items():
                self.connection.execute(f"DELETE FROM {table} WHERE {condition}")
            for table, defaults in _NULL_DEFAULTS.items():
                for column, default in defaults.items():
                    value = now if default is None else default
                    self.connection.execute(f"UPDATE {table} SET {column} = {value} WHERE {column} IS NULL")

    def count(self, entity_type: EntityTypes) -> int:
        """The number of rows of one entity type."""
        row = self.connection.execute(f"SELECT COUNT(*) FROM {table_reader(entity_type).table}").fetchone()
        return int(row[0])

    def scalar_column(self, sql: str) -> Iterator[Any]:
        """The first column of a query's rows, fetched in batches."""
        cursor = self.connection.execute(sql)
        while batch := cursor.fetchmany(BATCH_SIZE):
            for row in batch:
                yield row[0]

    def batches(self, entity_type: EntityTypes) -> Iterator[list[tuple[Any, ...]]]:
        """The raw rows of one entity type (``id`` first, then the reader's columns), in batches."""
        reader = table_reader(entity_type)
        names = ", ".join(f'"{name}"' for name in ("id", *reader.columns))
        try:
            cursor = self.connection.execute(f"SELECT {names} FROM {reader.table} ORDER BY id")
            while batch := cursor.fetchmany(BATCH_SIZE):
                yield batch
        except sqlite3.DatabaseError as error:
            raise ArchiveError(f"{self._where}: table {reader.table} cannot be read: {error}") from error
