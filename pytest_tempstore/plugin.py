"""The pytest plugin's hooks; the fixtures live in :mod:`pytest_tempstore.fixtures`.

This module is the ``pytest11`` entry point: importing the fixtures here makes
them part of the plugin, so ``-p no:tempstore`` turns everything off. It is
cheap to import: SQLAlchemy and pydantic load when a store is first needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from .fixtures import (
    STORE_FIXTURES,
    WIDE_STORE_FIXTURES,
    _tempstore_registry,
    _tempstore_wide_stores,
    tempstore,
    tempstore_factory,
    tempstore_module,
    tempstore_session,
)
from .keep import KEEP_ERROR_PROPERTY, USER_PROPERTY, KeepPolicy, resolve_keep_setting, should_keep
from .marker import MARKER_HELP, MARKER_NAME, MarkerError, StoreSettings, settings_from_marker
from .stash import (
    FUNCTION_STORE_KEY,
    KEEP_SETTING_KEY,
    REGISTRY_KEY,
    REPORTS_KEY,
    SETTINGS_KEY,
    SUMMARY_KEY,
    WIDE_STORES_KEY,
)

if TYPE_CHECKING:
    from collections.abc import Generator

__all__ = [
    "_tempstore_registry",
    "_tempstore_wide_stores",
    "tempstore",
    "tempstore_factory",
    "tempstore_module",
    "tempstore_session",
]

# The AiiDA mode's hooks: part of this plugin, so `-p no:tempstore` turns them off too.
# They load aiida-core only when the mode is on.
pytest_plugins = ["pytest_tempstore.aiida.plugin"]

_KEPT_PROPERTIES = (USER_PROPERTY, KEEP_ERROR_PROPERTY)
#: The key under which an xdist worker hands its last kept stores to the controller.
_WORKER_OUTPUT_KEY = "tempstore_kept"


# ---------------------------------------------------------------------- options and configuration


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tempstore", "throwaway AiiDA provenance stores (pytest-tempstore)")
    group.addoption(
        "--tempstore-keep",
        action="store",
        nargs="?",
        const=KeepPolicy.FAILED.value,
        default=None,
        choices=[policy.value for policy in KeepPolicy],
        dest="tempstore_keep",
        help=(
            "keep stores after their tests as AiiDA archive folders in <basetemp>/tempstore-kept: "
            "'failed' (the bare flag) for tests that failed, 'all', or 'none'. Write "
            "--tempstore-keep=failed when a test path follows. Default: the tempstore_keep ini value."
        ),
    )
    parser.addini(
        "tempstore_keep",
        help="which stores to keep after their tests: none (default), failed or all; --tempstore-keep wins",
        type="string",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    setting = resolve_keep_setting(config.getoption("tempstore_keep"), config.getini("tempstore_keep"))
    config.stash[KEEP_SETTING_KEY] = setting
    summary = config.stash[SUMMARY_KEY] = KeptStoresSummary()
    config.pluginmanager.register(summary, "tempstore-kept-summary")


def pytest_report_header(config: pytest.Config) -> str:
    import sqlite3  # noqa: PLC0415 - the C extension loads only when a header is shown

    setting = config.stash[KEEP_SETTING_KEY]
    return f"tempstore: SQLite {sqlite3.sqlite_version}, keep={setting.policy.value} (from {setting.source})"


# ---------------------------------------------------------------------- collection


@pytest.hookimpl(wrapper=True)
def pytest_pycollect_makeitem(collector: pytest.Module | pytest.Class) -> Generator[None, object, object]:
    """Check the tempstore markers of each new test and note its settings.

    A bad marker makes the module (or class) fail to collect, with a message
    naming the test, class or module that carries it and the argument at fault.
    """
    result = yield
    items = result if isinstance(result, list) else [result]
    errors: dict[str, None] = {}
    for item in items:
        if isinstance(item, pytest.Function):
            settings = _closest_settings(item, errors)
            if settings is not None:
                item.stash[SETTINGS_KEY] = settings
    if errors:
        raise collector.CollectError("invalid @pytest.mark.tempstore:\n" + "\n".join(errors))
    return result


def _closest_settings(item: pytest.Item, errors: dict[str, None]) -> StoreSettings | None:
    """The settings of the closest tempstore marker, if any; every marker is checked, errors collected."""
    closest: StoreSettings | None = None
    found = False
    for node, mark in item.iter_markers_with_node(MARKER_NAME):
        try:
            settings = settings_from_marker(mark, item.path.parent)
        except MarkerError as error:
            errors[f"  {node.nodeid}: {error}"] = None
            settings = StoreSettings()
        if not found:
            closest, found = settings, True
    return closest


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that use a store, and give marked tests their stores.

    Runs first so that ``-m tempstore`` sees the markers added here.
    """
    for item in items:
        fixturenames: list[str] | None = getattr(item, "fixturenames", None)
        if fixturenames is None:
            continue
        marked = SETTINGS_KEY in item.stash
        uses = STORE_FIXTURES.intersection(fixturenames)
        if not uses and not marked:
            continue
        if not marked:
            item.stash[SETTINGS_KEY] = StoreSettings()
            item.add_marker(MARKER_NAME)
        extra = []
        if uses.intersection(WIDE_STORE_FIXTURES):
            extra.append("_tempstore_wide_stores")
        if not uses:
            extra.append("tempstore")  # a marked test gets its store as current_store()
        if extra:
            # A new list: the instances of a parametrized test share one.
            item.fixturenames = [*extra, *fixturenames]  # type: ignore[attr-defined]


# ---------------------------------------------------------------------- running tests


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep the test's stores when asked, and attach the kept folders to the teardown report.

    Runs once the phase is over; at teardown every fixture of the test is gone,
    so a failure in setup, call or teardown is known.
    """
    report = yield
    registry = item.config.stash.get(REGISTRY_KEY, None)
    if registry is None:
        return report
    if SETTINGS_KEY in item.stash:
        reports = item.stash.setdefault(REPORTS_KEY, {})
        reports[report.when] = report
        if report.failed:
            for wide_store in item.stash.get(WIDE_STORES_KEY, ()):
                registry.note_failure(wide_store)
        if report.when == "teardown":
            store = item.stash.get(FUNCTION_STORE_KEY, None)
            failed = any(phase.failed for phase in reports.values())
            if store is not None and should_keep(registry.keep_policy, failed, item.stash[SETTINGS_KEY].keep):
                registry.keep(store, item.nodeid)
            # The test is over: its reports need not live for the rest of the session.
            del item.stash[REPORTS_KEY]
    if report.when == "teardown" and registry.pending:
        # Kept folders travel with the report: to the terminal summary, the xdist controller and JUnit XML.
        report.user_properties.extend(registry.drain_pending())
    return report


class KeptStoresSummary:
    """Collects the kept stores of the run, also from xdist workers, and lists them at the end.

    Registered as a plugin object of its own so that its hooks can reach the run's state.
    """

    def __init__(self) -> None:
        self.entries: list[tuple[str, str]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "teardown" and report.user_properties:
            self.entries.extend(
                (str(name), str(value)) for name, value in report.user_properties if name in _KEPT_PROPERTIES
            )

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """On the xdist controller: what a worker kept after its last report (e.g. when interrupted)."""
        entries = getattr(node, "workeroutput", {}).get(_WORKER_OUTPUT_KEY, ())
        self.entries.extend((str(name), str(value)) for name, value in entries)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.entries:
            return
        folders = [value for name, value in self.entries if name == USER_PROPERTY]
        problems = [value for name, value in self.entries if name == KEEP_ERROR_PROPERTY]
        plural = "" if len(folders) == 1 else "s"
        terminalreporter.write_sep("=", f"tempstore: {len(folders)} kept store{plural}")
        for folder in folders:
            terminalreporter.write_line(folder)
        for problem in problems:
            terminalreporter.write_line(f"could not keep {problem}", red=True)


# ---------------------------------------------------------------------- end of the run


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Close every store (after pytest's own teardown of the session's fixtures)."""
    config = session.config
    registry = config.stash.get(REGISTRY_KEY, None)
    if registry is None:
        return
    registry.close_all()
    leftovers = registry.drain_pending()
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[_WORKER_OUTPUT_KEY] = leftovers
    else:
        config.stash[SUMMARY_KEY].entries.extend(leftovers)


def pytest_unconfigure(config: pytest.Config) -> None:
    registry = config.stash.get(REGISTRY_KEY, None)
    if registry is not None:
        registry.close_all()
