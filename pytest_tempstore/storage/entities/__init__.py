"""The entities of a store: ``Node``, ``User``, ``Computer``, ``AuthInfo``, ``Group``, ``Comment``, ``Log``.

Create one with the store as first argument (``Node(store, "data.core.int.Int.",
attributes={"value": 1})``) or through its collection
(``store.nodes.create(...)``), then ``store()`` it.
"""

from __future__ import annotations

from ...exceptions import ModificationNotAllowed
from .base import Entity, EntityCollection
from .comments import Comment, CommentCollection, Log, LogCollection
from .files import NodeRepository
from .groups import Group, GroupCollection
from .kinds import NodeKind
from .links import LINK_RULES, LinkList, LinkRule, LinkTriple, LinkType
from .nodes import JsonDictView, Node, NodeCollection
from .users import AuthInfo, Computer, User, UserCollection

__all__ = [
    "LINK_RULES",
    "AuthInfo",
    "Comment",
    "CommentCollection",
    "Computer",
    "Entity",
    "EntityCollection",
    "Group",
    "GroupCollection",
    "JsonDictView",
    "LinkList",
    "LinkRule",
    "LinkTriple",
    "LinkType",
    "Log",
    "LogCollection",
    "ModificationNotAllowed",
    "Node",
    "NodeCollection",
    "NodeKind",
    "NodeRepository",
    "User",
    "UserCollection",
]
