"""JSON predicates SQLite lacks, registered on the connection as SQL functions.

They follow PostgreSQL's ``jsonb`` semantics, which AiiDA's QueryBuilder is
written against: ``contains`` is ``@>``, ``has_key`` is ``?``, and equality of
arrays and objects ignores key order while telling booleans from numbers.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3

__all__ = ["JSON_FUNCTIONS", "json_contains", "json_equal", "json_has_key", "register_json_functions"]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def json_equal(left: Any, right: Any) -> bool:
    """Equality of decoded JSON values: objects ignore key order, ``true`` is not ``1``."""
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(json_equal(left[key], right[key]) for key in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(json_equal(a, b) for a, b in zip(left, right, strict=True))
    return bool(left == right)


def json_contains(container: Any, contained: Any) -> bool:
    """PostgreSQL's ``container @> contained`` on decoded JSON values."""
    if isinstance(container, dict):
        return isinstance(contained, dict) and all(
            key in container and json_contains(container[key], value) for key, value in contained.items()
        )
    if isinstance(container, list):
        if isinstance(contained, list):
            return all(any(json_contains(item, wanted) for item in container) for wanted in contained)
        # An array contains a bare scalar that is one of its elements.
        return not isinstance(contained, dict) and any(json_equal(item, contained) for item in container)
    return json_equal(container, contained)


def json_has_key(container: Any, key: Any) -> bool:
    """PostgreSQL's ``container ? key``: an object key, or a string element of an array."""
    if isinstance(container, dict):
        return key in container
    if isinstance(container, list):
        return any(isinstance(item, str) and item == key for item in container)
    return isinstance(container, str) and container == key


def _decoding(predicate: Any) -> Any:
    def call(left: str | None, right: str | None) -> int | None:
        if left is None or right is None:
            return None
        return int(predicate(json.loads(left), json.loads(right)))

    return call


JSON_FUNCTIONS = {
    "tempstore_json_equal": _decoding(json_equal),
    "tempstore_json_contains": _decoding(json_contains),
    "tempstore_json_has_key": _decoding(json_has_key),
}


def register_json_functions(connection: sqlite3.Connection) -> None:
    """Make the functions callable in SQL on ``connection`` (idempotent and cheap)."""
    for name, function in JSON_FUNCTIONS.items():
        connection.create_function(name, 2, function, deterministic=True)
