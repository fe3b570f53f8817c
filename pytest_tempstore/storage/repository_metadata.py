"""Reading a node's ``repository_metadata``: the file tree that maps paths to object keys.

The format (from AiiDA): ``{}`` for a node without files; a folder is
``{"o": {name: entry}}`` and a file is ``{"k": "<sha256 key>"}``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

__all__ = ["iter_file_keys", "referenced_keys"]


def iter_file_keys(tree: Mapping[str, Any]) -> Iterator[str]:
    """Every object key in one file tree, depth first."""
    pending = [tree]
    while pending:
        entry = pending.pop()
        key = entry.get("k")
        if key is not None:
            yield key
        pending.extend(entry.get("o", {}).values())


def referenced_keys(trees: Iterable[Mapping[str, Any] | str | None]) -> set[str]:
    """The set of object keys referenced by any of the trees (JSON text is accepted too)."""
    keys: set[str] = set()
    for tree in trees:
        parsed = json.loads(tree) if isinstance(tree, str) else tree
        if parsed:
            keys.update(iter_file_keys(parsed))
    return keys
