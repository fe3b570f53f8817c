"""The file tree of a node: paths in ``repository_metadata``, contents in the store's sha256 repository.

``repository_metadata`` is ``{}`` for a node without files; a folder is
``{"o": {name: entry}}`` and a file ``{"k": "<sha256 key>"}``. Identical
contents are kept once, whichever nodes or paths refer to them.
"""

from __future__ import annotations

import copy
import io
from contextlib import contextmanager
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO

from ...exceptions import InputValidationError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .nodes import Node

__all__ = ["NodeRepository", "split_path"]


def split_path(path: str | PurePosixPath, *, allow_root: bool = False) -> tuple[str, ...]:
    """The parts of a relative POSIX path; ``InputValidationError`` for absolute paths, ``..``, ..."""
    if not isinstance(path, str | PurePosixPath):
        raise InputValidationError(
            f"a repository path must be a str or PurePosixPath, not {type(path).__name__}"
        )
    text = str(path)
    if text.startswith("/"):
        raise InputValidationError(f"repository path {text!r} must be relative, not absolute")
    if "\\" in text or "\x00" in text:
        raise InputValidationError(
            f"repository path {text!r} must be a POSIX path without backslashes or NULs"
        )
    parts = tuple(part for part in text.split("/") if part not in ("", "."))
    if ".." in parts:
        raise InputValidationError(f"repository path {text!r} must not contain '..'")
    if not parts and not allow_root:
        raise InputValidationError("a repository path must name a file, not be empty")
    return parts


def _folder(tree: dict[str, Any], parts: tuple[str, ...], path: str) -> dict[str, Any]:
    """The folder entry at ``parts`` of ``tree``; ``FileNotFoundError``/``NotADirectoryError`` otherwise."""
    entry = tree
    for depth, name in enumerate(parts):
        children = entry.get("o")
        if children is None or name not in children:
            if "k" in entry:
                raise NotADirectoryError(f"{'/'.join(parts[:depth])!r} is a file, not a folder")
            raise FileNotFoundError(f"no such folder in the node's repository: {path!r}")
        entry = children[name]
    if "k" in entry:
        raise NotADirectoryError(f"{path!r} is a file, not a folder")
    return entry


class NodeRepository:
    """The files of one node: ``node.repository``.

    Files of a stored data node cannot change (``ModificationNotAllowed``);
    those of other nodes, and of any node before it is stored, can.
    """

    def __init__(self, node: Node) -> None:
        self._node = node

    def _tree(self) -> dict[str, Any]:
        return copy.deepcopy(self._node._get("repository_metadata") or {})

    def _file_key(self, path: str | PurePosixPath) -> str:
        parts = split_path(path)
        parent = _folder(self._tree(), parts[:-1], str(path))
        entry = parent.get("o", {}).get(parts[-1])
        if entry is None:
            raise FileNotFoundError(f"no such file in the node's repository: {str(path)!r}")
        if "k" not in entry:
            raise IsADirectoryError(f"{str(path)!r} is a folder, not a file")
        return str(entry["k"])

    # ------------------------------------------------------------------ writing

    def put_object_from_filelike(self, handle: BinaryIO, path: str | PurePosixPath) -> str:
        """Store the bytes of ``handle`` at ``path`` (folders are created); return the object's key.

        A file already at ``path`` is replaced; a folder there is an error.
        """
        parts = split_path(path)
        self._node._check_files_mutable()
        key = self._node.backend.get_repository().put_object_from_filelike(handle)
        tree = self._tree()
        entry = tree
        for depth, name in enumerate(parts[:-1]):
            if "k" in entry:
                raise NotADirectoryError(f"{'/'.join(parts[:depth])!r} is a file, not a folder")
            entry = entry.setdefault("o", {}).setdefault(name, {})
        if "k" in entry:
            raise NotADirectoryError(f"{'/'.join(parts[:-1])!r} is a file, not a folder")
        children = entry.setdefault("o", {})
        existing = children.get(parts[-1])
        if existing is not None and "k" not in existing:
            raise IsADirectoryError(f"{str(path)!r} is a folder; it cannot be replaced by a file")
        children[parts[-1]] = {"k": key}
        self._node._set(repository_metadata=tree)
        return key

    def put_object_from_bytes(self, content: bytes, path: str | PurePosixPath) -> str:
        """Store ``content`` at ``path``; return the object's key."""
        return self.put_object_from_filelike(io.BytesIO(content), path)

    def delete_object(self, path: str | PurePosixPath) -> None:
        """Remove the file at ``path`` from the tree (the content stays while other nodes use it)."""
        parts = split_path(path)
        self._node._check_files_mutable()
        self._file_key(path)
        tree = self._tree()
        parent = _folder(tree, parts[:-1], str(path))
        del parent["o"][parts[-1]]
        self._node._set(repository_metadata=tree)

    # ------------------------------------------------------------------ reading

    def get_object_content(self, path: str | PurePosixPath) -> bytes:
        """The bytes of the file at ``path``."""
        return self._node.backend.get_repository().get_object_content(self._file_key(path))

    @contextmanager
    def open(self, path: str | PurePosixPath) -> Iterator[BinaryIO]:
        """A binary stream on the file at ``path``."""
        with self._node.backend.get_repository().open(self._file_key(path)) as handle:
            yield handle

    def get_object_key(self, path: str | PurePosixPath) -> str:
        """The sha256 key of the file at ``path``."""
        return self._file_key(path)

    def list_object_names(self, path: str | PurePosixPath = "") -> list[str]:
        """The sorted names of the files and folders in the folder ``path`` (the root by default)."""
        parts = split_path(path, allow_root=True)
        return sorted(_folder(self._tree(), parts, str(path)).get("o", {}))

    def walk(self, path: str | PurePosixPath = "") -> Iterator[tuple[PurePosixPath, list[str], list[str]]]:
        """Like ``os.walk``: ``(folder, folder names, file names)`` for every folder, top-down, sorted."""
        parts = split_path(path, allow_root=True)
        pending = [(PurePosixPath(*parts), _folder(self._tree(), parts, str(path)))]
        while pending:
            folder, entry = pending.pop(0)
            children = entry.get("o", {})
            folders = sorted(name for name, child in children.items() if "k" not in child)
            files = sorted(name for name, child in children.items() if "k" in child)
            yield folder, folders, files
            pending[0:0] = [(folder / name, children[name]) for name in folders]
