"""Checking values bound for JSON columns (attributes, extras, metadata)."""

from __future__ import annotations

import json
from typing import Any

from ...exceptions import InputValidationError

__all__ = ["check_json_key", "clean_json"]


def clean_json(value: Any, what: str) -> Any:
    """``value`` as it will read back from a JSON column (tuples become lists, ...).

    Raises ``InputValidationError`` naming ``what`` for values JSON cannot hold,
    NaN and infinities included (SQLite's JSON functions reject them).
    """
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise InputValidationError(f"{what}: {value!r} cannot be stored as JSON: {error}") from None


def check_json_key(key: object, what: str) -> str:
    """A key of attributes or extras: a non-empty string without dots (dots separate query paths)."""
    if not isinstance(key, str) or not key or "." in key:
        raise InputValidationError(f"{what} key {key!r} must be a non-empty string without '.'")
    return key
