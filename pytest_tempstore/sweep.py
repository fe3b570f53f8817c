"""Sweeping the folders of stores whose process died: owner locks and :func:`sweep_stale_sandboxes`.

A store made outside pytest keeps its files in a ``tempstore-*`` folder of the
system's temporary folder and removes it on close, garbage collection or exit.
A process killed outright (``SIGKILL``, a crash, a power cut) removes nothing,
so each such folder has an *owner lock* beside it, ``tempstore-<id>.owner``
(beside, not inside: the folder holds objects and nothing else). The lock names
the pid of the process that made the folder and that process's start time,
which tells a dead owner from a new process that happens to reuse its pid. The
folder is removed first and its lock second, so no folder is ever left unlocked.

A folder is removed only when all of these hold:

* it is a real folder (not a symbolic link) named ``tempstore-*`` directly in
  the swept root, and it and its lock belong to the user who sweeps;
* its lock is readable and well-formed;
* the lock's process is gone, or a process of that pid runs but started at
  another time (a reused pid).

A folder without a readable lock is never removed, whatever its age: it may be
being created right now, or belong to code that writes no lock (an older
version, or pytest's own folders). A live owner's folder is never removed. A
lock whose folder is gone and whose owner is dead is removed too. The first
store in a process that makes its own temporary folder sweeps that folder's
root once (see :func:`sweep_once`); ``python -m pytest_tempstore clean`` sweeps
on demand.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import stat
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = [
    "OWNER_LOCK_SUFFIX",
    "SANDBOX_PREFIX",
    "OwnerLock",
    "lock_path_for",
    "owner_is_alive",
    "read_owner_lock",
    "remove_owned_folder",
    "sweep_once",
    "sweep_stale_sandboxes",
    "write_owner_lock",
]

logger = logging.getLogger(__name__)

#: The name prefix of the folders of stores made outside pytest.
SANDBOX_PREFIX: Final = "tempstore-"
#: The suffix of the file beside such a folder that names the process owning it.
OWNER_LOCK_SUFFIX: Final = ".owner"
# A lock is a few dozen bytes; anything larger is not ours.
_MAX_LOCK_BYTES: Final = 4096
_PROC: Final = Path("/proc")

_swept_roots: set[str] = set()
_swept_lock = threading.Lock()


@dataclass(frozen=True)
class OwnerLock:
    """The process that owns a folder: its pid and, where the system tells, its start time."""

    pid: int
    #: The start time in the system's own unit (clock ticks since boot on Linux), or ``None``.
    start: int | None


def process_start_time(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot), or ``None`` where unknown (no ``/proc``)."""
    try:
        stat_line = (_PROC / str(pid) / "stat").read_bytes()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after its end.
    fields = stat_line[stat_line.rfind(b")") + 2 :].split()
    try:
        return int(fields[19])  # field 22 of the whole line: starttime
    except (IndexError, ValueError):
        return None


def lock_path_for(folder: str | os.PathLike[str]) -> str:
    """The owner lock of ``folder``: the file ``<folder>.owner`` beside it."""
    return os.fspath(folder) + OWNER_LOCK_SUFFIX


def write_owner_lock(folder: str | os.PathLike[str]) -> None:
    """Mark ``folder`` as owned by this process; ``FileExistsError`` if it already has a lock."""
    pid = os.getpid()
    content = json.dumps({"pid": pid, "start": process_start_time(pid)})
    with open(lock_path_for(folder), "x", encoding="ascii") as handle:
        handle.write(content)


def remove_owned_folder(folder: str | os.PathLike[str]) -> None:
    """Remove a folder made with an owner lock, then its lock; never raises (runs from finalizers)."""
    shutil.rmtree(folder, ignore_errors=True)
    if not os.path.lexists(folder):
        with contextlib.suppress(OSError):
            os.unlink(lock_path_for(folder))


def read_owner_lock(lock_path: str | os.PathLike[str]) -> OwnerLock | None:
    """The owner a lock file names; ``None`` if it is missing or cannot be read or trusted."""
    try:
        # O_NOFOLLOW: a lock that is a symbolic link is not one we wrote.
        fd = os.open(lock_path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as handle:
            raw = handle.read(_MAX_LOCK_BYTES + 1)
        data = json.loads(raw) if len(raw) <= _MAX_LOCK_BYTES else None
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    pid, start = data.get("pid"), data.get("start")
    if type(pid) is not int or pid <= 0 or not (start is None or type(start) is int):
        return None
    return OwnerLock(pid, start)


def owner_is_alive(lock: OwnerLock) -> bool:
    """Whether the process named by ``lock`` still runs (the same process, not a reuse of its pid)."""
    if lock.pid == os.getpid():
        return True
    try:
        os.kill(lock.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # a process of another user has that pid: it runs
    except OSError:
        return True  # cannot tell: never remove what may be in use
    if sys.platform == "win32":  # pragma: no cover - os.kill(pid, 0) would terminate on Windows
        return True
    if lock.start is None:
        return True
    start = process_start_time(lock.pid)
    return start is None or start == lock.start


def _owned_by(path: str, uid: int | None, kind: int) -> bool:
    """Whether ``path`` is (without following links) of file type ``kind`` and belongs to ``uid``."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_IFMT(info.st_mode) == kind and (uid is None or info.st_uid == uid)


def _stale_folder(lock_path: str, uid: int | None) -> str | None:
    """The folder of a lock whose owner is dead, or ``None`` if it must stay."""
    folder = lock_path.removesuffix(OWNER_LOCK_SUFFIX)
    if not _owned_by(lock_path, uid, stat.S_IFREG):
        return None
    if os.path.lexists(folder) and not _owned_by(folder, uid, stat.S_IFDIR):
        return None  # a link, a file, or another user's folder under our name: not ours to remove
    lock = read_owner_lock(lock_path)
    if lock is None or owner_is_alive(lock):
        return None
    return folder


def sweep_stale_sandboxes(root: str | os.PathLike[str] | None = None, *, dry_run: bool = False) -> list[Path]:
    """Remove the ``tempstore-*`` folders in ``root`` whose owner process is dead; return them.

    ``root`` defaults to the system's temporary folder. With ``dry_run`` nothing
    is removed, the folders that would be are returned. A folder that cannot be
    removed is logged, keeps its lock and is left out of the result. Never
    raises for what it finds; a missing ``root`` sweeps nothing.
    """
    folder = os.fspath(tempfile.gettempdir() if root is None else root)
    uid = os.getuid() if hasattr(os, "getuid") else None
    try:
        with os.scandir(folder) as entries:
            locks = sorted(
                entry.path
                for entry in entries
                if entry.name.startswith(SANDBOX_PREFIX) and entry.name.endswith(OWNER_LOCK_SUFFIX)
            )
    except OSError as error:
        logger.debug("cannot sweep %s: %s", folder, error)
        return []
    removed: list[Path] = []
    for lock_path in locks:
        stale = _stale_folder(lock_path, uid)
        if stale is None:
            continue
        if not dry_run:
            try:
                shutil.rmtree(stale)
            except FileNotFoundError:
                pass  # only the lock was left, or another sweeper was faster
            except OSError as error:
                logger.warning("cannot remove the stale store folder %s: %s", stale, error)
                continue
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock_path)
            logger.info("removed the folder of a dead process's store: %s", stale)
        removed.append(Path(stale))
    return removed


def sweep_once(root: str | os.PathLike[str]) -> None:
    """Sweep ``root`` unless this process already did.

    Runs on a store's behalf, so it never raises: a failed sweep must not cost anyone a store.
    """
    key = os.path.abspath(root)
    with _swept_lock:
        if key in _swept_roots:
            return
        _swept_roots.add(key)
    try:
        sweep_stale_sandboxes(key)
    except Exception:
        logger.debug("sweeping %s failed", key, exc_info=True)
