"""Query and entity benchmarks against aiida-core 2.9.4, in one process.

Run: ``python benchmarks/bench_query.py``. Exits non-zero when a target is missed.

* attribute filter over 10,000 Int nodes: ours <= 0.25x aiida-core's time;
* creating and storing 1,000 nodes with attributes: ours >= 10x aiida-core's rate;
* ancestors of the last node of a 3,000-node chain: reported, no target.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Row, median_seconds, print_table, use_private_temporary_folder

from pytest_tempstore.storage.backend import SqliteTempBackend
from pytest_tempstore.storage.entities import Node
from pytest_tempstore.storage.querybuilder import QueryBuilder

if TYPE_CHECKING:
    from collections.abc import Callable

INT = "data.core.int.Int."
CALC = "process.calculation.calcfunction.CalcFunctionNode."
FILTER_NODES = 10_000
STORED_NODES = 1_000
CHAIN_NODES = 3_000


def load_aiida():
    os.environ["AIIDA_PATH"] = tempfile.mkdtemp(prefix="bench-aiida-")
    warnings.simplefilter("ignore")
    import aiida
    from aiida import orm
    from aiida.storage.sqlite_temp import SqliteTempBackend as AiidaBackend

    aiida.load_profile(AiidaBackend.create_profile("bench"), allow_switch=True)
    return orm


def int_rows(count: int, user_id: int) -> list[dict]:
    return [{"node_type": INT, "attributes": {"value": index}, "user_id": user_id} for index in range(count)]


def chain_rows(count: int) -> tuple[list[dict], list[dict]]:
    """Data -> calc -> data -> ... as node rows and link rows (ids from 1)."""
    nodes, links = [], []
    for index in range(count):
        node_type = INT if index % 2 == 0 else CALC
        nodes.append({"node_type": node_type, "attributes": {"value": index}, "user_id": 1})
        if index:
            link_type = "input_calc" if node_type == CALC else "create"
            links.append({"input_id": index, "output_id": index + 1, "type": link_type, "label": "link"})
    return nodes, links


def interleaved_medians(works: tuple[Callable[[], object], ...], repeat: int) -> list[float]:
    """Median seconds of each of ``works``, timed in turn ``repeat`` times, so that drift hits all alike."""
    times: list[list[float]] = [[] for _ in works]
    for _ in range(repeat):
        for work, spent in zip(works, times, strict=True):
            start = time.perf_counter()
            work()
            spent.append(time.perf_counter() - start)
    return [statistics.median(spent) for spent in times]


def raw_sql(builder: QueryBuilder) -> tuple[str, list[object]]:
    """The SQL text and positional parameters SQLite receives for ``builder``'s query."""
    from sqlalchemy.dialects import sqlite

    compiled = builder._compile().statement.compile(
        dialect=sqlite.dialect(), compile_kwargs={"render_postcompile": True}
    )
    return str(compiled), [compiled.params[name] for name in compiled.positiontup or ()]


def collect(quick: bool = False) -> list[Row]:
    """Every row of this benchmark (the sizes are the targets' own, so ``quick`` changes nothing)."""
    orm = load_aiida()
    from aiida.manage import get_manager

    aiida_storage = get_manager().get_profile_storage()
    store = SqliteTempBackend(SqliteTempBackend.create_profile("bench"))

    # -- attribute filter over 10,000 nodes
    aiida_storage.bulk_insert(
        orm.EntityTypes.NODE,
        int_rows(FILTER_NODES, orm.User.collection.get_default().pk),
        allow_defaults=True,
    )
    store.bulk_insert("node", int_rows(FILTER_NODES, store.default_user_id), allow_defaults=True)
    filters = {"attributes.value": {">": FILTER_NODES - 1_000}}

    def aiida_filter():
        return orm.QueryBuilder().append(orm.Int, filters=filters, project="id").all()

    def our_filter():
        return QueryBuilder(backend=store).append(INT, filters=filters, project="id").all()

    assert sorted(map(tuple, aiida_filter()))
    assert len(our_filter()) == len(aiida_filter()) == 999
    # The floor: the same SQL statement run on the raw connection, no query building, no ORM.
    sql, parameters = raw_sql(QueryBuilder(backend=store).append(INT, filters=filters, project="id"))
    assert len(store.read_sql(sql, parameters)) == 999
    ours, theirs, floor = interleaved_medians(
        (our_filter, aiida_filter, lambda: store.read_sql(sql, parameters)), repeat=31
    )
    rows = [
        Row("attribute filter, 10,000 nodes (s)", ours, theirs, "s", "ratio <= 0.25", ours <= 0.25 * theirs),
        Row("  its SQL alone, on the raw connection (s)", floor, theirs, "s", "(the floor, reported)", True),
    ]

    # -- creating and storing 1,000 nodes with attributes
    def our_store():
        for index in range(STORED_NODES):
            Node(store, INT, attributes={"value": index}).store()

    def aiida_store():
        for index in range(STORED_NODES // 10):
            orm.Int(index).store()

    ours = median_seconds(our_store, repeat=3) / STORED_NODES
    theirs = median_seconds(aiida_store, repeat=3) / (STORED_NODES // 10)
    rows.append(
        Row(
            "store one node with attributes (s per node)",
            ours,
            theirs,
            "s",
            "rate >= 10x",
            theirs >= 10 * ours,
        )
    )

    # -- ancestors of the last node of a 3,000-node chain
    chain_store = SqliteTempBackend(SqliteTempBackend.create_profile("chain"))
    nodes, links = chain_rows(CHAIN_NODES)
    chain_store.bulk_insert("node", nodes, allow_defaults=True)
    chain_store.bulk_insert("link", links)
    aiida_start = aiida_storage.bulk_insert(orm.EntityTypes.NODE, nodes, allow_defaults=True)
    aiida_links = [
        {
            **link,
            "input_id": aiida_start[link["input_id"] - 1],
            "output_id": aiida_start[link["output_id"] - 1],
        }
        for link in links
    ]
    aiida_storage.bulk_insert(orm.EntityTypes.LINK, aiida_links)

    def aiida_ancestors():
        return (
            orm.QueryBuilder()
            .append(orm.Node, tag="last", filters={"id": aiida_start[-1]})
            .append(orm.Node, with_descendants="last", project="id")
            .count()
        )

    def our_ancestors():
        return (
            QueryBuilder(backend=chain_store)
            .append(Node, tag="last", filters={"id": CHAIN_NODES})
            .append(Node, with_descendants="last", project="id")
            .count()
        )

    assert our_ancestors() == aiida_ancestors() == CHAIN_NODES - 1
    ours, theirs = median_seconds(our_ancestors, repeat=5), median_seconds(aiida_ancestors, repeat=5)
    rows.append(Row("ancestors in a 3,000-node chain (s)", ours, theirs, "s", "reported", True))

    store.close()
    chain_store.close()
    return rows


def main() -> int:
    use_private_temporary_folder()
    ok = print_table("QueryBuilder and entities vs aiida-core 2.9.4", collect())
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
