"""The relationships of ``append(..., with_*=tag)``: how a new vertex joins one already in the query.

For a node, ``with_incoming=t`` means "the new node has an incoming link
from ``t``" (it is an output of ``t``); ``with_outgoing=t`` the reverse;
``with_ancestors=t`` means "``t`` is among its ancestors" (it is a
descendant of ``t``) and ``with_descendants=t`` the reverse, both following
``create`` and ``input_calc`` links recursively, as AiiDA does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.sql import operators
from sqlalchemy.sql.expression import UnaryExpression

from ...exceptions import InputValidationError
from ..entities.links import PROVENANCE_LINK_TYPES
from ..entity_types import EntityTypes
from .schema import Source, named_alias, table_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from .filters import FilterCompiler

__all__ = ["RELATIONSHIPS", "Join", "build_join"]

# For each entity: relationship keyword -> the entity the joined tag must be.
RELATIONSHIPS: dict[str, dict[str, str]] = {
    "node": {
        "with_incoming": "node",
        "with_outgoing": "node",
        "with_ancestors": "node",
        "with_descendants": "node",
        "with_computer": "computer",
        "with_user": "user",
        "with_group": "group",
        "with_comment": "comment",
        "with_log": "log",
    },
    "group": {"with_node": "node", "with_user": "user"},
    "computer": {"with_node": "node"},
    "user": {
        "with_authinfo": "authinfo",
        "with_comment": "comment",
        "with_node": "node",
        "with_group": "group",
    },
    "authinfo": {"with_computer": "computer", "with_user": "user"},
    "comment": {"with_node": "node", "with_user": "user"},
    "log": {"with_node": "node"},
}


@dataclass
class Join:
    """A join step: how to extend the FROM clause, and the edge source it adds (if any)."""

    apply: Callable[[sa.FromClause], sa.FromClause]
    edge: Source | None


def _direct(new: Source, joined: Source, new_column: str, joined_column: str, outer: bool) -> Join:
    condition = new.selectable.c[new_column] == joined.selectable.c[joined_column]
    return Join(lambda clause: clause.join(new.selectable, condition, isouter=outer), None)


def _through(
    new: Source, joined: Source, edge: Source, edge_to_joined: str, edge_to_new: str, *, outer: bool
) -> Join:
    edge_table = edge.selectable

    def apply(clause: sa.FromClause) -> sa.FromClause:
        clause = clause.join(
            edge_table, edge_table.c[edge_to_joined] == joined.selectable.c.id, isouter=outer
        )
        return clause.join(new.selectable, new.selectable.c.id == edge_table.c[edge_to_new], isouter=outer)

    return Join(apply, edge)


def _never_indexed(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """``+column``: SQLite's sign that a term filters rows but must not pick the index to search by.

    Without statistics, newer planners take ``type IN (...)`` on the link type index
    for the more selective term and scan the walk for each of its rows: quadratic.
    """
    return UnaryExpression(column, operator=operators.custom_op("+"), type_=column.type)


def _walk(
    joined: Source, joined_filters: dict[str, Any], compiler: FilterCompiler, towards: str, name: str
) -> Source:
    """The recursive walk from the ``joined`` nodes to their ancestors or descendants (``towards``).

    Rows are ``(ancestor_id, descendant_id, depth)``; as in AiiDA, a node
    reached along several paths appears once per path. The joined tag's
    filters start the walk, so only the relevant part of the graph is visited.
    """
    links = table_of(EntityTypes.LINK)
    start_node = Source.for_table(joined.tag, "node", table_of(EntityTypes.NODE), f"{name}_start")
    first = named_alias(links, f"{name}_first")
    start_column = "output_id" if towards == "ancestors" else "input_id"
    conditions: list[sa.ColumnElement[bool]] = [_never_indexed(first.c.type).in_(PROVENANCE_LINK_TYPES)]
    node_filter = compiler.compile(start_node, joined_filters)
    if node_filter is not None:
        conditions.append(node_filter)
    base = (
        sa.select(
            first.c.input_id.label("ancestor_id"),
            first.c.output_id.label("descendant_id"),
            sa.literal(0, sa.Integer).label("depth"),
        )
        .select_from(start_node.selectable.join(first, first.c[start_column] == start_node.selectable.c.id))
        .where(*conditions)
        .cte(name=name, recursive=True)
    )
    step = named_alias(links, f"{name}_step")
    if towards == "ancestors":
        recursive = sa.select(step.c.input_id, base.c.descendant_id, base.c.depth + 1).select_from(
            base.join(step, step.c.output_id == base.c.ancestor_id)
        )
    else:
        recursive = sa.select(base.c.ancestor_id, step.c.output_id, base.c.depth + 1).select_from(
            base.join(step, step.c.input_id == base.c.descendant_id)
        )
    walk = base.union_all(recursive.where(_never_indexed(step.c.type).in_(PROVENANCE_LINK_TYPES)))
    return Source(f"{name}", "ancestry", walk.alias())


def build_join(
    new: Source,
    joined: Source,
    keyword: str,
    *,
    outer: bool,
    joined_filters: dict[str, Any],
    compiler: FilterCompiler,
    index: int,
) -> Join:
    """The join that puts ``new`` in ``keyword`` relation to ``joined``."""
    valid = RELATIONSHIPS.get(new.kind, {})
    if keyword not in valid:
        raise InputValidationError(
            f"{keyword!r} is not a relationship of a {new.kind}; valid: {', '.join(sorted(valid)) or 'none'}"
        )
    if joined.kind != valid[keyword]:
        raise InputValidationError(
            f"{keyword}={joined.tag!r} needs {joined.tag!r} to be a {valid[keyword]}, "
            f"but it is a {joined.kind}"
        )
    kind = new.kind
    if kind == "node" and keyword in ("with_incoming", "with_outgoing"):
        edge = Source.for_table("", EntityTypes.LINK.value, table_of(EntityTypes.LINK), f"edge_{index}")
        if keyword == "with_incoming":
            return _through(new, joined, edge, "input_id", "output_id", outer=outer)
        return _through(new, joined, edge, "output_id", "input_id", outer=outer)
    if kind == "node" and keyword in ("with_ancestors", "with_descendants"):
        towards = "descendants" if keyword == "with_ancestors" else "ancestors"
        walk = _walk(joined, joined_filters, compiler, towards, f"walk_{index}")
        joined_end, new_end = (
            ("ancestor_id", "descendant_id") if towards == "descendants" else ("descendant_id", "ancestor_id")
        )
        return _through(new, joined, walk, joined_end, new_end, outer=outer)
    if (kind, keyword) in (("node", "with_group"), ("group", "with_node")):
        edge = Source.for_table(
            "", EntityTypes.GROUP_NODE.value, table_of(EntityTypes.GROUP_NODE), f"edge_{index}"
        )
        if kind == "node":
            return _through(new, joined, edge, "dbgroup_id", "dbnode_id", outer=outer)
        return _through(new, joined, edge, "dbnode_id", "dbgroup_id", outer=outer)
    # Foreign keys: (new column, joined column).
    columns: dict[tuple[str, str], tuple[str, str]] = {
        ("node", "with_computer"): ("dbcomputer_id", "id"),
        ("node", "with_user"): ("user_id", "id"),
        ("node", "with_comment"): ("id", "dbnode_id"),
        ("node", "with_log"): ("id", "dbnode_id"),
        ("group", "with_user"): ("user_id", "id"),
        ("computer", "with_node"): ("id", "dbcomputer_id"),
        ("user", "with_authinfo"): ("id", "aiidauser_id"),
        ("user", "with_comment"): ("id", "user_id"),
        ("user", "with_node"): ("id", "user_id"),
        ("user", "with_group"): ("id", "user_id"),
        ("authinfo", "with_computer"): ("dbcomputer_id", "id"),
        ("authinfo", "with_user"): ("aiidauser_id", "id"),
        ("comment", "with_node"): ("dbnode_id", "id"),
        ("comment", "with_user"): ("user_id", "id"),
        ("log", "with_node"): ("dbnode_id", "id"),
    }
    new_column, joined_column = columns[(kind, keyword)]
    return _direct(new, joined, new_column, joined_column, outer)
