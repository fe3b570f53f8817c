"""Reading the files of an archive, zipped or unzipped, without trusting it.

:func:`open_source` inspects every entry before anything is extracted: names
that could escape a folder (``..``, absolute paths, backslashes, drive
letters), links and device files, duplicates, encrypted entries and sizes over
the :class:`~.limits.ArchiveLimits` are refused with an :class:`ArchiveError`.
Entries are then only ever read through a :class:`~.limits.LimitedReader`.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import struct
import tarfile
import zipfile
from abc import ABC, abstractmethod
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from ..exceptions import ArchiveError
from .format import (
    DATABASE_NAME,
    LEGACY_DATA_NAME,
    METADATA_NAME,
    REPOSITORY_FOLDER,
    is_object_key,
    legacy_archive_error,
    parse_metadata,
)
from .limits import ArchiveLimits, ByteBudget, LimitedReader

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["ArchiveSource", "FolderSource", "ZipSource", "open_source"]

#: ``metadata.json`` is read into memory, so it gets a tighter cap than other entries.
MAX_METADATA_BYTES: Final = 64 << 20
_DRIVE: Final = re.compile(r"[A-Za-z]:")
_REPO_PREFIX: Final = f"{REPOSITORY_FOLDER}/"
#: The end-of-central-directory record and its comment lie within this many bytes of a zip's end.
_EOCD_SEARCH: Final = 22 + 0xFFFF + 20


def check_entry_name(name: str, where: str) -> None:
    """Refuse an entry name that is not a plain relative path inside the archive."""
    problem = None
    if not name or "\x00" in name:
        problem = "is empty or holds a NUL character"
    elif "\\" in name:
        problem = "contains a backslash"
    elif name.startswith("/"):
        problem = "is an absolute path"
    elif _DRIVE.match(name):
        problem = "starts with a drive letter"
    elif any(part in ("", ".", "..") for part in name.removesuffix("/").split("/")):
        problem = "has an empty, '.' or '..' path component"
    if problem is not None:
        raise ArchiveError(f"{where}: refusing the entry {name!r}, whose name {problem}")


class ArchiveSource(ABC):
    """The files of one archive: its metadata, its database and its objects."""

    kind: Literal["zip", "folder"]

    def __init__(self, path: Path, limits: ArchiveLimits) -> None:
        self.path = path
        self.limits = limits
        self.budget = ByteBudget(limits.max_total_bytes)
        #: object key -> declared size, for every ``repo/<key>`` entry
        self.object_sizes: dict[str, int] = {}

    def __enter__(self) -> ArchiveSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @abstractmethod
    def close(self) -> None:
        """Release open files."""

    @abstractmethod
    def has_member(self, name: str) -> bool:
        """Whether the archive holds a file of this name."""

    @abstractmethod
    def open_member(self, name: str) -> LimitedReader:
        """A limited stream over one file of the archive; ``ArchiveError`` if it is absent."""

    def member_order(self, keys: list[str]) -> list[str]:
        """``keys`` in the order that reads the archive front to back."""
        return sorted(keys)

    def read_metadata(self) -> dict[str, Any]:
        """The checked ``metadata.json``; ``ArchiveError`` for a missing, malformed or unreadable one."""
        if not self.has_member(METADATA_NAME):
            if self.has_member(LEGACY_DATA_NAME):
                raise legacy_archive_error(str(self.path), "(unknown 0.x)")
            raise ArchiveError(f"{self.path}: not an AiiDA archive, it has no {METADATA_NAME}")
        with self._opened(METADATA_NAME) as reader:
            if reader.declared_size > MAX_METADATA_BYTES:
                raise ArchiveError(f"{self.path}: {METADATA_NAME} is larger than {MAX_METADATA_BYTES} bytes")
            content = reader.read()
        return parse_metadata(content, str(self.path))

    def copy_database(self, target: Path) -> None:
        """Stream ``db.sqlite3`` into the new file ``target``."""
        if not self.has_member(DATABASE_NAME):
            raise ArchiveError(f"{self.path}: the archive has no {DATABASE_NAME}")
        with self._opened(DATABASE_NAME) as reader, open(target, "xb") as handle:
            shutil.copyfileobj(reader, handle, 1 << 20)

    @contextmanager
    def open_object(self, key: str) -> Iterator[LimitedReader]:
        """A limited stream over the content of the object ``key``."""
        with self._opened(f"{_REPO_PREFIX}{key}") as reader:
            yield reader

    @contextmanager
    def _opened(self, name: str) -> Iterator[LimitedReader]:
        reader = self.open_member(name)
        try:
            yield reader
        finally:
            reader.close()


class ZipSource(ArchiveSource):
    """An archive in a zip file."""

    kind = "zip"

    def __init__(self, path: Path, limits: ArchiveLimits) -> None:
        super().__init__(path, limits)
        # zipfile reads the whole central directory at once: check its size before it does.
        declared = _declared_entry_count(path)
        if declared is not None:
            limits.check_totals(str(path), declared, 0)
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
            raise ArchiveError(f"{path}: not a readable zip file: {error}") from error
        try:
            self._members = self._check_entries(self._zip.infolist())
        except BaseException:
            self._zip.close()
            raise
        self.object_sizes = {
            name[len(_REPO_PREFIX) :]: info.file_size
            for name, info in self._members.items()
            if name.startswith(_REPO_PREFIX) and is_object_key(name[len(_REPO_PREFIX) :])
        }

    def _check_entries(self, infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
        where = str(self.path)
        members: dict[str, zipfile.ZipInfo] = {}
        total = 0
        self.limits.check_totals(where, len(infos), 0)
        for info in infos:
            name = info.filename
            check_entry_name(name, where)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise ArchiveError(f"{where}: refusing the entry {name!r}, which is a symbolic link")
            if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise ArchiveError(
                    f"{where}: refusing the entry {name!r}, which is not a regular file or folder"
                )
            if info.flag_bits & 0x1:
                raise ArchiveError(f"{where}: refusing the entry {name!r}, which is encrypted")
            if name in members:
                raise ArchiveError(f"{where}: the entry {name!r} appears more than once")
            self.limits.check_entry(name, info.file_size, info.compress_size)
            total += info.file_size
            members[name] = info
        self.limits.check_totals(where, len(infos), total)
        return members

    def close(self) -> None:
        self._zip.close()

    def has_member(self, name: str) -> bool:
        info = self._members.get(name)
        return info is not None and not info.is_dir()

    def open_member(self, name: str) -> LimitedReader:
        info = self._members.get(name)
        if info is None or info.is_dir():
            raise ArchiveError(f"{self.path}: the archive has no entry {name!r}")
        try:
            stream = self._zip.open(info)
        except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError, EOFError) as error:
            raise ArchiveError(f"{self.path}: the entry {name!r} cannot be read: {error}") from error
        return LimitedReader(stream, name, info.file_size, self.limits, self.budget)

    def member_order(self, keys: list[str]) -> list[str]:
        # Reading in file order keeps the disk access sequential.
        return sorted(keys, key=lambda key: self._members[f"{_REPO_PREFIX}{key}"].header_offset)


class FolderSource(ArchiveSource):
    """An archive unzipped into a folder (also the layout of a kept store)."""

    kind = "folder"

    def __init__(self, path: Path, limits: ArchiveLimits) -> None:
        super().__init__(path, limits)
        where = str(path)
        self._sizes: dict[str, int] = {}
        entries = 0
        with os.scandir(path) as top:
            for entry in top:
                entries += 1
                if entry.name in (METADATA_NAME, DATABASE_NAME, LEGACY_DATA_NAME):
                    self._sizes[entry.name] = self._regular_file_size(entry)
        repository = path / REPOSITORY_FOLDER
        if repository.is_symlink():
            raise ArchiveError(f"{where}: refusing {REPOSITORY_FOLDER!r}, which is a symbolic link")
        if repository.is_dir():
            with os.scandir(repository) as objects:
                for entry in objects:
                    entries += 1
                    if is_object_key(entry.name):
                        self.object_sizes[entry.name] = self._regular_file_size(entry)
        for name, size in (*self._sizes.items(), *self.object_sizes.items()):
            limits.check_entry(name, size)
        limits.check_totals(where, entries, sum(self._sizes.values()) + sum(self.object_sizes.values()))

    def _regular_file_size(self, entry: os.DirEntry[str]) -> int:
        if entry.is_symlink():
            raise ArchiveError(f"{self.path}: refusing {entry.name!r}, which is a symbolic link")
        if not entry.is_file(follow_symlinks=False):
            raise ArchiveError(f"{self.path}: refusing {entry.name!r}, which is not a regular file")
        return entry.stat(follow_symlinks=False).st_size

    def _file(self, name: str) -> tuple[Path, int] | None:
        if name.startswith(_REPO_PREFIX):
            size = self.object_sizes.get(name[len(_REPO_PREFIX) :])
            return None if size is None else (self.path / name, size)
        size = self._sizes.get(name)
        return None if size is None else (self.path / name, size)

    def has_member(self, name: str) -> bool:
        return self._file(name) is not None

    def open_member(self, name: str) -> LimitedReader:
        found = self._file(name)
        if found is None:
            raise ArchiveError(f"{self.path}: the archive has no file {name!r}")
        file_path, size = found
        try:
            # O_NOFOLLOW: the file was checked not to be a link, and must not become one.
            descriptor = os.open(file_path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as error:
            raise ArchiveError(f"{self.path}: {name!r} cannot be opened: {error}") from error
        stream = os.fdopen(descriptor, "rb")
        return LimitedReader(stream, name, size, self.limits, self.budget)

    def close(self) -> None:
        """Nothing stays open between reads of a folder."""


def open_source(path: str | os.PathLike[str], limits: ArchiveLimits | None = None) -> ArchiveSource:
    """Open an archive file or folder for reading, after checking every entry.

    ``FileNotFoundError`` when ``path`` does not exist; ``ArchiveError`` when it
    is neither a zip file nor a folder, or breaks a limit or a safety rule.
    """
    archive = Path(path)
    limits = ArchiveLimits() if limits is None else limits
    if not archive.exists():
        raise FileNotFoundError(f"archive not found: {archive}")
    if archive.is_dir():
        return FolderSource(archive, limits)
    if not archive.is_file():
        raise ArchiveError(f"{archive}: not an archive, neither a regular file nor a folder")
    if zipfile.is_zipfile(archive):
        return ZipSource(archive, limits)
    if _is_tar(archive):
        raise ArchiveError(
            f"{archive}: a tar file, which only the old AiiDA archive formats (0.x) used; migrate it first "
            "with aiida-core: verdi archive migrate <archive> <new archive>"
        )
    raise ArchiveError(f"{archive}: not an AiiDA archive, neither a zip file nor a folder")


def _declared_entry_count(path: Path) -> int | None:
    """The number of entries a zip's end-of-central-directory record declares, if it can be found."""
    with open(path, "rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        tail_size = min(size, _EOCD_SEARCH)
        handle.seek(size - tail_size)
        tail = handle.read(tail_size)
        position = tail.rfind(b"PK\x05\x06")
        if position < 0 or position + 22 > len(tail):
            return None
        count: int = struct.unpack_from("<H", tail, position + 10)[0]
        locator = tail.rfind(b"PK\x06\x07", 0, position)
        if count == 0xFFFF and locator >= 0 and locator + 20 <= len(tail):
            # A zip64 archive: the real count is in the zip64 end record the locator points to.
            handle.seek(struct.unpack_from("<Q", tail, locator + 8)[0])
            record = handle.read(56)
            if len(record) == 56 and record[:4] == b"PK\x06\x06":
                count = struct.unpack_from("<Q", record, 32)[0]
    return count


def _is_tar(path: Path) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except (OSError, EOFError, tarfile.TarError):
        return False
