"""Comments and log records attached to nodes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa

from ...exceptions import InputValidationError
from ..entity_types import EntityTypes
from ..models import DbComment, DbLog
from ._json import clean_json
from .base import Entity, EntityCollection, EntityT
from .columns import EditableText, JsonDict, OptionalText, Text, Time

if TYPE_CHECKING:
    from datetime import datetime

    from ..backend import SqliteTempBackend
    from .nodes import Node
    from .users import User

__all__ = ["Comment", "CommentCollection", "Log", "LogCollection"]


def _node_of(entity: Entity) -> Node:
    from .nodes import Node  # noqa: PLC0415 - nodes imports this module

    return Node.from_pk(entity.backend, int(entity._get("dbnode_id")))


class Comment(Entity):
    """A user's comment on a node."""

    entity_type: ClassVar[EntityTypes] = EntityTypes.COMMENT
    model = DbComment

    def __init__(
        self, backend: SqliteTempBackend, node: Node, content: str, user: User | None = None
    ) -> None:
        if not isinstance(content, str):
            raise InputValidationError(f"comment content must be a string, not {type(content).__name__}")
        user = backend.default_user if user is None else user
        super().__init__(
            backend,
            {
                "dbnode_id": node._require_stored("it is commented on"),
                "user_id": user._require_stored("it comments"),
                "content": content,
            },
        )

    uuid = OptionalText("The UUID (assigned when stored).")

    @property
    def node(self) -> Node:
        """The node commented on."""
        return _node_of(self)

    @property
    def user(self) -> User:
        """The author."""
        from .users import User  # noqa: PLC0415

        return User.from_pk(self._backend, int(self._get("user_id")))

    content = EditableText("The text; assigning it bumps ``mtime``.")
    ctime = Time("When the comment was made.")
    mtime = Time("When the comment last changed.")


class Log(Entity):
    """A log record of a node (usually a process)."""

    entity_type: ClassVar[EntityTypes] = EntityTypes.LOG
    model = DbLog

    def __init__(
        self,
        backend: SqliteTempBackend,
        node: Node,
        loggername: str,
        levelname: str,
        message: str = "",
        *,
        metadata: dict[str, Any] | None = None,
        time: datetime | None = None,
    ) -> None:
        if not isinstance(levelname, str) or not levelname or len(levelname) > 50:
            raise InputValidationError(
                f"levelname must be a non-empty string of at most 50 characters: {levelname!r}"
            )
        values: dict[str, Any] = {
            "dbnode_id": node._require_stored("it gets a log record"),
            "loggername": loggername,
            "levelname": levelname,
            "message": message,
            "metadata": clean_json(metadata or {}, "log metadata"),
        }
        if time is not None:
            values["time"] = time
        super().__init__(backend, values)

    uuid = OptionalText("The UUID (assigned when stored).")

    @property
    def node(self) -> Node:
        """The node the record belongs to."""
        return _node_of(self)

    loggername = Text("The name of the logger.")
    levelname = Text("The level, e.g. ``REPORT`` or ``ERROR``.")
    message = Text("The message.")
    time = Time("When the record was made.")

    metadata = JsonDict("A copy of the metadata.")


class _PerNodeCollection(EntityCollection[EntityT]):
    _order_column = "id"

    def for_node(self, node: Node) -> list[EntityT]:
        """The entities attached to ``node``, oldest first."""
        table = self._entity_class.table()
        statement = (
            sa.select(table.c.id)
            .where(table.c.dbnode_id == node._require_stored("reading its comments and logs"))
            .order_by(table.c[self._order_column], table.c.id)
        )
        with self._backend.transaction() as session:
            ids = list(session.execute(statement).scalars())
        return [self._entity_class.from_pk(self._backend, pk) for pk in ids]


class CommentCollection(_PerNodeCollection[Comment]):
    """The comments of a store."""

    _order_column = "ctime"


class LogCollection(_PerNodeCollection[Log]):
    """The log records of a store."""

    _order_column = "time"
