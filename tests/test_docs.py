"""The README's examples run, so they cannot rot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)
# Blocks written as test functions need pytest's fixtures; they are run through pytester below.
STANDALONE = [block for block in BLOCKS if "def test_" not in block]
TEST_BLOCKS = [block for block in BLOCKS if "def test_" in block]


def test_the_readme_has_examples():
    assert len(STANDALONE) >= 3
    assert len(TEST_BLOCKS) == 1


@pytest.mark.parametrize("block", STANDALONE, ids=[f"block{index}" for index in range(len(STANDALONE))])
def test_a_readme_example_runs(block):
    exec(compile(block, str(README), "exec"), {"__name__": "readme_example"})


def test_the_readme_test_example_passes(pytester):
    from pytest_tempstore import SqliteTempBackend
    from pytest_tempstore.archive import create_archive

    store = SqliteTempBackend(SqliteTempBackend.create_profile())
    (pytester.path / "data").mkdir()
    create_archive(store, pytester.path / "data" / "graph.aiida")
    store.close()
    pytester.makepyfile(test_readme=TEST_BLOCKS[0])
    # In a subprocess: an in-process run would unload the modules it imported first.
    pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:hypothesispytest").assert_outcomes(passed=2)
