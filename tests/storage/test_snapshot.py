"""_clear(), snapshot() and restore(): exact state back, quickly, without crashing on open cursors."""

from __future__ import annotations

import io
import threading

import pytest

from pytest_tempstore import SqliteTempBackend
from pytest_tempstore.exceptions import InputValidationError

from .conftest import count, node_row


def put(store, content: bytes) -> str:
    return store.get_repository().put_object_from_filelike(io.BytesIO(content))


def state(store) -> tuple[object, ...]:
    with store.transaction() as session:
        connection = session.connection()
        nodes = connection.exec_driver_sql(
            "SELECT id, uuid, label, json(attributes) FROM db_dbnode ORDER BY id"
        ).all()
        users = connection.exec_driver_sql("SELECT id, email FROM db_dbuser ORDER BY id").all()
        settings = connection.exec_driver_sql("SELECT key, val FROM db_dbsetting ORDER BY key").all()
    repository = store.get_repository()
    objects = {key: repository.get_object_content(key) for key in repository.list_objects()}
    return nodes, users, settings, objects


def test_clear_empties_everything_and_keeps_the_store_usable(store):
    store.bulk_insert("node", [node_row(store.default_user_id) for _ in range(3)])
    store.bulk_insert("user", [{"email": "other@x.y"}], allow_defaults=True)
    store.set_global_variable("k", 1)
    put(store, b"file")
    store._clear()
    nodes, users, settings, objects = state(store)
    assert (nodes, settings, objects) == ([], [], {})
    assert [email for _, email in users] == ["user@email.com"]
    assert users[0][0] == store.default_user_id
    store.bulk_insert("node", [node_row(store.default_user_id)])
    assert count(store, "db_dbnode") == 1


def test_restore_brings_back_rows_and_objects_exactly(store):
    store.bulk_insert("node", [node_row(store.default_user_id, label="before")])
    store.set_global_variable("k", "v")
    kept = put(store, b"kept")
    deleted_later = put(store, b"deleted later")
    snapshot = store.snapshot()
    expected = state(store)

    store.bulk_update("node", [{"id": 1, "label": "after"}])
    store.bulk_insert("node", [node_row(store.default_user_id)])
    store.set_global_variable("k", "changed")
    store.get_repository().delete_objects([deleted_later])
    put(store, b"new since")

    store.restore(snapshot)
    assert state(store) == expected
    assert store.get_repository().has_object(kept)
    assert store.get_repository().get_object_content(deleted_later) == b"deleted later"


def test_restore_after_clear_and_restore_again(store):
    put(store, b"a")
    snapshot = store.snapshot()
    expected = state(store)
    for _ in range(3):
        store._clear()
        assert state(store)[3] == {}
        store.restore(snapshot)
        assert state(store) == expected


def test_restore_into_another_store_links_the_objects(store):
    key = put(store, b"shared content")
    store.bulk_insert("node", [node_row(store.default_user_id, repository_metadata={"o": {"f": {"k": key}}})])
    snapshot = store.snapshot()
    other = SqliteTempBackend(SqliteTempBackend.create_profile())
    try:
        other.restore(snapshot)
        assert state(other) == state(store)
        assert other.get_repository().get_object_content(key) == b"shared content"
    finally:
        other.close()


def test_restore_after_a_cursor_was_left_open_does_not_crash(store):
    store.bulk_insert("node", [node_row(store.default_user_id) for _ in range(50)])
    snapshot = store.snapshot()
    store.bulk_insert("node", [node_row(store.default_user_id)])
    # A half-read cursor, as a failed test's traceback may keep alive.
    cursor = store.get_session().connection().connection.dbapi_connection.execute("SELECT id FROM db_dbnode")
    cursor.fetchone()
    store.restore(snapshot)
    assert count(store, "db_dbnode") == 50
    store._clear()
    assert count(store, "db_dbnode") == 0
    del cursor


def test_orm_objects_from_before_a_restore_are_not_reused(store):
    from pytest_tempstore.storage.models import DbNode

    (pk,) = store.bulk_insert("node", [node_row(store.default_user_id, label="old")])
    snapshot = store.snapshot()
    with store.transaction() as session:
        stale = session.get(DbNode, pk)
    store.bulk_update("node", [{"id": pk, "label": "new"}])
    store.restore(snapshot)
    with store.transaction() as session:
        fresh = session.get(DbNode, pk)
        assert fresh is not stale
        assert fresh.label == "old"


def test_restore_rejects_anything_but_a_snapshot(store):
    with pytest.raises(InputValidationError, match="StoreSnapshot"):
        store.restore({"not": "a snapshot"})


def test_snapshot_commits_session_work_done_outside_a_transaction(store):
    store.get_session().connection().exec_driver_sql(
        "INSERT INTO db_dbsetting (key, val, description, time) VALUES ('k', '1', '', '2024-01-01 00:00:00')"
    )
    snapshot = store.snapshot()
    store._clear()
    store.restore(snapshot)
    assert store.get_global_variable("k") == 1


def test_threads_share_one_database(store):
    errors: list[BaseException] = []

    def insert_many() -> None:
        try:
            for _ in range(50):
                store.bulk_insert("node", [node_row(store.default_user_id)])
                with store.transaction():
                    store.bulk_insert("node", [node_row(store.default_user_id)])
                    store.set_global_variable(f"t{threading.get_ident()}", 1)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=insert_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert count(store, "db_dbnode") == 8 * 50 * 2
    assert count(store, "db_dbsetting") == 8


def test_a_thread_sees_rows_written_by_another(store):
    store.bulk_insert("node", [node_row(store.default_user_id)])
    seen: list[int] = []
    thread = threading.Thread(target=lambda: seen.append(count(store, "db_dbnode")))
    thread.start()
    thread.join()
    assert seen == [1]


def test_restore_into_a_store_with_another_default_user_keeps_its_default_user(store):
    store.bulk_insert("node", [node_row(store.default_user_id)])
    snapshot = store.snapshot()
    other = SqliteTempBackend(SqliteTempBackend.create_profile(default_user_email="other@example.org"))
    try:
        other.restore(snapshot)
        with other.transaction() as session:
            emails = session.connection().exec_driver_sql("SELECT id, email FROM db_dbuser ORDER BY id").all()
        assert [email for _, email in emails] == ["user@email.com", "other@example.org"]
        assert other.default_user_id == emails[1][0]
        other.bulk_insert("node", [node_row(other.default_user_id)])
    finally:
        other.close()


def test_a_snapshot_without_the_default_user_gets_it_back_on_restore(store):
    store.bulk_insert("user", [{"email": "second@example.org"}], allow_defaults=True)
    with store.transaction() as session:
        session.connection().exec_driver_sql("DELETE FROM db_dbuser WHERE email = 'user@email.com'")
    snapshot = store.snapshot()
    store.restore(snapshot)
    with store.transaction() as session:
        emails = (
            session.connection().exec_driver_sql("SELECT email FROM db_dbuser ORDER BY id").scalars().all()
        )
    assert emails == ["second@example.org", "user@email.com"]
    store.bulk_insert("node", [node_row(store.default_user_id)])


def raw(store):
    return store.get_session().connection().connection.dbapi_connection


def test_restoring_an_unchanged_store_copies_nothing(store):
    store.bulk_insert("node", [node_row(store.default_user_id) for _ in range(3)])
    snapshot = store.snapshot()
    connection = raw(store)
    # restore() expects no open transaction (and some drivers reset every cursor when it rolls one back).
    store.get_session().commit()
    cursor = connection.execute("SELECT id FROM db_dbnode ORDER BY id")
    assert cursor.fetchone() == (1,)
    store.restore(snapshot)
    # No copy happened: the half-read cursor is still valid on the same connection.
    assert cursor.fetchone() == (2,)
    del cursor


@pytest.mark.parametrize(
    "change",
    [
        "INSERT INTO db_dbsetting (key, val, description, time) VALUES ('k', '1', '', '2024-01-01')",
        "CREATE TABLE extra (x INTEGER)",
        "UPDATE db_dbnode SET label = 'changed'",
    ],
)
def test_any_change_since_the_snapshot_is_undone(store, change):
    store.bulk_insert("node", [node_row(store.default_user_id)])
    snapshot = store.snapshot()
    expected = state(store)
    with store.transaction() as session:
        session.connection().exec_driver_sql(change)
    store.restore(snapshot)
    assert state(store) == expected
    tables = raw(store).execute("SELECT name FROM sqlite_master WHERE name = 'extra'").fetchall()
    assert tables == []


def test_a_rolled_back_write_still_restores_exactly(store):
    snapshot = store.snapshot()
    with pytest.raises(RuntimeError), store.transaction():
        store.bulk_insert("node", [node_row(store.default_user_id)])
        raise RuntimeError
    store.restore(snapshot)
    assert count(store, "db_dbnode") == 0


def test_restoring_another_snapshot_is_never_skipped(store):
    empty = store.snapshot()
    store.bulk_insert("node", [node_row(store.default_user_id)])
    one = store.snapshot()
    store.restore(empty)
    assert count(store, "db_dbnode") == 0
    store.restore(one)
    assert count(store, "db_dbnode") == 1
    store._clear()
    store.restore(one)
    assert count(store, "db_dbnode") == 1
