"""SQL ``LIKE`` patterns, matched case-sensitively on SQLite.

SQLite's ``LIKE`` ignores ASCII case unless a connection pragma says otherwise,
while AiiDA's ``like`` is case-sensitive. A ``LIKE`` pattern is therefore
rewritten as the equivalent ``GLOB`` pattern, which is case-sensitive and can
still use an index for a fixed prefix.
"""

from __future__ import annotations

import fnmatch

__all__ = ["like_to_glob", "sql_like_match"]

_GLOB_SPECIAL = {"*": "[*]", "?": "[?]", "[": "[[]"}


def like_to_glob(pattern: str) -> str:
    """The ``GLOB`` pattern matching what ``pattern LIKE ... ESCAPE '\\'`` matches."""
    parts = []
    escaped = False
    for char in pattern:
        if escaped:
            parts.append(_GLOB_SPECIAL.get(char, char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            parts.append("*")
        elif char == "_":
            parts.append("?")
        else:
            parts.append(_GLOB_SPECIAL.get(char, char))
    if escaped:
        parts.append("\\")
    return "".join(parts)


def sql_like_match(value: str, pattern: str) -> bool:
    """Whether ``value`` matches the ``LIKE`` pattern (``%``, ``_``, ``\\`` escapes), case-sensitively."""
    translated = like_to_glob(pattern)
    return fnmatch.fnmatchcase(value, translated)
