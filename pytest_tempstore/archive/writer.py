"""Writing a store, or part of it, as an AiiDA archive: :func:`create_archive`.

The archive is built beside its target, under a temporary name, and renamed
into place only once complete, so no reader ever sees half an archive and a
failure leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import sqlite3
import tempfile
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..exceptions import ArchiveError, InputValidationError
from ..storage.repository_metadata import referenced_keys
from .format import DATABASE_NAME, METADATA_NAME, REPOSITORY_FOLDER, build_metadata
from .selection import checked_node_pks, prune_to_nodes, select_nodes, strip_for_export

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..repository import SandboxShaRepositoryBackend
    from ..storage.backend import SqliteTempBackend

__all__ = ["create_archive"]

ArchiveFormat = Literal["zip", "folder"]


def create_archive(
    backend: SqliteTempBackend,
    filename: str | os.PathLike[str],
    *,
    archive_format: ArchiveFormat = "zip",
    compression: int = 6,
    overwrite: bool = False,
    include_comments: bool = True,
    include_logs: bool = True,
    include_authinfos: bool = False,
    entities: Iterable[int] | None = None,
) -> Path:
    """Write the store's data as an AiiDA archive (format ``main_0001``) and return its path.

    :param archive_format: ``'zip'`` for an archive file, as aiida-core writes
        it; ``'folder'`` for the same files unzipped in a folder.
    :param compression: deflate level 0-9 of the zip entries; 0 stores them.
    :param overwrite: replace an existing target; otherwise ``FileExistsError``.
    :param include_comments: include the nodes' comments.
    :param include_logs: include the nodes' logs.
    :param include_authinfos: include the authinfos of the computers.
    :param entities: ``None`` for the whole store, or the pks of the nodes to
        export; the archive then also holds the nodes AiiDA's default export
        rules reach from them and what those nodes need (see :mod:`.selection`).

    Only the objects that the exported nodes reference go in. ``ArchiveError``
    if a node references an object the repository lacks. What the store's
    session holds uncommitted is committed first; like ``write_database``,
    this cannot run inside ``transaction()`` (``StorageBusy``).
    """
    target = Path(filename)
    if archive_format not in ("zip", "folder"):
        raise InputValidationError(f"archive_format must be 'zip' or 'folder', not {archive_format!r}")
    if not isinstance(compression, int) or isinstance(compression, bool) or not 0 <= compression <= 9:
        raise InputValidationError(f"compression must be an integer from 0 to 9, not {compression!r}")
    start = None if entities is None else checked_node_pks(entities)
    if not overwrite and (target.exists() or target.is_symlink()):
        raise FileExistsError(f"the archive target already exists: {target}")
    if overwrite and target.is_dir() != (archive_format == "folder") and target.exists():
        kind = "folder" if target.is_dir() else "file"
        raise ArchiveError(f"cannot replace the {kind} {target} with an archive {archive_format}")
    target.parent.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="tempstore-archive-") as work:
        database_path = Path(work) / DATABASE_NAME
        backend.write_database(database_path)
        uuids = _prepare_database(
            backend,
            database_path,
            start,
            include_comments=include_comments,
            include_logs=include_logs,
            include_authinfos=include_authinfos,
        )
        keys = _exported_keys(database_path, backend.get_repository())
        metadata = build_metadata(
            compression=compression,
            starting_node_uuids=uuids,
            include_authinfos=include_authinfos,
            include_comments=include_comments,
            include_logs=include_logs,
        )
        if archive_format == "zip":
            _write_zip(
                target,
                metadata=metadata,
                database_path=database_path,
                keys=keys,
                repository=backend.get_repository(),
                compression=compression,
                overwrite=overwrite,
            )
        else:
            _write_folder(
                target,
                metadata=metadata,
                database_path=database_path,
                keys=keys,
                repository=backend.get_repository(),
                overwrite=overwrite,
            )
    return target


def _prepare_database(
    backend: SqliteTempBackend,
    path: Path,
    start: list[int] | None,
    *,
    include_comments: bool,
    include_logs: bool,
    include_authinfos: bool,
) -> list[str] | None:
    """Cut the database copy down to what the archive holds; return the starting nodes' uuids."""
    uuids = None
    nodes = None
    if start is not None:
        with backend.transaction() as session:
            store = session.connection()
            nodes = select_nodes(store, start)
            uuids = [
                uuid
                for (uuid,) in store.exec_driver_sql(
                    "SELECT uuid FROM db_dbnode WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
                    (json.dumps(start),),
                )
            ]
    database = sqlite3.connect(path)
    try:
        with database:
            strip_for_export(
                database,
                include_comments=include_comments,
                include_logs=include_logs,
                include_authinfos=include_authinfos,
            )
            if nodes is not None:
                prune_to_nodes(database, nodes)
        if database.total_changes:
            database.execute("VACUUM")
    finally:
        database.close()
    return uuids


def _exported_keys(path: Path, repository: SandboxShaRepositoryBackend) -> list[str]:
    """The object keys the archive's nodes reference; ``ArchiveError`` if the repository lacks any."""
    database = sqlite3.connect(path)
    try:
        keys = referenced_keys(
            text
            for (text,) in database.execute(
                "SELECT repository_metadata FROM db_dbnode WHERE repository_metadata NOT IN ('{}', '')"
            )
        )
    finally:
        database.close()
    ordered = sorted(keys)
    missing = [
        key for key, present in zip(ordered, repository.has_objects(ordered), strict=True) if not present
    ]
    if missing:
        raise ArchiveError(
            f"cannot write the archive: nodes reference objects the repository lacks: {missing[:5]}"
        )
    return ordered


def _object_file(repository: SandboxShaRepositoryBackend, key: str) -> Path:
    folder = repository.folder
    if folder is None:
        raise ArchiveError(f"cannot write the archive: object {key} has no file")
    return folder / key


def _write_zip(
    target: Path,
    *,
    metadata: dict[str, object],
    database_path: Path,
    keys: list[str],
    repository: SandboxShaRepositoryBackend,
    compression: int,
    overwrite: bool,
) -> None:
    method = zipfile.ZIP_DEFLATED if compression else zipfile.ZIP_STORED
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(descriptor)
    try:
        with zipfile.ZipFile(temporary, "w", compression=method, compresslevel=compression) as archive:
            # aiida-core finds metadata.json and db.sqlite3 among the first central directory records.
            info = zipfile.ZipInfo(METADATA_NAME, time.localtime()[:6])
            info.external_attr = 0o644 << 16
            archive.writestr(info, json.dumps(metadata), compress_type=zipfile.ZIP_STORED)
            archive.write(database_path, DATABASE_NAME)
            for key in keys:
                archive.write(_object_file(repository, key), f"{REPOSITORY_FOLDER}/{key}")
        if overwrite:
            os.replace(temporary, target)
        else:
            # A hard link never replaces: a target made meanwhile by someone else is kept.
            os.link(temporary, target)
            os.unlink(temporary)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _write_folder(
    target: Path,
    *,
    metadata: dict[str, object],
    database_path: Path,
    keys: list[str],
    repository: SandboxShaRepositoryBackend,
    overwrite: bool,
) -> None:
    building = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        (building / METADATA_NAME).write_text(json.dumps(metadata), encoding="utf-8")
        shutil.copyfile(database_path, building / DATABASE_NAME)
        objects = building / REPOSITORY_FOLDER
        objects.mkdir()
        for key in keys:
            source = _object_file(repository, key)
            try:
                os.link(source, objects / key)
            except OSError:
                # Another file system, or no hard links: copy instead.
                shutil.copyfile(source, objects / key)
        building.chmod(0o755)
        _move_folder_into_place(building, target, overwrite=overwrite)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise


def _move_folder_into_place(building: Path, target: Path, *, overwrite: bool) -> None:
    """Rename the finished folder to ``target``, replacing an old one only once the new one is complete."""
    if not overwrite or not target.exists():
        try:
            os.rename(building, target)
        except OSError as error:
            if error.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.EISDIR, errno.ENOTDIR):
                raise FileExistsError(f"the archive target already exists: {target}") from error
            raise
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    os.rmdir(retired)
    os.rename(target, retired)
    try:
        os.rename(building, target)
    except BaseException:
        os.rename(retired, target)
        raise
    shutil.rmtree(retired, ignore_errors=True)
