"""Projections (what a query returns per tag) and orderings, compiled to SQL with result converters.

A projection is ``*`` (the entity itself), ``**`` (every column), a column
(``uuid``, or an alias such as ``pk``), or a JSON path (``attributes.a.b``),
optionally with ``{"cast": ...}`` (``i`` int, ``f`` float, ``t`` text, ``b``
bool, ``d`` date-time, ``j`` JSON) and ``{"func": "max" | "min" | "count"}``.
A string may also carry its cast as a suffix: ``attributes.x::int``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

import sqlalchemy as sa

from ...exceptions import InputValidationError
from ..entity_types import EntityTypes
from .filters import JsonValue, json_path
from .schema import Source, entity_class

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ..backend import SqliteTempBackend

__all__ = [
    "CASTS",
    "LinkQuadruple",
    "Projection",
    "compile_order",
    "compile_projections",
    "split_cast_suffix",
]

CASTS = {"i": "int", "f": "float", "t": "text", "b": "bool", "d": "date", "j": "json"}
_CAST_BY_NAME = {name: letter for letter, name in CASTS.items()} | {letter: letter for letter in CASTS}
PROJECTION_KEYS = ("cast", "func")
FUNCTIONS = ("max", "min", "count")


class LinkQuadruple(NamedTuple):
    """A link as projected by ``*`` on a link edge."""

    source_id: int
    target_id: int
    link_type: str
    link_label: str


@dataclass
class Projection:
    """One projected value: its key in ``dict()`` results, its SQL columns, how to make the value of them."""

    tag: str
    key: str
    columns: list[sa.ColumnElement[Any]]
    convert: Callable[[Sequence[Any]], Any]


def split_cast_suffix(name: str) -> tuple[str, str | None]:
    """``('attributes.x', 'i')`` for ``'attributes.x::int'``; ``(name, None)`` without a suffix."""
    if "::" not in name:
        return name, None
    base, _, cast = name.partition("::")
    return base, _cast_letter(cast)


def _cast_letter(cast: object) -> str:
    if not isinstance(cast, str) or cast not in _CAST_BY_NAME:
        valid = ", ".join(f"{letter} ({name})" for letter, name in CASTS.items())
        raise InputValidationError(f"unknown cast {cast!r}; valid casts are: {valid}")
    return _CAST_BY_NAME[cast]


def _parse_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def take_as_is(values: Sequence[Any]) -> Any:
    """The conversion of a projection that is one column whose value needs no change."""
    return values[0]


def _single(convert: Callable[[Any], Any] | None = None) -> Callable[[Sequence[Any]], Any]:
    if convert is None:
        return take_as_is
    return lambda values: convert(values[0])


def json_expression(
    source: Source, column_name: str, path: list[str], cast: str | None
) -> tuple[sa.ColumnElement[Any], Callable[[Any], Any] | None]:
    """The SQL of a JSON path with a cast, and the converter of its raw result."""
    target = JsonValue(source.column(column_name), json_path(path))
    if cast is None or cast == "j":
        return target.json_text, None
    if cast == "i":
        return sa.cast(target.value, sa.Integer), None
    if cast == "f":
        return sa.cast(target.value, sa.Float), None
    if cast == "t":
        text = sa.case(
            (target.type == "text", target.value), else_=sa.type_coerce(target.json_text, sa.Text())
        )
        return sa.type_coerce(text, sa.Text()), None
    if cast == "b":
        boolean = sa.case(
            (target.type == "true", sa.true()),
            (target.type == "false", sa.false()),
            (target.type.is_(None), sa.null()),
            else_=sa.cast(target.value, sa.Integer) != 0,
        )
        return boolean, lambda value: None if value is None else bool(value)
    # 'd': ISO text to an aware datetime.
    return target.value, _parse_datetime


def _column_projection(
    source: Source, name: str, spec: dict[str, Any]
) -> tuple[sa.ColumnElement[Any], Callable[[Sequence[Any]], Any]]:
    column_name, *path = name.split(".")
    cast = None if spec.get("cast") is None else _cast_letter(spec["cast"])
    if path or (cast is not None and source.is_json(column_name)):
        if not source.is_json(column_name):
            raise InputValidationError(
                f"cannot project {name!r}: {column_name!r} of {source.tag!r} is not a JSON column"
            )
        expression, convert = json_expression(source, column_name, path, cast)
    else:
        expression, convert = source.column(column_name), None
    function = spec.get("func")
    if function is not None:
        if function not in FUNCTIONS:
            raise InputValidationError(
                f"unknown projection function {function!r}; valid: {', '.join(FUNCTIONS)}"
            )
        expression = getattr(sa.func, function)(expression)
        convert = None if function == "count" else convert
    return expression, _single(convert)


def _entity_projection(
    source: Source, backend: SqliteTempBackend
) -> tuple[list[sa.ColumnElement[Any]], Callable[[Sequence[Any]], Any]]:
    if source.kind == EntityTypes.LINK.value:
        columns: list[sa.ColumnElement[Any]] = [
            source.selectable.c[name] for name in ("input_id", "output_id", "type", "label")
        ]
        return columns, lambda values: None if values[0] is None else LinkQuadruple(*values)
    if source.kind not in {member.value for member in EntityTypes} or source.kind in ("group_node",):
        raise InputValidationError(f"'*' cannot be projected on {source.tag!r}; project its columns instead")
    cls = entity_class(EntityTypes(source.kind))
    return [
        source.selectable.c.id
    ], lambda values: None if values[0] is None else cls.from_pk(backend, values[0])


def compile_projections(
    source: Source, items: Sequence[dict[str, dict[str, Any]]], backend: SqliteTempBackend
) -> list[Projection]:
    """The projections of one tag, in order; duplicate keys are an error."""
    projections: list[Projection] = []
    for item in items:
        for name, spec in item.items():
            unknown = set(spec) - set(PROJECTION_KEYS)
            if unknown:
                raise InputValidationError(
                    f"unknown projection option(s) {sorted(unknown)} for {name!r}; "
                    f"valid: {', '.join(PROJECTION_KEYS)}"
                )
            if name == "*":
                if spec.get("func") is not None:
                    raise InputValidationError("a function cannot apply to '*'; project a column instead")
                columns, convert = _entity_projection(source, backend)
                projections.append(Projection(source.tag, "*", columns, convert))
            elif name == "**":
                for column_name in source.column_names:
                    expression, convert_one = _column_projection(source, column_name, {})
                    projections.append(Projection(source.tag, column_name, [expression], convert_one))
            else:
                expression, convert_one = _column_projection(source, name, spec)
                projections.append(Projection(source.tag, name, [expression], convert_one))
    keys = [projection.key for projection in projections]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise InputValidationError(f"{source.tag!r} projects {duplicates} more than once")
    return projections


def compile_order(source: Source, name: str, spec: dict[str, Any]) -> sa.ColumnElement[Any]:
    """The ORDER BY term for one ``{name: {"order": ..., "cast": ...}}`` item."""
    order = spec.get("order", "asc")
    if order not in ("asc", "desc"):
        raise InputValidationError(f"unknown order {order!r} for {name!r}; valid: asc, desc")
    column_name, *path = name.split(".")
    cast = None if spec.get("cast") is None else _cast_letter(spec["cast"])
    if path:
        if not source.is_json(column_name):
            raise InputValidationError(f"cannot order by {name!r}: {column_name!r} is not a JSON column")
        target = JsonValue(source.column(column_name), json_path(path))
        if cast is None:
            expression: sa.ColumnElement[Any] = target.value
        elif cast == "d":
            expression = sa.func.julianday(target.value)
        else:
            expression, _ = json_expression(source, column_name, path, cast)
    else:
        expression = source.column(column_name)
    return expression.desc() if order == "desc" else expression.asc()
