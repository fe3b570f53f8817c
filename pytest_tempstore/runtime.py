"""The hooks of a run that has used a store: keeping stores after their tests, listing them, closing them.

``registry.start_registry`` registers this module as a plugin when the run's
first store is made, so that runs using no store never call these hooks: pytest
calls ``pytest_runtest_makereport`` three times for every test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .fixtures import KEPT_WORKER_OUTPUT_KEY, REGISTRY_KEY

if TYPE_CHECKING:
    from collections.abc import Generator

__all__ = ["PLUGIN_NAME"]

#: The name this module is registered under, beside the plugin's own ``tempstore``.
PLUGIN_NAME = "tempstore-runtime"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep the test's stores when asked, and attach the kept folders to the teardown report."""
    report = yield
    item.config.stash[REGISTRY_KEY].after_phase(item, report)
    return report


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Close every store (after pytest's own teardown of the session's fixtures).

    An xdist worker hands what it kept after its last report to the controller.
    """
    config = session.config
    registry = config.stash[REGISTRY_KEY]
    registry.close_all()
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[KEPT_WORKER_OUTPUT_KEY] = registry.drain_pending()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """List every store this process kept (an xdist worker's reach the controller in its reports)."""
    kept = config.stash[REGISTRY_KEY].kept
    if kept and not hasattr(config, "workerinput"):
        from .keep import write_summary  # noqa: PLC0415 - loaded only when something was kept

        write_summary(terminalreporter, kept)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Close every store, should the session's end not have come (idempotent)."""
    config.stash[REGISTRY_KEY].close_all()
