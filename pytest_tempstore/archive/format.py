"""The AiiDA archive format: file names, versions, and the ``metadata.json`` document.

An archive (a zip file, or the same layout unzipped in a folder) holds::

    metadata.json      format version and how the archive was made
    db.sqlite3         the provenance tables (the store's schema)
    repo/<sha256>      one file per object, named by the sha256 of its content

Archives of ``export_version`` ``main_0000``, ``main_0000a`` and ``main_0000b``
share the tables of ``main_0001``; the first two may still hold NULLs where the
current schema has defaults (see :mod:`.database`). Archives of the ``0.x``
series keep their data in ``data.json`` and must be migrated with aiida-core.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Final

from ..exceptions import ArchiveError, IncompatibleArchiveVersion

__all__ = [
    "AIIDA_VERSION",
    "ARCHIVE_VERSION",
    "DATABASE_NAME",
    "EXPORT_TRAVERSAL_RULES",
    "IMPORT_GROUP_TYPE",
    "KEY_FORMAT",
    "LEGACY_DATA_NAME",
    "METADATA_NAME",
    "READABLE_VERSIONS",
    "REPOSITORY_FOLDER",
    "build_metadata",
    "is_object_key",
    "parse_metadata",
]

METADATA_NAME: Final = "metadata.json"
DATABASE_NAME: Final = "db.sqlite3"
REPOSITORY_FOLDER: Final = "repo"
LEGACY_DATA_NAME: Final = "data.json"

ARCHIVE_VERSION: Final = "main_0001"
#: Versions this package reads; every one but the last is converted on import.
READABLE_VERSIONS: Final = ("main_0000", "main_0000a", "main_0000b", "main_0001")
#: The aiida-core release whose archive format this package writes.
AIIDA_VERSION: Final = "2.9.4"
KEY_FORMAT: Final = "sha256"
IMPORT_GROUP_TYPE: Final = "core.import"

#: AiiDA's default export traversal rules, recorded in ``creation_parameters``
#: and followed when a subset of nodes is exported (see :mod:`.selection`).
EXPORT_TRAVERSAL_RULES: Final[dict[str, bool]] = {
    "input_calc_forward": False,
    "input_calc_backward": True,
    "create_forward": True,
    "create_backward": True,
    "return_forward": True,
    "return_backward": False,
    "input_work_forward": False,
    "input_work_backward": True,
    "call_calc_forward": True,
    "call_calc_backward": True,
    "call_work_forward": True,
    "call_work_backward": True,
}

_OBJECT_KEY: Final = re.compile(r"[0-9a-f]{64}")
_LEGACY_VERSION: Final = re.compile(r"0\.\d+")


def is_object_key(name: str) -> bool:
    """Whether ``name`` is a well-formed sha256 object key."""
    return _OBJECT_KEY.fullmatch(name) is not None


def build_metadata(
    *,
    compression: int,
    starting_node_uuids: list[str] | None,
    include_authinfos: bool,
    include_comments: bool,
    include_logs: bool,
) -> dict[str, Any]:
    """The ``metadata.json`` document of a new archive, with the keys aiida-core writes."""
    return {
        "export_version": ARCHIVE_VERSION,
        "aiida_version": AIIDA_VERSION,
        "key_format": KEY_FORMAT,
        "compression": compression,
        "ctime": datetime.now().astimezone().isoformat(),
        "creation_parameters": {
            "entities_starting_set": None if starting_node_uuids is None else {"node": starting_node_uuids},
            "include_authinfos": include_authinfos,
            "include_comments": include_comments,
            "include_logs": include_logs,
            "graph_traversal_rules": dict(EXPORT_TRAVERSAL_RULES),
        },
    }


def parse_metadata(content: bytes, where: str) -> dict[str, Any]:
    """Decode ``metadata.json`` and check that this package can read an archive of its version.

    ``where`` names the archive in error messages.
    """
    try:
        metadata = json.loads(content)
    except (UnicodeDecodeError, ValueError) as error:
        raise ArchiveError(f"{where}: {METADATA_NAME} is not valid JSON: {error}") from None
    if not isinstance(metadata, dict):
        raise ArchiveError(f"{where}: {METADATA_NAME} holds a {type(metadata).__name__}, not a JSON object")
    version = metadata.get("export_version")
    if version is None:
        raise ArchiveError(f"{where}: {METADATA_NAME} has no 'export_version'")
    if not isinstance(version, str):
        raise ArchiveError(f"{where}: 'export_version' is {version!r}, not a string")
    if _LEGACY_VERSION.fullmatch(version):
        raise legacy_archive_error(where, version)
    if version not in READABLE_VERSIONS:
        raise IncompatibleArchiveVersion(
            f"{where}: unknown export_version {version!r}; this package reads {', '.join(READABLE_VERSIONS)}"
        )
    key_format = metadata.get("key_format", KEY_FORMAT)
    if key_format != KEY_FORMAT:
        raise ArchiveError(f"{where}: objects are keyed by {key_format!r}; only {KEY_FORMAT!r} is supported")
    return metadata


def legacy_archive_error(where: str, version: str) -> ArchiveError:
    """The error for an archive of the old ``data.json`` series."""
    return IncompatibleArchiveVersion(
        f"{where}: archive version {version} is an old AiiDA format (data.json), which this package does not "
        f"read; migrate it first with aiida-core: verdi archive migrate <archive> <new archive>"
    )
