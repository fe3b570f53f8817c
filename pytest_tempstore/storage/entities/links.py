"""Links between nodes: their six types, AiiDA's rules for them, and reading them back.

The rules (checked here, as AiiDA checks them in its ORM, not in the database):

* a label is a Python identifier of ``[a-zA-Z0-9_]`` that neither starts nor ends with ``_``;
* no node links to itself;
* each type joins one kind of node to another (see ``LINK_RULES``);
* each type limits how many links a node may have, per direction ("degree"):
  ``unique`` (one link of the type), ``unique_pair`` (one per label) or
  ``unique_triple`` (one per label and neighbour).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Literal, NamedTuple

from ...exceptions import MultipleObjectsError, NotExistent
from ..sql_like import like_to_glob, sql_like_match
from .kinds import NodeKind, kind_of

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from .nodes import Node

__all__ = ["LINK_RULES", "LinkList", "LinkRule", "LinkTriple", "LinkType", "validate_link_label"]

Degree = Literal["unique", "unique_pair", "unique_triple"]


class LinkType(StrEnum):
    """The six link types of AiiDA's provenance graph."""

    CREATE = "create"
    RETURN = "return"
    INPUT_CALC = "input_calc"
    INPUT_WORK = "input_work"
    CALL_CALC = "call_calc"
    CALL_WORK = "call_work"


@dataclass(frozen=True)
class LinkRule:
    """What a link type connects and how many such links a node may have."""

    source: NodeKind
    target: NodeKind
    outdegree: Degree
    indegree: Degree


LINK_RULES: dict[LinkType, LinkRule] = {
    LinkType.CALL_CALC: LinkRule(NodeKind.WORKFLOW, NodeKind.CALCULATION, "unique_triple", "unique"),
    LinkType.CALL_WORK: LinkRule(NodeKind.WORKFLOW, NodeKind.WORKFLOW, "unique_triple", "unique"),
    LinkType.CREATE: LinkRule(NodeKind.CALCULATION, NodeKind.DATA, "unique_pair", "unique"),
    LinkType.INPUT_CALC: LinkRule(NodeKind.DATA, NodeKind.CALCULATION, "unique_triple", "unique_pair"),
    LinkType.INPUT_WORK: LinkRule(NodeKind.DATA, NodeKind.WORKFLOW, "unique_triple", "unique_pair"),
    LinkType.RETURN: LinkRule(NodeKind.WORKFLOW, NodeKind.DATA, "unique_pair", "unique_triple"),
}

# Links followed by ancestor and descendant queries.
PROVENANCE_LINK_TYPES = (LinkType.CREATE.value, LinkType.INPUT_CALC.value)

_LABEL = re.compile(r"[a-zA-Z0-9_]+")


class LinkTriple(NamedTuple):
    """A neighbour of a node, with the type and label of the link between them."""

    node: Node
    link_type: LinkType
    link_label: str


class LinkList(list[LinkTriple]):
    """The links returned by ``get_incoming``/``get_outgoing``, with AiiDA's helpers."""

    def all(self) -> list[LinkTriple]:
        """Every link triple."""
        return list(self)

    def first(self) -> LinkTriple | None:
        """The first link triple, or ``None``."""
        return self[0] if self else None

    def one(self) -> LinkTriple:
        """The only link triple; ``ValueError`` if there are none or several."""
        if len(self) != 1:
            raise ValueError(f"expected exactly one link, found {len(self)}")
        return self[0]

    def all_nodes(self) -> list[Node]:
        """The neighbouring nodes."""
        return [triple.node for triple in self]

    def all_link_labels(self) -> list[str]:
        """The link labels."""
        return [triple.link_label for triple in self]

    def get_node_by_label(self, label: str) -> Node:
        """The neighbour linked with ``label``; ``NotExistent`` or ``MultipleObjectsError`` otherwise."""
        matches = [triple.node for triple in self if triple.link_label == label]
        if not matches:
            raise NotExistent(f"no neighbour with the link label {label!r}")
        if len(matches) > 1:
            raise MultipleObjectsError(f"more than one neighbour with the link label {label!r}")
        return matches[0]


def as_link_type(value: object) -> LinkType:
    """``value`` (a ``LinkType`` or its string) as a ``LinkType``; ``ValueError`` listing the valid ones."""
    try:
        return LinkType(value)  # type: ignore[arg-type]  # any value is tried; a wrong one is a ValueError
    except ValueError:
        valid = ", ".join(member.value for member in LinkType)
        raise ValueError(f"unknown link type {value!r}; valid link types are: {valid}") from None


def as_link_types(value: LinkType | str | Sequence[LinkType | str] | None) -> tuple[LinkType, ...]:
    """A link type filter as a tuple; empty means every type."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (as_link_type(value),)
    return tuple(as_link_type(item) for item in value)


def validate_link_label(label: object) -> str:
    """``label`` if it is a valid link label, else ``ValueError`` naming the rule it breaks."""
    if not isinstance(label, str):
        raise ValueError(f"invalid link label {label!r}: it must be a string")
    if not label:
        raise ValueError("invalid link label '': it must not be empty")
    if label.startswith("_") or label.endswith("_"):
        raise ValueError(f"invalid link label {label!r}: it must not start or end with an underscore")
    if not _LABEL.fullmatch(label) or not label.isidentifier():
        raise ValueError(
            f"invalid link label {label!r}: it must be a Python identifier of letters, digits and underscores"
        )
    return label


@dataclass(frozen=True)
class StoredLink:
    """A link as a row: neighbour pk, type and label."""

    neighbour: int
    link_type: str
    label: str


def stored_links(
    node: Node,
    direction: Literal["incoming", "outgoing"],
    link_types: Iterable[LinkType] = (),
    label_filter: str | None = None,
) -> list[StoredLink]:
    """The stored links into (``incoming``) or out of (``outgoing``) a stored node, by link id."""
    if node.pk is None:
        return []
    own, other = ("output_id", "input_id") if direction == "incoming" else ("input_id", "output_id")
    sql = f"SELECT {other}, type, label FROM db_dblink WHERE {own} = ?"
    parameters: list[object] = [node.pk]
    types = [link_type.value for link_type in link_types]
    if types:
        sql += f" AND type IN ({', '.join('?' * len(types))})"
        parameters.extend(types)
    if label_filter is not None:
        sql += " AND label GLOB ?"
        parameters.append(like_to_glob(label_filter))
    rows = node.backend.read_sql(sql + " ORDER BY id", parameters)
    return [StoredLink(*row) for row in rows]


class _StoredFacts(NamedTuple):
    """What the link rules need from the database, read in one query."""

    source_type: str | None
    target_type: str | None
    same_triple: bool  # a link of the type and label between exactly these two nodes
    source_label: bool  # a link of the type and label leaving the source
    target_any: bool  # a link of the type entering the target
    target_label: bool  # a link of the type and label entering the target


# One round trip instead of one per fact: a NULL target id (unstored) matches no link.
_FACTS_SQL = """
SELECT
    (SELECT node_type FROM db_dbnode WHERE id = :source),
    (SELECT node_type FROM db_dbnode WHERE id = :target),
    EXISTS (SELECT 1 FROM db_dblink
            WHERE type = :type AND input_id = :source AND output_id = :target AND label = :label),
    EXISTS (SELECT 1 FROM db_dblink WHERE type = :type AND input_id = :source AND label = :label),
    EXISTS (SELECT 1 FROM db_dblink WHERE type = :type AND output_id = :target),
    EXISTS (SELECT 1 FROM db_dblink WHERE type = :type AND output_id = :target AND label = :label)
"""


def _stored_facts(source: Node, target: Node, link_type: LinkType, label: str) -> _StoredFacts:
    parameters = {"source": source.pk, "target": target.pk, "type": link_type.value, "label": label}
    (row,) = source.backend.read_sql(_FACTS_SQL, parameters)
    facts = _StoredFacts(row[0], row[1], *map(bool, row[2:]))
    for node, node_type in ((source, facts.source_type), (target, facts.target_type)):
        if node.pk is not None and node_type is None:
            raise NotExistent(f"no db_dbnode row with id {node.pk} (it was deleted or the store was cleared)")
    return facts


def check_link(
    source: Node, target: Node, link_type: LinkType, label: str, pending: Sequence[LinkTriple]
) -> None:
    """Raise ``ValueError`` naming the rule if ``source -[link_type, label]-> target`` may not be added.

    ``pending`` are the links already added to the (unstored) target but not yet written.
    """
    from .nodes import Node  # noqa: PLC0415 - nodes imports this module

    if not isinstance(source, Node):
        raise TypeError(f"the source of a link must be a Node, not {type(source).__name__}")
    if source.backend is not target.backend:
        raise ValueError("cannot link nodes of two different stores")
    if source.pk is None:
        raise ValueError(f"the source {source!r} must be stored before it can be linked")
    if source == target or source is target:
        raise ValueError(f"cannot link {source!r} to itself")
    validate_link_label(label)

    rule = LINK_RULES[link_type]
    facts = _stored_facts(source, target, link_type, label)
    source_type = str(facts.source_type)
    target_type = target.node_type if facts.target_type is None else facts.target_type
    source_kind, target_kind = kind_of(source_type), kind_of(target_type)
    if source_kind is not rule.source or target_kind is not rule.target:
        raise ValueError(
            f"a {link_type.value!r} link goes from a {rule.source.value} node to a {rule.target.value} node, "
            f"not from {source_type!r} ({source_kind.value if source_kind else 'no kind'}) "
            f"to {target_type!r} ({target_kind.value if target_kind else 'no kind'})"
        )

    same_type = [triple for triple in pending if triple.link_type is link_type]
    duplicate_triple = facts.same_triple or any(
        triple.node == source and triple.link_label == label for triple in same_type
    )

    if rule.outdegree == "unique_pair" and facts.source_label:
        raise ValueError(
            f"{source!r} already has an outgoing {link_type.value!r} link labelled {label!r} "
            f"(labels of outgoing {link_type.value!r} links are unique per node)"
        )
    if rule.outdegree == "unique_triple" and duplicate_triple:
        raise ValueError(
            f"the {link_type.value!r} link {label!r} from {source!r} to {target!r} already exists"
        )

    if rule.indegree == "unique" and (facts.target_any or same_type):
        raise ValueError(
            f"{target!r} already has an incoming {link_type.value!r} link (at most one is allowed)"
        )
    if rule.indegree == "unique_pair" and (
        facts.target_label or any(triple.link_label == label for triple in same_type)
    ):
        raise ValueError(
            f"{target!r} already has an incoming {link_type.value!r} link labelled {label!r} "
            f"(labels of incoming {link_type.value!r} links are unique per node)"
        )
    if rule.indegree == "unique_triple" and duplicate_triple:
        raise ValueError(
            f"the {link_type.value!r} link {label!r} from {source!r} to {target!r} already exists"
        )


def pending_matches(triple: LinkTriple, link_types: tuple[LinkType, ...], label_filter: str | None) -> bool:
    """Whether a not-yet-stored link passes a ``get_incoming`` filter."""
    if link_types and triple.link_type not in link_types:
        return False
    return label_filter is None or sql_like_match(triple.link_label, label_filter)
