"""Fixtures of the query tests: a store holding a graph built with aiida-core, and aiida-core itself."""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Any

import pytest

from pytest_tempstore.storage.backend import SqliteTempBackend

from .aiida_graph import build_graph, copy_into, load_aiida

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="session")
def aiida_orm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """aiida-core's ``orm`` with a temp profile loaded, its configuration in a temporary folder."""
    previous = os.environ.get("AIIDA_PATH")
    orm = load_aiida(str(tmp_path_factory.mktemp("aiida-config")))
    yield orm
    if previous is None:
        os.environ.pop("AIIDA_PATH", None)
    else:
        os.environ["AIIDA_PATH"] = previous


@pytest.fixture(scope="session")
def aiida_graph(aiida_orm: Any) -> dict[str, Any]:
    """The graph of ``aiida_graph.build_graph`` in aiida-core's storage."""
    with warnings.catch_warnings():
        # aiida-core's own SQLAlchemy warnings while it stores nodes.
        warnings.simplefilter("ignore")
        return build_graph(aiida_orm)


@pytest.fixture(scope="session")
def mirrored_store(aiida_graph: dict[str, Any]) -> Iterator[SqliteTempBackend]:
    """A store holding a row-for-row copy of the aiida-core graph."""
    store = SqliteTempBackend(SqliteTempBackend.create_profile("mirror"))
    copy_into(store)
    yield store
    store.close()
