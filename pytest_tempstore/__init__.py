"""pytest-tempstore: throwaway AiiDA provenance stores for tests.

The public names (``exceptions`` too) are loaded on first access, so that
importing the pytest plugin, which imports this package, stays cheap: no
SQLAlchemy, no pydantic, nothing a pytest run that uses no store would not need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import exceptions
    from .profile import Profile
    from .registry import TempStoreFactory
    from .repository import SandboxShaRepositoryBackend
    from .storage.backend import SqliteTempBackend
    from .storage.entities import AuthInfo, Comment, Computer, Group, Log, Node, User
    from .storage.entity_types import EntityTypes
    from .storage.querybuilder import QueryBuilder

__all__ = [
    "AuthInfo",
    "Comment",
    "Computer",
    "EntityTypes",
    "Group",
    "Log",
    "Node",
    "Profile",
    "QueryBuilder",
    "SandboxShaRepositoryBackend",
    "SqliteTempBackend",
    "TempStoreFactory",
    "User",
    "current_store",
    "exceptions",
]

__version__ = "0.1.0"

# The stores in use, innermost last: the fixtures push a store while a test uses it. Defined here,
# in the module every import of the plugin loads first, so that the fixtures and the tests share
# one list (a module first imported inside an in-process pytester run is dropped after it).
_stores_in_use: list[SqliteTempBackend] = []


def current_store() -> SqliteTempBackend:
    """The running test's innermost store; ``LookupError`` when no store is in use."""
    if not _stores_in_use:
        raise LookupError(
            "no tempstore is in use: request the `tempstore` fixture or mark the test with tempstore"
        )
    return _stores_in_use[-1]


_LAZY = {
    "EntityTypes": ".storage.entity_types",
    "Profile": ".profile",
    "QueryBuilder": ".storage.querybuilder",
    "SandboxShaRepositoryBackend": ".repository",
    "SqliteTempBackend": ".storage.backend",
    "TempStoreFactory": ".registry",
    "exceptions": ".exceptions",  # the module itself
    **dict.fromkeys(("AuthInfo", "Comment", "Computer", "Group", "Log", "Node", "User"), ".storage.entities"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    loaded = importlib.import_module(module, __name__)
    value = loaded if module == f".{name}" else getattr(loaded, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
