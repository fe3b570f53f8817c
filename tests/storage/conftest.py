"""Fixtures for testing the storage layer directly, without the plugin."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from pytest_tempstore import SqliteTempBackend

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def store(tmp_path) -> Iterator[SqliteTempBackend]:
    backend = SqliteTempBackend(SqliteTempBackend.create_profile(filepath=tmp_path / "store"))
    yield backend
    backend.close()


def node_row(user_id: int, **overrides: Any) -> dict[str, Any]:
    """A complete ``db_dbnode`` row, as ``bulk_insert(..., allow_defaults=False)`` wants it."""
    now = datetime(2024, 5, 17, 12, 30, tzinfo=UTC)
    row: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "node_type": "data.core.int.Int.",
        "process_type": None,
        "label": "",
        "description": "",
        "ctime": now,
        "mtime": now,
        "attributes": {"value": 1},
        "extras": {},
        "repository_metadata": {},
        "dbcomputer_id": None,
        "user_id": user_id,
    }
    row.update(overrides)
    return row


def count(store: SqliteTempBackend, table: str) -> int:
    """Rows in a table, read through the raw SQL of the store's session."""
    with store.transaction() as session:
        return int(session.connection().exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar_one())
