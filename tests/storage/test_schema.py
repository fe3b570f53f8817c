"""The schema is the archive format: it must match aiida-core's archive schema exactly."""

from __future__ import annotations

import os
import sqlite3

import pytest
import sqlalchemy as sa

from pytest_tempstore import SqliteTempBackend
from pytest_tempstore.storage.models import Base

TABLES = {
    "db_dbuser",
    "db_dbcomputer",
    "db_dbauthinfo",
    "db_dbnode",
    "db_dblink",
    "db_dbgroup",
    "db_dbgroup_dbnodes",
    "db_dbcomment",
    "db_dblog",
    "db_dbsetting",
}


def describe(connection: sqlite3.Connection) -> dict[str, object]:
    """Everything SQLite knows about each table, in an order-independent form."""
    tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    result: dict[str, object] = {}
    for table in sorted(tables):
        columns = [row[1:] for row in connection.execute(f"PRAGMA table_info({table})")]
        indexes = set()
        for _, name, unique, origin, _partial in connection.execute(f"PRAGMA index_list({table})"):
            indexed = tuple(row[2] for row in connection.execute(f"PRAGMA index_info('{name}')"))
            label = name if origin == "c" else origin
            indexes.add((label, bool(unique), indexed))
        foreign_keys = {row[2:] for row in connection.execute(f"PRAGMA foreign_key_list({table})")}
        sql = connection.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
        constraints = sorted(line.strip().rstrip(",") for line in sql.splitlines() if "CONSTRAINT" in line)
        result[table] = (columns, indexes, foreign_keys, constraints)
    return result


def ours(tmp_path) -> dict[str, object]:
    store = SqliteTempBackend(SqliteTempBackend.create_profile())
    store.write_database(tmp_path / "ours.sqlite3")
    store.close()
    with sqlite3.connect(tmp_path / "ours.sqlite3") as connection:
        return describe(connection)


def test_the_ten_tables_exist(tmp_path):
    assert set(ours(tmp_path)) == TABLES


def test_schema_matches_aiida_core_archive_schema(tmp_path, monkeypatch):
    monkeypatch.setenv("AIIDA_PATH", os.fspath(tmp_path / "aiida"))
    models = pytest.importorskip("aiida.storage.sqlite_zip.models", reason="aiida-core is the reference")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'reference.sqlite3'}")
    models.SqliteBase.metadata.create_all(engine)
    engine.dispose()
    with sqlite3.connect(tmp_path / "reference.sqlite3") as connection:
        reference = describe(connection)
    assert ours(tmp_path) == reference


def test_every_foreign_key_is_deferred():
    for table in Base.metadata.sorted_tables:
        for foreign_key in table.foreign_keys:
            assert foreign_key.deferrable, foreign_key
            assert foreign_key.initially == "DEFERRED", foreign_key


@pytest.mark.parametrize(
    ("table", "column", "ondelete"),
    [
        ("db_dbnode", "user_id", "RESTRICT"),
        ("db_dbnode", "dbcomputer_id", "RESTRICT"),
        ("db_dbauthinfo", "aiidauser_id", "CASCADE"),
        ("db_dbauthinfo", "dbcomputer_id", "CASCADE"),
        ("db_dblink", "output_id", "CASCADE"),
        ("db_dblink", "input_id", None),
        ("db_dbcomment", "dbnode_id", "CASCADE"),
        ("db_dblog", "dbnode_id", "CASCADE"),
    ],
)
def test_on_delete_rules(table, column, ondelete):
    (foreign_key,) = Base.metadata.tables[table].columns[column].foreign_keys
    assert foreign_key.ondelete == ondelete
