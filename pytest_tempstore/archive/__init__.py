"""AiiDA archives: write a store as an archive, read an archive into a store.

An archive is a zip file (or the same layout unzipped in a folder) holding
``metadata.json``, ``db.sqlite3`` and ``repo/<sha256>`` objects; aiida-core
2.9.4 reads what :func:`create_archive` writes, and :func:`import_archive`
reads what aiida-core writes (``export_version`` ``main_0000`` to ``main_0001``).
"""

from __future__ import annotations

from .importer import EntityCounts, ImportReport, import_archive
from .inspect import ArchiveSummary, inspect_archive
from .limits import ArchiveLimits
from .writer import create_archive

__all__ = [
    "ArchiveLimits",
    "ArchiveSummary",
    "EntityCounts",
    "ImportReport",
    "create_archive",
    "import_archive",
    "inspect_archive",
]
