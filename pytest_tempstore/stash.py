"""The plugin's state, kept in pytest's stashes under these typed keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .keep import KeepSetting
    from .marker import StoreSettings
    from .plugin import KeptStoresSummary
    from .registry import StoreRegistry
    from .storage.backend import SqliteTempBackend

__all__ = [
    "FUNCTION_STORE_KEY",
    "KEEP_SETTING_KEY",
    "REGISTRY_KEY",
    "REPORTS_KEY",
    "SETTINGS_KEY",
    "SUMMARY_KEY",
    "WIDE_STORES_KEY",
]

# On the config: the run as a whole.
KEEP_SETTING_KEY: pytest.StashKey[KeepSetting] = pytest.StashKey()
REGISTRY_KEY: pytest.StashKey[StoreRegistry] = pytest.StashKey()
#: Collects the kept stores for the terminal summary.
SUMMARY_KEY: pytest.StashKey[KeptStoresSummary] = pytest.StashKey()

# On a test item.
#: The marker settings of a test that uses a tempstore (or carries the marker).
SETTINGS_KEY: pytest.StashKey[StoreSettings] = pytest.StashKey()
#: The function-scoped store the test got.
FUNCTION_STORE_KEY: pytest.StashKey[SqliteTempBackend] = pytest.StashKey()
#: The module and session stores the test used.
WIDE_STORES_KEY: pytest.StashKey[list[SqliteTempBackend]] = pytest.StashKey()
#: The reports of the test's phases so far, by phase.
REPORTS_KEY: pytest.StashKey[dict[str, pytest.TestReport]] = pytest.StashKey()
