"""Small read helpers the examples use to check what a store holds, in plain SQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from pytest_tempstore import SqliteTempBackend


def rows(store: SqliteTempBackend, sql: str, **parameters: Any) -> list[tuple[Any, ...]]:
    """The rows of one query against the store's database."""
    with store.transaction() as session:
        return [tuple(row) for row in session.execute(sa.text(sql), parameters)]


def value_of(store: SqliteTempBackend, node_id: int) -> Any:
    """The ``value`` attribute of an ``Int`` node."""
    ((value,),) = rows(
        store, "SELECT json_extract(attributes, '$.value') FROM db_dbnode WHERE id = :id", id=node_id
    )
    return value


def incoming(store: SqliteTempBackend, node_id: int) -> list[tuple[str, str, int]]:
    """``(link type, label, source id)`` of every link into a node, sorted."""
    return sorted(
        rows(store, "SELECT type, label, input_id FROM db_dblink WHERE output_id = :id", id=node_id)
    )


def node_count(store: SqliteTempBackend) -> int:
    return int(store.get_info()["entities"]["Nodes"]["count"])
