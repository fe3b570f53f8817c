"""What ``append()`` was given: an entity class, an ``EntityTypes`` value or a type string.

Nodes are selected by ``node_type`` prefix as in AiiDA: ``data.core.int.Int.``
selects Int nodes (``node_type LIKE 'data.core.int.%'``), a bare prefix such as
``data.`` or ``process.calculation.`` selects everything under it, ``''`` (or
``Node``) every node; ``subclassing=False`` asks for the exact type. Groups go
the same way on ``type_string`` (``group.core`` is every group).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...exceptions import InputValidationError
from ..entity_types import EntityTypes
from .schema import VERTEX_TYPES

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["GROUP_PREFIX", "Classified", "classify", "default_tag_base", "escape_like", "type_filter"]

GROUP_PREFIX = "group."


@dataclass(frozen=True)
class Classified:
    """The entity of a path item: its table and the type strings it stands for."""

    orm_base: EntityTypes
    type_strings: tuple[str, ...]

    @property
    def entity_type(self) -> str | list[str]:
        """The ``entity_type`` of the path item, as AiiDA writes it."""
        return self.type_strings[0] if len(self.type_strings) == 1 else list(self.type_strings)


def escape_like(text: str) -> str:
    """``text`` with the LIKE wildcards escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _classify_one(item: Any, orm_base: str | None) -> tuple[EntityTypes, str]:
    from ..entities import Entity  # noqa: PLC0415 - the entity layer imports the query layer lazily

    if isinstance(item, type) and issubclass(item, Entity):
        base = item.entity_type
    elif isinstance(item, EntityTypes):
        base = item
    elif isinstance(item, str):
        if orm_base is not None:
            base = _as_vertex(orm_base)
            return base, item
        if item in {member.value for member in VERTEX_TYPES}:
            base = EntityTypes(item)
        elif item.startswith(GROUP_PREFIX):
            return EntityTypes.GROUP, item
        elif item == "" or item.endswith("."):
            return EntityTypes.NODE, item
        else:
            raise InputValidationError(
                f"unknown entity {item!r}: give an entity class, "
                f"one of {', '.join(m.value for m in VERTEX_TYPES)}, "
                "a node type ending in '.' (e.g. 'data.core.int.Int.', 'data.') "
                "or a group type ('group.core')"
            )
    else:
        raise InputValidationError(
            f"cannot query {item!r}: give an entity class, an EntityTypes value or a type string"
        )
    if base not in VERTEX_TYPES:
        raise InputValidationError(f"{base.value!r} cannot be a vertex of a query")
    type_string = {EntityTypes.NODE: "", EntityTypes.GROUP: "group.core"}.get(base, base.value)
    return base, type_string


def _as_vertex(orm_base: str) -> EntityTypes:
    try:
        base = EntityTypes(orm_base)
    except ValueError:
        base = None
    if base is None or base not in VERTEX_TYPES:
        raise InputValidationError(
            f"unknown orm_base {orm_base!r}; valid: {', '.join(member.value for member in VERTEX_TYPES)}"
        )
    return base


def classify(entity: Any, orm_base: str | None = None) -> Classified:
    """Classify one entity or a list of entities of one kind."""
    items = list(entity) if isinstance(entity, list | tuple) else [entity]
    if not items:
        raise InputValidationError("append() needs an entity, not an empty list")
    classified = [_classify_one(item, orm_base) for item in items]
    bases = {base for base, _ in classified}
    if len(bases) > 1:
        raise InputValidationError(
            f"the entities {items!r} are of different kinds: {sorted(b.value for b in bases)}"
        )
    return Classified(bases.pop(), tuple(type_string for _, type_string in classified))


def _node_query_prefix(type_string: str) -> str:
    """The prefix that selects a node type and its subclasses."""
    if type_string == "":
        return ""
    segments = type_string.rstrip(".").split(".")
    if segments[-1][:1].isupper() and len(segments) > 1:
        # A class name ends the type (data.core.int.Int.): its module path selects it and its subclasses.
        return ".".join(segments[:-1]) + "."
    return type_string


def type_filter(classified: Classified, subclassing: bool) -> tuple[str, dict[str, Any]] | None:
    """The filter ``(column, spec)`` that restricts a node or group path item to its types."""

    def one(type_string: str) -> dict[str, Any]:
        if classified.orm_base is EntityTypes.NODE:
            if not subclassing:
                return {"==": type_string}
            return {"like": escape_like(_node_query_prefix(type_string)) + "%"}
        value = type_string[len(GROUP_PREFIX) :] if type_string.startswith(GROUP_PREFIX) else type_string
        if not subclassing:
            return {"==": value}
        # The base group type matches every group, as in AiiDA.
        return {"like": escape_like("" if value == "core" else value) + "%"}

    if classified.orm_base not in (EntityTypes.NODE, EntityTypes.GROUP):
        return None
    column = "node_type" if classified.orm_base is EntityTypes.NODE else "type_string"
    specs = [one(type_string) for type_string in classified.type_strings]
    return column, specs[0] if len(specs) == 1 else {"or": specs}


def default_tag_base(classified: Classified) -> str:
    """The stem of an automatic tag: ``Int`` for Int nodes, ``node`` for all nodes, ``user``, ..."""
    return "-".join(
        type_string.rstrip(".").split(".")[-1] or "node" for type_string in classified.type_strings
    )


def as_sequence(value: Any) -> Sequence[Any]:
    """``value`` as a list if it is one item."""
    return value if isinstance(value, list | tuple) else [value]
