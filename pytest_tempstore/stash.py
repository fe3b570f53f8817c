"""The plugin's state, kept in pytest's stashes under these typed keys; the names kept stores travel under."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .marker import StoreSettings
    from .plugin import KeepPolicy
    from .registry import StoreRegistry

__all__ = [
    "KEEP_ERROR_PROPERTY",
    "KEEP_SETTING_KEY",
    "KEPT_PROPERTIES",
    "LEFTOVER_KEPT_KEY",
    "REGISTRY_KEY",
    "SETTINGS_KEY",
    "USER_PROPERTY",
]

#: The name under which a kept folder travels in a test report's ``user_properties``
#: (and so reaches the xdist controller and JUnit XML).
USER_PROPERTY = "tempstore_kept"
#: The report property naming a store that could not be kept, and why.
KEEP_ERROR_PROPERTY = "tempstore_keep_error"
KEPT_PROPERTIES = (USER_PROPERTY, KEEP_ERROR_PROPERTY)

# On the config: the run as a whole.
#: The keep policy in force and where it came from (``command line``, ``ini`` or ``default``).
KEEP_SETTING_KEY: pytest.StashKey[tuple[KeepPolicy, str]] = pytest.StashKey()
REGISTRY_KEY: pytest.StashKey[StoreRegistry] = pytest.StashKey()
#: Kept stores that no test report carries (kept at the session's end, or by a worker after its
#: last report), as ``(property, value)`` pairs for the terminal summary.
LEFTOVER_KEPT_KEY: pytest.StashKey[list[tuple[str, str]]] = pytest.StashKey()

# On a test item.
#: The marker settings of a test that uses a tempstore (or carries the marker).
SETTINGS_KEY: pytest.StashKey[StoreSettings] = pytest.StashKey()
