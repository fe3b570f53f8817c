"""Root conftest of the project's own tests.

aiida-core is the reference in interoperability tests. It writes its
configuration folder as soon as it is imported, so ``AIIDA_PATH`` points into a
private temporary folder before any test module imports it, and that folder is
removed at the end of the run.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import tempfile

import pytest

pytest_plugins = ["pytester"]

_aiida_path_key = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    # pytester's in-process runs unload the modules first imported during them, and numpy
    # (imported by aiida-core, and by pytest-randomly in runs that load it) cannot load twice.
    with contextlib.suppress(ImportError):
        importlib.import_module("numpy")
    if "AIIDA_PATH" not in os.environ:
        folder = tempfile.mkdtemp(prefix="tempstore-tests-aiida-")
        os.environ["AIIDA_PATH"] = folder
        config.stash[_aiida_path_key] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_aiida_path_key, None)
    if folder is not None:
        del os.environ["AIIDA_PATH"]
        shutil.rmtree(folder, ignore_errors=True)
