"""A fresh store per test."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_tempstore.storage.backend import SqliteTempBackend

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def store() -> Iterator[SqliteTempBackend]:
    backend = SqliteTempBackend(SqliteTempBackend.create_profile("entities"))
    yield backend
    backend.close()
