"""Putting a marker's starting state into a store: the archive first, then the seed callable."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .exceptions import ArchiveError

if TYPE_CHECKING:
    from pathlib import Path

    from .marker import Seed
    from .storage.backend import SqliteTempBackend

__all__ = ["seed_store"]


def import_seed_archive(store: SqliteTempBackend, archive: Path) -> None:
    """Import ``archive`` (zip or folder) into ``store``, without the import group AiiDA would add.

    A missing path is a ``FileNotFoundError`` and an unreadable one an ``ArchiveError``,
    both naming the path.
    """
    from .archive import import_archive  # noqa: PLC0415 - loaded only when an archive is used

    if not archive.exists():
        raise FileNotFoundError(f"tempstore archive not found: {archive}")
    try:
        import_archive(archive, store, create_group=False)
    except ArchiveError as error:
        raise ArchiveError(f"tempstore archive {archive} cannot be imported: {error}") from error


def seed_store(store: SqliteTempBackend, archive: Path | None, seed: Seed | None) -> None:
    """Give ``store`` its starting state: import ``archive`` if given, then call ``seed(store)`` if given.

    An exception from the seed propagates unchanged, with a note naming the seed.
    """
    if archive is not None:
        import_seed_archive(store, archive)
    if seed is not None:
        try:
            seed(store)
        except Exception as error:
            error.add_note(f"raised by the tempstore seed {getattr(seed, '__qualname__', seed)!r}")
            raise
