"""Checking and converting the rows given to ``bulk_insert`` and ``bulk_update``.

Rows go to SQLite through the raw driver's ``executemany`` (several times faster
than SQLAlchemy's executemany), so this module does in plain Python what the ORM
would otherwise do: check the keys, fill defaults and turn values into what the
columns store, with SQLAlchemy's own bind processors so that every value is
written exactly as the ORM writes it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from ..exceptions import IntegrityError
from .models import MODEL_BY_ENTITY_TYPE, is_jsonb, utc_now

if TYPE_CHECKING:
    import sqlite3

    from .entity_types import EntityTypes

__all__ = [
    "ForeignKey",
    "RowSpec",
    "column_reader",
    "column_writer",
    "describe_values",
    "missing_ids",
    "row_spec",
    "selected_value",
    "table_column_reader",
    "value_placeholder",
]

_DIALECT = sqlite.dialect()
_NO_VALUE = object()

Converter = Callable[[Any], Any] | None


@dataclass(frozen=True)
class ForeignKey:
    """A column that must name an existing row of another table."""

    column: str
    table: str
    nullable: bool


@dataclass(frozen=True)
class RowSpec:
    """What rows of one entity type must look like, and how they are written."""

    entity_type: EntityTypes
    table: str
    columns: tuple[str, ...]
    column_set: frozenset[str]
    converters: tuple[Converter, ...]
    # The SQL that stands for each column's value: ``?``, or ``jsonb(?)`` for a JSONB column.
    placeholders: tuple[str, ...]
    defaults: Mapping[str, Callable[[], Any]]
    foreign_keys: tuple[ForeignKey, ...]
    has_mtime: bool

    def insert_sql(self) -> str:
        names = ", ".join(f'"{name}"' for name in ("id", *self.columns))
        marks = ", ".join(("?", *self.placeholders))
        return f"INSERT INTO {self.table} ({names}) VALUES ({marks})"

    def update_sql(self, columns: tuple[str, ...]) -> str:
        assignments = ", ".join(f'"{name}" = {self.placeholder(name)}' for name in columns)
        return f"UPDATE {self.table} SET {assignments} WHERE id = ?"

    def placeholder(self, column: str) -> str:
        """The SQL that stands for ``column``'s value in a statement."""
        return self.placeholders[self.columns.index(column)]

    def insert_values(self, rows: Iterable[object], *, allow_defaults: bool) -> list[tuple[Any, ...]]:
        """Check every row, then convert it to a tuple in column order (without the id)."""
        values = []
        for index, row in enumerate(rows):
            mapping = self._as_mapping(row, index)
            keys = mapping.keys()
            if allow_defaults:
                unknown = keys - self.column_set
                if unknown:
                    raise self._key_error(index, unknown=unknown)
            elif keys != self.column_set:
                raise self._key_error(index, unknown=keys - self.column_set, missing=self.column_set - keys)
            values.append(self._convert(mapping, index, allow_defaults=allow_defaults))
        return values

    def update_values(self, rows: Iterable[object]) -> dict[tuple[str, ...], list[tuple[Any, ...]]]:
        """Check every row; group the converted values by the columns each row sets (id last)."""
        groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for index, row in enumerate(rows):
            mapping = self._as_mapping(row, index)
            if "id" not in mapping:
                raise IntegrityError(f"{self.entity_type.value}: row {index} has no 'id'")
            pk = mapping["id"]
            if not isinstance(pk, int) or isinstance(pk, bool):
                raise IntegrityError(f"{self.entity_type.value}: row {index} has a non-integer id {pk!r}")
            columns = tuple(name for name in self.columns if name in mapping)
            unknown = mapping.keys() - self.column_set - {"id"}
            if unknown:
                raise self._key_error(index, unknown=unknown)
            if self.has_mtime and "mtime" not in mapping:
                columns = (*columns, "mtime")
                mapping = {**mapping, "mtime": utc_now()}
            converted = tuple(self._convert_value(name, mapping[name], index) for name in columns)
            groups.setdefault(columns, []).append((*converted, pk))
        return groups

    def _as_mapping(self, row: object, index: int) -> Mapping[str, Any]:
        if not isinstance(row, Mapping):
            kind = type(row).__name__
            raise IntegrityError(f"{self.entity_type.value}: row {index} is a {kind}, not a dict of values")
        return row

    def _key_error(
        self, index: int, *, unknown: Iterable[str] = (), missing: Iterable[str] = ()
    ) -> IntegrityError:
        parts = []
        if unknown:
            parts.append(f"unknown keys {sorted(map(str, unknown))}")
        if missing:
            parts.append(f"missing keys {sorted(missing)}")
        return IntegrityError(
            f"{self.entity_type.value}: row {index} has {' and '.join(parts)}; "
            f"the columns are {list(self.columns)}"
        )

    def _convert(self, row: Mapping[str, Any], index: int, *, allow_defaults: bool) -> tuple[Any, ...]:
        try:
            if not allow_defaults:
                return tuple(
                    [
                        value if convert is None else convert(value)
                        for value, convert in zip(
                            map(row.__getitem__, self.columns), self.converters, strict=True
                        )
                    ]
                )
            converted = []
            for name, convert in zip(self.columns, self.converters, strict=True):
                value = row.get(name, _NO_VALUE)
                if value is _NO_VALUE:
                    factory = self.defaults.get(name)
                    if factory is None:
                        raise IntegrityError(
                            f"{self.entity_type.value}: row {index} lacks {name!r}, which has no default"
                        )
                    value = factory()
                converted.append(value if convert is None else convert(value))
            return tuple(converted)
        except (TypeError, ValueError, AttributeError) as error:
            if isinstance(error, IntegrityError):
                raise
            # Find the culprit column for the message; the fast path above does not track it.
            for name in self.columns:
                if name in row:
                    self._convert_value(name, row[name], index)
            raise IntegrityError(f"{self.entity_type.value}: row {index}: {error}") from error

    def _convert_value(self, name: str, value: Any, index: int) -> Any:
        convert = self.converters[self.columns.index(name)]
        if convert is None:
            return value
        try:
            return convert(value)
        except (TypeError, ValueError, AttributeError) as error:
            raise IntegrityError(
                f"{self.entity_type.value}: row {index}: column {name!r} cannot store {value!r}: {error}"
            ) from error


def _default_factory(column: sa.Column[Any]) -> Callable[[], Any] | None:
    default = column.default
    if not isinstance(default, sa.ColumnDefault):
        return (lambda: None) if column.nullable else None
    if default.is_scalar:
        return lambda: default.arg
    if default.is_callable:
        # SQLAlchemy wraps zero-argument callables into ones that take an execution context.
        return functools.partial(default.arg, None)
    return None


@functools.cache
def row_spec(entity_type: EntityTypes) -> RowSpec:
    """The row rules of one entity type, computed once per process."""
    table = MODEL_BY_ENTITY_TYPE[entity_type].__table__
    assert isinstance(table, sa.Table)
    columns = tuple(column for column in table.columns if column.name != "id")
    converters = tuple(column.type.dialect_impl(_DIALECT).bind_processor(_DIALECT) for column in columns)
    defaults = {
        column.name: factory for column in columns if (factory := _default_factory(column)) is not None
    }
    foreign_keys = tuple(
        ForeignKey(column.name, next(iter(column.foreign_keys)).column.table.name, bool(column.nullable))
        for column in columns
        if column.foreign_keys
    )
    return RowSpec(
        entity_type=entity_type,
        table=table.name,
        columns=tuple(column.name for column in columns),
        column_set=frozenset(column.name for column in columns),
        converters=converters,
        placeholders=tuple(value_placeholder(column) for column in columns),
        defaults=defaults,
        foreign_keys=foreign_keys,
        has_mtime="mtime" in table.columns,
    )


def value_placeholder(column: sa.ColumnElement[Any]) -> str:
    """How raw SQL passes a value to ``column``: ``jsonb(?)`` for a JSONB column, else ``?``."""
    return "jsonb(?)" if is_jsonb(column) else "?"


def selected_value(column: sa.Column[Any]) -> str:
    """How raw SQL selects ``column`` so that its reader gets what the ORM gets: JSONB as JSON text."""
    return f'json("{column.name}")' if is_jsonb(column) else f'"{column.name}"'


def missing_ids(connection: sqlite3.Connection, table: str, ids: Iterable[Any]) -> list[Any]:
    """The values of ``ids`` that are not an ``id`` of ``table``, in one query however many there are."""
    wanted = {value for value in ids if value is not None}
    if not wanted:
        return []
    not_integers = [value for value in wanted if not isinstance(value, int) or isinstance(value, bool)]
    if not_integers:
        return sorted(not_integers, key=repr)
    rows = connection.execute(
        f"SELECT j.value FROM json_each(?) AS j LEFT JOIN {table} AS t ON t.id = j.value "
        "WHERE t.id IS NULL ORDER BY j.value",
        (json.dumps(sorted(wanted)),),
    )
    return [row[0] for row in rows]


def describe_values(values: list[Any], limit: int = 10) -> str:
    """A short listing of values for an error message."""
    shown = ", ".join(map(repr, values[:limit]))
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def column_writer(model: type[Any], column: str) -> Callable[[Any], Any]:
    """How the ORM turns a Python value into what ``model``'s ``column`` stores, for raw SQL writes."""
    table = model.__table__
    assert isinstance(table, sa.Table)
    convert = table.columns[column].type.dialect_impl(_DIALECT).bind_processor(_DIALECT)
    return _unchanged if convert is None else convert


def column_reader(model: type[Any], column: str) -> Callable[[Any], Any]:
    """How the ORM turns what ``model``'s ``column`` stores into a Python value, for raw SQL reads."""
    table = model.__table__
    assert isinstance(table, sa.Table)
    return table_column_reader(table, column)


def table_column_reader(table: sa.Table, column: str) -> Callable[[Any], Any]:
    """Like ``column_reader``, for a Core table and the key of one of its columns."""
    # The dialect's own type (e.g. SQLite's DATETIME) does the text conversion; the bare type does not.
    convert = table.c[column].type.dialect_impl(_DIALECT).result_processor(_DIALECT, None)
    return _unchanged if convert is None else convert


def _unchanged(value: Any) -> Any:
    return value
