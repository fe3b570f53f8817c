"""Our sha256 repository presented as an aiida-core repository backend.

aiida-core checks that a storage's repository is an instance of its
``AbstractRepositoryBackend``. The project's :class:`SandboxShaRepositoryBackend`
(an O(1) index, deferred deletion, snapshots) already has the same interface, so
this adapter only forwards each call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, BinaryIO, cast

from aiida.repository.backend.abstract import AbstractRepositoryBackend

if TYPE_CHECKING:
    import contextlib
    from collections.abc import Iterable, Iterator

    from aiida.repository.backend.abstract import InfoDictType

    from pytest_tempstore.repository import SandboxShaRepositoryBackend

__all__ = ["AiidaShaRepository"]


class AiidaShaRepository(AbstractRepositoryBackend):
    """An aiida-core repository backend that forwards every call to a :class:`SandboxShaRepositoryBackend`."""

    def __init__(self, repository: SandboxShaRepositoryBackend) -> None:
        self._repository = repository

    def __str__(self) -> str:
        return str(self._repository)

    @property
    def uuid(self) -> str | None:
        return self._repository.uuid

    @property
    def key_format(self) -> str | None:
        return self._repository.key_format

    def initialise(self, **kwargs: Any) -> None:
        self._repository.initialise(**kwargs)

    @property
    def is_initialised(self) -> bool:
        return self._repository.is_initialised

    def erase(self) -> None:
        self._repository.erase()

    def _put_object_from_filelike(self, handle: BinaryIO) -> str:
        return self._repository.put_object_from_filelike(handle)

    def has_objects(self, keys: list[str]) -> list[bool]:
        return self._repository.has_objects(keys)

    def has_object(self, key: str) -> bool:
        return self._repository.has_object(key)

    def list_objects(self) -> Iterable[str]:
        return self._repository.list_objects()

    def get_info(self, detailed: bool = False) -> InfoDictType:
        return cast("InfoDictType", self._repository.get_info(detailed))

    def maintain(self, dry_run: bool = False, live: bool = True, **kwargs: Any) -> None:
        self._repository.maintain(dry_run=dry_run, live=live, **kwargs)

    def open(self, key: str) -> contextlib.AbstractContextManager[BinaryIO]:
        return self._repository.open(key)

    def get_object_content(self, key: str) -> bytes:
        return self._repository.get_object_content(key)

    def iter_object_streams(self, keys: Iterable[str]) -> Iterator[tuple[str, BinaryIO]]:
        return self._repository.iter_object_streams(keys)

    def get_object_hash(self, key: str) -> str:
        return self._repository.get_object_hash(key)

    def delete_objects(self, keys: list[str]) -> None:
        self._repository.delete_objects(keys)

    def delete_object(self, key: str) -> None:
        self._repository.delete_object(key)
