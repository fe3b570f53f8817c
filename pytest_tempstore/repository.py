"""A sha256 content-addressed object store in a throwaway folder.

The design, in short:

* Objects lie flat in one folder, each in a plain file named by the 64 hex digits of the
  sha256 of its content (so other code may hard-link them elsewhere). The folder is made
  at the first write, never on construction.
* An in-memory index (key -> size) of the live objects answers every lookup, so the
  folder is never listed. A put reads its stream once, hashing and writing in the same
  pass. A stream longer than one chunk goes to a temporary file, renamed into place once
  complete; a shorter one is hashed first and written straight to its key under the lock
  (one metadata update instead of two). Either way a key enters the index only once its
  file is complete, and a file that no index knows of (a killed process's) is never trusted.
* Deletion is deferred. A deleted key leaves the index at once and so is invisible to
  every call, but its file only moves to a garbage set, unlinked in batches later
  (unlinking is ~100x dearer than dropping a dict entry). Putting the same content again
  revives the garbage file without writing.
* Snapshots are frozen sets of live keys. Each live snapshot pins its objects: no garbage
  file a live snapshot lists is ever unlinked, so restoring one only moves keys between
  the index and the garbage, plus hard links for a snapshot taken from another repository.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import logging
import os
import re
import shutil
import tempfile
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, Final, Protocol, TypedDict

from pytest_tempstore.exceptions import CorruptStorage, UnreachableStorage
from pytest_tempstore.sandbox import new_sandbox_folder, remove_owned_folder

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

__all__ = [
    "CHUNK_SIZE",
    "MaintenanceReport",
    "RepositorySnapshot",
    "SandboxShaRepositoryBackend",
]

logger = logging.getLogger(__name__)

#: How many bytes a put asks of its stream at a time.
CHUNK_SIZE: Final = 1 << 20

# Exact built-in types whose readinto() reads just what read() would. Refilling one buffer
# spares a fresh 1 MiB allocation, and its page faults, per chunk (~15% of a big put).
# Subclasses may override read() alone, so they go through read().
_READINTO_TYPES: Final = frozenset({io.BytesIO, io.BufferedReader, io.BufferedRandom, io.FileIO})
# One chunk buffer per thread, kept between puts: a fresh one costs ~1.5 ms of zeroing and page faults.
_spare = threading.local()
_KEY_PATTERN: Final = re.compile(r"[0-9a-f]{64}")
_TEMP_PREFIX: Final = ".incoming-"
# O_EXCL: we never write into a file that is already there, not even a leftover of a crashed run.
_NEW_FILE_FLAGS: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
# One counter for the whole process, so two backends on one folder never pick the same name.
_TEMP_COUNTER: Final = itertools.count()


class _ReadsBytes(Protocol):
    """Anything with a binary ``read(size)``: files, pipes, sockets' ``makefile('rb')``, raw streams."""

    def read(self, size: int = ..., /) -> bytes | bytearray | memoryview | None: ...


class MaintenanceReport(TypedDict):
    """What :meth:`SandboxShaRepositoryBackend.maintain` did."""

    checked: int
    corrupt: list[str]
    garbage: int
    pinned: int
    removed: int


@dataclass(frozen=True, eq=False, repr=False)
class RepositorySnapshot:
    """The live objects of a repository at one moment; while it lives, its objects stay on disk.

    Snapshots compare by identity: two equal-looking snapshots are still two pins, and the
    repository tracks each in a weak set that would merge equal ones.
    """

    keys: frozenset[str]
    sizes: Mapping[str, int]
    repository: SandboxShaRepositoryBackend

    def __repr__(self) -> str:
        return f"<RepositorySnapshot of {len(self.keys)} objects from {self.repository!r}>"


def _check_key(key: object) -> str:
    """Return ``key`` if it is a well-formed sha256 key, else raise ``ValueError``."""
    if not isinstance(key, str) or _KEY_PATTERN.fullmatch(key) is None:
        raise ValueError(f"malformed object key {key!r}: expected 64 lowercase hexadecimal digits")
    return key


def _not_found(key: str) -> FileNotFoundError:
    return FileNotFoundError(f"object {key} does not exist in the repository")


def _reader_of(handle: object) -> Callable[[int], object]:
    """Return the ``read`` method of ``handle``, or raise ``TypeError`` if it is no readable binary stream."""
    if isinstance(handle, io.TextIOBase):
        raise TypeError(f"expected a binary stream, got the text stream {handle!r}")
    read: Callable[[int], object] | None = getattr(handle, "read", None)
    if not callable(read):
        raise TypeError(f"expected a readable binary stream, got {type(handle).__name__}")
    if getattr(handle, "closed", False):
        raise TypeError(f"cannot read from the closed stream {handle!r}")
    readable = getattr(handle, "readable", None)
    if callable(readable):
        try:
            is_readable = readable()
        except (OSError, ValueError) as exc:
            raise TypeError(f"cannot read from the stream {handle!r}: {exc}") from exc
        if not is_readable:
            raise TypeError(f"the stream {handle!r} is not open for reading")
    return read


def _as_bytes(chunk: object) -> bytes:
    """Check what a ``read`` returned; only binary data may come out of it."""
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, bytearray | memoryview):
        return bytes(chunk)
    if isinstance(chunk, str):
        raise TypeError("expected a binary stream, but read() returned str")
    if chunk is None:
        # Only a non-blocking raw stream does this; it cannot be read in one pass.
        raise BlockingIOError("the stream has no data ready; pass a blocking stream")
    raise TypeError(f"expected read() to return bytes, got {type(chunk).__name__}")


def _first_chunk(read: Callable[[int], object]) -> bytes:
    try:
        chunk = read(CHUNK_SIZE)
    except io.UnsupportedOperation as exc:
        raise TypeError(f"the stream cannot be read: {exc}") from exc
    return _as_bytes(chunk)


def _remaining_chunks(handle: object, read: Callable[[int], object]) -> Iterator[bytes | memoryview]:
    """The rest of the stream, chunk by chunk; each chunk is valid until the next is asked for."""
    if type(handle) in _READINTO_TYPES and isinstance(handle, io.BufferedIOBase | io.RawIOBase):
        readinto = handle.readinto
        # Borrowed for the duration: a read() that itself puts objects gets a buffer of its own.
        buffer = getattr(_spare, "buffer", None) or bytearray(CHUNK_SIZE)
        _spare.buffer = None
        try:
            view = memoryview(buffer)
            while count := readinto(view):
                yield view[:count]
            if count is None:
                raise BlockingIOError("the stream has no data ready; pass a blocking stream")
        finally:
            _spare.buffer = buffer
        return
    while chunk := _as_bytes(read(CHUNK_SIZE)):
        yield chunk


def _write_all(fd: int, data: bytes | memoryview, path: str) -> None:
    try:
        written = os.write(fd, data)
        if written < len(data):  # rare on regular files, but allowed
            view = memoryview(data)[written:]
            while view:
                view = view[os.write(fd, view) :]
    except OSError as exc:
        raise UnreachableStorage(f"cannot write {path}: {exc}") from exc


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class SandboxShaRepositoryBackend:
    """A sha256 content-addressed object store in a temporary folder.

    :param filepath: the folder that holds the objects; ``None`` makes a fresh temporary
        folder at the first write, removed again by :meth:`erase` or once this object is
        garbage-collected (it holds an owner lock, so that if the process dies first a
        later one removes it: see :mod:`pytest_tempstore.sweep`). A given folder is created
        at the first write and removed only by :meth:`erase`. Files already in it are not adopted.
    """

    #: Deleted files pile up in the garbage until this many more than at the last purge.
    GARBAGE_THRESHOLD: ClassVar[int] = 4096

    def __init__(self, filepath: str | os.PathLike[str] | None = None) -> None:
        # Absolute now, so that a later chdir does not move the store.
        self._filepath: str | None = None if filepath is None else os.path.abspath(os.fspath(filepath))
        self._folder: str | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._lock = threading.RLock()
        self._index: dict[str, int] = {}
        self._garbage: dict[str, int] = {}
        # How many garbage files a purge had to keep (pinned); the threshold counts from there
        # so that pinned files do not make every call purge again.
        self._garbage_floor = 0
        self._snapshots: weakref.WeakSet[RepositorySnapshot] = weakref.WeakSet()

    # -- description -------------------------------------------------------------------------

    @property
    def key_format(self) -> str:
        """The format of the keys: ``'sha256'``."""
        return "sha256"

    @property
    def uuid(self) -> None:
        """A sandbox has no identity of its own."""
        return None

    @property
    def folder(self) -> Path | None:
        """The folder holding the objects, or ``None`` until the first write creates it."""
        folder = self._folder
        return None if folder is None else Path(folder)

    @property
    def is_initialised(self) -> bool:
        """Whether the folder has been created (and still exists)."""
        folder = self._folder
        return folder is not None and os.path.isdir(folder)

    def _location(self) -> str:
        return self._folder or self._filepath or "<temporary folder not created yet>"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(folder={self._location()!r})"

    def __str__(self) -> str:
        return f"sha256 sandbox repository at {self._location()}"

    # -- folder ------------------------------------------------------------------------------

    def _ensure_folder(self) -> str:
        """Return the folder, creating it first if needed. The caller holds the lock."""
        folder = self._folder
        if folder is not None:
            return folder
        try:
            if self._filepath is None:
                # Locked with our pid, so that a later process sweeps it if we die without cleaning up.
                folder = os.fspath(new_sandbox_folder())
                # Our own temporary folder goes when this object does (or at exit).
                self._finalizer = weakref.finalize(self, remove_owned_folder, folder)
            else:
                folder = self._filepath
                os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            where = self._filepath or tempfile.gettempdir()
            raise UnreachableStorage(f"cannot create the repository folder in {where}: {exc}") from exc
        self._folder = folder
        return folder

    def initialise(self, reset: bool = False, **kwargs: object) -> None:
        """Create the folder now rather than at the first write; ``reset`` erases everything first."""
        del kwargs  # accepted for compatibility with AiiDA's signature; nothing to configure
        if reset:
            self.erase()
        with self._lock:
            self._ensure_folder()

    def erase(self) -> None:
        """Remove the whole folder and forget every object; the repository stays usable.

        A later write creates the folder again (a new temporary one if no ``filepath`` was
        given). Snapshots taken before no longer pin anything. Calling it twice is harmless.
        """
        with self._lock:
            folder = self._folder or self._filepath
            self._folder = None
            self._index = {}
            self._garbage = {}
            self._garbage_floor = 0
            self._snapshots = weakref.WeakSet()
            owned = self._finalizer is not None and self._finalizer.detach() is not None
            self._finalizer = None
            if folder is None:
                return
            try:
                shutil.rmtree(folder)
            except (FileNotFoundError, NotADirectoryError):
                pass  # never created (a path under a regular file cannot exist): nothing to remove
            except OSError as exc:
                raise UnreachableStorage(f"cannot remove the repository folder {folder}: {exc}") from exc
            if owned:
                remove_owned_folder(folder)  # the folder is gone: this removes its owner lock
        logger.debug("erased repository folder %s", folder)

    # -- writing -----------------------------------------------------------------------------

    def put_object_from_filelike(self, handle: BinaryIO | _ReadsBytes) -> str:
        """Store the content of a readable binary stream and return its key.

        The stream is read once, in chunks, from its current position, and never seeked,
        so pipes and sockets work. ``TypeError`` for text, write-only, closed or non-streams,
        raised before anything is written. If reading fails, nothing is stored and the
        error propagates.
        """
        read = _reader_of(handle)
        chunk = _first_chunk(read)
        head = [chunk]
        size = len(chunk)
        # Short reads are normal for pipes and raw streams: read on until a full chunk or the end.
        while chunk and size < CHUNK_SIZE:
            chunk = _as_bytes(read(CHUNK_SIZE))
            head.append(chunk)
            size += len(chunk)
        if not chunk:
            return self._put_small(head[0] if len(head) <= 2 else b"".join(head))
        return self._put_stream(handle, read, head)

    def put_object_from_file(self, filepath: str | os.PathLike[str]) -> str:
        """Store the content of a file and return its key."""
        with open(filepath, "rb") as handle:
            return self.put_object_from_filelike(handle)

    def _known(self, key: str) -> bool:
        """Whether ``key`` is live, reviving it from the garbage if need be. The caller holds the lock."""
        if key in self._index:
            return True
        size = self._garbage.pop(key, None)
        if size is None:
            return False
        self._index[key] = size
        return True

    def _temp_path(self) -> str:
        """A fresh temporary file name in the folder. The caller holds the lock."""
        folder = self._ensure_folder()
        return os.path.join(folder, f"{_TEMP_PREFIX}{os.getpid()}-{next(_TEMP_COUNTER)}")

    def _open_temp(self, path: str) -> int:
        try:
            return os.open(path, _NEW_FILE_FLAGS, 0o666)
        except OSError as exc:
            raise UnreachableStorage(f"cannot create {path}: {exc}") from exc

    def _put_small(self, data: bytes) -> str:
        # The whole content is in memory: hash first, and skip the disk if it is already stored.
        key = hashlib.sha256(data).hexdigest()
        with self._lock:
            if self._known(key):
                return key
            # Through a temporary file and a rename, so that even a process killed mid-write
            # leaves no partial file under the object's final name.
            self._write_and_rename(os.path.join(self._ensure_folder(), key), data)
            self._index[key] = len(data)
        return key

    def _write_and_rename(self, path: str, data: bytes) -> None:
        """Write ``data`` to a temporary file and rename it to ``path``. The caller holds the lock."""
        temp = self._temp_path()
        try:
            fd = self._open_temp(temp)
            try:
                _write_all(fd, data, temp)
            finally:
                os.close(fd)
            os.replace(temp, path)
        except BaseException as exc:
            _unlink_quietly(temp)
            if isinstance(exc, OSError) and not isinstance(exc, UnreachableStorage):
                raise UnreachableStorage(f"cannot store {path}: {exc}") from exc
            raise

    def _put_stream(self, handle: object, read: Callable[[int], object], head: list[bytes]) -> str:
        hasher = hashlib.sha256()
        size = 0
        with self._lock:
            temp = self._temp_path()
        try:
            fd = self._open_temp(temp)
            try:
                for chunk in head:
                    hasher.update(chunk)
                    _write_all(fd, chunk, temp)
                    size += len(chunk)
                head.clear()  # let the first chunks go: memory stays at one chunk
                for piece in _remaining_chunks(handle, read):
                    hasher.update(piece)
                    _write_all(fd, piece, temp)
                    size += len(piece)
            finally:
                os.close(fd)
        except BaseException:
            _unlink_quietly(temp)
            raise
        key = hasher.hexdigest()
        self._commit(temp, key, size)
        return key

    def _commit(self, temp: str, key: str, size: int) -> None:
        """Rename the written temporary file to its key, unless another put got there first."""
        with self._lock:
            folder = self._folder
            if folder is None or os.path.dirname(temp) != folder:
                _unlink_quietly(temp)
                raise UnreachableStorage(f"the repository was erased while writing object {key}")
            if not self._known(key):
                try:
                    os.replace(temp, os.path.join(folder, key))
                except OSError as exc:
                    _unlink_quietly(temp)
                    raise UnreachableStorage(f"cannot store object {key} in {folder}: {exc}") from exc
                self._index[key] = size
                return
        _unlink_quietly(temp)  # a duplicate: the stored file already has this content

    # -- reading -----------------------------------------------------------------------------

    def has_object(self, key: str) -> bool:
        """Whether an object with this key is stored."""
        key = _check_key(key)
        with self._lock:
            return key in self._index

    def has_objects(self, keys: Iterable[str]) -> list[bool]:
        """For each key, whether an object with that key is stored."""
        checked = [_check_key(key) for key in keys]
        with self._lock:
            index = self._index
            return [key in index for key in checked]

    def list_objects(self) -> list[str]:
        """The keys of all stored objects, in no particular order."""
        with self._lock:
            return list(self._index)

    def get_object_size(self, key: str) -> int:
        """The size in bytes of an object."""
        key = _check_key(key)
        with self._lock:
            try:
                return self._index[key]
            except KeyError:
                raise _not_found(key) from None

    def _open_file(self, key: str) -> io.BufferedReader:
        """Open the file of a live object. Under the lock, so no purge can unlink it in between."""
        with self._lock:
            folder = self._folder
            if key not in self._index or folder is None:
                raise _not_found(key)
            path = os.path.join(folder, key)
            try:
                return open(path, "rb")
            except FileNotFoundError as exc:
                raise CorruptStorage(f"object {key} is indexed but its file {path} is missing") from exc

    @contextlib.contextmanager
    def _opened(self, key: str) -> Iterator[BinaryIO]:
        handle = self._open_file(key)
        try:
            yield handle
        finally:
            handle.close()

    def open(self, key: str) -> contextlib.AbstractContextManager[BinaryIO]:
        """A context manager yielding a readable binary handle on the object's content.

        The key is checked at once; the file is opened on entering the context.
        """
        key = _check_key(key)
        with self._lock:
            if key not in self._index:
                raise _not_found(key)
        return self._opened(key)

    def get_object_content(self, key: str) -> bytes:
        """The whole content of an object."""
        with self.open(key) as handle:
            return handle.read()

    def iter_object_streams(self, keys: Iterable[str]) -> Iterator[tuple[str, BinaryIO]]:
        """Yield ``(key, handle)`` for each key; a handle is closed when the next item comes.

        Every key is checked at the call, before anything is yielded.
        """
        wanted = [_check_key(key) for key in keys]
        with self._lock:
            missing = [key for key in dict.fromkeys(wanted) if key not in self._index]
        if missing:
            raise FileNotFoundError(f"objects do not exist in the repository: {', '.join(missing)}")
        return self._stream_each(wanted)

    def _stream_each(self, keys: list[str]) -> Iterator[tuple[str, BinaryIO]]:
        for key in keys:
            with self._opened(key) as handle:
                yield key, handle

    def _hash_file(self, key: str) -> str:
        # Open under the lock, hash outside it: the open descriptor survives any later unlink.
        with self._open_file(key) as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()

    def get_object_hash(self, key: str) -> str:
        """Re-read the object and return its sha256; ``CorruptStorage`` if it no longer matches the key."""
        key = _check_key(key)
        digest = self._hash_file(key)
        if digest != key:
            raise CorruptStorage(f"object {key} is corrupt: its content now hashes to {digest}")
        return digest

    # -- deleting ----------------------------------------------------------------------------

    def delete_objects(self, keys: Iterable[str]) -> None:
        """Delete objects; if any key is missing, raise ``FileNotFoundError`` naming each and delete none."""
        doomed = list(dict.fromkeys(_check_key(key) for key in keys))
        with self._lock:
            index = self._index
            missing = [key for key in doomed if key not in index]
            if missing:
                raise FileNotFoundError(f"cannot delete, objects do not exist: {', '.join(missing)}")
            garbage = self._garbage
            for key in doomed:
                garbage[key] = index.pop(key)
            self._purge_if_full()

    def delete_object(self, key: str) -> None:
        """Delete one object; ``FileNotFoundError`` if it is missing."""
        self.delete_objects([key])

    def clear(self) -> None:
        """Delete every object; the repository stays usable."""
        with self._lock:
            if self._index:
                self._garbage.update(self._index)
                self._index = {}
                self._purge_if_full()

    def _purge_if_full(self) -> None:
        """Unlink the garbage once it has grown enough. The caller holds the lock."""
        if len(self._garbage) > self._garbage_floor + self.GARBAGE_THRESHOLD:
            self._purge_garbage()

    def _pinned(self) -> set[str]:
        """The garbage keys that some live snapshot lists. The caller holds the lock."""
        pinned: set[str] = set()
        for snapshot in list(self._snapshots):
            pinned.update(snapshot.keys.intersection(self._garbage))
        return pinned

    def _purge_garbage(self) -> int:
        """Unlink every garbage file that no live snapshot pins; return how many. The caller holds the lock.

        Unlinking under the lock keeps it from racing a put that would write the same key again.
        """
        garbage = self._garbage
        folder = self._folder
        if not garbage or folder is None:
            return 0
        pinned = self._pinned()
        kept: dict[str, int] = {}
        removed = 0
        for key, size in garbage.items():
            if key in pinned:
                kept[key] = size
                continue
            try:
                os.unlink(os.path.join(folder, key))
            except FileNotFoundError:
                pass  # removed by someone else; nothing left to do
            except OSError as exc:
                logger.warning("cannot remove deleted object %s from %s: %s", key, folder, exc)
                kept[key] = size  # retried at the next purge
                continue
            removed += 1
        self._garbage = kept
        self._garbage_floor = len(kept)
        logger.debug("removed %d deleted objects from %s, kept %d", removed, folder, len(kept))
        return removed

    # -- snapshots ---------------------------------------------------------------------------

    def snapshot(self) -> RepositorySnapshot:
        """Record the live objects; while the snapshot lives, none of them is unlinked."""
        with self._lock:
            sizes = dict(self._index)
            snapshot = RepositorySnapshot(frozenset(sizes), MappingProxyType(sizes), self)
            # Registered under the lock, so no purge can slip in between copying and pinning.
            self._snapshots.add(snapshot)
        return snapshot

    def restore(self, snapshot: RepositorySnapshot) -> None:
        """Make the live objects exactly those of ``snapshot``.

        Keys not in the snapshot are deleted (deferred), keys in the garbage are revived and
        keys of a snapshot from another repository are hard-linked (or copied across devices)
        from its folder. The set operations run at C speed over the index; the Python-level
        and file-system work is proportional to the difference. If a needed source file is
        missing, ``CorruptStorage`` names it and nothing changes.
        """
        if not isinstance(snapshot, RepositorySnapshot):
            raise TypeError(f"expected a RepositorySnapshot, got {type(snapshot).__name__}")
        with self._lock:
            index = self._index
            garbage = self._garbage
            surplus = index.keys() - snapshot.keys
            wanted = snapshot.keys.difference(index)
            fetch = [key for key in wanted if key not in garbage]
            if fetch:
                self._link_from(snapshot.repository, fetch)
            for key in surplus:
                garbage[key] = index.pop(key)
            for key in wanted:
                size = garbage.pop(key, None)
                index[key] = snapshot.sizes[key] if size is None else size
            self._purge_if_full()

    def _link_from(self, source: SandboxShaRepositoryBackend, keys: list[str]) -> None:
        """Put hard links (or copies) of ``source``'s objects into our folder. The caller holds the lock.

        Checks every source file first; on any failure, removes what it made and raises.
        """
        source_folder = source._folder
        missing = sorted(
            key
            for key in keys
            if source_folder is None or not os.path.isfile(os.path.join(source_folder, key))
        )
        if missing:
            raise CorruptStorage(
                f"cannot restore the snapshot: {source} lacks the files of objects {', '.join(missing)}"
            )
        assert source_folder is not None  # every key would be missing otherwise
        folder = self._ensure_folder()
        made: list[str] = []
        try:
            for key in keys:
                target = os.path.join(folder, key)
                if self._link_or_copy(os.path.join(source_folder, key), target):
                    made.append(target)
        except BaseException:
            for target in made:
                _unlink_quietly(target)
            raise

    def _link_or_copy(self, source: str, target: str) -> bool:
        """Link ``source`` to ``target``, copying if links fail; return whether a file was made."""
        try:
            os.link(source, target)
        except FileExistsError:
            if os.path.samefile(source, target):
                return False  # restoring from our own folder: the file is already in place
            # else a file that no index knows of: never trusted, replaced below
        except FileNotFoundError as exc:
            raise CorruptStorage(f"the object file {source} vanished during a restore") from exc
        except OSError:
            pass  # another device, or a file system without hard links: copied below
        else:
            return True
        temp = self._temp_path()
        try:
            try:
                os.link(source, temp)
            except OSError:
                shutil.copyfile(source, temp)
            os.replace(temp, target)
        except BaseException as exc:
            _unlink_quietly(temp)
            if isinstance(exc, OSError):
                raise UnreachableStorage(f"cannot copy {source} to {target}: {exc}") from exc
            raise
        return True

    # -- upkeep ------------------------------------------------------------------------------

    def get_info(self, detailed: bool = False) -> dict[str, Any]:
        """Statistics: ``{"objects": {"count": N}}``.

        With ``detailed``: ``{"objects": {"count": N, "size": bytes}, "garbage": {"count": G},
        "folder": path or None}``, where ``size`` sums the live objects and ``garbage`` counts
        deleted files not yet unlinked.
        """
        with self._lock:
            info: dict[str, Any] = {"objects": {"count": len(self._index)}}
            if detailed:
                info["objects"]["size"] = sum(self._index.values())
                info["garbage"] = {"count": len(self._garbage)}
                info["folder"] = self._folder
        return info

    def maintain(self, dry_run: bool = False, live: bool = True, **kwargs: object) -> MaintenanceReport:
        """Re-hash every live object and, if allowed, unlink the deleted files.

        Returns ``{"checked": N, "corrupt": [keys], "garbage": G, "pinned": P, "removed": R}``:
        ``checked`` objects were re-hashed and the ``corrupt`` ones no longer match their key
        (or lost their file); they are reported, not removed. ``garbage`` deleted files were
        waiting to be unlinked, ``pinned`` of them are kept because a live snapshot lists
        them, and ``removed`` were unlinked now, which happens only with ``dry_run=False``
        and ``live=False`` (nothing else using the repository); otherwise nothing is removed.
        Other keyword arguments (AiiDA's ``compress`` and the like) are ignored.
        """
        if kwargs:
            logger.debug("maintain ignores the options %s", sorted(kwargs))
        checked = 0
        corrupt: list[str] = []
        for key in self.list_objects():
            try:
                digest = self._hash_file(key)
            except FileNotFoundError:
                continue  # deleted since the listing
            except CorruptStorage:
                digest = ""
            checked += 1
            if digest != key:
                corrupt.append(key)
        with self._lock:
            garbage = len(self._garbage)
            pinned = len(self._pinned())
            removed = self._purge_garbage() if not dry_run and not live else 0
        if corrupt:
            logger.warning("%s: %d corrupt objects: %s", self, len(corrupt), ", ".join(corrupt))
        logger.info(
            "%s: checked %d objects, %d corrupt; %d deleted files waiting (%d pinned), %d removed",
            self,
            checked,
            len(corrupt),
            garbage,
            pinned,
            removed,
        )
        return {
            "checked": checked,
            "corrupt": corrupt,
            "garbage": garbage,
            "pinned": pinned,
            "removed": removed,
        }
