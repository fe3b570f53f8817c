"""What an archive holds, without importing it: :func:`inspect_archive`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from ..storage.entity_types import EntityTypes
from .database import ArchiveDatabase
from .importer import EntityCounts
from .source import open_source

if TYPE_CHECKING:
    import os

    from .limits import ArchiveLimits

__all__ = ["ArchiveSummary", "inspect_archive"]

_COUNTED = {
    "users": EntityTypes.USER,
    "computers": EntityTypes.COMPUTER,
    "authinfos": EntityTypes.AUTHINFO,
    "nodes": EntityTypes.NODE,
    "groups": EntityTypes.GROUP,
    "comments": EntityTypes.COMMENT,
    "logs": EntityTypes.LOG,
    "links": EntityTypes.LINK,
    "group_nodes": EntityTypes.GROUP_NODE,
}


@dataclass(frozen=True)
class ArchiveSummary:
    """The contents of an archive, as :func:`inspect_archive` reads them."""

    path: str
    kind: str
    export_version: str
    aiida_version: str | None
    ctime: str | None
    entities: EntityCounts
    node_types: dict[str, int]
    objects: int
    objects_bytes: int

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the summary."""
        return asdict(self)


def inspect_archive(path: str | os.PathLike[str], *, limits: ArchiveLimits | None = None) -> ArchiveSummary:
    """Summarise an archive file or folder (a kept store too): version, entity counts, node types, objects.

    The same checks as :func:`~.importer.import_archive` apply, and the same errors.
    """
    with open_source(path, limits) as source:
        metadata = source.read_metadata()
        version = str(metadata["export_version"])
        with ArchiveDatabase(source, version) as database:
            counts = EntityCounts(**{name: database.count(kind) for name, kind in _COUNTED.items()})
            node_types = {
                str(node_type): int(count)
                for node_type, count in database.connection.execute(
                    "SELECT node_type, COUNT(*) FROM db_dbnode GROUP BY node_type ORDER BY node_type"
                )
            }
        aiida_version = metadata.get("aiida_version")
        ctime = metadata.get("ctime")
        return ArchiveSummary(
            path=str(source.path),
            kind=source.kind,
            export_version=version,
            aiida_version=None if aiida_version is None else str(aiida_version),
            ctime=None if ctime is None else str(ctime),
            entities=counts,
            node_types=node_types,
            objects=len(source.object_sizes),
            objects_bytes=sum(source.object_sizes.values()),
        )
