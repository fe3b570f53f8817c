"""Limits that keep a hostile archive (a zip bomb, a lying header) from exhausting the disk.

Every limit is checked twice: against the sizes an archive declares, before
anything is read, and again on the bytes actually produced while streaming,
because a declared size is only a claim.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from ..exceptions import ArchiveError, InputValidationError

if TYPE_CHECKING:
    from typing import IO

__all__ = ["ArchiveLimits", "ByteBudget", "LimitedReader"]

_GIB: Final = 1 << 30
# What a damaged or hostile entry makes the decompressor raise.
_READ_ERRORS: Final = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError)


@dataclass(frozen=True)
class ArchiveLimits:
    """How much an archive may hold; the defaults suit any archive a test would use.

    :param max_total_bytes: the uncompressed size of all entries together.
    :param max_entry_bytes: the uncompressed size of any one entry.
    :param max_ratio: uncompressed to compressed size of any one entry larger
        than ``ratio_grace_bytes`` (small entries of repetitive data compress
        far better than this without being a threat).
    :param max_entries: the number of entries (files and folders).
    :param ratio_grace_bytes: entries up to this size are exempt from ``max_ratio``.
    """

    max_total_bytes: int = 64 * _GIB
    max_entry_bytes: int = 16 * _GIB
    max_ratio: float = 250.0
    max_entries: int = 2_000_000
    ratio_grace_bytes: int = 1 << 20

    def __post_init__(self) -> None:
        for name in ("max_total_bytes", "max_entry_bytes", "max_entries", "ratio_grace_bytes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InputValidationError(
                    f"ArchiveLimits.{name} must be a non-negative integer, not {value!r}"
                )
        if (
            not isinstance(self.max_ratio, int | float)
            or isinstance(self.max_ratio, bool)
            or self.max_ratio < 1
        ):
            raise InputValidationError(
                f"ArchiveLimits.max_ratio must be a number >= 1, not {self.max_ratio!r}"
            )

    def check_entry(self, name: str, size: int, compressed_size: int | None = None) -> None:
        """Check one entry's declared size (and, for a zip entry, its compression ratio)."""
        if size > self.max_entry_bytes:
            raise ArchiveError(
                f"archive entry {name!r} declares {size} bytes, more than the limit of {self.max_entry_bytes}"
            )
        if compressed_size is not None and size > self.ratio_grace_bytes:
            ratio = size / max(compressed_size, 1)
            if ratio > self.max_ratio:
                raise ArchiveError(
                    f"archive entry {name!r} expands {ratio:.0f}-fold ({compressed_size} -> {size} bytes), "
                    f"more than the limit of {self.max_ratio:g}; refusing a possible zip bomb"
                )

    def check_totals(self, where: str, entries: int, total_size: int) -> None:
        """Check the number of entries and their declared total size."""
        if entries > self.max_entries:
            raise ArchiveError(f"{where}: {entries} entries, more than the limit of {self.max_entries}")
        if total_size > self.max_total_bytes:
            raise ArchiveError(
                f"{where}: entries declare {total_size} bytes in total, "
                f"more than the limit of {self.max_total_bytes}"
            )


class ByteBudget:
    """The bytes an archive may still produce, shared by every stream read from it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def spend(self, count: int, name: str) -> None:
        self.used += count
        if self.used > self.limit:
            raise ArchiveError(
                f"archive entry {name!r}: the archive produced more than "
                f"the limit of {self.limit} bytes in total"
            )


class LimitedReader:
    """A read-only binary stream over one archive entry that stops at the first byte too many.

    It refuses more bytes than the entry declared, more than the per-entry
    limit and more than the archive's budget, and turns the decompressor's
    errors into :class:`ArchiveError` naming the entry.
    """

    def __init__(
        self, stream: IO[bytes], name: str, declared_size: int, limits: ArchiveLimits, budget: ByteBudget
    ) -> None:
        self._stream = stream
        self._name = name
        self._allowed = min(declared_size, limits.max_entry_bytes)
        self._declared = declared_size
        self._budget = budget
        self.produced = 0

    @property
    def declared_size(self) -> int:
        """The size the archive declares for the entry."""
        return self._declared

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._stream.close()

    @property
    def closed(self) -> bool:
        return bool(self._stream.closed)

    def read(self, size: int = -1, /) -> bytes:
        if size == 0:
            return b""
        try:
            # Ask for one byte more than allowed, so an overlong entry shows itself.
            room = self._allowed - self.produced + 1
            chunk = self._stream.read(room if size < 0 else min(size, room))
        except _READ_ERRORS as error:
            raise ArchiveError(f"archive entry {self._name!r} cannot be read: {error}") from error
        self.produced += len(chunk)
        if self.produced > self._allowed:
            what = "declares" if self._allowed == self._declared else "may produce at most"
            raise ArchiveError(
                f"archive entry {self._name!r} {what} {self._allowed} bytes but holds more; "
                "its header does not match its content"
            )
        self._budget.spend(len(chunk), self._name)
        if not chunk and self.produced < self._declared:
            raise ArchiveError(
                f"archive entry {self._name!r} ends after {self.produced} "
                f"of its declared {self._declared} bytes"
            )
        return chunk
