"""Turning the AiiDA mode on and off, and the usage errors for a missing or unsupported aiida-core."""

from __future__ import annotations

import subprocess
import sys

import pytest

import pytest_tempstore.aiida.plugin as hooks
from pytest_tempstore.aiida import version

HEADER = "tempstore-aiida: on"


@pytest.fixture
def run(pytester: pytest.Pytester):
    """Run a one-test suite in this process with the plugin.

    Only runs that stop before aiida-core is imported run here (aiida's globals would leak
    between runs in one process); the runs with the mode on are in ``test_suites``.
    """
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")

    def run_with(*arguments: str, ini: str = "") -> pytest.RunResult:
        pytester.makeini(f"[pytest]\n{ini}\n")
        return pytester.runpytest_inprocess(*arguments)

    return run_with


def test_off_by_default(run):
    result = run()
    assert result.ret == pytest.ExitCode.OK
    assert HEADER not in result.stdout.str()


def test_with_the_mode_off_its_hooks_are_not_registered_but_its_marker_is(pytester: pytest.Pytester):
    pytester.makepyfile(
        test_marked=(
            "import pytest\n\n"
            "@pytest.mark.tempstore_aiida_subprocess\n"
            "def test_marked(request):\n"
            "    assert not request.config.pluginmanager.has_plugin('tempstore-aiida')\n"
        )
    )
    pytester.runpytest_inprocess("--strict-markers").assert_outcomes(passed=1)


def test_without_aiida_core_it_is_a_usage_error(run, monkeypatch):
    monkeypatch.setattr(version, "installed_aiida_version", lambda: None)
    result = run("--tempstore-aiida")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--tempstore-aiida needs aiida-core, which is not installed*"])


@pytest.mark.parametrize("installed", ["2.5.1", "3.0.0"])
def test_an_unsupported_aiida_core_is_a_usage_error_naming_the_range(run, monkeypatch, installed):
    monkeypatch.setattr(version, "installed_aiida_version", lambda: installed)
    result = run("--tempstore-aiida")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"*--tempstore-aiida supports aiida-core>=2.6,<3, but aiida-core {installed} is installed*"]
    )


def test_without_aiida_core_the_mode_off_is_fine(run, monkeypatch):
    monkeypatch.setattr(version, "installed_aiida_version", lambda: None)
    assert run().ret == pytest.ExitCode.OK


def test_a_missing_storage_entry_point_is_a_usage_error(run, monkeypatch):
    monkeypatch.setattr(hooks, "_storage_entry_point_registered", lambda: False)
    result = run("--tempstore-aiida")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*'aiida.storage' entry point 'tempstore.sqlite_temp' is not registered*"])


def test_importing_the_hooks_loads_nothing_heavy():
    code = (
        "import sys, pytest_tempstore.aiida.plugin\n"
        "heavy = sorted({name.split('.')[0] for name in sys.modules} & {'aiida', 'sqlalchemy', 'pydantic'})\n"
        "print(heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
