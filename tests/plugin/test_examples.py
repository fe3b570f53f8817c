"""The example suites in ``examples/`` pass as they are, alone and on two xdist workers."""

from __future__ import annotations

import shutil

from .conftest import kept_folders, store_folders

EXAMPLES = 19


def copy_examples(pytester, pytestconfig) -> None:
    shutil.copytree(pytestconfig.rootpath / "examples", pytester.path / "examples")


def test_examples_pass(pytester, pytestconfig, runpytest, basetemp):
    copy_examples(pytester, pytestconfig)
    result = runpytest("examples", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=EXAMPLES)
    result.stdout.fnmatch_lines(["*= tempstore: 1 kept store =*", "*examples_test_keep_for_debugging.py__*"])
    assert kept_folders(basetemp) == ["examples_test_keep_for_debugging.py__test_kept_for_inspection"]
    assert store_folders(basetemp) == []


def test_examples_pass_on_two_workers(pytester, pytestconfig, runpytest_subprocess, basetemp):
    copy_examples(pytester, pytestconfig)
    result = runpytest_subprocess("examples", "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=EXAMPLES)
    assert kept_folders(basetemp) == ["examples_test_keep_for_debugging.py__test_kept_for_inspection"]
    assert store_folders(basetemp) == []
