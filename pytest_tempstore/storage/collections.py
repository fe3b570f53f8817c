"""Entity collections and queries on a store: ``store.nodes``, ``store.users``, ..., ``store.query()``.

Mixed into :class:`~pytest_tempstore.storage.backend.SqliteTempBackend`.
"""

from __future__ import annotations

__all__ = ["EntityCollectionsMixin"]


class EntityCollectionsMixin:
    """The entity collections of a store and its query entry point."""
