"""What the query layer knows about the tables: entities, columns, their aliases, JSON columns.

A *source* is one tag of a query: an aliased table (a vertex, or the link or
group-membership table of an edge) or the walk of an ancestor/descendant join.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ...exceptions import InputValidationError
from ..entity_types import EntityTypes
from ..models import MODEL_BY_ENTITY_TYPE, is_json

if TYPE_CHECKING:
    from ..entities import Entity

__all__ = ["COLUMN_ALIASES", "VERTEX_TYPES", "Source", "entity_class", "named_alias", "table_of"]

# Names AiiDA's QueryBuilder accepts for some columns, per entity.
COLUMN_ALIASES: dict[str, dict[str, str]] = {
    "node": {"pk": "id", "computer": "dbcomputer_id", "user": "user_id"},
    "authinfo": {"pk": "id", "computer": "dbcomputer_id", "user": "aiidauser_id"},
    "user": {"pk": "id"},
    "computer": {"pk": "id"},
    "group": {"pk": "id", "user": "user_id"},
    "comment": {"pk": "id", "user": "user_id", "node": "dbnode_id"},
    "log": {"pk": "id", "node": "dbnode_id"},
    "link": {"pk": "id"},
    "group_node": {"pk": "id"},
    "ancestry": {},
}

# Entities that can be vertices of a query path.
VERTEX_TYPES = (
    EntityTypes.NODE,
    EntityTypes.USER,
    EntityTypes.COMPUTER,
    EntityTypes.AUTHINFO,
    EntityTypes.GROUP,
    EntityTypes.COMMENT,
    EntityTypes.LOG,
)


def table_of(entity_type: EntityTypes) -> sa.Table:
    """The table of an entity type."""
    table = MODEL_BY_ENTITY_TYPE[entity_type].__table__
    assert isinstance(table, sa.Table)
    return table


@functools.cache
def named_alias(table: sa.Table, name: str) -> sa.FromClause:
    """The alias ``name`` of ``table``, made once per process.

    Aliases are immutable and may be shared by any number of statements; a new
    one per query would rebuild its column collection, which costs more than
    running a small query.
    """
    return table.alias(name)


def entity_class(entity_type: EntityTypes) -> type[Entity]:
    """Our entity class for a vertex entity type."""
    from .. import entities  # noqa: PLC0415 - entities are only needed when results are built

    classes: dict[EntityTypes, type[Entity]] = {
        EntityTypes.NODE: entities.Node,
        EntityTypes.USER: entities.User,
        EntityTypes.COMPUTER: entities.Computer,
        EntityTypes.AUTHINFO: entities.AuthInfo,
        EntityTypes.GROUP: entities.Group,
        EntityTypes.COMMENT: entities.Comment,
        EntityTypes.LOG: entities.Log,
    }
    return classes[entity_type]


@dataclass
class Source:
    """One tag of a query and the SQL it stands for."""

    tag: str
    kind: str  # an EntityTypes value, or "ancestry" for the walk of an ancestor/descendant join
    selectable: sa.FromClause
    json_columns: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def for_table(cls, tag: str, kind: str, table: sa.Table, alias: str) -> Source:
        """``table`` for ``tag`` under the SQL name ``alias`` (unique within the query)."""
        json_columns = frozenset(column.name for column in table.columns if is_json(column))
        return cls(tag, kind, named_alias(table, alias), json_columns)

    @property
    def column_names(self) -> list[str]:
        """The database column names, in table order."""
        return [column.name for column in self.selectable.columns]

    def resolve(self, name: str) -> str:
        """The column name behind ``name`` (``pk`` is ``id``, ...); ``InputValidationError`` if none."""
        resolved = COLUMN_ALIASES.get(self.kind, {}).get(name, name)
        if resolved not in self.selectable.c:
            aliases = COLUMN_ALIASES.get(self.kind, {})
            valid = self.column_names + [f"{alias} (= {column})" for alias, column in aliases.items()]
            raise InputValidationError(
                f"{name!r} is not a column of {self.tag!r} ({self.kind}); "
                f"valid columns are: {', '.join(valid)}"
            )
        return resolved

    def column(self, name: str) -> sa.ColumnElement[object]:
        """The column ``name`` (an alias is accepted)."""
        return self.selectable.c[self.resolve(name)]

    def is_json(self, name: str) -> bool:
        """Whether the column ``name`` holds JSON."""
        return self.resolve(name) in self.json_columns
