"""The plugin as a whole: switching it off, cheap import, and nothing left behind, even when interrupted."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import kept_folders, store_folders

EVERY_KIND_OF_STORE = """
import io
import pytest

def seed(store):
    store.get_repository().put_object_from_filelike(io.BytesIO(b"seeded"))

@pytest.mark.tempstore(seed=seed)
def test_seeded(tempstore):
    tempstore.get_repository().put_object_from_filelike(io.BytesIO(b"more"))

def test_closes(tempstore):
    tempstore.close()

def test_wide(tempstore_module, tempstore_session):
    tempstore_module.get_repository().put_object_from_filelike(io.BytesIO(b"module"))
    tempstore_session.get_repository().put_object_from_filelike(io.BytesIO(b"session"))

def test_factory(tempstore_factory, tmp_path):
    tempstore_factory().get_repository().put_object_from_filelike(io.BytesIO(b"factory"))
    (tmp_path / "user-file").write_text("the test's own")

def test_fails(tempstore):
    assert False
"""


def test_nothing_is_left_behind(pytester, runpytest, basetemp):
    pytester.makepyfile(EVERY_KIND_OF_STORE)
    runpytest().assert_outcomes(passed=4, failed=1)
    assert store_folders(basetemp) == []
    # What remains is pytest's own tmp_path folder.
    assert sorted(path.name for path in basetemp.iterdir()) == ["test_factory0", "test_factorycurrent"]

    pytester.makepyfile(EVERY_KIND_OF_STORE)
    runpytest("--tempstore-keep").assert_outcomes(passed=4, failed=1)
    assert store_folders(basetemp) == []
    assert kept_folders(basetemp) == ["test_nothing_is_left_behind.py__test_fails"]


@pytest.mark.parametrize("where", ["test", "setup"])
def test_interrupted_run_closes_every_store_and_keeps_what_was_asked(pytester, runpytest, basetemp, where):
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.fixture
        def interrupting(tempstore):
            if {where == "setup"}:
                raise KeyboardInterrupt

        def test_first(tempstore, tempstore_module, tempstore_session):
            row = {{"label": "session", "user_id": tempstore_session.default_user_id}}
            tempstore_session.bulk_insert("node", [row], allow_defaults=True)

        def test_interrupted(tempstore, tempstore_session, interrupting):
            raise KeyboardInterrupt

        def test_never_runs(tempstore):
            pass
        """
    )
    result = runpytest("--tempstore-keep=all", no_reraise_ctrlc=True)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        ["*= tempstore: 3 kept stores =*", "*tempstore_session", "*! KeyboardInterrupt !*"]
    )
    assert "tempstore_session" in kept_folders(basetemp)
    assert store_folders(basetemp) == []


def test_disabled_plugin_offers_nothing(pytester, runpytest, runpytest_subprocess):
    pytester.makepyfile(
        """
        import pytest
        from pytest_tempstore import current_store

        def test_fixture(tempstore):
            pass

        @pytest.mark.tempstore
        def test_marked():
            with pytest.raises(LookupError):
                current_store()
        """
    )
    result = runpytest("-p", "no:tempstore", "-W", "ignore::pytest.PytestUnknownMarkWarning")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*fixture 'tempstore' not found*"])
    result.stdout.no_fnmatch_line("tempstore: SQLite*")

    # In a process of its own: pytest caches known marker names process-wide.
    strict = runpytest_subprocess("-p", "no:tempstore", "--strict-markers")
    strict.assert_outcomes(errors=1)
    strict.stdout.fnmatch_lines(["*'tempstore' not found in `markers` configuration option*"])


def test_disabled_plugin_has_no_options(pytester, runpytest):
    pytester.makepyfile("def test_nothing(): pass")
    result = runpytest("-p", "no:tempstore", "--tempstore-keep")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unrecognized arguments: --tempstore-keep*"])


def test_help_lists_the_option_in_its_group(pytester):
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "throwaway AiiDA provenance stores (pytest-tempstore):",
            "  --tempstore-keep=[{none,failed,all}]",
            "*tempstore_keep (string):*",
        ],
        consecutive=False,
    )


def test_importing_the_plugin_stays_cheap():
    code = (
        "import sys, pytest_tempstore.plugin\n"
        "heavy = ('sqlalchemy', 'pydantic', 'pytest_tempstore.storage', 'pytest_tempstore.repository',"
        " 'pytest_tempstore.archive', 'sqlite3')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


RUNTIME_PROBE = """
import pytest

_configs = []
_seen = []


def pytest_configure(config):
    _configs.append(config)


@pytest.hookimpl(trylast=True)
def pytest_runtest_logfinish(nodeid):
    _seen.append(_configs[-1].pluginmanager.has_plugin("tempstore-runtime"))


def pytest_unconfigure(config):
    print("runtime hooks after each test:", _seen)
"""


def test_a_run_calls_the_keeping_hooks_only_once_it_has_used_a_store(pytester, runpytest):
    pytester.makeconftest(RUNTIME_PROBE)
    pytester.makepyfile(
        """
        def test_plain():
            pass

        def test_with_a_store(tempstore):
            pass

        def test_plain_again():
            pass
        """
    )
    result = runpytest("-s")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["runtime hooks after each test: [False, True, True]"])
