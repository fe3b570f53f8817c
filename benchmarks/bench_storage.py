"""Storage-core benchmarks: each figure beside a baseline measured in the same run.

    python benchmarks/bench_storage.py [--quick]

- new store (profile + backend + first use) against aiida-core's SqliteTempBackend
  (or, without aiida-core, against building the schema from scratch);
- bulk_insert of 10,000 nodes against plain executemany of the same rows (the stores' own driver);
- _clear() and restore() with 10,000 nodes and 1,000 objects, against plain
  DELETEs of every table;
- RSS growth over 1,000 create/use/close cycles.

Exits non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import sys
import tempfile
import uuid
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Row, median_seconds, print_table, use_private_temporary_folder

from pytest_tempstore import SqliteTempBackend
from pytest_tempstore.storage import driver
from pytest_tempstore.storage.database import empty_schema

if TYPE_CHECKING:
    import sqlite3

NODE_COLUMNS = (
    "uuid", "node_type", "process_type", "label", "description", "ctime", "mtime",
    "attributes", "extras", "repository_metadata", "dbcomputer_id", "user_id",
)  # fmt: skip


def node_rows(count: int, user_id: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "uuid": str(uuid.uuid4()),
            "node_type": "data.core.int.Int.",
            "process_type": None,
            "label": f"node {index}",
            "description": "",
            "ctime": now,
            "mtime": now,
            "attributes": {"value": index, "source": {"kind": "benchmark", "index": index}},
            "extras": {"tag": "bench"},
            "repository_metadata": {},
            "dbcomputer_id": None,
            "user_id": user_id,
        }
        for index in range(count)
    ]


def plain_connection() -> sqlite3.Connection:
    """A connection of the stores' own driver (the same SQLite) to a database of the empty tables."""
    connection = driver.connect(":memory:", isolation_level=None)
    empty_schema().copy_into(connection)
    return connection


def plain_executemany(rows: list[dict[str, Any]]) -> None:
    """The baseline: the same dict rows turned into tuples and written with the driver alone."""
    connection = plain_connection()
    connection.execute(
        "INSERT INTO db_dbuser (email, first_name, last_name, institution) VALUES ('u', '', '', '')"
    )
    values = [
        (
            row["uuid"], row["node_type"], row["process_type"], row["label"], row["description"],
            row["ctime"].strftime("%Y-%m-%d %H:%M:%S.%f"), row["mtime"].strftime("%Y-%m-%d %H:%M:%S.%f"),
            json.dumps(row["attributes"]), json.dumps(row["extras"]), json.dumps(row["repository_metadata"]),
            row["dbcomputer_id"], row["user_id"],
        )
        for row in rows
    ]  # fmt: skip
    # Stored as the stores store them: attributes and extras as JSONB where the SQLite has it.
    marks = ", ".join(
        "jsonb(?)" if driver.JSONB and name in ("attributes", "extras") else "?" for name in NODE_COLUMNS
    )
    connection.execute("BEGIN")
    connection.executemany(f"INSERT INTO db_dbnode ({', '.join(NODE_COLUMNS)}) VALUES ({marks})", values)
    connection.execute("COMMIT")
    connection.close()


def new_store_and_use() -> None:
    store = SqliteTempBackend(SqliteTempBackend.create_profile())
    store.get_info()
    store.close()


def reference_new_store() -> tuple[str, Any]:
    """aiida-core's own temp backend where it is installed; building the schema otherwise."""
    try:
        os.environ.setdefault("AIIDA_PATH", tempfile.mkdtemp(prefix="bench-aiida-"))
        warnings.filterwarnings("ignore", module="aiida")  # its deprecation notices are not ours to show
        from aiida.storage.sqlite_temp import SqliteTempBackend as Reference
    except ImportError:
        import sqlalchemy as sa

        from pytest_tempstore.storage.models import Base

        def build_schema() -> None:
            engine = sa.create_engine("sqlite://")
            Base.metadata.create_all(engine)
            engine.dispose()

        return "schema built per store", build_schema

    def reference() -> None:
        backend = Reference(Reference.create_profile())
        backend.get_info()
        backend.close()

    return "aiida-core SqliteTempBackend", reference


def populated_store(nodes: int, objects: int) -> SqliteTempBackend:
    store = SqliteTempBackend(SqliteTempBackend.create_profile())
    store.bulk_insert("node", node_rows(nodes, store.default_user_id))
    repository = store.get_repository()
    for index in range(objects):
        repository.put_object_from_filelike(io.BytesIO(b"%d" % index * 64))
    return store


def plain_delete_all(nodes: int) -> float:
    connection = plain_connection()
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute(
        "INSERT INTO db_dbuser (email, first_name, last_name, institution) VALUES ('u', '', '', '')"
    )
    for chunk in range(0, nodes, 1000):
        connection.executemany(
            "INSERT INTO db_dbnode (uuid, node_type, label, description, ctime, mtime, repository_metadata,"
            " user_id) VALUES (?, 'data.', '', '', '2024-01-01', '2024-01-01', '{}', 1)",
            [(str(uuid.uuid4()),) for _ in range(chunk, min(chunk + 1000, nodes))],
        )
    backup = driver.connect(":memory:")
    connection.backup(backup)

    def delete_all() -> None:
        connection.execute("BEGIN")
        for table in ("db_dbgroup_dbnodes", "db_dblink", "db_dbcomment", "db_dblog", "db_dbnode"):
            connection.execute(f"DELETE FROM {table}")
        connection.execute("COMMIT")

    return median_seconds(delete_all, repeat=5, setup=lambda: backup.backup(connection))


def rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def collect(quick: bool = False) -> list[Row]:
    """Every row of this benchmark (``--quick``: smaller sizes, fewer repetitions)."""
    nodes, objects, cycles = (2_000, 200, 200) if quick else (10_000, 1_000, 1_000)
    rows: list[Row] = []

    # New store.
    label, reference = reference_new_store()
    new_store_and_use()
    reference()
    ours = median_seconds(new_store_and_use, repeat=51) * 1e3
    theirs = median_seconds(reference, repeat=21) * 1e3
    rows.append(Row(f"new store + first use (vs {label})", ours, theirs, "ms", "ours <= 2 ms", ours <= 2.0))

    # bulk_insert.
    data = node_rows(nodes, 1)

    def insert_ours() -> None:
        store = SqliteTempBackend(SqliteTempBackend.create_profile())
        store.bulk_insert("node", data)
        store.close()

    ours_rate = nodes / median_seconds(insert_ours, repeat=5)
    plain_rate = nodes / median_seconds(lambda: plain_executemany(data), repeat=5)
    rows.append(
        Row(
            f"bulk_insert {nodes:,} nodes (rows/s, vs plain executemany)",
            ours_rate, plain_rate, "/s", "ratio >= 0.5", ours_rate / plain_rate >= 0.5,
        )
    )  # fmt: skip

    # _clear and restore with a populated store.
    store = populated_store(nodes, objects)
    snapshot = store.snapshot()
    refill = lambda: store.restore(snapshot)  # noqa: E731 - a setup step, named for reading
    clear_ms = median_seconds(store._clear, repeat=11, setup=refill) * 1e3
    restore_ms = median_seconds(refill, repeat=11, setup=store._clear) * 1e3
    delete_ms = plain_delete_all(nodes) * 1e3
    rows.append(
        Row(f"_clear() with {nodes:,} nodes, {objects:,} objects (vs DELETEs)", clear_ms, delete_ms, "ms",
            "ours <= 10 ms", clear_ms <= 10.0)
    )  # fmt: skip
    rows.append(
        Row(f"restore() of {nodes:,} nodes, {objects:,} objects (vs DELETEs)", restore_ms, delete_ms, "ms",
            "ours <= 10 ms", restore_ms <= 10.0)
    )  # fmt: skip
    store.close()

    # Memory over create/use/close cycles.
    def cycle() -> None:
        cycle_store = SqliteTempBackend(SqliteTempBackend.create_profile())
        cycle_store.bulk_insert("node", node_rows(5, cycle_store.default_user_id))
        cycle_store.get_repository().put_object_from_filelike(io.BytesIO(b"content"))
        cycle_store.close()

    for _ in range(100):
        cycle()
    gc.collect()
    before = rss_bytes()
    for _ in range(cycles):
        cycle()
    gc.collect()
    growth = (rss_bytes() - before) / 2**20
    rows.append(
        Row(f"RSS growth over {cycles:,} create/use/close cycles", growth, 10.0, "MB", "< 10 MB", growth < 10)
    )

    return rows


def main() -> int:
    use_private_temporary_folder()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repetitions")
    args = parser.parse_args()
    return 0 if print_table("Storage core", collect(args.quick)) else 1


if __name__ == "__main__":
    raise SystemExit(main())
