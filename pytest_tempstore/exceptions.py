"""The errors raised by pytest-tempstore.

Every error is a :class:`TempStoreError`, and each also derives from the builtin
exception that fits, so code written against the builtins keeps working::

    TempStoreError (Exception)
    ├── ClosedStorage (RuntimeError)             the store was closed
    ├── StorageBusy (RuntimeError)               the operation cannot run inside a transaction
    ├── InputValidationError (ValueError)        an argument of the wrong kind, e.g. an unknown entity type
    ├── IntegrityError (ValueError)              rows break the schema or its constraints
    ├── NotExistent (KeyError)                   no entity, row or key matches
    ├── MultipleObjectsError (LookupError)       more than one entity matches
    ├── ModificationNotAllowed (TypeError)       stored, immutable state was changed
    ├── UnreachableStorage (OSError)             the store's folder or database cannot be reached
    ├── CorruptStorage (RuntimeError)            stored content no longer matches its key
    ├── IncompatibleStorageSchema (ValueError)   a schema version this package does not know
    ├── StorageMigrationError (RuntimeError)     a migration that cannot be carried out
    └── ArchiveError (ValueError)                an archive that cannot be read or written
        └── IncompatibleArchiveVersion           an archive version this package does not read
                                                 (also an IncompatibleStorageSchema)
"""

from __future__ import annotations

__all__ = [
    "ArchiveError",
    "ClosedStorage",
    "CorruptStorage",
    "IncompatibleArchiveVersion",
    "IncompatibleStorageSchema",
    "InputValidationError",
    "IntegrityError",
    "ModificationNotAllowed",
    "MultipleObjectsError",
    "NotExistent",
    "StorageBusy",
    "StorageMigrationError",
    "TempStoreError",
    "UnreachableStorage",
]


class TempStoreError(Exception):
    """Base of every error raised by pytest-tempstore."""


class ClosedStorage(TempStoreError, RuntimeError):
    """The store was closed; it can no longer be used."""


class StorageBusy(TempStoreError, RuntimeError):
    """The operation needs the store outside of any open transaction."""


class InputValidationError(TempStoreError, ValueError):
    """An argument of the wrong kind or value, e.g. an unknown entity type."""


class IntegrityError(TempStoreError, ValueError):
    """Rows that break the schema: unknown or missing columns, unique or foreign-key violations."""


class NotExistent(TempStoreError, KeyError):
    """No entity, row, object or key matches the request."""

    def __str__(self) -> str:
        # KeyError quotes its argument; a message reads better without the quotes.
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()


class MultipleObjectsError(TempStoreError, LookupError):
    """More than one entity matches where exactly one was expected."""


class ModificationNotAllowed(TempStoreError, TypeError):
    """A change to something that is immutable once stored, e.g. the attributes of a stored data node."""


class UnreachableStorage(TempStoreError, OSError):
    """The store's folder or database cannot be reached."""


class CorruptStorage(TempStoreError, RuntimeError):
    """Stored data no longer matches what was written, e.g. an object whose content changed."""


class IncompatibleStorageSchema(TempStoreError, ValueError):
    """The storage or archive has a schema version that this package does not know."""


class StorageMigrationError(TempStoreError, RuntimeError):
    """A migration was asked for that cannot be carried out."""


class ArchiveError(TempStoreError, ValueError):
    """An archive that cannot be read or written: missing, malformed, hostile or of an unknown version."""


class IncompatibleArchiveVersion(ArchiveError, IncompatibleStorageSchema):
    """An archive whose ``export_version`` this package does not read (an old ``0.x`` or unknown one)."""
