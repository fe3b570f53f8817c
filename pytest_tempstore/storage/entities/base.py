"""What every entity shares: identity, storing, and reading its columns; and the collections on a store.

An entity is *unstored* (its values live in the object) until ``store()``;
afterwards it keeps only its primary key and reads every value from the
database, so it always shows the row as it is now.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar

import sqlalchemy as sa

from ...exceptions import InputValidationError, MultipleObjectsError, NotExistent
from ._rows import delete_row, fetch_values, insert_row, table_of, update_row

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterator, Mapping

    from ..backend import SqliteTempBackend
    from ..entity_types import EntityTypes
    from ..models import Base

__all__ = ["Entity", "EntityCollection"]


class Entity:
    """Base of ``Node``, ``User``, ``Computer``, ``AuthInfo``, ``Group``, ``Comment`` and ``Log``."""

    entity_type: ClassVar[EntityTypes]
    model: ClassVar[type[Base]]
    # The attribute names users read, mapped to the database column behind each.
    _identity_column: ClassVar[str] = "uuid"

    def __init__(self, backend: SqliteTempBackend, values: Mapping[str, Any]) -> None:
        # Fail early on a closed store rather than at store().
        backend.get_session()
        self._backend = backend
        self._pk: int | None = None
        self._values: dict[str, Any] = dict(values)

    @classmethod
    def table(cls) -> sa.Table:
        """The Core table behind the entity."""
        return table_of(cls.model)

    @classmethod
    def from_pk(cls, backend: SqliteTempBackend, pk: int) -> Self:
        """A handle on the stored row ``pk``, unchecked: reading a missing row raises ``NotExistent``."""
        entity = cls.__new__(cls)
        entity._backend = backend
        entity._pk = pk
        entity._values = {}
        return entity

    # ------------------------------------------------------------------ identity

    @property
    def backend(self) -> SqliteTempBackend:
        """The store the entity belongs to."""
        return self._backend

    @property
    def pk(self) -> int | None:
        """The primary key; ``None`` until stored."""
        return self._pk

    @property
    def id(self) -> int | None:
        """Same as ``pk``."""
        return self._pk

    @property
    def is_stored(self) -> bool:
        """Whether the entity has a row in the database."""
        return self._pk is not None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Entity) or self._pk is None:
            return self is other
        return type(self) is type(other) and self._backend is other._backend and self._pk == other._pk

    def __hash__(self) -> int:
        return hash((type(self), id(self._backend), self._pk)) if self._pk is not None else id(self)

    def __repr__(self) -> str:
        state = f"pk={self._pk}" if self._pk is not None else "unstored"
        return f"<{type(self).__name__} {state}>"

    # ------------------------------------------------------------------ values

    def _get(self, column: str) -> Any:
        if self._pk is None:
            return self._values.get(column)
        return fetch_values(self._backend, self.table(), self._pk, (column,))[0]

    def _get_many(self, columns: tuple[str, ...]) -> tuple[Any, ...]:
        if self._pk is None:
            return tuple(self._values.get(column) for column in columns)
        return fetch_values(self._backend, self.table(), self._pk, columns)

    def _set(self, **values: Any) -> None:
        if self._pk is None:
            self._values.update(values)
        else:
            update_row(self._backend, self.table(), self._pk, values)

    def _require_stored(self, action: str) -> int:
        if self._pk is None:
            raise InputValidationError(f"{self!r} must be stored before {action}")
        return self._pk

    # ------------------------------------------------------------------ storing

    def _values_to_insert(self) -> dict[str, Any]:
        """The column values of the new row; subclasses check and complete them."""
        return dict(self._values)

    def _after_insert(self, connection: sqlite3.Connection) -> None:
        """Raw writes that need the new primary key (e.g. pending links), in the insert's transaction."""

    def store(self) -> Self:
        """Write the entity to the database (once; storing again does nothing) and return it."""
        if self._pk is not None:
            return self
        values = self._values_to_insert()
        try:
            with self._backend.raw_transaction() as connection:
                self._pk = insert_row(connection, self.entity_type, values)
                self._after_insert(connection)
        except BaseException:
            self._pk = None  # also when the commit fails (deferred foreign keys)
            raise
        self._values = {}
        return self


EntityT = TypeVar("EntityT", bound=Entity)


class EntityCollection(Generic[EntityT]):
    """The entities of one kind in a store: ``store.nodes``, ``store.users``, ...

    ``create(...)`` makes a new, unstored entity (call ``store()`` on it);
    ``get(pk=...)``/``get(uuid=...)`` finds a stored one.
    """

    def __init__(self, backend: SqliteTempBackend, entity_class: type[EntityT]) -> None:
        self._backend = backend
        self._entity_class = entity_class

    @property
    def entity_class(self) -> type[EntityT]:
        """The class of the entities in the collection."""
        return self._entity_class

    def __repr__(self) -> str:
        return f"<{self._entity_class.__name__} collection of {self._backend!r}>"

    def create(self, *args: Any, **kwargs: Any) -> EntityT:
        """A new unstored entity of the store; same arguments as the class, without the store."""
        return self._entity_class(self._backend, *args, **kwargs)

    def _where(self, filters: Mapping[str, Any]) -> list[sa.ColumnElement[bool]]:
        table = self._entity_class.table()
        clauses = []
        for name, value in filters.items():
            column_name = "id" if name == "pk" else name
            if column_name not in table.c:
                valid = ", ".join(["pk", *table.c.keys()])
                raise InputValidationError(
                    f"{self._entity_class.__name__} has no column {name!r}; valid columns are: {valid}"
                )
            clauses.append(table.c[column_name] == (value.pk if isinstance(value, Entity) else value))
        return clauses

    def _ids(self, filters: Mapping[str, Any], limit: int | None = None) -> list[int]:
        table = self._entity_class.table()
        statement = sa.select(table.c.id).where(*self._where(filters)).order_by(table.c.id).limit(limit)
        with self._backend.transaction() as session:
            return list(session.execute(statement).scalars())

    def get(self, **filters: Any) -> EntityT:
        """The one stored entity whose columns equal ``filters`` (e.g. ``pk=``, ``uuid=``, ``label=``).

        ``NotExistent`` when none matches, ``MultipleObjectsError`` when several do.
        """
        if not filters:
            raise InputValidationError("get() needs at least one filter, e.g. pk=... or uuid=...")
        ids = self._ids(filters, limit=2)
        name = self._entity_class.__name__
        if not ids:
            raise NotExistent(f"no {name} with {filters}")
        if len(ids) > 1:
            raise MultipleObjectsError(f"more than one {name} with {filters}")
        return self._entity_class.from_pk(self._backend, ids[0])

    def find(self, **filters: Any) -> list[EntityT]:
        """Every stored entity whose columns equal ``filters``, by increasing pk."""
        return [self._entity_class.from_pk(self._backend, pk) for pk in self._ids(filters)]

    def all(self) -> list[EntityT]:
        """Every stored entity, by increasing pk."""
        return self.find()

    def __iter__(self) -> Iterator[EntityT]:
        return iter(self.all())

    def count(self) -> int:
        """The number of stored entities."""
        table = self._entity_class.table()
        with self._backend.transaction() as session:
            return int(session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())

    def __len__(self) -> int:
        return self.count()

    def delete(self, pk: int) -> None:
        """Delete the stored entity ``pk``; ``NotExistent`` when there is none."""
        delete_row(self._backend, self._entity_class.table(), pk)
