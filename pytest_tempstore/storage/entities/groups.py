"""Groups: labelled, typed sets of nodes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa

from ...exceptions import InputValidationError
from ..entity_types import EntityTypes
from ..models import DbGroup, DbGroupNode
from ._json import check_json_key, clean_json
from .base import Entity, EntityCollection
from .columns import EditableJsonDict, EditableText, OptionalText, Text, Time
from .nodes import Node

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..backend import SqliteTempBackend
    from .users import User

__all__ = ["Group", "GroupCollection"]


def _members_table() -> sa.Table:
    table = DbGroupNode.__table__
    assert isinstance(table, sa.Table)
    return table


def _node_ids(nodes: Node | Iterable[Node]) -> list[int]:
    items = [nodes] if isinstance(nodes, Node) else list(nodes)
    ids = []
    for node in items:
        if not isinstance(node, Node):
            raise InputValidationError(f"groups hold nodes, not {type(node).__name__}")
        ids.append(node._require_stored("it is added to or removed from a group"))
    return ids


class Group(Entity):
    """A set of nodes with a label unique per ``type_string`` (AiiDA's plain groups are ``core``)."""

    entity_type: ClassVar[EntityTypes] = EntityTypes.GROUP
    model = DbGroup

    def __init__(
        self,
        backend: SqliteTempBackend,
        label: str,
        *,
        type_string: str = "core",
        description: str = "",
        user: User | None = None,
        extras: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(label, str) or not label:
            raise InputValidationError(f"a group needs a non-empty label, not {label!r}")
        user = backend.default_user if user is None else user
        cleaned = {check_json_key(key, "extra"): value for key, value in (extras or {}).items()}
        super().__init__(
            backend,
            {
                "label": label,
                "type_string": type_string,
                "description": description,
                "user_id": user._require_stored("it owns a group"),
                "extras": clean_json(cleaned, "group extras"),
            },
        )

    def __repr__(self) -> str:
        label = self.label if self.is_stored else self._values["label"]
        return f"<Group {label!r} {'pk=' + str(self._pk) if self.is_stored else 'unstored'}>"

    uuid = OptionalText("The UUID (assigned when stored).")
    label = EditableText("The label (unique together with ``type_string``).")
    type_string = Text("The group type, e.g. ``core`` or ``core.import``.")
    description = EditableText("Description.")
    time = Time("When the group was made.")

    @property
    def user(self) -> User:
        """The owner."""
        from .users import User  # noqa: PLC0415

        return User.from_pk(self._backend, int(self._get("user_id")))

    extras = EditableJsonDict(
        "A copy of the extras; assign a new dict to change them.", what="group extras", key_kind="extra"
    )

    # ------------------------------------------------------------------ members

    def add_nodes(self, nodes: Node | Iterable[Node]) -> None:
        """Add stored nodes; nodes already in the group are skipped."""
        pk = self._require_stored("nodes are added to it")
        ids = _node_ids(nodes)
        if not ids:
            return
        members = _members_table()
        with self._backend.transaction() as session:
            present = set(
                session.execute(
                    sa.select(members.c.dbnode_id).where(
                        members.c.dbgroup_id == pk, members.c.dbnode_id.in_(ids)
                    )
                ).scalars()
            )
            new = [node_id for node_id in dict.fromkeys(ids) if node_id not in present]
            if new:
                session.execute(
                    sa.insert(members), [{"dbgroup_id": pk, "dbnode_id": node_id} for node_id in new]
                )

    def remove_nodes(self, nodes: Node | Iterable[Node]) -> None:
        """Remove nodes from the group; nodes not in it are ignored."""
        pk = self._require_stored("nodes are removed from it")
        ids = _node_ids(nodes)
        members = _members_table()
        with self._backend.transaction() as session:
            session.execute(
                sa.delete(members).where(members.c.dbgroup_id == pk, members.c.dbnode_id.in_(ids))
            )

    def clear(self) -> None:
        """Remove every node from the group."""
        pk = self._require_stored("it is cleared")
        members = _members_table()
        with self._backend.transaction() as session:
            session.execute(sa.delete(members).where(members.c.dbgroup_id == pk))

    @property
    def nodes(self) -> list[Node]:
        """The nodes in the group, in the order they were added."""
        if not self.is_stored:
            return []
        members = _members_table()
        statement = (
            sa.select(members.c.dbnode_id).where(members.c.dbgroup_id == self._pk).order_by(members.c.id)
        )
        with self._backend.transaction() as session:
            ids = list(session.execute(statement).scalars())
        return [Node.from_pk(self._backend, node_id) for node_id in ids]

    def count(self) -> int:
        """The number of nodes in the group."""
        if not self.is_stored:
            return 0
        members = _members_table()
        statement = sa.select(sa.func.count()).select_from(members).where(members.c.dbgroup_id == self._pk)
        with self._backend.transaction() as session:
            return int(session.execute(statement).scalar_one())

    @property
    def is_empty(self) -> bool:
        """Whether the group holds no node."""
        return self.count() == 0


class GroupCollection(EntityCollection[Group]):
    """The groups of a store."""

    def delete(self, pk: int) -> None:
        """Delete a group (its nodes stay)."""
        members = _members_table()
        with self._backend.transaction() as session:
            session.execute(sa.delete(members).where(members.c.dbgroup_id == pk))
            super().delete(pk)
