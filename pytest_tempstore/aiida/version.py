"""Which aiida-core versions the AiiDA mode supports, checked without importing aiida."""

from __future__ import annotations

from importlib import metadata
from typing import Final

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

__all__ = [
    "SUPPORTED_AIIDA",
    "SUPPORTED_AIIDA_TEXT",
    "AiidaVersionError",
    "check_aiida_version",
    "installed_aiida_version",
]

#: The aiida-core releases whose storage and fixture internals this mode is built against.
SUPPORTED_AIIDA_TEXT: Final = ">=2.6,<3"
SUPPORTED_AIIDA: Final = SpecifierSet(SUPPORTED_AIIDA_TEXT)

_DISTRIBUTION: Final = "aiida-core"


class AiidaVersionError(Exception):
    """aiida-core is missing, or its version is outside :data:`SUPPORTED_AIIDA`."""


def installed_aiida_version() -> str | None:
    """The version of the installed aiida-core distribution, from its metadata (aiida is not imported)."""
    try:
        return metadata.version(_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None


def check_aiida_version() -> str:
    """Return the installed aiida-core version; raise :class:`AiidaVersionError` if it cannot be used."""
    installed = installed_aiida_version()
    if installed is None:
        raise AiidaVersionError(
            "--tempstore-aiida needs aiida-core, which is not installed (install it, e.g. "
            f"`pip install 'pytest-tempstore[aiida]'`; supported: aiida-core{SUPPORTED_AIIDA_TEXT})"
        )
    try:
        version = Version(installed)
    except InvalidVersion:
        raise AiidaVersionError(
            f"--tempstore-aiida cannot read the aiida-core version {installed!r}; "
            f"supported: aiida-core{SUPPORTED_AIIDA_TEXT}"
        ) from None
    if not SUPPORTED_AIIDA.contains(version, prereleases=True):
        raise AiidaVersionError(
            f"--tempstore-aiida supports aiida-core{SUPPORTED_AIIDA_TEXT}, "
            f"but aiida-core {installed} is installed"
        )
    return installed
