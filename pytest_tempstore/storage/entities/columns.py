"""Entity attributes that are one column of the entity's row, read anew on every access.

``label = EditableText("A short label.")`` in an entity class reads the ``label``
column (the attribute's own name) through ``Entity._get`` and writes it through
``Entity._set``; the read-only kinds refuse assignment, and type checkers see
that too.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, NoReturn, Self, TypeVar, overload

from ._json import check_json_key, clean_json

if TYPE_CHECKING:
    from .base import Entity

__all__ = ["EditableJsonDict", "EditableText", "JsonDict", "OptionalText", "Text", "Time"]

T = TypeVar("T")


class _Column(Generic[T]):
    """A read-only column; subclasses say how a stored value reads."""

    def __init__(self, doc: str) -> None:
        self.__doc__ = doc
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, entity: None, owner: type | None = None) -> Self: ...

    @overload
    def __get__(self, entity: Entity, owner: type | None = None) -> T: ...

    def __get__(self, entity: Entity | None, owner: type | None = None) -> Self | T:
        if entity is None:
            return self
        return self._read(entity._get(self.name))

    def _read(self, value: Any) -> T:
        raise NotImplementedError  # pragma: no cover - every concrete column reads

    def __set__(self, entity: Entity, value: NoReturn) -> None:
        raise AttributeError(f"{type(entity).__name__}.{self.name} cannot be changed")


class Text(_Column[str]):
    """A text column that cannot be changed through the entity."""

    def _read(self, value: Any) -> str:
        return str(value)


class EditableText(Text):
    """A text column that assignment changes (bumping ``mtime`` where the table has one)."""

    def __set__(self, entity: Entity, value: str) -> None:
        entity._set(**{self.name: value})


class OptionalText(_Column[str | None]):
    """A text column that may be empty (``None``), e.g. a UUID before the entity is stored."""

    def _read(self, value: Any) -> str | None:
        return None if value is None else str(value)


class Time(_Column[datetime | None]):
    """A time column, timezone-aware UTC; ``None`` until the row has one."""

    def _read(self, value: Any) -> datetime | None:
        return value if isinstance(value, datetime) else None


class JsonDict(_Column[dict[str, Any]]):
    """A JSON object column, read as a copy: changing the copy changes nothing stored."""

    def _read(self, value: Any) -> dict[str, Any]:
        return dict(value or {})


class EditableJsonDict(JsonDict):
    """A JSON object column that assignment replaces, refusing values JSON cannot hold.

    ``what`` names the column in errors (``"computer metadata"``); with ``key_kind``
    (``"extra"``), keys must also be fit for query paths: non-empty, without dots.
    """

    def __init__(self, doc: str, *, what: str, key_kind: str | None = None) -> None:
        super().__init__(doc)
        self.what = what
        self.key_kind = key_kind

    def __set__(self, entity: Entity, value: dict[str, Any]) -> None:
        if self.key_kind is not None:
            value = {check_json_key(key, self.key_kind): item for key, item in value.items()}
        entity._set(**{self.name: clean_json(value, self.what)})
