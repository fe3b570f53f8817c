"""The three kinds of node that links connect, told apart by their ``node_type`` prefix."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["NodeKind", "kind_of"]


class NodeKind(StrEnum):
    """What a node is in the provenance graph."""

    DATA = "data"
    CALCULATION = "calculation"
    WORKFLOW = "workflow"


_PREFIXES = (
    ("data.", NodeKind.DATA),
    ("process.calculation.", NodeKind.CALCULATION),
    ("process.workflow.", NodeKind.WORKFLOW),
)


def kind_of(node_type: str) -> NodeKind | None:
    """The kind of a node type, or ``None`` for types outside the three (e.g. the base ``''``)."""
    for prefix, kind in _PREFIXES:
        if node_type.startswith(prefix):
            return kind
    return None
