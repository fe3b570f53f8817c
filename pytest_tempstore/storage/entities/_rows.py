"""Single-row reads and writes on a store's tables, each in its own (possibly nested) transaction.

Entities keep nothing but their primary key once stored and read every value
through these helpers, so two handles on one row, ``bulk_update`` and
``restore()`` can never leave an entity showing stale values.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from ...exceptions import IntegrityError, NotExistent
from .. import driver
from ..rows import row_spec, selected_value, table_column_reader

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable, Mapping, Sequence

    from ..backend import SqliteTempBackend
    from ..entity_types import EntityTypes
    from ..models import Base

__all__ = ["delete_row", "fetch_values", "insert_row", "table_of", "update_row"]


def table_of(model: type[Base]) -> sa.Table:
    """The Core table of a model (column names are the database's, e.g. ``metadata``)."""
    table = model.__table__
    assert isinstance(table, sa.Table)
    return table


def fetch_values(
    backend: SqliteTempBackend, table: sa.Table, pk: int, columns: Sequence[str]
) -> tuple[Any, ...]:
    """The values of ``columns`` in the row ``pk``; ``NotExistent`` when the row is gone.

    A raw read converted by the ORM's own result processors: entities read a
    column on every access, so this is the hottest path of the entity API.
    """
    sql, readers = _select_by_id(table, tuple(columns))
    rows = backend.read_sql(sql, (pk,))
    if not rows:
        raise NotExistent(f"no {table.name} row with id {pk} (it was deleted or the store was cleared)")
    return tuple(read(value) for read, value in zip(readers, rows[0], strict=True))


@functools.cache
def _select_by_id(table: sa.Table, columns: tuple[str, ...]) -> tuple[str, tuple[Callable[[Any], Any], ...]]:
    names = ", ".join(selected_value(table.c[name]) for name in columns)
    readers = tuple(table_column_reader(table, name) for name in columns)
    return f'SELECT {names} FROM "{table.name}" WHERE id = ?', readers


@functools.cache
def _insert_sql(entity_type: EntityTypes) -> str:
    spec = row_spec(entity_type)
    return (
        f"INSERT INTO {spec.table} ({', '.join(f'{name!r}' for name in spec.columns)}) "
        f"VALUES ({', '.join(spec.placeholders)})"
    )


def insert_row(connection: sqlite3.Connection, entity_type: EntityTypes, values: Mapping[str, Any]) -> int:
    """Insert one row (column defaults fill the rest) on the driver's connection; return its id.

    Run it inside ``raw_transaction()``. The row goes through the driver
    directly, converted by the same rules as ``bulk_insert``: a new entity costs
    one statement, not an ORM flush.
    """
    spec = row_spec(entity_type)
    (converted,) = spec.insert_values([values], allow_defaults=True)
    try:
        cursor = connection.execute(_insert_sql(entity_type), converted)
    except driver.DatabaseError as error:
        raise IntegrityError(f"{entity_type.value}: {error}") from None
    assert cursor.lastrowid is not None
    return int(cursor.lastrowid)


def update_row(backend: SqliteTempBackend, table: sa.Table, pk: int, values: Mapping[str, Any]) -> None:
    """Change columns of the row ``pk`` (``mtime`` is bumped where the table has one)."""
    with backend.transaction() as session:
        result = session.execute(sa.update(table).where(table.c.id == pk).values(dict(values)))
        if result.rowcount == 0:  # type: ignore[attr-defined]
            raise NotExistent(f"no {table.name} row with id {pk} (it was deleted or the store was cleared)")


def delete_row(backend: SqliteTempBackend, table: sa.Table, pk: int) -> None:
    """Delete the row ``pk``; ``NotExistent`` when there is none."""
    with backend.transaction() as session:
        result = session.execute(sa.delete(table).where(table.c.id == pk))
        if result.rowcount == 0:  # type: ignore[attr-defined]
            raise NotExistent(f"no {table.name} row with id {pk}")
