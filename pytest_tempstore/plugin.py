"""The pytest plugin's hooks and options; the fixtures live in :mod:`pytest_tempstore.fixtures`.

This module is the ``pytest11`` entry point: importing the fixtures here makes
them part of the plugin, so ``-p no:tempstore`` turns everything off. Every
pytest run in an environment with the plugin installed imports it, so it stays
small and imports only the fixtures (and the stash keys they define): the
marker's checks, keeping, the store registry, the hooks that keep, list and
close stores (``runtime``), xdist's controller side (``controller``) and the
AiiDA mode load when a run needs them. pytest loads a plugin's modules through
its assertion rewriter, whose loader costs about 0.1 ms per function at every
start (``marshal.load`` on a file object).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .fixtures import (
    KEEP_SETTING_KEY,
    SETTINGS_KEY,
    STORE_FIXTURES,
    WIDE_STORE_FIXTURES,
    _tempstore_wide_stores,
    tempstore,
    tempstore_factory,
    tempstore_module,
    tempstore_session,
)

if TYPE_CHECKING:
    from collections.abc import Generator
    from typing import Literal

    #: Which stores are written out after their tests.
    KeepPolicy = Literal["none", "failed", "all"]

__all__ = [
    "_tempstore_wide_stores",
    "tempstore",
    "tempstore_factory",
    "tempstore_module",
    "tempstore_session",
]

MARKER_NAME = "tempstore"
#: The marker's help line; :mod:`pytest_tempstore.marker` checks the arguments it names.
MARKER_HELP = (
    "tempstore(archive=None, seed=None, default_user_email=None, keep=None): "
    "configure the test's `tempstore`: seed it from an AiiDA archive (a path, relative to the test file's "
    "folder) and/or a callable taking the store, set the default user's email, and keep (True) or never "
    "keep (False) the store after the test, whatever --tempstore-keep says."
)
#: The values of ``--tempstore-keep`` and of the ini value ``tempstore_keep``.
KEEP_POLICIES: tuple[KeepPolicy, ...] = ("none", "failed", "all")

#: Marks a test whose AiiDA profile is read by another process (a daemon, a ``verdi`` subprocess).
SUBPROCESS_MARKER = "tempstore_aiida_subprocess"
_SUBPROCESS_MARKER_HELP = (
    f"{SUBPROCESS_MARKER}: the test has another process (a daemon, a verdi subprocess) read its AiiDA "
    "profile: skipped under --tempstore-aiida, whose profiles live in the test process's memory"
)
#: The name under which the AiiDA mode's hooks are registered when the mode is on.
AIIDA_PLUGIN_NAME = "tempstore-aiida"


# ---------------------------------------------------------------------- options and configuration


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tempstore", "throwaway AiiDA provenance stores (pytest-tempstore)")
    group.addoption(
        "--tempstore-keep",
        action="store",
        nargs="?",
        const="failed",
        default=None,
        choices=KEEP_POLICIES,
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
    group.addoption(
        "--tempstore-aiida",
        action="store_true",
        default=None,
        dest="tempstore_aiida",
        help=(
            "AiiDA mode: the SQLite profiles that aiida-core's fixtures build live in memory and are "
            "reset by restoring a snapshot (needs aiida-core). Default: the tempstore_aiida ini value."
        ),
    )
    group.addoption(
        "--no-tempstore-aiida",
        action="store_false",
        dest="tempstore_aiida",
        help="turn the AiiDA mode off, whatever the ini file says",
    )
    parser.addini(
        "tempstore_aiida",
        help="turn the AiiDA mode on (default: false); --tempstore-aiida / --no-tempstore-aiida win",
        type="bool",
        default=False,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    config.addinivalue_line("markers", _SUBPROCESS_MARKER_HELP)
    config.stash[KEEP_SETTING_KEY] = _keep_setting(config)
    aiida_mode = config.getoption("tempstore_aiida")
    if config.getini("tempstore_aiida") if aiida_mode is None else aiida_mode:
        # The mode's hooks: part of this plugin (`-p no:tempstore` turns them off too), registered
        # only now, so that runs without the mode pay nothing for them. pluggy calls their
        # `pytest_configure`, a historic hook, at once.
        from .aiida import plugin as aiida_plugin  # noqa: PLC0415

        config.pluginmanager.register(aiida_plugin, AIIDA_PLUGIN_NAME)


def _keep_setting(config: pytest.Config) -> tuple[KeepPolicy, str]:
    """The keep policy and where it came from: the command line (checked by argparse), the ini, or none."""
    command_line = config.getoption("tempstore_keep")
    if command_line is not None:
        return command_line, "command line"
    value = str(config.getini("tempstore_keep")).strip()
    if not value:
        return "none", "default"
    for policy in KEEP_POLICIES:
        if value == policy:
            return policy, "ini"
    raise pytest.UsageError(
        f"tempstore_keep = {value!r} is not valid; use one of: {', '.join(KEEP_POLICIES)}"
    )


def pytest_report_header(config: pytest.Config) -> str:
    from .storage.driver import describe  # noqa: PLC0415 - the driver loads only when a header is shown

    policy, source = config.stash[KEEP_SETTING_KEY]
    return f"tempstore: {describe()}, keep={policy} (from {source})"


# ---------------------------------------------------------------------- collection


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """Check the tempstore markers of the tests a module or class collects, and note their settings.

    A bad marker fails that module's (or class's) collection, with a message
    naming the test, class or module that carries it and the argument at fault.
    Once per module or class, not per test: a run whose tests carry no marker
    pays next to nothing.
    """
    report = yield
    if not report.passed or not isinstance(collector, pytest.Module | pytest.Class):
        return report
    marked_above = collector.get_closest_marker(MARKER_NAME) is not None
    errors: dict[str, None] = {}
    for item in report.result:
        if not isinstance(item, pytest.Function):
            continue
        own = item.own_markers  # most tests have none: no generator for them
        if marked_above or (own and any(mark.name == MARKER_NAME for mark in own)):
            from .marker import closest_settings  # noqa: PLC0415 - loaded only when a test carries the marker

            item.stash[SETTINGS_KEY] = closest_settings(item, MARKER_NAME, errors)
    if errors:
        report.outcome = "failed"
        report.longrepr = "invalid @pytest.mark.tempstore:\n" + "\n".join(errors)
        report.result = []
    return report


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
        if not marked and STORE_FIXTURES.isdisjoint(fixturenames):
            continue
        uses = STORE_FIXTURES.intersection(fixturenames)
        if not marked:
            from .marker import StoreSettings  # noqa: PLC0415 - loaded only when a test uses a store

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


# ---------------------------------------------------------------------- reporting
# The hooks that keep and close stores, and list the kept ones, are registered once a test uses a
# store (runtime.py); those that list the workers' kept stores, on xdist's controller (controller.py).


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_setupnodes(config: pytest.Config) -> None:
    """On xdist's controller: register the hooks that list the workers' kept stores (``controller``)."""
    from . import controller  # noqa: PLC0415 - only xdist's controller needs it

    config.pluginmanager.register(controller, controller.PLUGIN_NAME)
