"""Tests whose profile another process reads: run only with the mode, which keeps profiles in memory."""

import subprocess
import sys

import pytest


@pytest.mark.tempstore_aiida_subprocess
def test_marked_subprocess_test_is_skipped(aiida_profile):
    raise AssertionError("a marked test must be skipped before it starts")


def test_unmarked_verdi_subprocess_gets_a_clear_error(aiida_profile):
    command = [sys.executable, "-m", "aiida", "-p", aiida_profile.name, "node", "list"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode != 0
    assert "--tempstore-aiida" in result.stdout + result.stderr
