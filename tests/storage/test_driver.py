"""The SQLite driver: which one a store runs on, JSONB where it has it, and the same behaviour on both."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_tempstore.storage import driver
from pytest_tempstore.storage.entities import Node
from pytest_tempstore.storage.models import DbNode, JsonbColumn
from pytest_tempstore.storage.querybuilder import QueryBuilder

TESTS = Path(__file__).resolve().parents[1]
INT = "data.core.int.Int."


def run_python(code: str, choice: str | None) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value for key, value in os.environ.items() if key != driver.DRIVER_ENVIRONMENT_VARIABLE
    }
    if choice is not None:
        environment[driver.DRIVER_ENVIRONMENT_VARIABLE] = choice
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=300,
    )


def test_jsonb_follows_the_sqlite_version_and_only_node_json_uses_it():
    assert (driver.DBAPI.sqlite_version_info >= (3, 45, 0)) == driver.JSONB
    storage = "JSONB" if driver.JSONB else "JSON text"
    assert driver.describe() == f"SQLite {driver.DBAPI.sqlite_version} ({driver.DRIVER_NAME}, {storage})"
    for column in (DbNode.attributes, DbNode.extras):
        assert isinstance(column.type, JsonbColumn) == driver.JSONB
    assert not isinstance(DbNode.repository_metadata.type, JsonbColumn)


def test_the_standard_library_driver_is_chosen_by_name():
    result = run_python(
        "from pytest_tempstore.storage import driver; import sqlite3; "
        "print(driver.DRIVER_NAME, driver.SQLITE_VERSION == sqlite3.sqlite_version, driver.DBAPI is sqlite3)",
        "sqlite3",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["sqlite3", "True", "True"]


def test_auto_takes_pysqlite3_when_its_sqlite_has_jsonb():
    pysqlite3 = pytest.importorskip("pysqlite3.dbapi2")
    result = run_python("from pytest_tempstore.storage import driver; print(driver.DRIVER_NAME)", None)
    assert result.returncode == 0, result.stderr
    has_jsonb = pysqlite3.sqlite_version_info >= (3, 45, 0)
    assert result.stdout.strip() == ("pysqlite3" if has_jsonb else "sqlite3")


def test_an_unknown_driver_name_is_refused_with_the_valid_ones():
    result = run_python("import pytest_tempstore.storage.driver", "postgres")
    assert result.returncode != 0
    assert "InputValidationError" in result.stderr
    assert "PYTEST_TEMPSTORE_SQLITE='postgres' is not a SQLite driver; valid: auto, sqlite3, pysqlite3" in (
        result.stderr
    )


def test_node_json_is_stored_as_jsonb_and_written_out_as_text(store, tmp_path):
    node = Node(store, INT, attributes={"value": 5, "nested": {"list": [1, 2.5, "é", None, True]}}).store()
    node.extras["tag"] = "x"
    (stored_type,) = store.read_sql("SELECT typeof(attributes) FROM db_dbnode WHERE id = ?", (node.pk,))[0]
    assert stored_type == ("blob" if driver.JSONB else "text")
    # json() gives JSON text whatever the storage: the portable way to read these columns in raw SQL.
    (text,) = store.read_sql("SELECT json(attributes) FROM db_dbnode WHERE id = ?", (node.pk,))[0]
    assert json.loads(text) == {"value": 5, "nested": {"list": [1, 2.5, "é", None, True]}}

    store.write_database(tmp_path / "db.sqlite3")
    with sqlite3.connect(tmp_path / "db.sqlite3") as written:
        rows = written.execute("SELECT typeof(attributes), attributes, extras FROM db_dbnode").fetchall()
    assert [(kind, json.loads(attributes), json.loads(extras)) for kind, attributes, extras in rows] == [
        ("text", {"value": 5, "nested": {"list": [1, 2.5, "é", None, True]}}, {"tag": "x"})
    ]
    # The store itself keeps its own format.
    assert store.read_sql("SELECT typeof(attributes) FROM db_dbnode")[0][0] == stored_type


def test_json_paths_read_the_stored_values_on_either_format(store):
    store.bulk_insert(
        "node",
        [
            {"node_type": INT, "attributes": {"value": value}, "user_id": store.default_user_id}
            for value in range(20)
        ]
        + [{"node_type": INT, "attributes": {"value": "19"}, "user_id": store.default_user_id}],
        allow_defaults=True,
    )
    query = QueryBuilder(backend=store).append(
        INT, filters={"attributes.value": {">": 16}}, project="attributes"
    )
    assert sorted(row[0]["value"] for row in query.all()) == [17, 18, 19]


def test_walks_search_links_by_node_not_by_link_type(store):
    """Without statistics, newer planners would search the walk's links by type: quadratic in the graph."""
    query = (
        QueryBuilder(backend=store)
        .append(Node, tag="last", filters={"id": 1})
        .append(Node, with_descendants="last", project="id")
    )
    compiled = query._compile().statement.compile(
        dialect=store.get_session().get_bind().dialect, compile_kwargs={"render_postcompile": True}
    )
    parameters = [compiled.params[name] for name in compiled.positiontup or ()]
    plan = " | ".join(row[3] for row in store.read_sql(f"EXPLAIN QUERY PLAN {compiled}", parameters))
    assert "ix_db_dblink_db_dblink_type" not in plan
    assert "SEARCH walk_1_step USING INDEX ix_db_dblink_db_dblink_output_id" in plan


@pytest.mark.skipif(
    driver.DRIVER_NAME == "sqlite3", reason="this run is already on the standard library's driver"
)
def test_the_storage_suites_pass_on_the_standard_library_driver():
    """Every storage, entity, query and archive test again, on Python's own sqlite3 (JSON text)."""
    environment = {**os.environ, driver.DRIVER_ENVIRONMENT_VARIABLE: "sqlite3"}
    suites = [str(TESTS / name) for name in ("storage", "entities", "query", "archive", "test_repository.py")]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider", *suites],
        capture_output=True,
        text=True,
        env=environment,
        cwd=TESTS.parent,
        check=False,
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout.splitlines()[-1]
