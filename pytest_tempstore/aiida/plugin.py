"""The pytest hooks of the AiiDA mode (``--tempstore-aiida`` or ini ``tempstore_aiida = true``).

Off by default. The options are the main plugin's, which registers
this module only once the mode is requested. It imports nothing but pytest: the
version check, aiida-core and the mode's storage code load inside its hooks.
The mode reaches aiida-core's fixtures by wrapping the value of its
``aiida_profile_factory`` in ``pytest_fixture_setup``, which works whichever
order the fixture modules were registered in.
"""

from __future__ import annotations

from importlib import metadata
from typing import TYPE_CHECKING, Any, Final

import pytest

from ..plugin import SUBPROCESS_MARKER

if TYPE_CHECKING:
    from collections.abc import Generator

    from _pytest.terminal import TerminalReporter

    from .fixtures import ModeState

__all__ = [
    "MODE_KEY",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_fixture_setup",
    "pytest_report_header",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
    "pytest_unconfigure",
]

MODE_KEY: Final = pytest.StashKey["ModeState"]()

_ENTRY_POINT_GROUP: Final = "aiida.storage"
_ENTRY_POINT_NAME: Final = "tempstore.sqlite_temp"  # repeated from .backend, which imports aiida
_FACTORY_FIXTURE: Final = "aiida_profile_factory"
#: aiida-core's fixtures that start (or stop) the daemon, which cannot reach an in-memory store.
_DAEMON_FIXTURES: Final = frozenset({"daemon_client", "started_daemon_client", "stopped_daemon_client"})
_WORKER_OUTPUT_KEY: Final = "tempstore_aiida"
_SKIP_REASON: Final = (
    "needs the AiiDA daemon, which runs in other processes and cannot reach the in-memory "
    "profile of --tempstore-aiida"
)
_SUBPROCESS_SKIP_REASON: Final = (
    f"marked {SUBPROCESS_MARKER}: another process cannot reach the in-memory profile of --tempstore-aiida"
)


def _storage_entry_point_registered() -> bool:
    return bool(metadata.entry_points(group=_ENTRY_POINT_GROUP, name=_ENTRY_POINT_NAME))


def _check_entry_point() -> None:
    """aiida-core finds storages through entry points only; without ours, no profile could load."""
    if not _storage_entry_point_registered():
        raise pytest.UsageError(
            f"--tempstore-aiida: the {_ENTRY_POINT_GROUP!r} entry point {_ENTRY_POINT_NAME!r} is not "
            "registered; reinstall pytest-tempstore"
        )


def pytest_configure(config: pytest.Config) -> None:
    # The version check needs `packaging`, ~20 ms to import: only paid with the mode on.
    from .version import AiidaVersionError, check_aiida_version  # noqa: PLC0415

    try:
        version = check_aiida_version()
    except AiidaVersionError as error:
        raise pytest.UsageError(str(error)) from None
    _check_entry_point()
    from .fixtures import ModeState  # noqa: PLC0415 - imports aiida: only when the mode is on

    config.stash[MODE_KEY] = ModeState(aiida_version=version)


def pytest_report_header(config: pytest.Config) -> str | None:
    state = config.stash.get(MODE_KEY, None)
    if state is None:
        return None
    return (
        f"tempstore-aiida: on (aiida-core {state.aiida_version}): SQLite profiles of aiida-core's fixtures "
        f"live in memory ({_ENTRY_POINT_NAME}); PostgreSQL profiles are left untouched"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip, before anything starts, the tests marked as reading their profile from another process."""
    if MODE_KEY not in config.stash:
        return
    skip = pytest.mark.skip(reason=_SUBPROCESS_SKIP_REASON)
    for item in items:
        if item.get_closest_marker(SUBPROCESS_MARKER) is not None:
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, Any, Any]:
    """Wrap aiida-core's profile factories, and skip its daemon fixtures on in-memory profiles."""
    state = request.config.stash.get(MODE_KEY, None)
    module = getattr(fixturedef.func, "__module__", None)
    if state is None or module is None:
        return (yield)
    from .fixtures import is_aiida_fixture_module  # noqa: PLC0415

    if not is_aiida_fixture_module(module):
        return (yield)
    if fixturedef.argname in _DAEMON_FIXTURES:
        for name in fixturedef.argnames:
            request.getfixturevalue(name)  # the profile it asks for is loaded first
        if _loaded_profile_in_memory():
            # Raised before the fixture runs, so that no daemon is ever started.
            raise pytest.skip.Exception(_SKIP_REASON, _use_item_location=True)
    value = yield
    if fixturedef.argname != _FACTORY_FIXTURE:
        return value
    wrapped = _wrap_factory(module, value, state)
    cached = fixturedef.cached_result
    assert cached is not None  # set by pytest's own implementation, which just ran
    fixturedef.cached_result = (wrapped, cached[1], None)
    return wrapped


def _wrap_factory(module: str, factory: Any, state: ModeState) -> Any:
    from .fixtures import DEPRECATED_FIXTURES_MODULE, wrap_deprecated_factory, wrap_modern_factory  # noqa: PLC0415

    if module == DEPRECATED_FIXTURES_MODULE:
        return wrap_deprecated_factory(factory, state)
    return wrap_modern_factory(factory, state)


def _loaded_profile_in_memory() -> bool:
    """Whether the profile that aiida has loaded (the one the daemon fixtures use) is one of ours."""
    from aiida.manage import get_manager  # noqa: PLC0415

    profile = get_manager().get_profile()
    return profile is not None and profile.storage_backend == _ENTRY_POINT_NAME


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """On the xdist controller: add up what each worker reported."""
    config: pytest.Config = node.config
    state = config.stash.get(MODE_KEY, None)
    report = getattr(node, "workeroutput", {}).get(_WORKER_OUTPUT_KEY)
    if state is not None and report is not None:
        state.merge(report)


def pytest_terminal_summary(terminalreporter: TerminalReporter, config: pytest.Config) -> None:
    state = config.stash.get(MODE_KEY, None)
    if state is None:
        return
    statistics = state.statistics
    terminalreporter.write_sep("=", "tempstore-aiida")
    terminalreporter.write_line(f"resets: {statistics.count}, mean {statistics.mean_ms:.3f} ms")
    in_memory = ", ".join(f"{number} x {backend}" for backend, number in sorted(state.in_memory.items()))
    terminalreporter.write_line(f"profiles in memory: {in_memory or 'none'}")
    if state.untouched:
        untouched = ", ".join(f"{number} x {backend}" for backend, number in sorted(state.untouched.items()))
        terminalreporter.write_line(f"profiles left untouched: {untouched}")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Free every store once the session's fixtures are torn down, and report to the xdist controller."""
    config = session.config
    state = config.stash.get(MODE_KEY, None)
    if state is None:
        return
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[_WORKER_OUTPUT_KEY] = state.as_dict()
    _release_stores()


def pytest_unconfigure(config: pytest.Config) -> None:
    if MODE_KEY in config.stash:
        _release_stores()


def _release_stores() -> None:
    from .store import release_all_stores  # noqa: PLC0415

    release_all_stores()
