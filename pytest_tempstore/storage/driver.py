"""The SQLite driver a store runs on, chosen once per process.

Python's own ``sqlite3`` links whatever SQLite the system has; before 3.45
(Debian 12 ships 3.40) SQLite knows only JSON text, which every JSON filter
parses again for every row. The ``pysqlite3`` module (``pysqlite3-binary``, a
dependency where its wheels exist: x86-64 Linux) bundles a current SQLite:
where it is installed, stores use it and keep node attributes and extras as
SQLite's binary JSONB, which filters read without parsing (about twice as fast
on a 10,000-node scan). Elsewhere, stores get JSONB from a system SQLite of 3.45
or newer, and JSON text before that: the same behaviour, slower JSON filters.

``PYTEST_TEMPSTORE_SQLITE`` chooses explicitly: ``sqlite3`` (the standard
library's), ``pysqlite3``, or ``auto`` (the default: ``pysqlite3`` when it is
importable and its SQLite has JSONB).
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any, Final, NoReturn, cast

if TYPE_CHECKING:
    import sqlite3
    from types import ModuleType

__all__ = [
    "DBAPI",
    "DRIVER_ENVIRONMENT_VARIABLE",
    "DRIVER_NAME",
    "JSONB",
    "SQLITE_VERSION",
    "DatabaseError",
    "Error",
    "OperationalError",
    "connect",
    "describe",
]

DRIVER_ENVIRONMENT_VARIABLE: Final = "PYTEST_TEMPSTORE_SQLITE"
_CHOICES: Final = ("auto", "sqlite3", "pysqlite3")
_JSONB_SINCE: Final = (3, 45, 0)


def _refuse(message: str) -> NoReturn:
    from ..exceptions import InputValidationError  # noqa: PLC0415 - only a wrong setting needs it

    raise InputValidationError(message)


def _choose() -> tuple[str, ModuleType]:
    choice = os.environ.get(DRIVER_ENVIRONMENT_VARIABLE, "auto").strip().lower() or "auto"
    if choice not in _CHOICES:
        valid = ", ".join(_CHOICES)
        _refuse(f"{DRIVER_ENVIRONMENT_VARIABLE}={choice!r} is not a SQLite driver; valid: {valid}")
    if choice != "sqlite3":
        try:
            bundled = importlib.import_module("pysqlite3.dbapi2")
        except ImportError:
            if choice == "pysqlite3":
                _refuse(
                    f"{DRIVER_ENVIRONMENT_VARIABLE}=pysqlite3, but pysqlite3 is not importable: "
                    "install pysqlite3-binary"
                )
        else:
            if choice == "pysqlite3" or bundled.sqlite_version_info >= _JSONB_SINCE:
                return "pysqlite3", bundled
    # Imported only here: a run whose report header names pysqlite3's SQLite need not load it.
    return "sqlite3", importlib.import_module("sqlite3")


DRIVER_NAME, _module = _choose()
SQLITE_VERSION: Final[str] = _module.sqlite_version
# Whether node attributes and extras are stored as JSONB (else as JSON text).
JSONB: Final[bool] = _module.sqlite_version_info >= _JSONB_SINCE

# The DB-API module itself, for SQLAlchemy's ``create_engine(module=...)``.
DBAPI: Final[ModuleType] = _module
# pysqlite3 is built from the standard library's source: the same API under the same names.
Error: Final[type[sqlite3.Error]] = _module.Error
DatabaseError: Final[type[sqlite3.DatabaseError]] = _module.DatabaseError
OperationalError: Final[type[sqlite3.OperationalError]] = _module.OperationalError


def connect(database: str, **options: Any) -> sqlite3.Connection:
    """A connection of the chosen driver (``sqlite3.connect``'s arguments)."""
    return cast("sqlite3.Connection", _module.connect(database, **options))


def describe() -> str:
    """``SQLite 3.51.1 (pysqlite3, JSONB)``: what the report header and benchmarks show."""
    return f"SQLite {SQLITE_VERSION} ({DRIVER_NAME}, {'JSONB' if JSONB else 'JSON text'})"
