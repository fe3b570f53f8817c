"""delete_nodes_and_connections, global variables, get_info and maintain."""

from __future__ import annotations

import io
import uuid

import pytest

from pytest_tempstore.exceptions import IntegrityError, NotExistent

from .conftest import count, node_row


def make_graph(store):
    """Three nodes a -> b -> c with a group holding all, and a comment and a log on b."""
    user = store.default_user_id
    a, b, c = store.bulk_insert("node", [node_row(user, label=label) for label in "abc"])
    store.bulk_insert(
        "link",
        [
            {"input_id": a, "output_id": b, "label": "x", "type": "input_calc"},
            {"input_id": b, "output_id": c, "label": "result", "type": "create"},
        ],
    )
    (group,) = store.bulk_insert("group", [{"label": "g", "user_id": user}], allow_defaults=True)
    store.bulk_insert("group_node", [{"dbgroup_id": group, "dbnode_id": pk} for pk in (a, b, c)])
    store.bulk_insert("comment", [{"dbnode_id": b, "user_id": user, "content": "hi"}], allow_defaults=True)
    store.bulk_insert("log", [{"dbnode_id": b, "loggername": "l", "levelname": "INFO"}], allow_defaults=True)
    return a, b, c


def test_delete_nodes_and_connections_removes_links_memberships_and_dependents(store):
    a, b, c = make_graph(store)
    with store.transaction():
        store.delete_nodes_and_connections([b])
    with store.transaction() as session:
        connection = session.connection()
        assert connection.exec_driver_sql("SELECT id FROM db_dbnode ORDER BY id").scalars().all() == [a, c]
        assert count(store, "db_dblink") == 0
        members = connection.exec_driver_sql("SELECT dbnode_id FROM db_dbgroup_dbnodes ORDER BY 1")
        assert members.scalars().all() == [a, c]
    assert count(store, "db_dbcomment") == 0
    assert count(store, "db_dblog") == 0
    assert count(store, "db_dbgroup") == 1


def test_delete_nodes_needs_a_transaction(store):
    (a, *_) = make_graph(store)
    with pytest.raises(AssertionError, match="inside transaction"):
        store.delete_nodes_and_connections([a])
    assert count(store, "db_dbnode") == 3


def test_delete_nodes_is_undone_with_its_transaction(store):
    make_graph(store)
    with pytest.raises(RuntimeError), store.transaction():
        store.delete_nodes_and_connections([1, 2, 3])
        raise RuntimeError
    assert count(store, "db_dbnode") == 3
    assert count(store, "db_dblink") == 2


def test_delete_of_unknown_or_no_pks_is_harmless(store):
    make_graph(store)
    with store.transaction():
        store.delete_nodes_and_connections([])
        store.delete_nodes_and_connections([999])
    assert count(store, "db_dbnode") == 3


@pytest.mark.parametrize("value", [5, 2.5, "text", "5", True, None, [1, "a"], {"nested": {"k": [1]}}])
def test_global_variables_round_trip_in_db_dbsetting(store, value):
    store.set_global_variable("key", value, description="what it is")
    assert store.get_global_variable("key") == value
    assert type(store.get_global_variable("key")) is type(value)
    with store.transaction() as session:
        row = session.connection().exec_driver_sql("SELECT key, description FROM db_dbsetting").one()
    assert tuple(row) == ("key", "what it is")


def test_a_missing_global_variable_is_a_key_error(store):
    with pytest.raises(KeyError, match="no global variable 'nope'"):
        store.get_global_variable("nope")
    with pytest.raises(NotExistent):
        store.get_global_variable("nope")


def test_overwrite_rules(store):
    store.set_global_variable("k", 1, description="first")
    store.set_global_variable("k", 2)
    assert store.get_global_variable("k") == 2
    with pytest.raises(ValueError, match="already exists"):
        store.set_global_variable("k", 3, overwrite=False)
    assert store.get_global_variable("k") == 2
    with store.transaction() as session:
        assert (
            session.connection().exec_driver_sql("SELECT description FROM db_dbsetting").scalar() == "first"
        )


def test_a_value_that_is_not_json_is_refused_before_writing(store):
    with pytest.raises(IntegrityError, match="not JSON-serialisable"):
        store.set_global_variable("k", {1, 2})
    with pytest.raises(KeyError):
        store.get_global_variable("k")


def test_global_variables_are_emptied_by_clear(store):
    store.set_global_variable("k", 1)
    store._clear()
    with pytest.raises(KeyError):
        store.get_global_variable("k")


def test_get_info_counts_and_details(store):
    make_graph(store)
    store.bulk_insert(
        "node",
        [
            node_row(
                store.default_user_id,
                node_type="process.calculation.calcfunction.CalcFunctionNode.",
                process_type="aiida.calculations:core.arithmetic.add",
            )
        ],
    )
    store.bulk_insert("computer", [{"label": "localhost"}], allow_defaults=True)
    store.get_repository().put_object_from_filelike(io.BytesIO(b"abc"))
    info = store.get_info()
    assert {name: entry["count"] for name, entry in info["entities"].items()} == {
        "Users": 1,
        "Computers": 1,
        "Nodes": 4,
        "Groups": 1,
        "Comments": 1,
        "Logs": 1,
        "Links": 2,
    }
    assert info["repository"]["objects"]["count"] == 1
    detailed = store.get_info(detailed=True)
    nodes = detailed["entities"]["Nodes"]
    assert nodes["node_types"] == ["data.core.int.Int.", "process.calculation.calcfunction.CalcFunctionNode."]
    assert nodes["process_types"] == ["aiida.calculations:core.arithmetic.add"]
    assert nodes["first_created"] <= nodes["last_created"]
    assert detailed["entities"]["Computers"]["labels"] == ["localhost"]
    assert detailed["entities"]["Users"]["emails"] == ["user@email.com"]
    assert detailed["entities"]["Groups"]["type_strings"] == [""]
    assert detailed["repository"]["objects"]["size"] == 3


def put(store, content: bytes) -> str:
    return store.get_repository().put_object_from_filelike(io.BytesIO(content))


def test_maintain_reports_unreferenced_and_missing_objects_and_removes_only_when_asked(store):
    used, loose = put(store, b"used"), put(store, b"loose")
    absent = "0" * 64
    tree = {"o": {"sub": {"o": {"a.txt": {"k": used}}}, "gone.txt": {"k": absent}}}
    store.bulk_insert("node", [node_row(store.default_user_id, repository_metadata=tree)])
    for kwargs in ({"dry_run": True}, {"live": True}, {"dry_run": True, "live": False}):
        report = store.maintain(**kwargs)
        assert report["unreferenced"] == [loose]
        assert report["missing"] == [absent]
        assert report["removed"] == []
        assert store.get_repository().has_object(loose)
    report = store.maintain(dry_run=False, live=False)
    assert report["removed"] == [loose]
    assert not store.get_repository().has_object(loose)
    assert store.get_repository().has_object(used)
    assert store.maintain()["unreferenced"] == []


def test_maintain_finds_a_corrupted_object(store):
    key = put(store, b"original")
    folder = store.get_repository().folder
    (folder / key).write_bytes(b"tampered")
    assert store.maintain(dry_run=True)["repository"]["corrupt"] == [key]


def test_node_uuids_survive_their_links_being_deleted(store):
    a, b, _ = make_graph(store)
    kept = str(uuid.uuid4())
    store.bulk_update("node", [{"id": a, "uuid": kept}])
    with store.transaction():
        store.delete_nodes_and_connections([b])
    with store.transaction() as session:
        assert (
            session.connection().exec_driver_sql(f"SELECT uuid FROM db_dbnode WHERE id={a}").scalar() == kept
        )
