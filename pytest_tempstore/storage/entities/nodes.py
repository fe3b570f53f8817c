"""Nodes: the vertices of the provenance graph, with attributes, extras, files and links."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa

from ...exceptions import InputValidationError, IntegrityError, ModificationNotAllowed
from ..entity_types import EntityTypes
from ..models import DbGroupNode, DbLink, DbNode
from ._json import check_json_key, clean_json
from ._rows import insert_row
from .base import Entity, EntityCollection
from .columns import EditableText, JsonDict, OptionalText, Text, Time
from .files import NodeRepository
from .kinds import NodeKind, kind_of
from .links import (
    LinkList,
    LinkTriple,
    LinkType,
    as_link_type,
    as_link_types,
    check_link,
    pending_matches,
    stored_links,
)

if TYPE_CHECKING:
    import sqlite3
    from datetime import datetime

    from ..backend import SqliteTempBackend
    from .comments import Comment, Log
    from .users import Computer, User

__all__ = ["JsonDictView", "Node", "NodeCollection", "check_node_type"]


def check_node_type(node_type: object) -> str:
    """A node type: ``''`` (the base node) or dotted and ending in a dot, e.g. ``data.core.int.Int.``."""
    if not isinstance(node_type, str) or (node_type and not node_type.endswith(".")):
        raise InputValidationError(
            f"invalid node_type {node_type!r}: it must be '' or a dotted string ending in '.', "
            "e.g. 'data.core.int.Int.'"
        )
    return node_type


class JsonDictView(MutableMapping[str, Any]):
    """The attributes or extras of a node, read from and written to the database on each call.

    A ``MutableMapping``: ``view["a"] = 1``, ``del view["a"]``, ``view.get("a")``,
    ``view.items()``, ``dict(view)``; plus ``set``, ``delete``, ``set_many``, ``reset``.
    Keys are non-empty strings without dots; values must be JSON-serialisable.
    """

    def __init__(self, node: Node, column: str) -> None:
        self._node = node
        self._column = column

    def _read(self) -> dict[str, Any]:
        return dict(self._node._get(self._column) or {})

    def _write(self, change: Any) -> None:
        node = self._node
        node._check_json_mutable(self._column)
        if not node.is_stored:
            values = self._read()
            change(values)
            node._set(**{self._column: values})
            return
        with node.backend.transaction():
            values = self._read()
            change(values)
            self._node._set(**{self._column: values})

    def __getitem__(self, key: str) -> Any:
        return self._read()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())

    def __repr__(self) -> str:
        return f"{self._column}({self._read()!r})"

    def __setitem__(self, key: str, value: Any) -> None:
        self.set(key, value)

    def __delitem__(self, key: str) -> None:
        self.delete(key)

    def set(self, key: str, value: Any) -> None:
        """Set one key."""
        self.set_many({key: value})

    def set_many(self, values: Mapping[str, Any]) -> None:
        """Set several keys at once."""
        what = self._column[:-1] if self._column.endswith("s") else self._column
        cleaned = {
            check_json_key(key, what): clean_json(value, f"{what} {key!r}") for key, value in values.items()
        }
        self._write(lambda current: current.update(cleaned))

    def reset(self, values: Mapping[str, Any]) -> None:
        """Replace every key by ``values``."""
        what = self._column[:-1] if self._column.endswith("s") else self._column
        cleaned = {
            check_json_key(key, what): clean_json(value, f"{what} {key!r}") for key, value in values.items()
        }

        def replace(current: dict[str, Any]) -> None:
            current.clear()
            current.update(cleaned)

        self._write(replace)

    def delete(self, key: str) -> None:
        """Remove one key; ``KeyError`` when it is absent."""

        def remove(current: dict[str, Any]) -> None:
            if key not in current:
                raise KeyError(key)
            del current[key]

        self._write(remove)

    def clear(self) -> None:
        """Remove every key."""
        self.reset({})


class Node(Entity):
    """A node of the provenance graph.

    ``node_type`` tells its class as AiiDA spells it (``data.core.int.Int.``,
    ``process.calculation.calcfunction.CalcFunctionNode.``, ...); the prefix
    gives its kind: data (``data.``), calculation (``process.calculation.``)
    or workflow (``process.workflow.``). Once stored, a data node's attributes
    and files are immutable; extras, label and description stay editable.
    """

    entity_type: ClassVar[EntityTypes] = EntityTypes.NODE
    model = DbNode

    def __init__(
        self,
        backend: SqliteTempBackend,
        node_type: str = "",
        *,
        process_type: str | None = None,
        label: str = "",
        description: str = "",
        attributes: Mapping[str, Any] | None = None,
        extras: Mapping[str, Any] | None = None,
        user: User | None = None,
        computer: Computer | None = None,
        ctime: datetime | None = None,
    ) -> None:
        values: dict[str, Any] = {
            "node_type": check_node_type(node_type),
            "process_type": process_type,
            "label": label,
            "description": description,
            "attributes": {},
            "extras": {},
            "repository_metadata": {},
            "user_id": None if user is None else user._require_stored("it owns a node"),
            "dbcomputer_id": None if computer is None else computer._require_stored("a node uses it"),
        }
        if ctime is not None:
            values["ctime"] = values["mtime"] = ctime
        super().__init__(backend, values)
        self._pending_links: list[LinkTriple] = []
        if attributes:
            self.attributes.set_many(attributes)
        if extras:
            self.extras.set_many(extras)

    @classmethod
    def from_pk(cls, backend: SqliteTempBackend, pk: int) -> Node:
        node = super().from_pk(backend, pk)
        node._pending_links = []
        return node

    def __repr__(self) -> str:
        state = f"pk={self._pk}" if self._pk is not None else "unstored"
        return f"<Node {self.node_type!r} {state}>"

    # ------------------------------------------------------------------ columns

    uuid = OptionalText("The UUID (assigned when stored).")
    node_type = Text("The node type string, e.g. ``data.core.int.Int.``.")
    process_type = OptionalText("The process type string, for process nodes.")
    label = EditableText("A short label.")
    description = EditableText("A longer description.")
    ctime = Time("When the node was stored (or the ``ctime`` given), timezone-aware UTC.")
    mtime = Time("When the node last changed, timezone-aware UTC.")

    @property
    def kind(self) -> NodeKind | None:
        """Data, calculation or workflow; ``None`` for other node types."""
        return kind_of(self.node_type)

    @property
    def user(self) -> User:
        """The owner: the store's default user unless another was given."""
        from .users import User  # noqa: PLC0415 - users imports nothing from here, but keep the graph flat

        user_id = self._get("user_id")
        return self._backend.default_user if user_id is None else User.from_pk(self._backend, int(user_id))

    @property
    def computer(self) -> Computer | None:
        """The computer the node ran on, if any."""
        from .users import Computer  # noqa: PLC0415

        computer_id = self._get("dbcomputer_id")
        return None if computer_id is None else Computer.from_pk(self._backend, int(computer_id))

    @computer.setter
    def computer(self, computer: Computer | None) -> None:
        if self.is_stored:
            raise ModificationNotAllowed(f"the computer of the stored {self!r} cannot change")
        self._set(dbcomputer_id=None if computer is None else computer._require_stored("a node uses it"))

    @property
    def attributes(self) -> JsonDictView:
        """The attributes (immutable once a data node is stored)."""
        return JsonDictView(self, "attributes")

    @property
    def extras(self) -> JsonDictView:
        """The extras (always editable)."""
        return JsonDictView(self, "extras")

    repository_metadata = JsonDict(
        'A copy of the file tree as stored: ``{}``, ``{"o": {...}}``, ``{"k": key}``.'
    )

    @property
    def repository(self) -> NodeRepository:
        """The node's files."""
        return NodeRepository(self)

    # ------------------------------------------------------------------ mutability

    def _immutable(self) -> bool:
        return self.is_stored and self.kind is NodeKind.DATA

    def _check_json_mutable(self, column: str) -> None:
        if column == "attributes" and self._immutable():
            raise ModificationNotAllowed(f"the attributes of the stored data node {self!r} are immutable")

    def _check_files_mutable(self) -> None:
        if self._immutable():
            raise ModificationNotAllowed(f"the files of the stored data node {self!r} are immutable")

    # ------------------------------------------------------------------ storing

    def _values_to_insert(self) -> dict[str, Any]:
        values = super()._values_to_insert()
        if values["user_id"] is None:
            values["user_id"] = self._backend.default_user_id
        if values["process_type"] is None:
            del values["process_type"]
        return values

    def _after_insert(self, connection: sqlite3.Connection) -> None:
        # Inside store()'s transaction: a failing insert undoes the whole store, so no savepoint each.
        for source, link_type, label in self._pending_links:
            self._insert_link(connection, source, link_type, label)
        self._pending_links = []

    def _insert_link(
        self, connection: sqlite3.Connection, source: Node, link_type: LinkType, label: str
    ) -> None:
        insert_row(
            connection,
            EntityTypes.LINK,
            {"input_id": source.pk, "output_id": self.pk, "type": link_type.value, "label": label},
        )

    # ------------------------------------------------------------------ links

    def add_incoming(self, source: Node, link_type: LinkType | str, link_label: str) -> None:
        """Link ``source`` to this node; ``ValueError`` naming the rule when AiiDA would refuse the link.

        The source must be stored. If this node is not stored yet, the link is
        written when it is.
        """
        kind = as_link_type(link_type)
        check_link(source, self, kind, link_label, self._pending_links)
        if self.is_stored:
            with self._backend.raw_transaction() as connection:
                self._insert_link(connection, source, kind, link_label)
        else:
            self._pending_links.append(LinkTriple(source, kind, link_label))

    def _links(
        self,
        direction: str,
        link_type: LinkType | str | Sequence[LinkType | str] | None,
        link_label_filter: str | None,
    ) -> LinkList:
        types = as_link_types(link_type)
        result = LinkList(
            LinkTriple(Node.from_pk(self._backend, link.neighbour), LinkType(link.link_type), link.label)
            for link in stored_links(
                self, "incoming" if direction == "incoming" else "outgoing", types, link_label_filter
            )
        )
        if direction == "incoming":
            result.extend(
                triple for triple in self._pending_links if pending_matches(triple, types, link_label_filter)
            )
        return result

    def get_incoming(
        self,
        link_type: LinkType | str | Sequence[LinkType | str] | None = None,
        link_label_filter: str | None = None,
    ) -> LinkList:
        """``(node, link_type, label)`` for every link into this node, optionally of some types.

        ``link_label_filter`` is a SQL ``LIKE`` pattern (``%``, ``_``), matched case-sensitively.
        """
        return self._links("incoming", link_type, link_label_filter)

    def get_outgoing(
        self,
        link_type: LinkType | str | Sequence[LinkType | str] | None = None,
        link_label_filter: str | None = None,
    ) -> LinkList:
        """``(node, link_type, label)`` for every link out of this node; filters as for ``get_incoming``."""
        return self._links("outgoing", link_type, link_label_filter)

    # ------------------------------------------------------------------ comments and logs

    def add_comment(self, content: str, user: User | None = None) -> Comment:
        """Store a comment on this (stored) node."""
        from .comments import Comment  # noqa: PLC0415 - comments imports nodes

        return Comment(self._backend, self, content, user=user).store()

    def get_comments(self) -> list[Comment]:
        """The comments on this node, oldest first."""
        return self._backend.comments.for_node(self)

    def get_logs(self) -> list[Log]:
        """The log records of this node, oldest first."""
        return self._backend.logs.for_node(self)


class NodeCollection(EntityCollection[Node]):
    """The nodes of a store."""

    def delete(self, pk: int) -> None:
        """Delete a node that has no links; its comments, logs and group memberships go with it.

        A node with links raises ``IntegrityError``: use
        ``store.delete_nodes_and_connections`` inside ``transaction()`` to
        remove it with its links.
        """
        links = DbLink.__table__
        members = DbGroupNode.__table__
        assert isinstance(links, sa.Table)
        assert isinstance(members, sa.Table)
        with self._backend.transaction() as session:
            count = session.execute(
                sa.select(sa.func.count())
                .select_from(links)
                .where(sa.or_(links.c.input_id == pk, links.c.output_id == pk))
            ).scalar_one()
            if count:
                raise IntegrityError(
                    f"node {pk} has {count} links; delete it with delete_nodes_and_connections() instead"
                )
            session.execute(sa.delete(members).where(members.c.dbnode_id == pk))
            super().delete(pk)
