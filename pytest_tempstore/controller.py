"""The kept-store summary on pytest-xdist's controller, which runs no test itself.

``plugin`` registers this module when xdist sets up its workers
(``pytest_xdist_setupnodes``), so that runs without xdist never load it. The
workers' kept stores come in their teardown reports (``user_properties``), and
what a worker kept after its last report in its ``workeroutput``.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

import pytest

from .fixtures import KEPT_PROPERTIES, KEPT_WORKER_OUTPUT_KEY

__all__ = ["PLUGIN_NAME"]

#: The name this module is registered under, beside the plugin's own ``tempstore``.
PLUGIN_NAME = "tempstore-controller"

#: What the workers kept after their last report, as ``(property, value)`` pairs.
_LEFTOVERS_KEY: pytest.StashKey[list[tuple[str, str]]] = pytest.StashKey()


def pytest_testnodedown(node: Any, error: object) -> None:
    """Take what a worker kept after its last report (e.g. when interrupted)."""
    entries = getattr(node, "workeroutput", {}).get(KEPT_WORKER_OUTPUT_KEY, ())
    leftovers = node.config.stash.setdefault(_LEFTOVERS_KEY, [])
    leftovers.extend((str(name), str(value)) for name, value in entries)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """List every store the workers kept, in the order their tests ran."""
    teardowns = []
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "user_properties", None) and getattr(report, "when", None) == "teardown":
                teardowns.append(report)
    teardowns.sort(key=attrgetter("start"))
    entries = [
        (str(name), str(value))
        for report in teardowns
        for name, value in report.user_properties
        if name in KEPT_PROPERTIES
    ]
    leftovers: list[tuple[str, str]] = config.stash.get(_LEFTOVERS_KEY, [])
    entries.extend(leftovers)
    if entries:
        from .keep import write_summary  # noqa: PLC0415 - loaded only when something was kept

        write_summary(terminalreporter, entries)
