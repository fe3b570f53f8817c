"""Entity collections and queries on a store: ``store.nodes``, ``store.users``, ..., ``store.query()``.

Mixed into :class:`~pytest_tempstore.storage.backend.SqliteTempBackend`.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .backend import SqliteTempBackend
    from .entities import (
        AuthInfo,
        CommentCollection,
        Computer,
        EntityCollection,
        GroupCollection,
        LogCollection,
        NodeCollection,
        User,
        UserCollection,
    )
    from .querybuilder import QueryBuilder

__all__ = ["EntityCollectionsMixin"]


class EntityCollectionsMixin:
    """The entity collections of a store and its query entry point.

    Entity modules are imported on first use, so making a store stays cheap.
    """

    def _as_backend(self) -> SqliteTempBackend:
        from .backend import SqliteTempBackend  # noqa: PLC0415 - backend imports this module

        assert isinstance(self, SqliteTempBackend)
        return self

    @cached_property
    def users(self) -> UserCollection:
        """The users."""
        from .entities import User, UserCollection  # noqa: PLC0415

        return UserCollection(self._as_backend(), User)

    @cached_property
    def computers(self) -> EntityCollection[Computer]:
        """The computers."""
        from .entities import Computer, EntityCollection  # noqa: PLC0415

        return EntityCollection(self._as_backend(), Computer)

    @cached_property
    def authinfos(self) -> EntityCollection[AuthInfo]:
        """The authorisations of users on computers."""
        from .entities import AuthInfo, EntityCollection  # noqa: PLC0415

        return EntityCollection(self._as_backend(), AuthInfo)

    @cached_property
    def nodes(self) -> NodeCollection:
        """The nodes."""
        from .entities import Node, NodeCollection  # noqa: PLC0415

        return NodeCollection(self._as_backend(), Node)

    @cached_property
    def groups(self) -> GroupCollection:
        """The groups."""
        from .entities import Group, GroupCollection  # noqa: PLC0415

        return GroupCollection(self._as_backend(), Group)

    @cached_property
    def comments(self) -> CommentCollection:
        """The comments."""
        from .entities import Comment, CommentCollection  # noqa: PLC0415

        return CommentCollection(self._as_backend(), Comment)

    @cached_property
    def logs(self) -> LogCollection:
        """The log records."""
        from .entities import Log, LogCollection  # noqa: PLC0415

        return LogCollection(self._as_backend(), Log)

    @property
    def default_user(self) -> User:
        """The profile's default user."""
        from .entities import User  # noqa: PLC0415

        backend = self._as_backend()
        return User.from_pk(backend, backend.default_user_id)

    def query(self) -> QueryBuilder:
        """A new ``QueryBuilder`` on this store."""
        from .querybuilder import QueryBuilder  # noqa: PLC0415

        return QueryBuilder(backend=self._as_backend())
