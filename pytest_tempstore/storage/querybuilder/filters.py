"""Filters in AiiDA's QueryBuilder language, compiled to SQL on a query source.

A filter spec maps a column (``label``), a JSON path (``attributes.a.b``) or a
logical key (``and``, ``or``, ``~and``/``!and``, ``~or``/``!or``) to either a
value (meaning ``==``) or a dict of operators. Any operator negates with a
``~`` or ``!`` prefix (``!==``, ``~in``, ``!like``).

On JSON values every comparison is typed: a value of another type simply does
not match (``attributes.x > 5`` skips rows where ``x`` is a string or absent).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa

from ...exceptions import InputValidationError
from ..models import JsonColumn
from ..sql_like import like_to_glob

if TYPE_CHECKING:
    from .schema import Source

__all__ = ["COLUMN_OPERATORS", "JSON_OPERATORS", "LOGICAL_KEYS", "FilterCompiler", "json_path"]

LOGICAL_KEYS = ("and", "or", "~and", "!and", "~or", "!or")
_ORDERING = {">": "__gt__", "<": "__lt__", ">=": "__ge__", "<=": "__le__", "=>": "__ge__", "=<": "__le__"}
COLUMN_OPERATORS = ("==", ">", "<", ">=", "<=", "like", "ilike", "in", "and", "or")
JSON_OPERATORS = (
    "==", ">", "<", ">=", "<=", "like", "ilike", "in", "contains", "has_key",
    "of_type", "of_length", "longer", "shorter", "and", "or",
)  # fmt: skip
JSON_TYPES = ("object", "array", "string", "number", "boolean", "null")
_SQLITE_TYPES = {
    "object": ("object",),
    "array": ("array",),
    "string": ("text",),
    "number": ("integer", "real"),
    "boolean": ("true", "false"),
}


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def json_path(parts: list[str]) -> str:
    """An SQLite JSON path for keys ``parts`` (``$`` for the whole value); plain keys unquoted (faster)."""
    return "$" + "".join(
        "." + part if _PLAIN_KEY.fullmatch(part) else '."' + part.replace('"', '\\"') + '"' for part in parts
    )


def _sqlite_types_of(value: Any, operator: str) -> tuple[str, ...]:
    if isinstance(value, bool):
        return _SQLITE_TYPES["boolean"]
    if isinstance(value, int | float):
        return _SQLITE_TYPES["number"]
    if isinstance(value, str):
        return _SQLITE_TYPES["string"]
    if isinstance(value, list):
        return ("array",)
    if isinstance(value, dict):
        return ("object",)
    raise InputValidationError(
        f"operator {operator!r} cannot compare JSON values with {value!r} ({type(value).__name__}); "
        "use a number, string, boolean, list or dict"
    )


@dataclass
class JsonValue:
    """The SQL views of the value at one path of a JSON column."""

    column: sa.ColumnElement[Any]
    path: str

    @property
    def type(self) -> sa.ColumnElement[Any]:
        """``json_type``: null, true, false, integer, real, text, array, object; NULL when absent."""
        return sa.func.json_type(self.column, self.path)

    @property
    def value(self) -> sa.ColumnElement[Any]:
        """The SQL value (numbers, text; 1/0 for booleans; JSON text for arrays and objects)."""
        return self.column.op("->>", return_type=sa.types.NullType())(sa.literal(self.path))

    @property
    def json_text(self) -> sa.ColumnElement[Any]:
        """The value as JSON text (``true`` stays ``true``; decoded when selected); NULL when absent."""
        return self.column.op("->", return_type=JsonColumn())(sa.literal(self.path))


class FilterCompiler:
    """Compiles filter specs; remembers whether the SQL needs the Python JSON functions."""

    def __init__(self) -> None:
        self.needs_json_functions = False

    def compile(self, source: Source, spec: Mapping[str, Any]) -> sa.ColumnElement[bool] | None:
        """The SQL condition of ``spec`` on ``source``; ``None`` for an empty spec."""
        if not isinstance(spec, Mapping):
            raise InputValidationError(f"filters of {source.tag!r} must be a dict, not {spec!r}")
        clauses: list[sa.ColumnElement[bool]] = []
        for key, value in spec.items():
            if key in LOGICAL_KEYS:
                clause = self._logical(source, key, value)
                if clause is not None:
                    clauses.append(clause)
                continue
            if not isinstance(key, str):
                raise InputValidationError(f"filter key {key!r} of {source.tag!r} must be a string")
            column_name, *path = key.split(".")
            column = source.column(column_name)
            is_json = source.is_json(column_name)
            if path and not is_json:
                raise InputValidationError(
                    f"cannot filter on {key!r}: {column_name!r} of {source.tag!r} is not a JSON column "
                    f"(JSON columns: {', '.join(sorted(source.json_columns)) or 'none'})"
                )
            operations = value if isinstance(value, Mapping) else {"==": value}
            for operator, operand in operations.items():
                clauses.append(self._operator(column, path if is_json else None, str(operator), operand, key))
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else sa.and_(*clauses)

    def _logical(self, source: Source, key: str, value: Any) -> sa.ColumnElement[bool] | None:
        if not isinstance(value, list | tuple):
            raise InputValidationError(f"{key!r} takes a list of filter dicts, not {value!r}")
        parts = [clause for clause in (self.compile(source, item) for item in value) if clause is not None]
        if not parts:
            return None
        combined = sa.and_(*parts) if key.endswith("and") else sa.or_(*parts)
        return sa.not_(combined) if key[0] in "~!" else combined

    def _operator(
        self, column: sa.ColumnElement[Any], path: list[str] | None, operator: str, value: Any, key: str
    ) -> sa.ColumnElement[bool]:
        negate = operator[:1] in ("~", "!")
        name = operator[1:] if negate else operator
        if name in ("and", "or"):
            if not isinstance(value, list | tuple) or not all(isinstance(item, Mapping) for item in value):
                raise InputValidationError(
                    f"{operator!r} on {key!r} takes a list of operator dicts, not {value!r}"
                )
            parts = [
                self._operator(column, path, str(sub_operator), sub_value, key)
                for item in value
                for sub_operator, sub_value in item.items()
            ]
            expression: sa.ColumnElement[bool] = (
                (sa.and_(*parts) if name == "and" else sa.or_(*parts)) if parts else sa.true()
            )
        elif path is None:
            expression = self._column_operator(column, name, value, key)
        else:
            expression = self._json_operator(JsonValue(column, json_path(path)), name, value, key)
        return sa.not_(expression) if negate else expression

    # ------------------------------------------------------------------ plain columns

    @staticmethod
    def _column_operator(
        column: sa.ColumnElement[Any], name: str, value: Any, key: str
    ) -> sa.ColumnElement[bool]:
        if name == "==":
            equal: sa.ColumnElement[bool] = column == value
            return equal
        if name in _ORDERING:
            return getattr(column, _ORDERING[name])(value)  # type: ignore[no-any-return]
        if name in ("like", "ilike"):
            if not isinstance(value, str):
                raise InputValidationError(f"{name!r} on {key!r} needs a string pattern, not {value!r}")
            if value == "%" and getattr(column, "nullable", True) is False:
                # Every string matches (a query for all nodes has it): no pattern for SQLite to run per row.
                return sa.true()
            if name == "ilike":
                return column.ilike(value, escape="\\")
            text = column if isinstance(column.type, sa.String) else sa.cast(column, sa.Text)
            return text.bool_op("GLOB")(like_to_glob(value))
        if name == "in":
            return column.in_(_as_list(value, key))
        raise InputValidationError(
            f"unknown operator {name!r} on the column {key!r}; "
            f"valid operators are: {', '.join(COLUMN_OPERATORS)} "
            "(each may be negated with '~' or '!')"
        )

    # ------------------------------------------------------------------ JSON values

    def _json_operator(self, target: JsonValue, name: str, value: Any, key: str) -> sa.ColumnElement[bool]:
        if name == "==":
            return self._json_equals(target, value, name)
        if name in _ORDERING:
            if isinstance(value, list | dict):
                raise InputValidationError(f"{name!r} on {key!r} compares numbers or strings, not {value!r}")
            types = _sqlite_types_of(value, name)
            compared = getattr(target.value, _ORDERING[name])(
                int(value) if isinstance(value, bool) else value
            )
            return _when(compared, target.type.in_(types))
        if name in ("like", "ilike"):
            if not isinstance(value, str):
                raise InputValidationError(f"{name!r} on {key!r} needs a string pattern, not {value!r}")
            matched = (
                target.value.ilike(value, escape="\\")
                if name == "ilike"
                else target.value.bool_op("GLOB")(like_to_glob(value))
            )
            return _when(matched, target.type == "text")
        handler = self._JSON_HANDLERS.get(name)
        if handler is not None:
            return handler(self, target, value, key)
        raise InputValidationError(
            f"unknown operator {name!r} on the JSON value {key!r}; "
            f"valid operators are: {', '.join(JSON_OPERATORS)} "
            "(each may be negated with '~' or '!')"
        )

    def _json_in(self, target: JsonValue, value: Any, key: str) -> sa.ColumnElement[bool]:
        values = _as_list(value, key)
        if not values:
            return sa.false()
        return sa.or_(*(self._json_equals(target, item, "in") for item in values))

    def _json_contains(self, target: JsonValue, value: Any, key: str) -> sa.ColumnElement[bool]:
        # As in PostgreSQL, NULL (neither true nor false) when the path is absent.
        self.needs_json_functions = True
        return sa.func.tempstore_json_contains(target.json_text, sa.literal(json.dumps(value)))

    def _json_has_key(self, target: JsonValue, value: Any, key: str) -> sa.ColumnElement[bool]:
        if not isinstance(value, str):
            raise InputValidationError(f"'has_key' on {key!r} needs a string key, not {value!r}")
        self.needs_json_functions = True
        return sa.func.tempstore_json_has_key(target.json_text, sa.literal(json.dumps(value)))

    def _json_of_type(self, target: JsonValue, value: Any, key: str) -> sa.ColumnElement[bool]:
        if value not in JSON_TYPES:
            raise InputValidationError(
                f"'of_type' on {key!r} takes one of {', '.join(JSON_TYPES)}, not {value!r}"
            )
        if value == "null":
            # As in PostgreSQL: a JSON null, or no value at all.
            return sa.or_(target.type == "null", target.type.is_(None))
        return _when(target.type.in_(_SQLITE_TYPES[value]), sa.true())

    def _json_length(self, target: JsonValue, value: Any, key: str, name: str) -> sa.ColumnElement[bool]:
        if not isinstance(value, int) or isinstance(value, bool):
            raise InputValidationError(f"{name!r} on {key!r} needs an integer length, not {value!r}")
        length = sa.func.json_array_length(target.column, target.path)
        compared = {"of_length": length == value, "longer": length > value, "shorter": length < value}[name]
        return _when(target.type == "array", compared)

    _JSON_HANDLERS: ClassVar[
        dict[str, Callable[[FilterCompiler, JsonValue, Any, str], sa.ColumnElement[bool]]]
    ] = {
        "in": _json_in,
        "contains": _json_contains,
        "has_key": _json_has_key,
        "of_type": _json_of_type,
        "of_length": lambda self, target, value, key: self._json_length(target, value, key, "of_length"),
        "longer": lambda self, target, value, key: self._json_length(target, value, key, "longer"),
        "shorter": lambda self, target, value, key: self._json_length(target, value, key, "shorter"),
    }

    def _json_equals(self, target: JsonValue, value: Any, operator: str) -> sa.ColumnElement[bool]:
        if value is None:
            return _when(target.type == "null", sa.true())
        types = _sqlite_types_of(value, operator)
        if isinstance(value, list | dict):
            self.needs_json_functions = True
            equal = sa.func.tempstore_json_equal(target.json_text, sa.literal(json.dumps(value)))
            return _when(target.type.in_(types), equal == 1)
        return _when(
            target.value == (int(value) if isinstance(value, bool) else value), target.type.in_(types)
        )


def _when(condition: sa.ColumnElement[bool], then: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    """``then`` where ``condition`` holds, else false (never NULL, so negation behaves).

    Typed JSON comparisons pass the value test as ``condition`` and the type
    test as ``then``: SQLite then parses the JSON a second time only for the
    rows whose value passed, which is what makes attribute filters fast.
    """
    return sa.case((condition, then), else_=sa.false())


def _as_list(value: Any, key: str) -> list[Any]:
    if isinstance(value, str | bytes | Mapping) or not hasattr(value, "__iter__"):
        raise InputValidationError(f"'in' on {key!r} takes a list of values, not {value!r}")
    return list(value)
